// The leader's answers to requests that name a topic id (KIP-516), on one PartitionReplica over a simulated disk and a
// fake host: a request naming another incarnation of the topic is refused per partition, UNKNOWN_TOPIC_ID when the
// broker's image has no topic of that id, INCONSISTENT_TOPIC_ID when it has; an empty id addresses by name as before.
import { afterEach, describe, expect, test } from 'vitest'
import { ErrorCode, isRetriableCode, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, defaultTopicConfig } from '@gregor/metadata'
import { buildBatch } from '@gregor/records'
import { PartitionLog, SimFileSystem } from '@gregor/storage'
import { ByteBudget } from './byte-budget.js'
import { DelayedOperations } from './delayed-operations.js'
import { LeaderRequests, type LeaderRequestsHost, type ReplicaFetchRequest } from './leader-requests.js'
import { PartitionReplica } from './partition-replica.js'
import { validateReplicationConfig } from './replication-config.js'
import { ManualTimers } from './testing/manual-timers.js'

const TOPIC = 't'
/** The id of the incarnation broker 1 leads. */
const CURRENT_ID = 'id-new'
/** A deleted incarnation: the image no longer has it. */
const DELETED_ID = 'id-old'
/** An id the image has, for this name, but the replica here is not of it (its image is ahead of its replicas). */
const OTHER_KNOWN_ID = 'id-newer'

const logs: PartitionLog[] = []
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close()
})

async function leader (): Promise<{ requests: LeaderRequests; replica: PartitionReplica; host: LeaderRequestsHost }> {
  const image = new MetadataImage()
  image.applyBatch([
    { type: 'RegisterBroker', brokerId: nodeId(1), incarnationId: 'i-1', listeners: [] },
    { type: 'RegisterBroker', brokerId: nodeId(2), incarnationId: 'i-2', listeners: [] },
    { type: 'Topic', name: TOPIC, topicId: CURRENT_ID, partitionCount: 1, config: defaultTopicConfig },
    { type: 'Partition', topicId: CURRENT_ID, partition: 0, replicas: [nodeId(1), nodeId(2)], isr: [nodeId(1), nodeId(2)], leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 },
  ], raftIndex(1))
  const partition = image.partition(CURRENT_ID, 0)
  if (partition === undefined) throw new Error('no partition')
  const fs = new SimFileSystem()
  const timers = new ManualTimers()
  const log = await PartitionLog.open({ dir: '/data', topic: TOPIC, partition: 0, logger: silentLogger, fs })
  logs.push(log)
  const replica = new PartitionReplica({ topic: TOPIC, partition: 0, topicId: CURRENT_ID, log, fs, logger: silentLogger, highWatermark: 0, producersMax: 100 })
  replica.becomeLeader(partition, timers.nowMs())
  const config = validateReplicationConfig({})
  const host: LeaderRequestsHost = {
    config,
    clock: timers,
    delayed: new DelayedOperations({ waitersMax: { produce: 10, consumerFetch: 10, followerFetch: 10 }, timers }),
    bytes: new ByteBudget(config.inFlightBytesMax),
    replica: (topic, p) => topic === TOPIC && p === 0 ? replica : undefined,
    topicIdKnown: (topicId) => topicId === CURRENT_ID || topicId === OTHER_KNOWN_ID,
    onLeaderProgress: (r) => { r.maybeAdvanceHighWatermark() },
  }
  return { requests: new LeaderRequests(host), replica, host }
}

const records = (): Buffer => buildBatch([{ value: Buffer.from('v') }], { nowMs: 1_700_000_000_000 })

describe('LeaderRequests: topic ids (KIP-516)', () => {
  test('produce naming another incarnation appends nothing; the current id or none appends', async () => {
    const { requests, replica } = await leader()
    const produce = async (topicId: string | undefined): Promise<{ errorCode?: string | null; baseOffset?: number | null }> => {
      const response = await requests.produce({ acks: 1, timeoutMs: 1000, partitions: [{ topic: TOPIC, partition: 0, records: records(), topicId: topicId ?? '' }] })
      return response.partitions?.[0] ?? {}
    }
    expect(await produce(DELETED_ID)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, baseOffset: -1 })
    expect(await produce(OTHER_KNOWN_ID)).toMatchObject({ errorCode: ErrorCode.INCONSISTENT_TOPIC_ID, baseOffset: -1 })
    expect(replica.log.logEndOffset).toBe(0)
    expect(await produce(CURRENT_ID)).toMatchObject({ errorCode: '', baseOffset: 0 })
    expect(await produce('')).toMatchObject({ errorCode: '', baseOffset: 1 })
    expect(await produce(undefined)).toMatchObject({ errorCode: '', baseOffset: 2 })
    // Both are retriable: the client refreshes its metadata and retries (against the new incarnation, or not at all).
    expect(isRetriableCode(ErrorCode.UNKNOWN_TOPIC_ID) && isRetriableCode(ErrorCode.INCONSISTENT_TOPIC_ID)).toBe(true)
  })

  test('consumer fetch and list offsets naming another incarnation are refused; the current id is served', async () => {
    const { requests } = await leader()
    const fetch = async (topicId: string): Promise<string | null | undefined> => {
      const response = await requests.fetch({
        maxWaitMs: 0, minBytes: 0, maxBytes: 1024, partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1024, currentLeaderEpoch: -1, topicId }],
      })
      return response.partitions?.[0]?.errorCode
    }
    const listOffsets = async (topicId: string): Promise<string | null | undefined> =>
      (await requests.listOffsets({ partitions: [{ topic: TOPIC, partition: 0, timestamp: -1, topicId, currentLeaderEpoch: -1 }] })).partitions?.[0]?.errorCode
    expect(await fetch(DELETED_ID)).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
    expect(await fetch(OTHER_KNOWN_ID)).toBe(ErrorCode.INCONSISTENT_TOPIC_ID)
    expect(await fetch(CURRENT_ID)).toBe('')
    expect(await fetch('')).toBe('')
    expect(await listOffsets(DELETED_ID)).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
    expect(await listOffsets(OTHER_KNOWN_ID)).toBe(ErrorCode.INCONSISTENT_TOPIC_ID)
    expect(await listOffsets(CURRENT_ID)).toBe('')
  })

  test('a follower of another incarnation gets no records and does not count for the high watermark', async () => {
    const { requests, replica } = await leader()
    expect((await requests.produce({ acks: 1, timeoutMs: 1000, partitions: [{ topic: TOPIC, partition: 0, topicId: '', records: records() }] })).partitions?.[0]?.errorCode).toBe('')
    const replicaFetch = (topicId: string, fetchOffset: number, brokerEpoch?: number): ReplicaFetchRequest => ({
      replicaId: 2, maxWaitMs: 0, minBytes: 0, maxBytes: 1024 * 1024, ...(brokerEpoch === undefined ? {} : { brokerEpoch }),
      partitions: [{ topic: TOPIC, partition: 0, fetchOffset, lastFetchedEpoch: -1, currentLeaderEpoch: 0, logStartOffset: 0, topicId }],
    })
    for (const [topicId, code] of [[DELETED_ID, ErrorCode.UNKNOWN_TOPIC_ID], [OTHER_KNOWN_ID, ErrorCode.INCONSISTENT_TOPIC_ID]] as const) {
      const result = (await requests.replicaFetch(replicaFetch(topicId, 1, 7))).partitions?.[0]
      expect(result?.errorCode).toBe(code)
      expect(result?.records?.byteLength ?? 0).toBe(0)
    }
    // Its fetch offset (1: it claims to hold the batch) was not recorded, so the HW did not move to it.
    expect(replica.highWatermark).toBe(0)
    expect(replica.followerBrokerEpoch(2)).toBe(-1)
    const served = (await requests.replicaFetch(replicaFetch(CURRENT_ID, 0, 7))).partitions?.[0]
    expect(served?.errorCode).toBe('')
    expect(served?.records?.byteLength ?? 0).toBeGreaterThan(0)
    // KIP-903: the leader keeps the broker epoch of the follower's latest fetch; 0 (protobuf's unset) is unknown.
    expect(replica.followerBrokerEpoch(2)).toBe(7)
    await requests.replicaFetch(replicaFetch(CURRENT_ID, 1))
    expect(replica.followerBrokerEpoch(2)).toBe(-1)
    expect(replica.highWatermark).toBe(1)
    await requests.replicaFetch(replicaFetch(CURRENT_ID, 1, 9))
    expect(replica.followerBrokerEpoch(2)).toBe(9)
  })

  test('without the image\'s answer (no topicIdKnown), a mismatch is refused as UNKNOWN_TOPIC_ID', async () => {
    const { host } = await leader()
    const { topicIdKnown: _unused, ...withoutImage } = host
    const requests = new LeaderRequests(withoutImage)
    const response = await requests.listOffsets({ partitions: [{ topic: TOPIC, partition: 0, timestamp: -1, topicId: OTHER_KNOWN_ID, currentLeaderEpoch: -1 }] })
    expect(response.partitions?.[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
  })
})

// Issue 10, defect 2 (KIP-516) through real ReplicaManagers on a simulated disk: a topic deleted and re-created under
// the same name must never have one incarnation's data served or appended as the other's. Replica fetches carry the
// follower's topic id (and its broker epoch, KIP-903), the leader refuses a mismatch, and a partition directory
// remembers its topic id across restarts.
import { afterEach, describe, expect, test } from 'vitest'
import { ErrorCode, leaderEpoch, nodeId, raftIndex, silentLogger, type Timers, type Clock } from '@gregor/common'
import { MetadataImage, type MetadataRecord, defaultTopicConfig } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { buildBatch } from '@gregor/records'
import { FileHandleCache, SimFileSystem } from '@gregor/storage'
import type { ReplicaFetchRequest, ReplicaFetchResponse } from './leader-requests.js'
import { PARTITION_METADATA_FILE } from './partition-metadata-file.js'
import type { ReplicaFetchSession, ReplicaFetchTransport } from './replica-fetch-transport.js'
import { ReplicaManager } from './replica-manager.js'
import { validateReplicationConfig } from './replication-config.js'
import { InProcessFetchTransport } from './testing/in-process-fetch-transport.js'
import { ManualTimers } from './testing/manual-timers.js'
import { systemTimers } from '../system/system-timers.js'

const TOPIC = 't'
const OLD_ID = 'id-old'
const NEW_ID = 'id-new'

/** Brokers `ids` registered (incarnation `i-<id>`), and `t` as topic `topicId` led by `leader` with `isr`. */
function imageOf (topicId: string, options: { ids: number[]; isr: number[]; leader: number }): MetadataImage {
  const image = new MetadataImage()
  const records: MetadataRecord[] = []
  for (const id of options.ids) {
    records.push({ type: 'RegisterBroker', brokerId: nodeId(id), incarnationId: `i-${id}`, listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] })
    records.push({ type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId: `i-${id}` })
  }
  records.push({ type: 'Topic', name: TOPIC, topicId, partitionCount: 1, config: { ...defaultTopicConfig, minInsyncReplicas: 1 } })
  records.push({
    type: 'Partition', topicId, partition: 0, replicas: options.ids.map(nodeId), isr: options.isr.map(nodeId),
    leader: nodeId(options.leader), leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
  })
  image.applyBatch(records, raftIndex(1))
  return image
}

/** Every replica fetch a follower sent, and every answer it got. */
class RecordingTransport implements ReplicaFetchTransport {
  readonly requests: ReplicaFetchRequest[] = []
  readonly responses: ReplicaFetchResponse[] = []
  readonly #inner: ReplicaFetchTransport

  constructor (inner: ReplicaFetchTransport) {
    this.#inner = inner
  }

  open (leaderId: number): ReplicaFetchSession | undefined {
    const session = this.#inner.open(leaderId)
    if (session === undefined) return undefined
    return {
      fetch: async (request) => {
        this.requests.push(request)
        const response = await session.fetch(request)
        this.responses.push(response)
        return response
      },
      close: () => { session.close() },
    }
  }
}

const fs = (): SimFileSystem => new SimFileSystem()
const managers: ReplicaManager[] = []
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close()
})

function manager (id: number, disk: SimFileSystem, options: {
  transport?: ReplicaFetchTransport; timers?: Timers & Clock
  alterPartition?: (request: gregor.cluster.AlterPartitionRequest.$Properties) => Promise<gregor.cluster.AlterPartitionResponse>
} = {}): ReplicaManager {
  const timers = options.timers ?? new ManualTimers()
  const created = new ReplicaManager({
    brokerId: id, incarnationId: `i-${id}`, dataDir: `/b${id}`, logConfig: {}, fs: disk,
    files: new FileHandleCache({ openFilesMax: 20, fs: disk }),
    alterPartition: options.alterPartition ?? (async () => await new Promise(() => {})),
    fetchTransport: options.transport ?? new InProcessFetchTransport(() => undefined),
    clock: timers, timers, logger: silentLogger,
    config: validateReplicationConfig({ replicaFetchMaxWaitMs: 50, replicaFetchBackoffMs: 10, reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 50 }),
  })
  managers.push(created)
  return created
}

async function stop (target: ReplicaManager): Promise<void> {
  managers.splice(managers.indexOf(target), 1)
  await target.close()
}

async function produce (target: ReplicaManager, topicId?: string): Promise<{ errorCode?: string | null; baseOffset?: number | null }> {
  const records = buildBatch([{ value: Buffer.from('v') }], { nowMs: 1_700_000_000_000 })
  const response = await target.produce({ acks: 1, timeoutMs: 1000, partitions: [{ topic: TOPIC, partition: 0, records, topicId: topicId ?? '' }] })
  return response.partitions?.[0] ?? {}
}

function logEndOffset (target: ReplicaManager): number {
  const state = target.replicaState(TOPIC, 0)
  if (state === undefined) throw new Error('no replica')
  return state.logEndOffset
}

async function waitFor (what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('ReplicaManager: topic ids (issue 10, defect 2)', () => {
  test('a partition directory of another topic id is deleted when the replica opens; one of an older build is kept', async () => {
    const disk = fs()
    const alone = { ids: [1], isr: [1], leader: 1 }
    const metadataFile = `/b1/t-0/${PARTITION_METADATA_FILE}`
    let broker = manager(1, disk)
    await broker.onMetadata(imageOf(OLD_ID, alone))
    for (let i = 0; i < 2; i++) expect(await produce(broker)).toMatchObject({ errorCode: '' })
    await stop(broker)
    expect((await disk.readFile(metadataFile)).toString()).toContain(`topic_id: ${OLD_ID}`)

    // Written by an older build: no file. Adopted, with its data, and the file written.
    await disk.unlink(metadataFile)
    broker = manager(1, disk)
    await broker.onMetadata(imageOf(OLD_ID, alone))
    expect(logEndOffset(broker)).toBe(2)
    expect((await disk.readFile(metadataFile)).toString()).toContain(`topic_id: ${OLD_ID}`)
    await stop(broker)

    // The topic was deleted and re-created while the broker was down: the old incarnation's log is not this one's.
    broker = manager(1, disk)
    await broker.onMetadata(imageOf(NEW_ID, alone))
    expect(broker.replicaState(TOPIC, 0)).toMatchObject({ logEndOffset: 0, highWatermark: 0, logStartOffset: 0 })
    expect((await disk.readFile(metadataFile)).toString()).toContain(`topic_id: ${NEW_ID}`)
    expect(await produce(broker, NEW_ID)).toMatchObject({ errorCode: '', baseOffset: 0 })
  })

  test('the leader refuses produce, fetch and list offsets naming an id it does not know; the current id or none is served', async () => {
    const broker = manager(1, fs())
    await broker.onMetadata(imageOf(NEW_ID, { ids: [1], isr: [1], leader: 1 }))
    expect(await produce(broker, OLD_ID)).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID })
    expect(logEndOffset(broker)).toBe(0)
    expect(await produce(broker, NEW_ID)).toMatchObject({ errorCode: '', baseOffset: 0 })
    expect(await produce(broker)).toMatchObject({ errorCode: '', baseOffset: 1 })
    const fetched = await broker.fetch({ maxWaitMs: 0, minBytes: 0, maxBytes: 1024, partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1024, currentLeaderEpoch: -1, topicId: OLD_ID }] })
    expect(fetched.partitions?.[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID })
    expect(fetched.partitions?.[0]?.records?.byteLength ?? 0).toBe(0)
    const listed = await broker.listOffsets({ partitions: [{ topic: TOPIC, partition: 0, timestamp: -1, topicId: OLD_ID, currentLeaderEpoch: -1 }] })
    expect(listed.partitions?.[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, offset: -1 })
    const current = await broker.listOffsets({ partitions: [{ topic: TOPIC, partition: 0, timestamp: -1, topicId: NEW_ID, currentLeaderEpoch: -1 }] })
    expect(current.partitions?.[0]).toMatchObject({ errorCode: '', offset: 2 })
  })

  test('a follower sends its topic id and broker epoch; the leader proposes it for the ISR with that epoch', async () => {
    const disk = fs()
    const image = imageOf(NEW_ID, { ids: [1, 2], isr: [1], leader: 1 })
    const alterCalls: gregor.cluster.AlterPartitionRequest.$Properties[] = []
    const clock = { nowMs: () => performance.now() }
    const leader = manager(1, disk, { timers: { ...systemTimers, ...clock }, alterPartition: async (request) => { alterCalls.push(request); return await new Promise(() => {}) } })
    const transport = new RecordingTransport(new InProcessFetchTransport((id) => id === 1 ? leader : undefined))
    const follower = manager(2, disk, { transport, timers: { ...systemTimers, ...clock } })
    await leader.onMetadata(image)
    expect(await produce(leader)).toMatchObject({ errorCode: '' })
    await follower.onMetadata(image)
    await waitFor('the leader proposes the follower for the ISR', () => alterCalls.length > 0)
    const brokerEpoch = image.broker(nodeId(2))?.brokerEpoch
    expect(brokerEpoch).toBeGreaterThan(0)
    expect(alterCalls[0]?.newIsrWithEpochs).toEqual([{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch }])
    expect(transport.requests.length).toBeGreaterThan(0)
    for (const request of transport.requests) {
      expect(request.brokerEpoch).toBe(brokerEpoch)
      expect(request.partitions?.map((p) => p.topicId)).toEqual([NEW_ID])
    }
  })

  test('a follower holding another incarnation of the topic appends nothing from the leader until its metadata agrees', async () => {
    const disk = fs()
    const clock = { nowMs: () => performance.now() }
    const leader = manager(1, disk, { timers: { ...systemTimers, ...clock } })
    const transport = new RecordingTransport(new InProcessFetchTransport((id) => id === 1 ? leader : undefined))
    const follower = manager(2, disk, { transport, timers: { ...systemTimers, ...clock } })
    const current = imageOf(NEW_ID, { ids: [1, 2], isr: [1, 2], leader: 1 })
    await leader.onMetadata(current)
    for (let i = 0; i < 3; i++) expect(await produce(leader)).toMatchObject({ errorCode: '' })
    // The follower's metadata is behind: it still has the deleted incarnation, with the same name, epoch and leader.
    await follower.onMetadata(imageOf(OLD_ID, { ids: [1, 2], isr: [1, 2], leader: 1 }))
    await waitFor('three refused fetches', () => transport.responses.length >= 3)
    for (const response of transport.responses) expect(response.partitions?.[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
    expect(logEndOffset(follower)).toBe(0)
    // Its metadata catches up: the old replica is replaced by the new incarnation's, which fetches everything.
    await follower.onMetadata(current)
    await waitFor('the follower caught up', () => logEndOffset(follower) === 3)
  })
})

import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { ErrorCode, type NodeId, type TimerHandle, type Timers, nodeId, raftIndex, silentLogger } from '@gregor/common'
import {
  MetadataImage, type MetadataRecord, NO_LEADER, defaultMetadataConfig, encodeMetadataRecords, validateMetadataConfig,
} from '@gregor/metadata'
import { entryDataBytesMax } from '@gregor/raft'
import { describe, expect, test } from 'vitest'
import { Controller } from './controller.js'
import { defaultControllerConfig } from './controller-config.js'

const sessionMs = 3000
const graceMs = 400
const config = validateMetadataConfig({
  ...defaultMetadataConfig, brokerHeartbeatIntervalMs: 200, brokerSessionTimeoutMs: sessionMs, brokerConnectionLossGraceMs: graceMs,
})

/** Timers that never fire by themselves: the test sees what is armed and fires it. */
class ManualTimers implements Timers {
  armed: { callback: () => void; delayMs: number } | undefined
  setTimeout (callback: () => void, delayMs: number): TimerHandle {
    const armed = { callback, delayMs }
    this.armed = armed
    return { cancel: () => { if (this.armed === armed) this.armed = undefined } }
  }

  setInterval (): TimerHandle {
    throw new Error('the controller arms no interval')
  }

  async sleep (): Promise<void> {
    throw new Error('the controller does not sleep')
  }
}

/** A controller over a real image whose `propose` applies each batch at once: the simulation seam. */
function harness (options: { propose?: (records: readonly MetadataRecord[]) => Promise<void>; newId?: () => string; config?: typeof config } = {}) {
  const image = new MetadataImage()
  const clock = { now: 1_000, nowMs (): number { return this.now } }
  const timers = new ManualTimers()
  let ids = 0
  const applied: (readonly MetadataRecord[])[] = []
  const controller = new Controller({
    brokerId: nodeId(1), clusterId: 'cluster-a', config: options.config ?? config, image: () => image,
    propose: options.propose ?? (async (records) => {
      applied.push(records)
      image.applyBatch(records, raftIndex(image.appliedIndex + 1))
    }),
    newId: options.newId ?? (() => `topic-id-${++ids}`), clock, logger: silentLogger, timers, rng: { next: () => 0, int: (min) => min },
  })
  controller.activate()
  const incarnation = (id: number): string => `incarnation-${id}`
  const register = async (id: number) => await controller.registerBroker({
    brokerId: id, incarnationId: incarnation(id), clusterId: 'cluster-a',
    listeners: [{ name: 'BROKER', host: `broker-${id}`, port: 9093 }],
  })
  const heartbeat = async (id: number, extra: { wantShutDown?: boolean; metadataAppliedIndex?: number } = {}) =>
    await controller.heartbeat({
      brokerId: id, incarnationId: incarnation(id), metadataAppliedIndex: image.appliedIndex, ...extra,
    })
  const startBrokers = async (...brokerIds: number[]) => {
    for (const id of brokerIds) expect((await register(id)).errorCode).toBe('')
    for (const id of brokerIds) expect((await heartbeat(id)).fenced).toBe(false)
  }
  const advance = async (ms: number) => {
    clock.now += ms
    await controller.checkLiveness()
  }
  const broker = (id: number) => image.broker(id as NodeId)
  return { image, clock, timers, controller, applied, incarnation, register, heartbeat, startBrokers, advance, broker }
}

/** An AlterPartition ISR with each member's current broker epoch, as a leader that saw them all fetch would send. */
function withEpochs (h: { image: MetadataImage }, ids: readonly number[]): { brokerId: number; brokerEpoch: number }[] {
  return ids.map((id) => ({ brokerId: id, brokerEpoch: h.image.broker(id as NodeId)?.brokerEpoch ?? -1 }))
}

describe('controller: issue 10 defects 5 and 9', () => {
  test('#5 a broker whose heartbeat says its log directory is offline is fenced at once, and unfenced only once it is back', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 3, replicationFactor: 3 }] })
    expect(h.image.partitionsLedBy(nodeId(2)).length).toBeGreaterThan(0)
    const offline = await h.controller.heartbeat({ brokerId: 2, incarnationId: h.incarnation(2), metadataAppliedIndex: h.image.appliedIndex, logDirOffline: true })
    expect(offline).toMatchObject({ errorCode: '', fenced: true })
    expect(h.image.partitionsLedBy(nodeId(2))).toEqual([])
    for (const partition of h.image.partitions()) expect(partition.isr).not.toContain(2)
    // Heartbeats go on while the directory is offline: it stays fenced, however caught up it is.
    const still = await h.controller.heartbeat({ brokerId: 2, incarnationId: h.incarnation(2), metadataAppliedIndex: h.image.appliedIndex, logDirOffline: true })
    expect(still.fenced).toBe(true)
    expect((await h.heartbeat(2)).fenced).toBe(false)
  })

  test('#5 a broker reporting re-fetching replicas (corruption found) leaves their ISRs and leaderships', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 3, replicationFactor: 3 }] })
    const led = h.image.partitionsLedBy(nodeId(2)).map((p) => p.partition)
    expect(led.length).toBeGreaterThan(0)
    const refetching = [0, 1, 2].map((partition) => ({ topicId: 'topic-id-1', partition }))
    const answer = await h.controller.heartbeat({ brokerId: 2, incarnationId: h.incarnation(2), metadataAppliedIndex: h.image.appliedIndex, refetching })
    expect(answer).toMatchObject({ errorCode: '', fenced: false })
    for (const partition of h.image.partitions()) {
      expect(partition.isr).not.toContain(2)
      expect(partition.leader).not.toBe(2)
    }
  })

  test('#9 KIP-903: an ISR expansion naming a broker epoch of a replaced incarnation is refused', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 1, replicationFactor: 3 }] })
    const first = h.image.partition('topic-id-1', 0)!
    const leader = first.leader
    const follower = first.isr.find((id) => id !== leader)!
    const shrunk = await h.controller.alterPartition({
      brokerId: leader, topicId: 'topic-id-1', partition: 0, leaderEpoch: first.leaderEpoch, partitionEpoch: first.partitionEpoch,
      newIsrWithEpochs: withEpochs(h, first.isr.filter((id) => id !== follower)),
    })
    expect(shrunk.errorCode).toBe('')
    // The leader saw the follower fetch caught up with its epoch; then the follower restarts (new incarnation).
    const seenEpoch = h.image.broker(follower)!.brokerEpoch
    h.clock.now += config.brokerSessionTimeoutMs
    await h.controller.checkLiveness()
    await h.controller.registerBroker({ brokerId: follower, incarnationId: 'restarted', clusterId: 'cluster-a', listeners: [{ name: 'BROKER', host: 'b', port: 1 }] })
    for (const id of [1, 2, 3].filter((id) => id !== follower)) await h.heartbeat(id)
    await h.controller.heartbeat({ brokerId: follower, incarnationId: 'restarted', metadataAppliedIndex: h.image.appliedIndex })
    expect(h.image.broker(follower)).toMatchObject({ fenced: false })
    const state = h.image.partition('topic-id-1', 0)!
    const members = (epoch: number) => [...state.isr.map((id) => ({ brokerId: id, brokerEpoch: -1 })), { brokerId: follower, brokerEpoch: epoch }]
    const stale = await h.controller.alterPartition({
      brokerId: state.leader, topicId: 'topic-id-1', partition: 0, leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch,
      newIsrWithEpochs: members(seenEpoch),
    })
    expect(stale).toMatchObject({ errorCode: ErrorCode.INELIGIBLE_REPLICA })
    expect(h.image.partition('topic-id-1', 0)?.isr).not.toContain(follower)
    const current = await h.controller.alterPartition({
      brokerId: state.leader, topicId: 'topic-id-1', partition: 0, leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch,
      newIsrWithEpochs: members(h.image.broker(follower)!.brokerEpoch),
    })
    expect(current.errorCode).toBe('')
    expect(h.image.partition('topic-id-1', 0)?.isr).toContain(follower)
  })
})

describe('controller: registration and unfencing', () => {
  test('a broker registers fenced and is unfenced once it reports the applied index', async () => {
    const h = harness()
    expect(await h.register(1)).toEqual({ errorCode: '' })
    expect(h.broker(1)?.fenced).toBe(true)
    const behind = await h.heartbeat(1, { metadataAppliedIndex: h.image.appliedIndex - 1 })
    expect(behind).toMatchObject({ errorCode: '', fenced: true })
    const caughtUp = await h.heartbeat(1)
    expect(caughtUp).toMatchObject({ errorCode: '', fenced: false })
    expect(h.broker(1)?.fenced).toBe(false)
  })

  test('a registration from another cluster is refused', async () => {
    const h = harness()
    const response = await h.controller.registerBroker({ brokerId: 1, incarnationId: 'x', clusterId: 'other' })
    expect(response.errorCode).toBe('INCONSISTENT_CLUSTER_ID')
  })

  test('a heartbeat from an unknown broker or a stale incarnation asks it to register', async () => {
    const h = harness()
    expect((await h.heartbeat(7)).errorCode).toBe('BROKER_ID_NOT_REGISTERED')
    await h.startBrokers(1)
    const stale = await h.controller.heartbeat({ brokerId: 1, incarnationId: 'old', metadataAppliedIndex: 0 })
    expect(stale.errorCode).toBe('STALE_BROKER_EPOCH')
  })
})

describe('controller: topics', () => {
  test('creates a topic, then refuses duplicates, too high a replication factor and bad names', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    const created = await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 3, replicationFactor: 3 }] })
    expect(created.topics).toEqual([{
      name: 'orders', topicId: 'topic-id-1', errorCode: '', partitions: 3, replicationFactor: 3,
      configs: expect.objectContaining({ 'min.insync.replicas': '2', 'cleanup.policy': 'delete' }),
    }])
    expect(h.image.partitionsOf('topic-id-1')).toHaveLength(3)
    const again = await h.controller.createTopics({
      topics: [
        { name: 'orders', partitions: 1, replicationFactor: 1 },
        { name: 'wide', partitions: 1, replicationFactor: 4 },
        { name: 'bad name!', partitions: 1, replicationFactor: 1 },
        { name: 'tuned', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2', 'retention.ms': '1000' } },
      ],
    })
    expect(again.topics?.map((topic) => topic.errorCode))
      .toEqual(['TOPIC_ALREADY_EXISTS', 'INVALID_REPLICATION_FACTOR', 'INVALID_TOPIC_EXCEPTION', ''])
    expect(h.image.topic('tuned')?.config.retentionMs).toBe(1000)
  })

  test('the replication factor counts live brokers only', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    h.controller.connectionLost(nodeId(3), h.incarnation(3))
    await h.advance(graceMs)
    expect(h.broker(3)?.fenced).toBe(true)
    const response = await h.controller.createTopics({ topics: [{ name: 't', partitions: 1, replicationFactor: 3 }] })
    expect(response.topics?.[0]?.errorCode).toBe('INVALID_REPLICATION_FACTOR')
  })

  test('validate-only proposes nothing; delete removes the topic', async () => {
    const h = harness()
    await h.startBrokers(1)
    const dry = await h.controller.createTopics({ topics: [{ name: 't', partitions: 1, replicationFactor: 1 }], validateOnly: true })
    expect(dry.topics?.[0]?.errorCode).toBe('')
    expect(h.image.topic('t')).toBeUndefined()
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 1, replicationFactor: 1 }] })
    const deleted = await h.controller.deleteTopics({ topics: ['t', 'missing'] })
    expect(deleted.topics?.map((topic) => topic.errorCode)).toEqual(['', 'UNKNOWN_TOPIC_OR_PARTITION'])
    expect(h.image.topic('t')).toBeUndefined()
  })
})

describe('controller: failure detection', () => {
  async function clusterWithTopic () {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] })
    const ledBy1 = h.image.partitionsLedBy(nodeId(1))
    expect(ledBy1.length).toBeGreaterThan(0)
    return { ...h, ledBy1 }
  }

  test('a lost connection fences the broker after the grace, and its partitions get new leaders from the ISR', async () => {
    const h = await clusterWithTopic()
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    expect(h.timers.armed?.delayMs).toBe(graceMs)
    await h.heartbeat(2)
    await h.heartbeat(3)
    await h.advance(graceMs - 1)
    expect(h.broker(1)?.fenced).toBe(false)
    await h.advance(1)
    expect(h.broker(1)?.fenced).toBe(true)
    for (const { partition } of h.ledBy1) {
      const now = h.image.partition('topic-id-1', partition)
      expect([2, 3]).toContain(now?.leader)
      expect(now?.isr).not.toContain(1)
    }
    expect((await h.heartbeat(2)).fenced).toBe(false)
  })

  test('the fencing timer itself fences the broker', async () => {
    const h = await clusterWithTopic()
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    h.clock.now += graceMs
    h.timers.armed?.callback()
    await h.controller.idle()
    expect(h.broker(1)?.fenced).toBe(true)
  })

  test('a heartbeat within the grace cancels the suspicion', async () => {
    const h = await clusterWithTopic()
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.advance(graceMs - 100)
    expect((await h.heartbeat(1)).fenced).toBe(false)
    await h.advance(200)
    expect(h.broker(1)?.fenced).toBe(false)
    // Brokers 2 and 3 last heartbeated at the start: theirs is now the earliest deadline, a session after it.
    expect(h.timers.armed?.delayMs).toBe(sessionMs - (graceMs - 100) - 200)
  })

  test('a silent broker is fenced at its session timeout', async () => {
    const h = await clusterWithTopic()
    await h.advance(sessionMs - 100)
    await h.heartbeat(1)
    await h.heartbeat(2)
    await h.advance(99)
    expect(h.broker(3)?.fenced).toBe(false)
    await h.advance(1)
    expect(h.broker(3)?.fenced).toBe(true)
    expect(h.broker(1)?.fenced).toBe(false)
    expect(h.broker(2)?.fenced).toBe(false)
  })

  test('a fenced broker that heartbeats caught up is unfenced again', async () => {
    const h = await clusterWithTopic()
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.advance(graceMs)
    expect(h.broker(1)?.fenced).toBe(true)
    expect((await h.heartbeat(1)).fenced).toBe(false)
  })
})

describe('controller: controlled shutdown and ISR changes', () => {
  test('controlled shutdown moves leadership away, then reports shutdown_ready', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] })
    expect(h.image.partitionsLedBy(nodeId(2)).length).toBeGreaterThan(0)
    const response = await h.heartbeat(2, { wantShutDown: true })
    expect(response).toMatchObject({ errorCode: '', shutdownReady: true })
    expect(h.image.partitionsLedBy(nodeId(2))).toEqual([])
    expect(h.broker(2)?.shuttingDown).toBe(true)
    expect((await h.heartbeat(2, { wantShutDown: true })).shutdownReady).toBe(true)
  })

  test('AlterPartition with a stale epoch is refused; a current one shrinks the ISR', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 1, replicationFactor: 3 }] })
    const partition = h.image.partition('topic-id-1', 0)
    expect(partition).toBeDefined()
    const { leader, leaderEpoch, partitionEpoch, isr } = partition!
    const newIsr = isr.filter((id) => id === leader || id !== isr.find((other) => other !== leader))
    const ok = await h.controller.alterPartition({ brokerId: leader, topicId: 'topic-id-1', partition: 0, leaderEpoch, partitionEpoch, newIsrWithEpochs: withEpochs(h, newIsr) })
    expect(ok).toMatchObject({ errorCode: '', isr: newIsr, partitionEpoch: partitionEpoch + 1 })
    const stale = await h.controller.alterPartition({ brokerId: leader, topicId: 'topic-id-1', partition: 0, leaderEpoch, partitionEpoch, newIsrWithEpochs: withEpochs(h, isr) })
    expect(stale).toMatchObject({ errorCode: 'FENCED_LEADER_EPOCH', partitionEpoch: partitionEpoch + 1 })
    const unknown = await h.controller.alterPartition({ brokerId: leader, topicId: 'nope', partition: 0, leaderEpoch, partitionEpoch, newIsrWithEpochs: withEpochs(h, newIsr) })
    expect(unknown.errorCode).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })
})

describe('controller: more partitions', () => {
  test('CreatePartitions grows a topic (validate-only first), and refuses a count that does not grow it', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 2, replicationFactor: 3 }] })
    const dry = await h.controller.createPartitions({ topics: [{ name: 'orders', partitions: 5 }], validateOnly: true })
    expect(dry.topics).toEqual([{ name: 'orders', topicId: 'topic-id-1', errorCode: '', partitions: 5 }])
    expect(h.image.topic('orders')?.partitionCount).toBe(2)
    const grown = await h.controller.createPartitions({ topics: [{ name: 'orders', partitions: 5 }, { name: 'missing', partitions: 2 }] })
    expect(grown.topics?.map((topic) => topic.errorCode)).toEqual(['', 'UNKNOWN_TOPIC_OR_PARTITION'])
    expect(h.image.partitionsOf('topic-id-1').map((p) => [p.partition, p.replicas.length, p.leader === p.replicas[0]]))
      .toEqual([0, 1, 2, 3, 4].map((partition) => [partition, 3, true]))
    const shrink = await h.controller.createPartitions({ topics: [{ name: 'orders', partitions: 4 }] })
    expect(shrink.topics?.[0]).toMatchObject({ errorCode: 'INVALID_PARTITIONS', errorMessage: expect.stringMatching(/can only grow/) })
    expect(h.image.invariantProblems()).toEqual([])
  })
})

describe('controller: topic configs', () => {
  test('AlterTopicConfigs under Kafka names: validate-only first, then SET/DELETE land in the image; bad values and APPEND on a non-list refused', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 1, replicationFactor: 3, configs: { 'retention.ms': '60000' } }] })
    const alterations = [{ key: 'segment.bytes', operation: 'SET', value: '4096' }, { key: 'retention.ms', operation: 'DELETE' }]
    const dry = await h.controller.alterTopicConfigs({ topics: [{ name: 'orders', alterations }], validateOnly: true })
    expect(dry.topics?.[0]).toMatchObject({ name: 'orders', errorCode: '', configs: expect.objectContaining({ 'segment.bytes': '4096', 'retention.ms': '604800000' }) })
    expect(h.image.topic('orders')?.config.retentionMs).toBe(60000)
    const done = await h.controller.alterTopicConfigs({ topics: [{ name: 'orders', alterations }, { name: 'missing', alterations }] })
    expect(done.topics?.map((topic) => topic.errorCode)).toEqual(['', 'UNKNOWN_TOPIC_OR_PARTITION'])
    expect(h.image.topic('orders')?.config).toMatchObject({ segmentBytes: 4096, retentionMs: 604800000 })
    const bad = await h.controller.alterTopicConfigs({ topics: [{ name: 'orders', alterations: [{ key: 'segment.bytes', operation: 'SET', value: 'big' }] }] })
    expect(bad.topics?.[0]).toMatchObject({ errorCode: 'INVALID_CONFIG', errorMessage: expect.stringMatching(/segmentBytes must be/) })
    const append = await h.controller.alterTopicConfigs({ topics: [{ name: 'orders', alterations: [{ key: 'retention.ms', operation: 'APPEND', value: '1' }] }] })
    expect(append.topics?.[0]?.errorCode).toBe('INVALID_REQUEST')
    expect(h.image.invariantProblems()).toEqual([])
  })
})

describe('controller: SCRAM credentials', () => {
  test('upserts commit StoredKey/ServerKey derived from the salted password; refusals per user; deletes', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    const salt = Buffer.from('client-salt')
    const saltedPassword = pbkdf2Sync('alice-secret', salt, 4096, 32, 'sha256')
    const created = await h.controller.alterUserScramCredentials({
      upsertions: [
        { name: 'alice', mechanism: 'SCRAM-SHA-256', iterations: 4096, salt, saltedPassword },
        { name: 'bob', mechanism: 'SCRAM-SHA-1', iterations: 4096, salt, saltedPassword },
      ],
    })
    expect(created.results).toEqual([{ user: 'alice', errorCode: '' }, { user: 'bob', errorCode: 'UNSUPPORTED_SASL_MECHANISM', errorMessage: expect.any(String) }])
    const stored = h.image.scramCredential('alice', 'SCRAM-SHA-256')
    const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest()
    expect(Buffer.from(stored?.storedKey ?? [])).toEqual(createHash('sha256').update(clientKey).digest())
    const deleted = await h.controller.alterUserScramCredentials({ deletions: [{ name: 'alice', mechanism: 'SCRAM-SHA-256' }] })
    expect(deleted.results).toEqual([{ user: 'alice', errorCode: '' }])
    expect(h.image.scramUsers()).toEqual([])
    expect(h.image.invariantProblems()).toEqual([])
  })
})

describe('controller: preferred leaders', () => {
  test('ElectLeaders on request: not needed where the preferred replica leads, unknown partitions named, elected otherwise', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] })
    const none = await h.controller.electLeaders({ partitions: [{ topic: 't', partition: 0 }, { topic: 'missing', partition: 0 }, { topic: 't', partition: 9 }] })
    expect(none).toEqual({ errorCode: '', results: [
      { topic: 't', partition: 0, outcome: 'ELECTION_NOT_NEEDED' }, { topic: 't', partition: 9, outcome: 'UNKNOWN_TOPIC_OR_PARTITION' },
      { topic: 'missing', partition: 0, outcome: 'UNKNOWN_TOPIC_OR_PARTITION' },
    ] })
    // Leadership leaves broker 1 and comes back to it only by request (no check is due).
    const preferredBy1 = h.image.partitionsOf('topic-id-1').filter((p) => p.replicas[0] === 1).map((p) => p.partition)
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.heartbeat(2)
    await h.heartbeat(3)
    await h.advance(graceMs)
    for (const id of [1, 2, 3]) await h.heartbeat(id)
    for (const partition of preferredBy1) {
      const state = h.image.partition('topic-id-1', partition)!
      await h.controller.alterPartition({
        brokerId: state.leader, topicId: 'topic-id-1', partition, leaderEpoch: state.leaderEpoch,
        partitionEpoch: state.partitionEpoch, newIsrWithEpochs: withEpochs(h, [...state.isr, 1]),
      })
    }
    expect(h.image.partitionsLedBy(nodeId(1))).toEqual([])
    const all = await h.controller.electLeaders({ allPartitions: true })
    expect(all.results?.filter((result) => result.outcome === 'ELECTED').map((result) => result.partition).sort()).toEqual(preferredBy1.sort())
    expect(h.image.partitionsLedBy(nodeId(1)).map((p) => p.partition).sort()).toEqual(preferredBy1.sort())
  })


  test('leadership returns to the preferred replica once it is back in the ISR, never before, and only when the check is due', async () => {
    const h = harness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] })
    const preferredBy1 = h.image.partitionsOf('topic-id-1').filter((p) => p.replicas[0] === 1)
    expect(preferredBy1.length).toBeGreaterThan(0)
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.heartbeat(2)
    await h.heartbeat(3)
    await h.advance(graceMs)
    expect(h.broker(1)?.fenced).toBe(true)
    expect(h.image.partitionsLedBy(nodeId(1))).toEqual([])
    // Broker 1 is back and unfenced, but out of every ISR (still catching up): a due check moves nothing.
    const heartbeatAll = async (): Promise<void> => { for (const id of [1, 2, 3]) expect((await h.heartbeat(id)).fenced).toBe(false) }
    h.clock.now += config.leaderImbalanceCheckIntervalMs
    await heartbeatAll()
    expect(h.image.partitionsLedBy(nodeId(1))).toEqual([])
    // The leaders add broker 1 back to the ISR (it caught up); the next check is one interval later.
    for (const { partition } of preferredBy1) {
      const state = h.image.partition('topic-id-1', partition)!
      const answer = await h.controller.alterPartition({
        brokerId: state.leader, topicId: 'topic-id-1', partition, leaderEpoch: state.leaderEpoch,
        partitionEpoch: state.partitionEpoch, newIsrWithEpochs: withEpochs(h, [...state.isr, 1]),
      })
      expect(answer.errorCode).toBe('')
    }
    h.clock.now += config.leaderImbalanceCheckIntervalMs - 1
    await heartbeatAll()
    expect(h.image.partitionsLedBy(nodeId(1))).toEqual([])
    h.clock.now += 1
    await heartbeatAll()
    expect(h.image.partitionsLedBy(nodeId(1)).map((p) => p.partition).sort()).toEqual(preferredBy1.map((p) => p.partition).sort())
    for (const { partition } of preferredBy1) expect(h.image.partition('topic-id-1', partition)?.isr).toContain(1)
  })
})

describe('controller: activation', () => {
  test('decides nothing before an empty batch of its own term is applied (the catch-up barrier)', async () => {
    const h = harness()
    await h.register(1)
    expect(h.applied[0]).toEqual([])
    expect(h.applied[1]?.[0]?.type).toBe('RegisterBroker')
    h.controller.deactivate()
    h.controller.activate()
    await h.register(2)
    expect(h.applied.map((records) => records.length === 0)).toEqual([true, false, true, false])
  })
})

describe('controller: inactive', () => {
  test('every handler answers NOT_CONTROLLER and no timer is armed', async () => {
    const h = harness()
    await h.startBrokers(1)
    h.controller.deactivate()
    expect(h.controller.isActive).toBe(false)
    expect(h.timers.armed).toBeUndefined()
    expect((await h.register(2)).errorCode).toBe('NOT_CONTROLLER')
    expect((await h.heartbeat(1)).errorCode).toBe('NOT_CONTROLLER')
    const alter = await h.controller.alterPartition({ brokerId: 1, topicId: 'x', partition: 0, newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }] })
    expect(alter.errorCode).toBe('NOT_CONTROLLER')
    expect((await h.controller.createTopics({ topics: [{ name: 't' }] })).topics?.[0]?.errorCode).toBe('NOT_CONTROLLER')
    expect((await h.controller.deleteTopics({ topics: ['t'] })).topics?.[0]?.errorCode).toBe('NOT_CONTROLLER')
  })

  test('deactivation fails work in flight and queued with NOT_CONTROLLER', async () => {
    let release: () => void = () => {}
    const pending = new Promise<void>((resolve) => { release = resolve })
    const h = harness({ propose: async () => { await pending } })
    const inFlight = h.register(1)
    const queued = h.register(2)
    h.controller.deactivate()
    expect((await inFlight).errorCode).toBe('NOT_CONTROLLER')
    expect((await queued).errorCode).toBe('NOT_CONTROLLER')
    release()
    await h.controller.idle()
  })
})

describe('controller: decisions too big for one raft entry (issue 10, defect 1)', () => {
  /**
   * A propose that behaves as the metadata quorum does with followers that refuse an entry above the raft limit,
   * except that it fails at once instead of never committing; and that checks the image after every entry.
   */
  function boundedHarness () {
    const entryBytes: number[] = []
    const problems: string[] = []
    let ids = 0
    const h = harness({
      // Topic ids as production makes them (UUIDs): their length is what makes the records big.
      newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
      propose: async (records) => {
        const bytes = encodeMetadataRecords(records).byteLength
        entryBytes.push(bytes)
        if (bytes > entryDataBytesMax) throw new Error(`entry of ${bytes} bytes would never commit`)
        h.image.applyBatch(records, raftIndex(h.image.appliedIndex + 1))
        problems.push(...h.image.invariantProblems())
      },
    })
    return { ...h, entryBytes, problems }
  }

  test('a 6,500-partition topic at RF 3 is refused at once with the limit named; the controller decides on', async () => {
    const h = boundedHarness()
    await h.startBrokers(1, 2, 3)
    const proposedBefore = h.entryBytes.length
    const refused = await h.controller.createTopics({ topics: [{ name: 'big', partitions: 6500, replicationFactor: 3 }] })
    expect(refused.topics).toEqual([{ name: 'big', errorCode: 'POLICY_VIOLATION', errorMessage: expect.stringContaining(`${entryDataBytesMax}-byte limit`) }])
    expect(refused.topics?.[0]?.errorMessage).toMatch(/about 63\d\d partitions fit/)
    expect(h.entryBytes).toHaveLength(proposedBefore)
    expect(h.image.topic('big')).toBeUndefined()
    // Other topics of the same request are created; a topic just within the limit is created in one entry.
    const mixed = await h.controller.createTopics({
      topics: [{ name: 'big', partitions: 6500, replicationFactor: 3 }, { name: 'wide', partitions: 6300, replicationFactor: 3 }],
    })
    expect(mixed.topics?.map((topic) => topic.errorCode)).toEqual(['POLICY_VIOLATION', ''])
    expect(h.entryBytes.slice(proposedBefore)).toEqual([expect.any(Number)])
    expect(h.entryBytes.at(-1)).toBeGreaterThan(entryDataBytesMax * 0.95)
    expect(h.image.partitionsOf(h.image.topic('wide')?.topicId ?? '')).toHaveLength(6300)
    expect(h.problems).toEqual([])
    // Not wedged: fencing still works.
    h.controller.connectionLost(nodeId(3), h.incarnation(3))
    await h.heartbeat(1)
    await h.heartbeat(2)
    await h.advance(graceMs)
    expect(h.broker(3)?.fenced).toBe(true)
  })

  test('topics of one request are packed whole into entries within the limit', async () => {
    const h = boundedHarness()
    await h.startBrokers(1, 2, 3)
    const proposedBefore = h.entryBytes.length
    const created = await h.controller.createTopics({
      topics: [4000, 4000, 4000].map((partitions, i) => ({ name: `t${i}`, partitions, replicationFactor: 3 })),
    })
    expect(created.topics?.map((topic) => topic.errorCode)).toEqual(['', '', ''])
    const entries = h.entryBytes.slice(proposedBefore)
    expect(entries).toHaveLength(3)
    expect(Math.max(...entries)).toBeLessThanOrEqual(entryDataBytesMax)
    expect(h.problems).toEqual([])
  })

  test('fencing a broker in 12,000 ISRs takes several entries, each within the limit and a valid image', async () => {
    const h = boundedHarness()
    await h.startBrokers(1, 2, 3)
    for (const name of ['a', 'b']) {
      const created = await h.controller.createTopics({ topics: [{ name, partitions: 6000, replicationFactor: 3 }] })
      expect(created.topics?.[0]?.errorCode).toBe('')
    }
    expect(h.image.partitions().filter((partition) => partition.isr.includes(nodeId(1)))).toHaveLength(12_000)
    const ledBy1 = h.image.partitionsLedBy(nodeId(1)).length
    expect(ledBy1).toBe(4000)
    const proposedBefore = h.entryBytes.length
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.heartbeat(2)
    await h.heartbeat(3)
    await h.advance(graceMs)
    const entries = h.entryBytes.slice(proposedBefore)
    expect(entries.length).toBeGreaterThan(1)
    expect(Math.max(...entries)).toBeLessThanOrEqual(entryDataBytesMax)
    expect(h.problems).toEqual([])
    expect(h.broker(1)?.fenced).toBe(true)
    for (const partition of h.image.partitions()) {
      expect(partition.isr).not.toContain(1)
      expect([2, 3]).toContain(partition.leader)
    }
    // And the controller goes on deciding: broker 1 comes back, is unfenced, and rejoins by catching up.
    expect((await h.heartbeat(1)).fenced).toBe(false)
    expect(h.problems).toEqual([])
  })

  test('a new controller leads again what a predecessor left offline between bounded batches, on the first heartbeat', async () => {
    const h = boundedHarness()
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] })
    const topicId = h.image.topic('t')?.topicId ?? ''
    // What a controller dying halfway through a bounded fence of broker 1, which lives on, may leave committed.
    h.image.applyBatch([{ type: 'PartitionChange', topicId, partition: 0, leader: NO_LEADER, isr: [nodeId(1)] }], raftIndex(h.image.appliedIndex + 1))
    expect(h.image.offlinePartitions()).toHaveLength(1)
    h.controller.deactivate()
    h.controller.activate()
    await h.heartbeat(2)
    expect(h.image.partition(topicId, 0)).toMatchObject({ leader: 1, isr: [1] })
    expect(h.problems).toEqual([])
  })

  test('the sole ISR member of 12,000 partitions is fenced in bounded entries: they go offline, then come back', async () => {
    const h = boundedHarness()
    await h.startBrokers(1)
    for (const name of ['a', 'b']) {
      const created = await h.controller.createTopics({ topics: [{ name, partitions: 6000, replicationFactor: 1 }] })
      expect(created.topics?.[0]?.errorCode).toBe('')
    }
    await h.startBrokers(2)
    const onBroker1 = h.image.partitionsLedBy(nodeId(1)).length
    expect(onBroker1).toBe(12_000)
    const proposedBefore = h.entryBytes.length
    h.controller.connectionLost(nodeId(1), h.incarnation(1))
    await h.heartbeat(2)
    await h.advance(graceMs)
    const fenceEntries = h.entryBytes.slice(proposedBefore)
    expect(fenceEntries.length).toBeGreaterThan(1)
    expect(Math.max(...fenceEntries)).toBeLessThanOrEqual(entryDataBytesMax)
    expect(h.broker(1)?.fenced).toBe(true)
    expect(h.image.offlinePartitions()).toHaveLength(onBroker1)
    // Unfencing elects them all again, in as many bounded entries as it takes.
    const beforeUnfence = h.entryBytes.length
    expect((await h.heartbeat(1)).fenced).toBe(false)
    const unfenceEntries = h.entryBytes.slice(beforeUnfence)
    expect(unfenceEntries.length).toBeGreaterThan(1)
    expect(Math.max(...unfenceEntries)).toBeLessThanOrEqual(entryDataBytesMax)
    expect(h.image.offlinePartitions()).toHaveLength(0)
    expect(h.image.partitions().every((partition) => partition.leader !== NO_LEADER)).toBe(true)
    expect(h.problems).toEqual([])
  })
})

describe('controller: the default timing (issue 12, failover)', () => {
  test('a broker whose heartbeat stream broke is fenced 150 ms later and its leaderships move; a silent one keeps them until the 3 s session timeout', async () => {
    const h = harness({ config: defaultControllerConfig })
    await h.startBrokers(1, 2, 3)
    await h.controller.createTopics({ topics: [{ name: 'orders', partitions: 3, replicationFactor: 3 }] })
    const ledBy = (id: number): number => [0, 1, 2].filter((p) => h.image.partition(h.image.topic('orders')?.topicId ?? '', p)?.leader === id).length
    expect(ledBy(3)).toBeGreaterThan(0)
    expect(ledBy(2)).toBeGreaterThan(0)

    // Broker 3's process died: its stream broke. Broker 2 went quiet with its stream open (paused, or busy).
    h.controller.connectionLost(nodeId(3), h.incarnation(3))
    expect(h.timers.armed?.delayMs).toBe(150)
    await h.advance(149)
    expect(h.broker(3)?.fenced).toBe(false)
    await h.advance(1)
    expect(h.broker(3)?.fenced).toBe(true)
    expect(ledBy(3)).toBe(0)

    await h.heartbeat(1)
    await h.advance(defaultControllerConfig.brokerSessionTimeoutMs - 151)
    expect(h.broker(2)?.fenced).toBe(false)
    expect(ledBy(2)).toBeGreaterThan(0)
    await h.advance(1)
    expect(h.broker(2)?.fenced).toBe(true)
    expect(h.broker(1)?.fenced).toBe(false)
  })
})

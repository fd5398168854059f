/**
 * Property test: a controller driven by random events (registrations, heartbeats, dropped connections, time passing,
 * topic creation and deletion, ISR changes from leaders, controlled shutdowns, preferred-leader elections), deciding
 * with this package's own decision functions and committing each decision as one entry. After every entry it checks
 * the image's invariants, Kafka's safety rules across the entry (no unclean election, no fenced broker joins an ISR,
 * epochs move as KRaft says), that a follower replaying the encoded entries holds the same image, and that the
 * snapshot round-trips byte for byte. fast-check shrinks any failure to a short event list and prints its seed.
 */
import { ErrorCode, type NodeId, isGregorError, leaderEpoch, nodeId, raftIndex } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing } from './broker-fencing.js'
import { type BrokerHeartbeat, connectionLost, heartbeatReceived } from './broker-heartbeat.js'
import { decideBrokerRegistration, decideBrokerUnregistration } from './broker-registration.js'
import { decideBrokerUnfencing } from './broker-unfencing.js'
import { decideControlledShutdown } from './controlled-shutdown.js'
import { decideCreateTopics } from './create-topics.js'
import { decideDeleteTopics } from './delete-topics.js'
import { decideIsrChange } from './isr-change.js'
import { decidePreferredLeaderElection } from './leader-election.js'
import { defaultMetadataConfig } from './metadata-config.js'
import { MetadataImage, type PartitionImage } from './metadata-image.js'
import { decodeMetadataRecords, encodeMetadataRecords } from './metadata-record-codec.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'

type Event =
  | { readonly kind: 'restart'; readonly broker: number }
  | { readonly kind: 'kill'; readonly broker: number }
  | { readonly kind: 'heartbeat-all' }
  | { readonly kind: 'heartbeat'; readonly broker: number; readonly lagging: boolean; readonly wantFence: boolean }
  | { readonly kind: 'connection-lost'; readonly broker: number }
  | { readonly kind: 'time'; readonly ms: number }
  | { readonly kind: 'fence' }
  | { readonly kind: 'unfence' }
  | { readonly kind: 'create'; readonly name: number; readonly partitionCount: number; readonly replicationFactor: number; readonly start: number }
  | { readonly kind: 'delete'; readonly name: number }
  | { readonly kind: 'alter-isr'; readonly pick: number; readonly subset: number; readonly stale: boolean }
  | { readonly kind: 'shutdown'; readonly broker: number }
  | { readonly kind: 'preferred' }
  | { readonly kind: 'unregister'; readonly broker: number }
  | { readonly kind: 'install-snapshot' }

const brokerArb = fc.integer({ min: 1, max: 5 })
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), broker: brokerArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('kill' as const), broker: brokerArb }) },
  { weight: 8, arbitrary: fc.constant({ kind: 'heartbeat-all' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), broker: brokerArb, lagging: fc.boolean(), wantFence: fc.nat(5).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('connection-lost' as const), broker: brokerArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 4000 })) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'fence' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'unfence' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), name: fc.integer({ min: 0, max: 4 }), partitionCount: fc.integer({ min: 1, max: 4 }), replicationFactor: fc.integer({ min: 1, max: 3 }), start: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), name: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('alter-isr' as const), pick: fc.nat(), subset: fc.integer({ min: 0, max: 31 }), stale: fc.nat(3).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), broker: brokerArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'preferred' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unregister' as const), broker: brokerArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'install-snapshot' as const }) },
)

const config = { ...defaultMetadataConfig, defaultTopicConfig: { ...defaultMetadataConfig.defaultTopicConfig, minInsyncReplicas: 1 } }
const utf8 = new TextDecoder()
const partitionKey = (p: { topicId: string; partition: number }): string => `${p.topicId}/${p.partition}`

/** The cluster under test: the controller's image, a follower replaying encoded entries, and soft state. */
class Cluster {
  image = new MetadataImage()
  follower = new MetadataImage()
  heartbeats = new Map<NodeId, BrokerHeartbeat>()
  nowMs = 0
  generation = 0
  topicCount = 0
  /** Brokers whose process is down: they stop heartbeating until restarted. */
  readonly dead = new Set<NodeId>()
  /** Record types committed so far, and notable states reached: evidence the runs exercise what they claim to. */
  readonly seen = new Set<string>()

  liveness () {
    return { heartbeats: this.heartbeats, nowMs: this.nowMs, controllerActivatedMs: 0, config }
  }

  /** Runs a decision; a GregorError is a refused request (no entry), anything else is a failure. */
  decide (decision: () => readonly MetadataRecord[]): readonly MetadataRecord[] {
    try {
      return decision()
    } catch (error) {
      if (isGregorError(error)) return []
      throw error
    }
  }

  commit (records: readonly MetadataRecord[]): void {
    if (records.length === 0) return
    const before = new Map(this.image.partitions().map((p) => [partitionKey(p), p]))
    const index = raftIndex(this.image.appliedIndex + 1)
    this.image.applyBatch(records, index)
    this.follower.applyBatch(decodeMetadataRecords(encodeMetadataRecords(records)), index)
    this.check(before)
    for (const record of records) this.seen.add(record.type)
    if (this.image.offlinePartitions().length > 0) this.seen.add('offline partition')
    if (this.image.underReplicatedPartitions().length > 0) this.seen.add('under-replicated partition')
  }

  check (before: ReadonlyMap<string, PartitionImage>): void {
    expect(this.image.invariantProblems()).toEqual([])
    // Compared as text: vitest's deep equality is slow on large byte arrays.
    const snapshot = this.image.snapshot()
    const text = utf8.decode(snapshot)
    if (utf8.decode(this.follower.snapshot()) !== text) expect(utf8.decode(this.follower.snapshot())).toBe(text)
    const restored = utf8.decode(MetadataImage.restore(snapshot).snapshot())
    if (restored !== text) expect(restored).toBe(text)
    for (const partition of this.image.partitions()) {
      const previous = before.get(partitionKey(partition))
      if (previous === undefined) continue
      checkTransition(this.image, previous, partition)
      if (partition.isr.length < previous.isr.length) this.seen.add('isr shrink')
      if (partition.isr.length > previous.isr.length) this.seen.add('isr expand')
      if (partition.leader !== previous.leader) this.seen.add(partition.leader === NO_LEADER ? 'leader lost' : 'leader moved')
    }
  }
}

/** Kafka's rules across one entry, for a partition that existed before it. */
function checkTransition (image: MetadataImage, previous: PartitionImage, next: PartitionImage): void {
  const leaderChanged = next.leader !== previous.leader
  // Epochs never go back; the leader epoch moves exactly when the leader does (no replica is ever removed here).
  expect(next.leaderEpoch - previous.leaderEpoch).toBe(leaderChanged ? 1 : 0)
  expect(next.partitionEpoch).toBeGreaterThanOrEqual(previous.partitionEpoch)
  // Clean elections only: a new leader was already in the ISR.
  if (leaderChanged && next.leader !== NO_LEADER) expect(previous.isr).toContain(next.leader)
  // Nobody joins an ISR unless it is live.
  for (const joined of next.isr.filter((id) => !previous.isr.includes(id))) {
    const broker = image.broker(joined)
    expect(broker !== undefined && !broker.fenced && !broker.shuttingDown).toBe(true)
  }
}

function alterIsr (cluster: Cluster, event: Extract<Event, { kind: 'alter-isr' }>): readonly MetadataRecord[] {
  const led = cluster.image.partitions().filter((p) => p.leader !== NO_LEADER)
  const partition = led[event.pick % Math.max(1, led.length)]
  if (partition === undefined) return []
  const newIsr = partition.replicas.filter((id, i) => id === partition.leader || ((event.subset >> i) & 1) === 1)
  const stale = event.stale && partition.partitionEpoch > 0
  const request = {
    brokerId: partition.leader,
    topicId: partition.topicId,
    partition: partition.partition,
    leaderEpoch: leaderEpoch(partition.leaderEpoch - (stale && partition.leaderEpoch > 0 ? 1 : 0)),
    partitionEpoch: partition.partitionEpoch - (stale ? 1 : 0),
    newIsr,
  }
  // A request built on an older partition state is always refused, whatever it asks for.
  if (stale) {
    expect(() => decideIsrChange(cluster.image, request)).toThrow(expect.objectContaining({ code: ErrorCode.FENCED_LEADER_EPOCH }))
    return []
  }
  return cluster.decide(() => decideIsrChange(cluster.image, request).records)
}

function shutdown (cluster: Cluster, brokerId: NodeId): readonly MetadataRecord[] {
  const broker = cluster.image.broker(brokerId)
  if (broker === undefined) return []
  const records = decideControlledShutdown(cluster.image, { brokerId, incarnationId: broker.incarnationId }).records
  cluster.commit(records)
  // Controlled shutdown moves every leadership away in one entry, and then reports the broker free to go.
  expect(cluster.image.partitionsLedBy(brokerId)).toEqual([])
  expect(decideControlledShutdown(cluster.image, { brokerId, incarnationId: broker.incarnationId }))
    .toEqual({ records: [], complete: true, shutdownReady: true })
  // The process exits.
  return step(cluster, { kind: 'kill', broker: brokerId })
}

/** A broker process starts (again) with a new incarnation and registers; registering counts as a heartbeat. */
function restart (cluster: Cluster, brokerId: NodeId): readonly MetadataRecord[] {
  const incarnationId = `inc-${brokerId}-${++cluster.generation}`
  const listeners = [{ name: 'INTERNAL', host: `broker-${brokerId}`, port: 9092 }]
  const records = cluster.decide(() => decideBrokerRegistration(cluster.image, { brokerId, incarnationId, listeners }, cluster.liveness()).records)
  if (records.length > 0) {
    cluster.dead.delete(brokerId)
    cluster.heartbeats.set(brokerId, heartbeatReceived(undefined, { nowMs: cluster.nowMs, incarnationId, metadataAppliedIndex: raftIndex(0) }))
  }
  return records
}

/** Four brokers registered, caught up and unfenced, so most runs have a cluster to work with. */
function bootstrap (cluster: Cluster): void {
  for (const id of [1, 2, 3, 4]) cluster.commit(restart(cluster, nodeId(id)))
  cluster.commit(step(cluster, { kind: 'heartbeat-all' }))
  cluster.commit(step(cluster, { kind: 'unfence' }))
  expect(cluster.image.liveBrokers()).toHaveLength(4)
}

function step (cluster: Cluster, event: Event): readonly MetadataRecord[] {
  const { image } = cluster
  switch (event.kind) {
    case 'restart': return restart(cluster, nodeId(event.broker))
    case 'kill': {
      cluster.dead.add(nodeId(event.broker))
      return step(cluster, { kind: 'connection-lost', broker: event.broker })
    }
    case 'heartbeat-all': {
      for (const broker of image.brokers()) {
        if (cluster.dead.has(broker.brokerId)) continue
        cluster.heartbeats.set(broker.brokerId, heartbeatReceived(cluster.heartbeats.get(broker.brokerId), {
          nowMs: cluster.nowMs, incarnationId: broker.incarnationId, metadataAppliedIndex: image.appliedIndex,
        }))
      }
      return []
    }
    case 'heartbeat': {
      const broker = image.broker(nodeId(event.broker))
      if (broker === undefined || cluster.dead.has(broker.brokerId)) return []
      const metadataAppliedIndex = raftIndex(Math.max(0, image.appliedIndex - (event.lagging ? 1 : 0)))
      const previous = cluster.heartbeats.get(broker.brokerId)
      cluster.heartbeats.set(broker.brokerId, heartbeatReceived(previous, {
        nowMs: cluster.nowMs, incarnationId: broker.incarnationId, metadataAppliedIndex, wantFence: event.wantFence,
      }))
      return []
    }
    case 'connection-lost': {
      const lost = connectionLost(cluster.heartbeats.get(nodeId(event.broker)), cluster.nowMs)
      if (lost !== undefined) cluster.heartbeats.set(nodeId(event.broker), lost)
      return []
    }
    case 'time': cluster.nowMs += event.ms; return []
    case 'fence': return decideBrokerFencing(image, cluster.liveness()).records
    case 'unfence': return decideBrokerUnfencing(image, cluster.liveness()).records
    case 'create': {
      const topicId = `topic-${++cluster.topicCount}`
      const topics = [{ name: `topic.${event.name}`, partitionCount: event.partitionCount, replicationFactor: event.replicationFactor }]
      return decideCreateTopics(image, { topics, topicIds: [topicId], placementStartIndex: event.start }, config).records
    }
    case 'delete': return decideDeleteTopics(image, { topics: [{ name: `topic.${event.name}` }] }).records
    case 'alter-isr': return alterIsr(cluster, event)
    case 'shutdown': return shutdown(cluster, nodeId(event.broker))
    case 'preferred': return decidePreferredLeaderElection(image, {}).records
    case 'unregister': return cluster.decide(() => decideBrokerUnregistration(image, { brokerId: nodeId(event.broker) }).records)
    case 'install-snapshot': cluster.follower = MetadataImage.restore(image.snapshot()); return []
  }
}

describe('metadata image under random controller decisions', () => {
  test('invariants, Kafka safety rules, replay and snapshots hold after every entry', () => {
    fc.assert(fc.property(fc.array(eventArb, { minLength: 1, maxLength: 80, size: 'max' }), (events) => {
      const cluster = new Cluster()
      bootstrap(cluster)
      for (const event of events) cluster.commit(step(cluster, event))
    }), { numRuns: 500 })
  })

  test('the random runs reach the interesting states (fences, offline partitions, shutdowns, ISR changes)', () => {
    const seen = new Set<string>()
    fc.assert(fc.property(fc.array(eventArb, { minLength: 40, maxLength: 80 }), (events) => {
      const cluster = new Cluster()
      bootstrap(cluster)
      for (const event of events) cluster.commit(step(cluster, event))
      for (const what of cluster.seen) seen.add(what)
    }), { numRuns: 100, seed: 42 })
    expect([...seen].sort()).toEqual(expect.arrayContaining([
      'BrokerShutdownRequested', 'FenceBroker', 'Partition', 'PartitionChange', 'RegisterBroker', 'RemoveTopic',
      'Topic', 'UnfenceBroker', 'UnregisterBroker', 'offline partition', 'under-replicated partition',
      'isr shrink', 'isr expand', 'leader moved', 'leader lost',
    ]))
  })
})

import { AssertionError } from 'node:assert'
import { ErrorCode, leaderEpoch, nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { MetadataImage } from './metadata-image.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'
import { defaultTopicConfig } from './topic-config.js'
import { ids, incarnationOf, scenario, topicIdOf } from './testing/metadata-scenario.js'

const change = (fields: Partial<Extract<MetadataRecord, { type: 'PartitionChange' }>>): MetadataRecord =>
  ({ type: 'PartitionChange', topicId: topicIdOf('orders'), partition: 0, ...fields })

/** Brokers 1..3 live, 4 fenced; orders-0 on [1, 2, 3], ISR [1, 2, 3], led by 1. */
const cluster = () => scenario().brokers(1, 2, 3).broker(4, { fenced: true }).topic('orders', [[1, 2, 3]])

describe('MetadataImage.apply: what each record means', () => {
  test('a registered broker starts fenced; unfencing and shutdown requests flip its flags', () => {
    const s = scenario().broker(1, { fenced: true })
    expect(s.image.broker(nodeId(1))).toMatchObject({ fenced: true, shuttingDown: false, incarnationId: incarnationOf(1) })
    s.commit([{ type: 'UnfenceBroker', brokerId: nodeId(1), incarnationId: incarnationOf(1) }])
    s.commit([{ type: 'BrokerShutdownRequested', brokerId: nodeId(1), incarnationId: incarnationOf(1) }])
    expect(s.image.broker(nodeId(1))).toMatchObject({ fenced: false, shuttingDown: true })
  })

  test('a re-registration replaces the old incarnation and clears its shutdown flag', () => {
    const s = scenario().broker(1, { shuttingDown: true })
    s.commit([{ type: 'RegisterBroker', brokerId: nodeId(1), incarnationId: 'second', listeners: [{ name: 'A', host: 'h', port: 1 }] }])
    expect(s.image.broker(nodeId(1))).toMatchObject({ incarnationId: 'second', fenced: true, shuttingDown: false })
  })

  test('the broker epoch is the Raft index of the incarnation\'s registration, new per incarnation and kept by snapshots', () => {
    const s = scenario().broker(1)
    const first = s.image.broker(nodeId(1))?.brokerEpoch ?? 0
    expect(first).toBeGreaterThan(0)
    s.commit([{ type: 'RegisterBroker', brokerId: nodeId(1), incarnationId: 'second', listeners: [{ name: 'A', host: 'h', port: 1 }] }])
    const second = s.image.broker(nodeId(1))?.brokerEpoch ?? 0
    expect(second).toBe(s.image.appliedIndex)
    expect(second).toBeGreaterThan(first)
    expect(MetadataImage.restore(s.image.snapshot()).broker(nodeId(1))?.brokerEpoch).toBe(second)
  })

  test('an ISR-only change bumps the partition epoch but not the leader epoch', () => {
    const s = cluster().commit([change({ isr: ids(1, 2) })])
    expect(s.partition('orders')).toMatchObject({ isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 1 })
  })

  test('a leader change bumps both epochs', () => {
    const s = cluster().commit([change({ leader: nodeId(2), isr: ids(2, 3) })])
    expect(s.partition('orders')).toMatchObject({ isr: [2, 3], leader: 2, leaderEpoch: 1, partitionEpoch: 1 })
  })

  test('removing a replica must bump the leader epoch, even with the same leader (KRaft)', () => {
    const s = cluster().commit([change({ leader: nodeId(1), isr: ids(1, 2), replicas: ids(1, 2) })])
    expect(s.partition('orders')).toMatchObject({ replicas: [1, 2], leader: 1, leaderEpoch: 1, partitionEpoch: 1 })
  })

  test('records of one entry share its index; the image advances to it', () => {
    const s = cluster()
    const before = s.image.appliedIndex
    s.commit([change({ isr: ids(1, 2) }), change({ isr: ids(1) })])
    expect(s.image.appliedIndex).toBe(before + 1)
    expect(s.partition('orders').partitionEpoch).toBe(2)
  })

  test('an empty entry (a Raft leader\'s no-op) still advances the applied index', () => {
    const image = new MetadataImage()
    image.applyBatch([], raftIndex(7))
    expect(image.appliedIndex).toBe(7)
  })

  test('RemoveTopic removes the topic, its name and its partitions; the name may be reused with a new id', () => {
    const s = cluster().commit([{ type: 'RemoveTopic', topicId: topicIdOf('orders') }])
    expect(s.image.topic('orders')).toBeUndefined()
    expect(s.image.partitions()).toEqual([])
    s.commit([{ type: 'Topic', name: 'orders', topicId: 'new-id', partitionCount: 1, config: defaultTopicConfig }])
    expect(s.image.topic('orders')?.topicId).toBe('new-id')
  })
})

describe('MetadataImage.apply: a record only a controller bug could produce is an assertion, not a corruption', () => {
  test.each([
    ['a leader outside the ISR', change({ isr: ids(2, 3) })],
    ['an empty ISR', change({ isr: [] })],
    ['an ISR outside the replicas', change({ isr: ids(1, 9) })],
    ['a repeated ISR member', change({ isr: ids(1, 1) })],
    ['a change that changes nothing', change({})],
    ['a pointless leader epoch bump (same leader, no replica removed)', change({ leader: nodeId(1) })],
    ['a replica removal without a leader epoch bump', change({ replicas: ids(1, 2), isr: ids(1, 2) })],
    ['a change to an unknown partition', change({ partition: 5, isr: ids(1) })],
    ['a second Topic record with the same name', { type: 'Topic', name: 'orders', topicId: 'other', partitionCount: 1, config: defaultTopicConfig } as MetadataRecord],
    ['a Partition record for an unknown topic', { type: 'Partition', topicId: 'nope', partition: 0, replicas: ids(1), isr: ids(1), leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 } as MetadataRecord],
    ['a Partition record created twice', { type: 'Partition', topicId: topicIdOf('orders'), partition: 0, replicas: ids(1), isr: ids(1), leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 } as MetadataRecord],
    ['fencing a broker by a stale incarnation', { type: 'FenceBroker', brokerId: nodeId(1), incarnationId: 'old' } as MetadataRecord],
    ['fencing a fenced broker', { type: 'FenceBroker', brokerId: nodeId(4), incarnationId: incarnationOf(4) } as MetadataRecord],
    ['unfencing an unregistered broker', { type: 'UnfenceBroker', brokerId: nodeId(9), incarnationId: 'x' } as MetadataRecord],
    ['unregistering an unfenced broker', { type: 'UnregisterBroker', brokerId: nodeId(1), incarnationId: incarnationOf(1) } as MetadataRecord],
    ['removing an unknown topic', { type: 'RemoveTopic', topicId: 'nope' } as MetadataRecord],
  ])('%s', (_name, record) => {
    expect(() => cluster().commit([record])).toThrow(AssertionError)
  })

  test('entries must be applied in index order', () => {
    const image = new MetadataImage()
    image.applyBatch([], raftIndex(5))
    expect(() => image.applyBatch([], raftIndex(5))).toThrow(AssertionError)
    expect(() => image.apply({ type: 'RemoveTopic', topicId: 't' }, raftIndex(4))).toThrow(AssertionError)
  })
})

describe('MetadataImage: queries', () => {
  function busy () {
    // orders-0 healthy, orders-1 under-replicated and under min ISR, orders-2 offline; audit-0 healthy, led by 2.
    return scenario().brokers(1, 2, 3).broker(4, { fenced: true })
      .topic('orders', [[1, 2, 3], [2, 3, 1], [4, 1, 2]], { isr: [[1, 2, 3], [2], [4]], leaders: [1, 2, -1], config: { minInsyncReplicas: 2 } })
      .topic('audit', [[2, 1]], { config: { minInsyncReplicas: 1 } })
  }

  const names = (partitions: readonly { topicId: string; partition: number }[]) =>
    partitions.map((p) => `${p.topicId.slice(3)}-${p.partition}`)

  test('partitions by leader, by replica, and the health views', () => {
    const { image } = busy()
    expect(names(image.partitionsLedBy(nodeId(2)))).toEqual(['audit-0', 'orders-1'])
    expect(names(image.partitionsReplicatedOn(nodeId(4)))).toEqual(['orders-2'])
    expect(names(image.underReplicatedPartitions())).toEqual(['orders-1', 'orders-2'])
    expect(names(image.underMinIsrPartitions())).toEqual(['orders-1', 'orders-2'])
    expect(names(image.offlinePartitions())).toEqual(['orders-2'])
  })

  test('leader counts include every registered broker', () => {
    expect(busy().image.leaderCounts()).toEqual(new Map([[1, 1], [2, 2], [3, 0], [4, 0]]))
  })

  test('brokers: all by id, and the live ones', () => {
    const { image } = busy()
    expect(image.brokers().map((broker) => broker.brokerId)).toEqual([1, 2, 3, 4])
    expect(image.liveBrokers().map((broker) => broker.brokerId)).toEqual([1, 2, 3])
  })

  test('describeTopic: what `gregor topics describe` prints', () => {
    const description = busy().image.describeTopic('orders')
    expect(description).toMatchObject({ name: 'orders', topicId: topicIdOf('orders'), partitionCount: 3, internal: false })
    expect(description?.partitions[2]).toEqual({
      partition: 2, replicas: [4, 1, 2], isr: [4], leader: NO_LEADER, leaderEpoch: 0, partitionEpoch: 0,
      offlineReplicas: [4], underReplicated: true, underMinIsr: true,
    })
    expect(busy().image.describeTopic('nope')).toBeUndefined()
  })

  test('stored state is frozen, so handing it out is safe', () => {
    const { image } = busy()
    const partition = image.partition(topicIdOf('orders'), 0)!
    expect(Object.isFrozen(partition) && Object.isFrozen(partition.isr)).toBe(true)
    expect(Object.isFrozen(image.broker(nodeId(1)))).toBe(true)
  })

  test('a clone is independent of its original', () => {
    const s = cluster()
    const copy = s.image.clone()
    s.commit([change({ isr: ids(1) })])
    expect(copy.partition(topicIdOf('orders'), 0)?.isr).toEqual([1, 2, 3])
    expect(copy.appliedIndex).toBe(s.image.appliedIndex - 1)
  })
})

describe('MetadataImage: snapshots', () => {
  test('restore(snapshot()) is the same image, byte for byte', () => {
    const s = scenario().broker(1, { rack: 'a' }).broker(2).broker(3, { shuttingDown: true }).broker(4, { fenced: true })
      .topic('zeta', [[1, 2]], { isr: [[2]] }).topic('alpha', [[2, 1], [1, 2]], { config: { retentionMs: 60_000 } })
    const bytes = s.image.snapshot()
    const restored = MetadataImage.restore(bytes)
    expect(restored.snapshot()).toEqual(bytes)
    expect(restored.state()).toEqual(s.image.state())
    expect(restored.appliedIndex).toBe(s.image.appliedIndex)
    expect(restored.topic('alpha')?.topicId).toBe(topicIdOf('alpha'))
  })

  test('an empty image round-trips', () => {
    expect(MetadataImage.restore(new MetadataImage().snapshot()).state()).toEqual(new MetadataImage().state())
  })

  const good = () => JSON.parse(new TextDecoder().decode(cluster().image.snapshot())) as {
    brokers: Record<string, unknown>[]; topics: { partitions: Record<string, unknown>[] }[]
  }
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

  test.each([
    ['garbage', () => new TextEncoder().encode('nope'), /malformed metadata snapshot: snapshot is not valid JSON/],
    ['a future version', () => encode({ ...good(), v: 2 }), /snapshot\.v is 2/],
    ['a bad field', () => { const s = good(); s.brokers[0]!.fenced = 'no'; return encode(s) }, /snapshot\.brokers\[0\]\.fenced must be a boolean/],
    ['a duplicate broker', () => { const s = good(); s.brokers.push(s.brokers[0]!); return encode(s) }, /broker 1 appears twice/],
    ['a missing partition', () => { const s = good(); s.topics[0]!.partitions = []; return encode(s) }, /lacks some of its 1 partitions/],
    ['a fenced leader', () => { const s = good(); s.brokers[0]!.fenced = true; return encode(s) }, /leader 1 is not a live broker/],
    ['a leader outside the ISR', () => { const s = good(); s.topics[0]!.partitions[0]!.isr = [2]; return encode(s) }, /leader 1 ∉ isr/],
  ])('restore refuses %s with INVALID_REQUEST', (_name, bytes, message) => {
    expect(() => MetadataImage.restore(bytes())).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_REQUEST, message: expect.stringMatching(message),
    }))
  })
})

import { describe, expect, test } from 'vitest'
import {
  type ClusterView, type PartitionView, clusterUpdate, clusterView, clusterViewsEqual, diffClusterViews,
  formatClusterEvent, partitionStatus,
} from './cluster-view.js'

const orders0: PartitionView = { topic: 'orders', partition: 0, leader: 2, leaderEpoch: 4, replicas: [2, 3, 1], isr: [2, 3, 1], highWatermark: 10 }
const orders1: PartitionView = { topic: 'orders', partition: 1, leader: 3, leaderEpoch: 0, replicas: [3, 1, 2], isr: [3, 1, 2], highWatermark: 7 }

/** Three alive brokers, controller 1 at term 6, topic orders with two partitions. */
function view (fields: Partial<ClusterView> = {}): ClusterView {
  return clusterView({
    timeMs: 1_000,
    clusterId: 'gregor-dev',
    controllerId: 1,
    quorum: { leaderId: 1, term: 6, commitIndex: 40 },
    brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: 'alive' }, { brokerId: 3, state: 'alive' }],
    partitions: [orders0, orders1],
    ...fields,
  })
}

const texts = (previous: ClusterView, next: ClusterView): string[] => diffClusterViews(previous, next).map(formatClusterEvent)

describe('diffClusterViews', () => {
  test('no event and equal views when nothing changed, whatever the time', () => {
    const later = view({ timeMs: 2_000 })
    expect(diffClusterViews(view(), later)).toEqual([])
    expect(clusterViewsEqual(view(), later)).toBe(true)
  })

  test('a moving high watermark is a change of state but not an event', () => {
    const next = view({ partitions: [{ ...orders0, highWatermark: 11 }, orders1] })
    expect(diffClusterViews(view(), next)).toEqual([])
    expect(clusterViewsEqual(view(), next)).toBe(false)
  })

  test('a new controller names both and the term', () => {
    const next = view({ timeMs: 2_000, controllerId: 3, quorum: { leaderId: 3, term: 7, commitIndex: 41 } })
    expect(diffClusterViews(view(), next)).toEqual([{ kind: 'controller', timeMs: 2_000, previous: 1, next: 3, term: 7 }])
    expect(texts(view(), next)).toEqual(['controller 1→3 term 7'])
  })

  test('an election in progress shows as no controller', () => {
    expect(texts(view(), view({ controllerId: -1, quorum: { leaderId: -1, term: 7, commitIndex: 40 } }))).toEqual(['controller 1→none term 7'])
  })

  test('a new term under the same controller is a term event', () => {
    expect(texts(view(), view({ quorum: { leaderId: 1, term: 8, commitIndex: 40 } }))).toEqual(['term 6→8 controller 1'])
  })

  test('broker transitions: fenced, unfenced, shutting down, registered, unregistered', () => {
    const states = (s2: 'alive' | 'fenced' | 'shutting-down'): ClusterView =>
      view({ brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: s2 }, { brokerId: 3, state: 'alive' }] })
    expect(texts(view(), states('fenced'))).toEqual(['broker 2 fenced'])
    expect(texts(states('fenced'), view())).toEqual(['broker 2 unfenced'])
    expect(texts(view(), states('shutting-down'))).toEqual(['broker 2 shutting down'])
    const four = view({ brokers: [...view().brokers, { brokerId: 4, state: 'fenced' }] })
    expect(texts(view(), four)).toEqual(['broker 4 registered, fenced'])
    expect(texts(four, view())).toEqual(['broker 4 unregistered'])
  })

  test('a leader change names both leaders and the new leader epoch', () => {
    const next = view({ timeMs: 3_000, partitions: [{ ...orders0, leader: 3, leaderEpoch: 5, isr: [3, 1] }, orders1] })
    expect(diffClusterViews(view(), next)).toEqual([
      { kind: 'leader', timeMs: 3_000, topic: 'orders', partition: 0, previous: 2, next: 3, previousLeaderEpoch: 4, leaderEpoch: 5 },
      { kind: 'isr', timeMs: 3_000, topic: 'orders', partition: 0, previous: [2, 3, 1], next: [3, 1] },
    ])
    expect(texts(view(), next)).toEqual(['orders-0 leader 2→3 epoch 5', 'orders-0 isr 2,3,1→3,1'])
  })

  test('a partition that loses its leader is called offline', () => {
    expect(texts(view(), view({ partitions: [{ ...orders0, leader: -1, leaderEpoch: 5 }, orders1] })))
      .toEqual(['orders-0 leader 2→none epoch 5 (offline)'])
  })

  test('a leader epoch bump without a new leader says so', () => {
    expect(texts(view(), view({ partitions: [{ ...orders0, leaderEpoch: 5 }, orders1] }))).toEqual(['orders-0 leader 2 epoch 4→5'])
  })

  test('an ISR shrink alone is an isr event', () => {
    expect(texts(view(), view({ partitions: [orders0, { ...orders1, isr: [3, 1] }] }))).toEqual(['orders-1 isr 3,1,2→3,1'])
  })

  test('topics created and deleted are one event each, not one per partition', () => {
    const payments: PartitionView = { ...orders0, topic: 'payments' }
    const withPayments = view({ partitions: [orders0, orders1, payments] })
    expect(texts(view(), withPayments)).toEqual(['topic payments created, 1 partition'])
    expect(texts(withPayments, view({ partitions: [payments] }))).toEqual(['topic orders deleted'])
  })

  test('more partitions for a topic is one event, not one per new partition', () => {
    const orders2: PartitionView = { ...orders1, partition: 2 }
    expect(texts(view(), view({ partitions: [orders0, orders1, orders2] }))).toEqual(['topic orders now has 3 partitions'])
  })

  test('events come in reading order: controller, brokers, topics, partitions', () => {
    const next = view({
      controllerId: 3, quorum: { leaderId: 3, term: 7, commitIndex: 45 },
      brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: 'fenced' }, { brokerId: 3, state: 'alive' }],
      partitions: [{ ...orders0, leader: 3, leaderEpoch: 5, isr: [3, 1] }, orders1, { ...orders1, topic: 'audit', partition: 0 }],
    })
    expect(texts(view(), next)).toEqual([
      'controller 1→3 term 7', 'broker 2 fenced', 'topic audit created, 1 partition', 'orders-0 leader 2→3 epoch 5', 'orders-0 isr 2,3,1→3,1',
    ])
  })
})

describe('clusterView and helpers', () => {
  test('sorts brokers by id and partitions by topic, then index', () => {
    const unsorted = clusterView({ ...view(), brokers: [...view().brokers].reverse(), partitions: [orders1, { ...orders0, topic: 'audit' }, orders0] })
    expect(unsorted.brokers.map((broker) => broker.brokerId)).toEqual([1, 2, 3])
    expect(unsorted.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(['audit-0', 'orders-0', 'orders-1'])
  })

  test('partitionStatus: offline without a leader, under-replicated with a short ISR', () => {
    expect(partitionStatus(orders0)).toBe('ok')
    expect(partitionStatus({ ...orders0, isr: [2] })).toBe('under-replicated')
    expect(partitionStatus({ ...orders0, leader: -1 })).toBe('offline')
  })

  test('clusterUpdate carries each event with its text', () => {
    const next = view({ brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: 'fenced' }, { brokerId: 3, state: 'alive' }] })
    const update = clusterUpdate(next, diffClusterViews(view(), next))
    expect(update.events).toEqual([{ kind: 'broker', timeMs: 1_000, brokerId: 2, previous: 'alive', next: 'fenced', text: 'broker 2 fenced' }])
    expect(update.partitions).toBe(next.partitions)
  })
})

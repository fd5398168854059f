import { describe, expect, test } from 'vitest'
import { groupByLeader } from './group-by-leader.js'
import { availablePartitions, joinHostPort, leaderFor, mergeSnapshots, metadataSnapshot } from './metadata-snapshot.js'

const response = {
  clusterId: 'c1',
  controllerId: 2,
  brokers: [
    { brokerId: 1, host: 'broker-1', port: 19092 },
    { brokerId: 2, host: 'broker-2', port: 29092, rack: 'r2' },
    { brokerId: 3, host: '::1', port: 39092, fenced: true },
  ],
  topics: [
    {
      name: 'orders', topicId: 'id-orders',
      partitions: [
        { partition: 2, leader: -1, leaderEpoch: 3, replicas: [1, 2], isr: [] },
        { partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2, 3] },
        { partition: 1, leader: 9, leaderEpoch: 1, replicas: [9], isr: [9] },
        { partition: 3, leader: 3, leaderEpoch: 7, replicas: [3], isr: [3] },
      ],
    },
    { name: 'missing', errorCode: 'UNKNOWN_TOPIC_OR_PARTITION', errorMessage: 'no such topic' },
  ],
}

describe('metadataSnapshot', () => {
  test('fills proto3 defaults and sorts partitions', () => {
    const snapshot = metadataSnapshot(response)
    expect(snapshot.clusterId).toBe('c1')
    expect(snapshot.controllerId).toBe(2)
    expect(snapshot.brokers.get(1)).toEqual({ brokerId: 1, host: 'broker-1', port: 19092, address: 'broker-1:19092', rack: '', fenced: false })
    expect(snapshot.topics.get('orders')?.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3])
    expect(snapshot.topics.get('orders')?.partitions[0]).toEqual({ partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2, 3], errorCode: '' })
    expect(snapshot.topics.get('missing')).toMatchObject({ errorCode: 'UNKNOWN_TOPIC_OR_PARTITION', partitions: [] })
  })

  test('an empty response is an empty cluster, not a crash', () => {
    expect(metadataSnapshot({})).toMatchObject({ clusterId: '', controllerId: -1 })
  })
})

describe('leaderFor', () => {
  const snapshot = metadataSnapshot(response)

  test('finds the leader, its address and epoch', () => {
    expect(leaderFor(snapshot, { topic: 'orders', partition: 0 })).toEqual({ brokerId: 1, address: 'broker-1:19092', leaderEpoch: 4 })
  })

  test('brackets an IPv6 host in the address', () => {
    expect(leaderFor(snapshot, { topic: 'orders', partition: 3 })?.address).toBe('[::1]:39092')
    expect(joinHostPort('[::1]', 1)).toBe('[::1]:1')
  })

  test('no leader for leader -1, a leader not among the brokers, an unknown partition or a topic with an error', () => {
    expect(leaderFor(snapshot, { topic: 'orders', partition: 2 })).toBeUndefined()
    expect(leaderFor(snapshot, { topic: 'orders', partition: 1 })).toBeUndefined()
    expect(leaderFor(snapshot, { topic: 'orders', partition: 7 })).toBeUndefined()
    expect(leaderFor(snapshot, { topic: 'missing', partition: 0 })).toBeUndefined()
    expect(leaderFor(snapshot, { topic: 'nope', partition: 0 })).toBeUndefined()
  })

  test('availablePartitions lists the partitions with a leader id', () => {
    const orders = snapshot.topics.get('orders')
    expect(orders === undefined ? undefined : availablePartitions(orders)).toEqual([0, 1, 3])
  })

  test('a refresh of one topic replaces that topic and the brokers, and keeps the others', () => {
    const newer = metadataSnapshot({
      clusterId: 'c1', controllerId: 1,
      brokers: [{ brokerId: 2, host: 'broker-2', port: 29092 }],
      topics: [{ name: 'orders', partitions: [{ partition: 0, leader: 2, leaderEpoch: 5 }] }],
    })
    const merged = mergeSnapshots(snapshot, newer)
    expect(leaderFor(merged, { topic: 'orders', partition: 0 })).toEqual({ brokerId: 2, address: 'broker-2:29092', leaderEpoch: 5 })
    expect(merged.topics.has('missing')).toBe(true)
    expect(merged.controllerId).toBe(1)
  })
})

describe('groupByLeader', () => {
  test('one group per leader broker in input order, leaderless apart', () => {
    const snapshot = metadataSnapshot({
      brokers: [{ brokerId: 1, host: 'a', port: 1 }, { brokerId: 2, host: 'b', port: 2 }],
      topics: [
        { name: 't', partitions: [{ partition: 0, leader: 1 }, { partition: 1, leader: 2 }, { partition: 2, leader: 1 }, { partition: 3, leader: -1 }] },
      ],
    })
    const items = [0, 1, 2, 3, 4].map((partition) => ({ topic: 't', partition, tag: `p${partition}` }))
    const { groups, leaderless } = groupByLeader(items, (tp) => leaderFor(snapshot, tp))
    expect([...groups.keys()]).toEqual([1, 2])
    expect(groups.get(1)).toEqual({ brokerId: 1, address: 'a:1', items: [items[0], items[2]] })
    expect(groups.get(2)?.items.map((item) => item.tag)).toEqual(['p1'])
    expect(leaderless.map((item) => item.partition)).toEqual([3, 4])
  })
})

/**
 * Splits work for many partitions into one request per leader broker: the shape of every Produce, Fetch and
 * ListOffsets the client sends (Kafka's sender and fetcher both group by node).
 *
 * Pure: the leader lookup is passed in. Items whose partition has no known leader come back apart, so the caller
 * can refresh metadata and wait instead of sending them anywhere. Order within a group is input order.
 */
import type { PartitionLeader } from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'

export interface LeaderGroup<T> {
  readonly brokerId: number
  readonly address: string
  readonly items: T[]
}

export interface GroupedByLeader<T> {
  /** Keyed by broker id. */
  readonly groups: Map<number, LeaderGroup<T>>
  readonly leaderless: T[]
}

export function groupByLeader<T extends TopicPartition> (
  items: Iterable<T>,
  leaderOf: (topicPartition: TopicPartition) => PartitionLeader | undefined,
): GroupedByLeader<T> {
  const groups = new Map<number, LeaderGroup<T>>()
  const leaderless: T[] = []
  for (const item of items) {
    const leader = leaderOf(item)
    if (leader === undefined) {
      leaderless.push(item)
      continue
    }
    let group = groups.get(leader.brokerId)
    if (group === undefined) {
      group = { brokerId: leader.brokerId, address: leader.address, items: [] }
      groups.set(leader.brokerId, group)
    }
    group.items.push(item)
  }
  return { groups, leaderless }
}

/**
 * Kafka's range assignment, per topic: the members subscribed to a topic sorted by member id; member i gets a
 * contiguous range of `count / n` partitions, the first `count % n` members one more. Co-partitioned topics land on
 * the same member (partition k of every topic with equal counts and equal subscribers). Not sticky: the layout is a
 * function of the member ids only (Kafka's classic RangeAssignor; Kafka 4's server-side range assignor adds
 * stickiness on top, which Gregor does not yet).
 */
import type { TopicPartitions } from '../coordinator-types.js'
import { compareStrings, toTopicPartitions } from '../topic-partitions.js'
import type { AssignorInput } from './assignor.js'

export function rangeAssign (input: AssignorInput): Map<string, TopicPartitions[]> {
  const sets = new Map<string, Map<string, Set<number>>>()
  for (const member of input.members) sets.set(member.memberId, new Map())
  const topics = [...input.partitionCounts.keys()].sort(compareStrings)
  for (const topic of topics) {
    const count = input.partitionCounts.get(topic) ?? 0
    const subscribers = input.members.filter((m) => m.subscribedTopics.has(topic)).map((m) => m.memberId).sort(compareStrings)
    if (subscribers.length === 0 || count === 0) continue
    const per = Math.floor(count / subscribers.length)
    const extra = count % subscribers.length
    subscribers.forEach((memberId, i) => {
      const start = i * per + Math.min(i, extra)
      const length = per + (i < extra ? 1 : 0)
      if (length === 0) return
      const partitions = new Set<number>()
      for (let p = start; p < start + length; p++) partitions.add(p)
      sets.get(memberId)?.set(topic, partitions)
    })
  }
  return new Map([...sets].map(([memberId, set]) => [memberId, toTopicPartitions(set)]))
}

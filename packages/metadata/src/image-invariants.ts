/**
 * The invariants of the metadata image, written once and used three ways: asserted per partition on every apply,
 * checked in full on snapshot restore (where a violation is bad input, not a bug), and checked after every batch by
 * the property tests.
 *
 * Per partition (hold after every record): replicas are non-empty, replicas and ISR repeat no broker (an empty ISR only with `NO_LEADER`); `isr ⊆ replicas`;
 * `leader = NO_LEADER` or `leader ∈ isr`; `0 ≤ leaderEpoch ≤ partitionEpoch` (every change bumps the partition
 * epoch, a leader change also bumps the leader epoch, and both start at 0).
 * Per image (hold between batches, i.e. at every Raft entry boundary): topic names are legal and index back to their
 * topic; each topic has exactly partitions `0..partitionCount-1`; a partition with a leader has only live brokers
 * (registered, neither fenced nor shutting down) as leader and ISR members: the controller moves leadership and
 * shrinks ISRs in the same batch that fences a broker. Only a leaderless partition keeps dead brokers in its ISR,
 * the ones it must wait for.
 */
import type { NodeId } from '@gregor/common'
import type { MetadataImage, PartitionImage } from './metadata-image.js'
import { NO_LEADER } from './metadata-record.js'
import { topicNameProblem } from './topic-name.js'

const isLive = (image: MetadataImage, brokerId: NodeId): boolean => {
  const broker = image.broker(brokerId)
  return broker !== undefined && !broker.fenced && !broker.shuttingDown
}

const repeats = (list: readonly number[]): boolean => new Set(list).size !== list.length

/** Broken per-partition invariants; empty when the partition is sound. */
export function partitionProblems (partition: PartitionImage): string[] {
  const problems: string[] = []
  const { replicas, isr, leader, leaderEpoch, partitionEpoch } = partition
  if (replicas.length === 0) problems.push('replicas is empty')
  if (repeats(replicas)) problems.push(`replicas [${replicas.join(',')}] repeat a broker`)
  // An empty ISR is sound only offline (the leader check below): the last member came back without its data.
  if (repeats(isr)) problems.push(`isr [${isr.join(',')}] repeats a broker`)
  if (!isr.every((id) => replicas.includes(id))) problems.push(`isr [${isr.join(',')}] ⊄ replicas [${replicas.join(',')}]`)
  if (leader !== NO_LEADER && !isr.includes(leader)) problems.push(`leader ${leader} ∉ isr [${isr.join(',')}]`)
  const elr = partition.elr ?? []
  if (repeats(elr)) problems.push(`elr [${elr.join(',')}] repeats a broker`)
  if (!elr.every((id) => replicas.includes(id) && !isr.includes(id))) {
    problems.push(`elr [${elr.join(',')}] ⊄ replicas [${replicas.join(',')}] or meets isr [${isr.join(',')}]`)
  }
  if (!Number.isSafeInteger(leaderEpoch) || leaderEpoch < 0) problems.push(`leaderEpoch ${leaderEpoch} is negative`)
  if (!(leaderEpoch <= partitionEpoch)) problems.push(`leaderEpoch ${leaderEpoch} > partitionEpoch ${partitionEpoch}`)
  return problems
}

/** Every broken invariant of the image, batch-level ones included. */
export function imageProblems (image: MetadataImage): string[] {
  const problems: string[] = []
  for (const topic of image.topics()) {
    const nameProblem = topicNameProblem(topic.name)
    if (nameProblem !== undefined) problems.push(nameProblem)
    if (image.topic(topic.name) !== topic) problems.push(`topic ${topic.name} is not indexed by its name`)
    const partitions = image.partitionsOf(topic.topicId)
    const complete = partitions.length === topic.partitionCount && partitions.every((p, i) => p.partition === i)
    if (!complete) problems.push(`topic ${topic.name} lacks some of its ${topic.partitionCount} partitions`)
    for (const partition of partitions) {
      const name = `${topic.name}-${partition.partition}`
      for (const problem of partitionProblems(partition)) problems.push(`${name}: ${problem}`)
      if (partition.topicId !== topic.topicId) problems.push(`${name}: filed under the wrong topic id`)
      if (partition.leader === NO_LEADER) continue
      if (!isLive(image, partition.leader)) problems.push(`${name}: leader ${partition.leader} is not a live broker`)
      const dead = partition.isr.filter((id) => !isLive(image, id))
      if (dead.length > 0) problems.push(`${name}: led, but isr members [${dead.join(',')}] are not live brokers`)
    }
  }
  return problems
}

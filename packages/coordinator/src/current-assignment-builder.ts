/**
 * Reconciling one member towards its target (Kafka's `CurrentAssignmentBuilder`): what the member may own now.
 *
 * Owns the rule that makes rebalances incremental and safe: a partition is revoked before it is assigned elsewhere.
 * - A member whose target dropped partitions it still owns stays in its epoch in `unrevoked_partitions`: assigned =
 *   current ∩ target, pending revocation = current − target. It moves on only once its heartbeat's owned partitions
 *   contain none of the pending ones (or its rebalance timeout removes it, see the shard's tick).
 * - Otherwise it moves to the assignment epoch and is assigned every target partition that no other member holds
 *   (assigned or pending revocation); the rest it gets in later heartbeats as they are released
 *   (`unreleased_partitions` until then; `stable` when it has its whole target).
 * - A member whose target did not change only moves to the new epoch: nothing is revoked or reassigned.
 *
 * Invariant (with the shard applying one member's result before deciding for the next): no partition is ever held by
 * two members, counting pending revocations.
 */
import type { MemberState, TopicPartitions } from './coordinator-types.js'
import type { ConsumerGroupCurrentMemberAssignmentValue } from './group-record.js'
import {
  type PartitionSet, addPartition, intersects, sameTopicPartitions, toPartitionSet, toTopicPartitions,
} from './topic-partitions.js'

export interface ReconcileInput {
  readonly current: ConsumerGroupCurrentMemberAssignmentValue
  readonly targetEpoch: number
  readonly target: readonly TopicPartitions[]
  /** What the member says it owns (its heartbeat's ownedPartitions). */
  readonly owned: PartitionSet
  /** Whether another member holds the partition now. */
  readonly isOwnedByOther: (topic: string, partition: number) => boolean
}

export function reconcileMember (input: ReconcileInput): ConsumerGroupCurrentMemberAssignmentValue {
  const { current, owned } = input
  if (current.state === 'unrevoked_partitions' && intersects(owned, toPartitionSet(current.partitionsPendingRevocation))) {
    return current
  }
  const target = toPartitionSet(input.target)
  const assigned = toPartitionSet(current.assignedPartitions)
  const kept = new Map<string, Set<number>>()
  const revoking = new Map<string, Set<number>>()
  const adding = new Map<string, Set<number>>()
  let unreleased = false
  for (const [topic, partitions] of assigned) {
    const wanted = target.get(topic)
    for (const p of partitions) addPartition(wanted?.has(p) === true ? kept : revoking, topic, p)
  }
  for (const [topic, partitions] of target) {
    const have = assigned.get(topic)
    for (const p of partitions) {
      if (have?.has(p) === true) continue
      if (input.isOwnedByOther(topic, p)) unreleased = true
      else addPartition(adding, topic, p)
    }
  }
  if (revoking.size > 0 && intersects(owned, revoking)) {
    return build(current, current.memberEpoch, 'unrevoked_partitions', toTopicPartitions(kept), toTopicPartitions(revoking))
  }
  for (const [topic, partitions] of adding) for (const p of partitions) addPartition(kept, topic, p)
  return build(current, input.targetEpoch, unreleased ? 'unreleased_partitions' : 'stable', toTopicPartitions(kept), [])
}

function build (
  current: ConsumerGroupCurrentMemberAssignmentValue, memberEpoch: number, state: MemberState,
  assignedPartitions: readonly TopicPartitions[], partitionsPendingRevocation: readonly TopicPartitions[],
): ConsumerGroupCurrentMemberAssignmentValue {
  if (current.memberEpoch === memberEpoch && current.state === state &&
    sameTopicPartitions(current.assignedPartitions, assignedPartitions) &&
    sameTopicPartitions(current.partitionsPendingRevocation, partitionsPendingRevocation)) return current
  // The previous epoch is kept while the epoch stays, so a member whose response carrying the new epoch was lost
  // can still be recognised (it comes back with the epoch it had before).
  const previousMemberEpoch = memberEpoch === current.memberEpoch ? current.previousMemberEpoch : current.memberEpoch
  return { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation }
}

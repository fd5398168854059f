/**
 * The server-side assignor contract (Kafka's `ConsumerGroupPartitionAssignor`): a pure function from the members
 * (their resolved subscriptions and current targets) and the partition counts of the subscribed topics to a new
 * target assignment.
 *
 * Invariants every assignor keeps (the property tests check them): each partition of a topic that some member
 * subscribes to goes to exactly one member subscribed to that topic; no member gets a partition of a topic it does
 * not subscribe to or that does not exist; the result has an entry for every member, in canonical form.
 */
import type { TopicPartitions } from '../coordinator-types.js'
import type { PartitionSet } from '../topic-partitions.js'

export interface AssignorMember {
  readonly memberId: string
  /** Existing topics only (names and regex matches resolved against the group's partition metadata). */
  readonly subscribedTopics: ReadonlySet<string>
  /** The member's target in the previous assignment (empty for a new member). */
  readonly currentTarget: PartitionSet
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[]
  /** Partition count of every topic some member subscribes to. */
  readonly partitionCounts: ReadonlyMap<string, number>
}

export type Assignor = (input: AssignorInput) => Map<string, TopicPartitions[]>

/**
 * The records of `__consumer_offsets`: Kafka 4's group coordinator record types, one logical key each.
 *
 * Owns: the shape of every record. A record is a key (the fields before `value`) and a value; `value: null` is a
 * tombstone that deletes the key. The partition is compacted by key, so the state of a group is the last value of
 * each of its keys, and replay must not depend on the relative order of different keys (see group-state.ts).
 *
 * Key types (Kafka's numbering): 0/1 OffsetCommit, 2 GroupMetadata (a classic group's generation with its members),
 * 3 ConsumerGroupMetadata, 4 ConsumerGroupPartitionMetadata, 5 ConsumerGroupMemberMetadata,
 * 6 ConsumerGroupTargetAssignmentMetadata, 7 ConsumerGroupTargetAssignmentMember, 8 ConsumerGroupCurrentMemberAssignment.
 *
 * Canonical form (what decisions build and the codec accepts): partition lists sorted by topic, partitions ascending,
 * no repeats, no empty topic entries; topic lists sorted without repeats. So decode(encode(r)) deep-equals r.
 */
import type { GroupType, MemberState, TopicPartitions } from './coordinator-types.js'

export interface OffsetCommitValue {
  readonly offset: number
  /** -1 unknown. */
  readonly leaderEpoch: number
  readonly metadata: string
  readonly commitTimestampMs: number
}

export interface ConsumerGroupMetadataValue {
  /** The group epoch: bumped by every change of membership, subscriptions or subscribed partition counts. */
  readonly epoch: number
  readonly groupType: GroupType
}

export interface TopicPartitionCount {
  readonly topic: string
  readonly partitionCount: number
}

export interface ConsumerGroupPartitionMetadataValue {
  /** Every existing topic some member subscribes to (by name or regex), sorted by name. */
  readonly topics: readonly TopicPartitionCount[]
}

export interface ConsumerGroupMemberMetadataValue {
  readonly instanceId: string
  readonly rackId: string
  readonly clientId: string
  readonly clientHost: string
  /** Sorted, no repeats. */
  readonly subscribedTopicNames: readonly string[]
  /** '' none. */
  readonly subscribedTopicRegex: string
  /** '' the group's default. */
  readonly serverAssignor: string
  readonly rebalanceTimeoutMs: number
}

export interface ConsumerGroupTargetAssignmentMetadataValue {
  readonly assignmentEpoch: number
}

export interface ConsumerGroupTargetAssignmentMemberValue {
  readonly partitions: readonly TopicPartitions[]
}

export interface ConsumerGroupCurrentMemberAssignmentValue {
  readonly memberEpoch: number
  readonly previousMemberEpoch: number
  readonly state: MemberState
  readonly assignedPartitions: readonly TopicPartitions[]
  readonly partitionsPendingRevocation: readonly TopicPartitions[]
}

/** One member of a classic group as persisted (Kafka's GroupMetadataValue.MemberMetadata). */
export interface ClassicGroupMemberValue {
  readonly memberId: string
  /** Static membership: always null from Gregor (refused at JoinGroup); kept for records written by Kafka. */
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly rebalanceTimeoutMs: number
  readonly sessionTimeoutMs: number
  /** The member's metadata for the group's chosen protocol (for consumers: its Subscription), opaque. */
  readonly subscription: Uint8Array
  /** What the leader assigned it in this generation, opaque. */
  readonly assignment: Uint8Array
}

/**
 * A classic group's completed generation (Kafka's GroupMetadataValue): written when the leader's SyncGroup stores
 * the assignments, tombstoned when the group becomes empty. The generation is also in the group's
 * ConsumerGroupMetadata record (type classic), written when each join phase ends; when that one is newer, the join
 * phase after this generation never completed.
 */
export interface ClassicGroupMetadataValue {
  readonly protocolType: string
  readonly generationId: number
  /** The chosen protocol (assignor); '' when none (Kafka's null). */
  readonly protocolName: string
  /** '' when none (Kafka's null). */
  readonly leader: string
  /** When this state was written (ms), -1 unknown (Kafka's currentStateTimestamp, v2+). */
  readonly currentStateTimestampMs: number
  /** In join order, unique member ids. */
  readonly members: readonly ClassicGroupMemberValue[]
}

export interface OffsetCommitRecord {
  readonly type: 'OffsetCommit'
  readonly groupId: string
  readonly topic: string
  readonly partition: number
  readonly value: OffsetCommitValue | null
}
export interface GroupMetadataRecord {
  readonly type: 'GroupMetadata'
  readonly groupId: string
  readonly value: ClassicGroupMetadataValue | null
}
export interface ConsumerGroupMetadataRecord {
  readonly type: 'ConsumerGroupMetadata'
  readonly groupId: string
  readonly value: ConsumerGroupMetadataValue | null
}
export interface ConsumerGroupPartitionMetadataRecord {
  readonly type: 'ConsumerGroupPartitionMetadata'
  readonly groupId: string
  readonly value: ConsumerGroupPartitionMetadataValue | null
}
export interface ConsumerGroupMemberMetadataRecord {
  readonly type: 'ConsumerGroupMemberMetadata'
  readonly groupId: string
  readonly memberId: string
  readonly value: ConsumerGroupMemberMetadataValue | null
}
export interface ConsumerGroupTargetAssignmentMetadataRecord {
  readonly type: 'ConsumerGroupTargetAssignmentMetadata'
  readonly groupId: string
  readonly value: ConsumerGroupTargetAssignmentMetadataValue | null
}
export interface ConsumerGroupTargetAssignmentMemberRecord {
  readonly type: 'ConsumerGroupTargetAssignmentMember'
  readonly groupId: string
  readonly memberId: string
  readonly value: ConsumerGroupTargetAssignmentMemberValue | null
}
export interface ConsumerGroupCurrentMemberAssignmentRecord {
  readonly type: 'ConsumerGroupCurrentMemberAssignment'
  readonly groupId: string
  readonly memberId: string
  readonly value: ConsumerGroupCurrentMemberAssignmentValue | null
}

export type GroupRecord =
  | OffsetCommitRecord
  | GroupMetadataRecord
  | ConsumerGroupMetadataRecord
  | ConsumerGroupPartitionMetadataRecord
  | ConsumerGroupMemberMetadataRecord
  | ConsumerGroupTargetAssignmentMetadataRecord
  | ConsumerGroupTargetAssignmentMemberRecord
  | ConsumerGroupCurrentMemberAssignmentRecord

/** Kafka's key version (record type) of each record. */
export const groupRecordKeyVersion: Readonly<Record<GroupRecord['type'], number>> = Object.freeze({
  OffsetCommit: 1,
  GroupMetadata: 2,
  ConsumerGroupMetadata: 3,
  ConsumerGroupPartitionMetadata: 4,
  ConsumerGroupMemberMetadata: 5,
  ConsumerGroupTargetAssignmentMetadata: 6,
  ConsumerGroupTargetAssignmentMember: 7,
  ConsumerGroupCurrentMemberAssignment: 8,
})

export const groupRecordLimits = Object.freeze({
  /** Bytes of any string in a key or value (int16 lengths). */
  stringBytesMax: 32_767,
  memberIdLengthMax: 255,
  topicNameLengthMax: 249,
  regexLengthMax: 4096,
  subscribedTopicsMax: 100_000,
  /** Members of one classic group record (far above any groupMaxSize). */
  classicMembersMax: 100_000,
  partitionIndexMax: 2_147_483_646,
  epochMax: 2_147_483_647,
})

/** A string naming the record's key uniquely within a partition (for compaction in tests and per-key bookkeeping). */
export function groupRecordKeyId (record: GroupRecord): string {
  switch (record.type) {
    case 'OffsetCommit': return `1\u0000${record.groupId}\u0000${record.topic}\u0000${record.partition}`
    case 'ConsumerGroupMemberMetadata':
    case 'ConsumerGroupTargetAssignmentMember':
    case 'ConsumerGroupCurrentMemberAssignment':
      return `${groupRecordKeyVersion[record.type]}\u0000${record.groupId}\u0000${record.memberId}`
    default: return `${groupRecordKeyVersion[record.type]}\u0000${record.groupId}`
  }
}

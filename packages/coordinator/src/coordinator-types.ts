/**
 * The domain requests and responses of the group coordinator: what the broker's runtime hands a shard and gets back.
 * No wire type appears here (the gRPC listener maps proto messages to these and back).
 *
 * A decision is `(request, context) → CoordinatorResult`: records to write to the group's `__consumer_offsets`
 * partition and the response to send once they are committed. A decision never changes state: the runtime replays
 * the records (`GroupCoordinatorShard.replay`), which is the only way group state changes. Request-level failures are
 * thrown as GregorError with a Kafka-named code (each decision's header lists them).
 */
import type { GroupRecord } from './group-record.js'

/** What the coordinator knows of the cluster's topics (from the metadata image), for assignment and validation. */
export interface TopicsView {
  /** The partition count of `topic`, or undefined when no such topic exists. */
  partitionCount (topic: string): number | undefined
  /** Every topic name (internal ones included), for regex subscriptions. */
  topicNames (): Iterable<string>
}

/** Injected into every decision: no clock or metadata is read from anywhere else. */
export interface DecisionContext {
  readonly nowMs: number
  readonly topics: TopicsView
}

export interface CoordinatorResult<Response> {
  readonly records: readonly GroupRecord[]
  readonly response: Response
}

export interface TopicPartitions {
  readonly topic: string
  /** Sorted ascending, no repeats. */
  readonly partitions: readonly number[]
}

// ---- membership ----

export const JOIN_GROUP_MEMBER_EPOCH = 0
export const LEAVE_GROUP_MEMBER_EPOCH = -1

export interface HeartbeatRequest {
  readonly groupId: string
  /** '' to join; the coordinator then names the member (`newMemberId` from the context). */
  readonly memberId: string
  /** 0 join, -1 leave, else the epoch the member holds. */
  readonly memberEpoch: number
  readonly instanceId: string
  /** null (Kafka's heartbeats): unchanged since the member's previous heartbeat; likewise below. */
  readonly rackId: string | null
  /** 0: the coordinator's default. */
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[] | null
  /** '' none. */
  readonly subscribedTopicRegex: string | null
  /** '' the coordinator's default assignor. */
  readonly serverAssignor: string | null
  /** null: what the coordinator gave the member, pending revocations included (nothing is taken as revoked). */
  readonly ownedPartitions: readonly TopicPartitions[] | null
  readonly clientId: string
  readonly clientHost: string
}

export interface HeartbeatResponse {
  readonly memberId: string
  readonly memberEpoch: number
  readonly heartbeatIntervalMs: number
  /** The member's whole current assignment (what it may own now). Empty after a leave. */
  readonly assignment: readonly TopicPartitions[]
}

// ---- offsets ----

export interface OffsetCommitPartition {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** -1 unknown. */
  readonly leaderEpoch: number
  readonly metadata: string
}

export interface OffsetCommitRequest {
  readonly groupId: string
  /** '' with memberEpoch -1: a simple commit (allowed only while the group has no members). */
  readonly memberId: string
  readonly memberEpoch: number
  readonly partitions: readonly OffsetCommitPartition[]
}

/** errorCode '' when that partition succeeded. */
export interface PartitionResult {
  readonly topic: string
  readonly partition: number
  readonly errorCode: string
  readonly errorMessage: string
}

export interface OffsetCommitResponse {
  readonly partitions: readonly PartitionResult[]
}

export interface OffsetFetchRequest {
  readonly groupId: string
  /** Empty: every committed offset of the group. */
  readonly partitions: readonly TopicPartitions[]
}

export interface FetchedOffset {
  readonly topic: string
  readonly partition: number
  /** -1 when nothing is committed. */
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string
  readonly commitTimestampMs: number
}

export interface OffsetFetchResponse {
  readonly partitions: readonly FetchedOffset[]
}

export interface OffsetDeleteRequest {
  readonly groupId: string
  readonly partitions: readonly TopicPartitions[]
}

export interface OffsetDeleteResponse {
  readonly partitions: readonly PartitionResult[]
}

/** Committed offsets set by an operator on a group with no members (offsets already resolved by the client). */
export interface ResetOffsetsRequest {
  readonly groupId: string
  readonly partitions: readonly OffsetCommitPartition[]
}

// ---- admin ----

export type GroupType = 'consumer' | 'classic'
/**
 * KIP-848's consumer group states, lower-case as `kafka-consumer-groups --state` prints them, and the classic
 * protocol's two rebalance phases (classic-group.ts).
 */
export type GroupState = 'empty' | 'assigning' | 'reconciling' | 'stable' | 'dead' | 'preparing_rebalance' | 'completing_rebalance'
export type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions'

export interface ListedGroup {
  readonly groupId: string
  readonly groupType: GroupType
  readonly state: GroupState
  /** A classic group's protocol type (`consumer` for Kafka consumers), when it has members. */
  readonly protocolType?: string
}

export interface DescribedMember {
  readonly memberId: string
  readonly instanceId: string
  readonly clientId: string
  readonly clientHost: string
  readonly rackId: string
  readonly memberEpoch: number
  readonly state: MemberState
  readonly subscribedTopicNames: readonly string[]
  readonly subscribedTopicRegex: string
  readonly assignment: readonly TopicPartitions[]
  readonly targetAssignment: readonly TopicPartitions[]
}

export interface DescribedGroup {
  readonly groupId: string
  readonly groupType: GroupType
  readonly state: GroupState
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignorName: string
  readonly members: readonly DescribedMember[]
}

/** errorCode '' when the group was deleted. */
export interface GroupResult {
  readonly groupId: string
  readonly errorCode: string
  readonly errorMessage: string
}

/** What `tick` did, for logs and metrics (the records say it to the log). */
export interface TickReport {
  /** Members removed because their session expired or they did not revoke within their rebalance timeout. */
  readonly expiredMembers: readonly { readonly groupId: string; readonly memberId: string; readonly reason: 'session' | 'rebalance' }[]
  /** Groups whose target assignment was recomputed (a subscribed topic's partition count changed). */
  readonly reassignedGroups: readonly string[]
  /** Committed offsets removed by `offsets.retention.minutes`. */
  readonly expiredOffsets: number
}

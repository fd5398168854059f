/**
 * One shard of the group coordinator: the groups of one `__consumer_offsets` partition (Kafka 4's
 * `GroupCoordinatorShard` with its `GroupMetadataManager` and `OffsetMetadataManager`).
 *
 * Owns the replayed state of its groups and the decisions over it. `replay` is the only way replayed state changes:
 * the runtime replays a decision's records right after the decision (before they commit) and replays the partition
 * when it loads it. Decisions read the state and return records plus a response; they never change replayed state.
 *
 * Soft state (not records, as in Kafka, and the one thing decisions do change directly): each member's session
 * deadline (renewed by its heartbeats) and, while a member is revoking (`unrevoked_partitions`), the deadline of its
 * rebalance timeout. `heartbeat` sets them for the member it answers; `onLoaded` gives every member of a loaded
 * partition a fresh session; `tick` fills in any that are missing; replaying a member's metadata tombstone (a leave,
 * an expiry) forgets that member's. Losing soft state only ever grants members more time.
 *
 * Classic groups (JoinGroup/SyncGroup, classic-group-decisions.ts) are the second group type here. While loaded,
 * their live state (`#classic`: members, phases, deadlines) is what decisions read and change; what survives a
 * failover is in records: the generation (`ConsumerGroupMetadata`, type classic, at every join phase's end), the last
 * completed generation's members and assignments (`GroupMetadata`, at the leader's SyncGroup; tombstoned when the
 * group empties) and the offsets (the same OffsetCommit records). `onLoaded` rebuilds `#classic` from them
 * (`restoreClassicGroup`), every member's session starting at the load time.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type CoordinatorConfig, resolveCoordinatorConfig } from './coordinator-config.js'
import type {
  CoordinatorResult, DecisionContext, DescribedGroup, GroupResult, HeartbeatRequest, HeartbeatResponse, ListedGroup,
  OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
  OffsetFetchResponse, ResetOffsetsRequest, TickReport,
} from './coordinator-types.js'
import { bumpAndReassign, checkGroupId, decideHeartbeat, removeMembers } from './consumer-group-heartbeat.js'
import {
  type ClassicGroup, type ClassicGroupConfig, type ClassicGroupDescription, type ClassicHeartbeatRequest,
  type ClassicHeartbeatResponse, type JoinGroupRequest, type JoinGroupResponse, type LeaveGroupRequest,
  type LeaveGroupResponse, type SyncGroupRequest, type SyncGroupResponse, defaultClassicGroupConfig,
} from './classic-group.js'
import {
  type ClassicDecision, type ClassicEnv, type ClassicExpiry, type ClassicOutcome, type Delivery, checkClassicOffsetCommit, classicGroupOf,
  decideClassicHeartbeat, decideJoinGroup, decideLeaveGroup, decideSyncGroup, restoreClassicGroup, tickClassicGroup,
} from './classic-group-decisions.js'
import { describeClassicMembers } from './consumer-protocol.js'
import type { GroupRecord } from './group-record.js'
import { ConsumerGroupState } from './group-state.js'
import {
  type OffsetEnv, commitPartitions, decideOffsetCommit, decideOffsetDelete, decideResetOffsets, fetchOffsets, groupTombstones,
} from './offset-decisions.js'
import { groupAssignorName, resolvePartitionMetadata, samePartitionMetadata } from './subscription.js'
import { compareStrings } from './topic-partitions.js'

/** Offset retention is checked at most this often (it scans every offset of every group without members). */
const OFFSET_RETENTION_CHECK_INTERVAL_MS = 1000

export interface GroupCoordinatorShardOptions {
  readonly config: CoordinatorConfig
  /** A fresh, never reused member id (the runtime injects a UUID source). */
  readonly newMemberId: () => string
  /** The classic group protocol's settings (Kafka's defaults when omitted). */
  readonly classic?: Partial<ClassicGroupConfig>
}

/** A delivery of the tick, which spans groups. */
export interface GroupDelivery<Response> extends Delivery<Response> {
  readonly groupId: string
}

/** What the periodic work of classic groups did: answers owed to waiting requests, and who was removed. */
export interface ClassicTickOutcome {
  readonly joins: readonly GroupDelivery<JoinGroupResponse>[]
  readonly syncs: readonly GroupDelivery<SyncGroupResponse>[]
  readonly expiredMembers: readonly ClassicExpiry[]
}

type ExpiredMember = TickReport['expiredMembers'][number]

/** What a load found (for the runtime's log). */
export interface LoadReport {
  /** Classic groups restored with members, and those members. */
  readonly classicGroups: number
  readonly classicMembers: number
}

export class GroupCoordinatorShard {
  readonly #config: CoordinatorConfig
  readonly #newMemberId: () => string
  readonly #groups = new Map<string, ConsumerGroupState>()
  /** Soft: groupId → memberId → session deadline (ms). */
  readonly #sessions = new Map<string, Map<string, number>>()
  /** Soft: groupId → memberId → rebalance-timeout deadline of a member revoking partitions (ms). */
  readonly #revocations = new Map<string, Map<string, number>>()
  #lastRetentionCheckMs = Number.NEGATIVE_INFINITY
  readonly #classicConfig: ClassicGroupConfig
  /** Soft: the membership of classic groups (classic-group.ts). */
  readonly #classic = new Map<string, ClassicGroup>()

  constructor (options: GroupCoordinatorShardOptions) {
    this.#config = resolveCoordinatorConfig(options.config)
    this.#newMemberId = options.newMemberId
    this.#classicConfig = Object.freeze({ ...defaultClassicGroupConfig, ...options.classic })
  }

  get groupCount (): number { return this.#groups.size }

  /** The replayed state of a group, read-only by convention (tests and the runtime's diagnostics). */
  group (groupId: string): ConsumerGroupState | undefined { return this.#groups.get(groupId) }

  replay (record: GroupRecord): void {
    let group = this.#groups.get(record.groupId)
    if (group === undefined) {
      if (record.value === null) return
      this.#groups.set(record.groupId, group = new ConsumerGroupState(record.groupId))
    }
    group.replay(record)
    if (record.type === 'ConsumerGroupMemberMetadata' && record.value === null) {
      this.#sessions.get(record.groupId)?.delete(record.memberId)
      this.#revocations.get(record.groupId)?.delete(record.memberId)
    }
    if (group.isVoid) {
      this.#groups.delete(record.groupId)
      this.#sessions.delete(record.groupId)
      this.#revocations.delete(record.groupId)
      this.#classic.delete(record.groupId)
    } else if (record.type === 'ConsumerGroupMetadata' && record.value?.groupType === 'consumer') {
      // The id went to a KIP-848 group (only an empty classic group converts).
      this.#classic.delete(record.groupId)
    }
  }

  /** The partition is replayed: fresh sessions for every member, classic groups rebuilt from their records. */
  onLoaded (nowMs: number): LoadReport {
    this.#sessions.clear()
    this.#revocations.clear()
    this.#classic.clear()
    let classicMembers = 0
    for (const group of this.#groups.values()) {
      const classic = restoreClassicGroup(group, nowMs)
      if (classic !== undefined) {
        this.#classic.set(group.groupId, classic)
        classicMembers += classic.members.size
      }
      for (const [memberId, member] of group.members) {
        softMap(this.#sessions, group.groupId).set(memberId, nowMs + this.#config.sessionTimeoutMs)
        if (group.memberState(memberId) === 'unrevoked_partitions') {
          softMap(this.#revocations, group.groupId).set(memberId, nowMs + member.rebalanceTimeoutMs)
        }
      }
    }
    return { classicGroups: this.#classic.size, classicMembers }
  }

  heartbeat (request: HeartbeatRequest, context: DecisionContext): CoordinatorResult<HeartbeatResponse> {
    const group = this.#groups.get(request.groupId)
    if (this.#classic.has(request.groupId)) {
      throw new GregorError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        `group ${request.groupId} is a classic group with members; a consumer-protocol member cannot join it`)
    }
    const decision = decideHeartbeat(request, {
      config: this.#config, group, groupCount: this.#groups.size, newMemberId: this.#newMemberId, context,
    })
    // A leave's soft state goes when its member tombstone is replayed.
    if (decision.member !== undefined) {
      const memberId = decision.response.memberId
      softMap(this.#sessions, request.groupId).set(memberId, context.nowMs + this.#config.sessionTimeoutMs)
      const revocations = softMap(this.#revocations, request.groupId)
      if (decision.member.current.state !== 'unrevoked_partitions') revocations.delete(memberId)
      else if (!revocations.has(memberId)) revocations.set(memberId, context.nowMs + decision.member.rebalanceTimeoutMs)
    }
    return { records: decision.records, response: decision.response }
  }

  commitOffsets (request: OffsetCommitRequest, context: DecisionContext): CoordinatorResult<OffsetCommitResponse> {
    const env = this.#offsetEnv(request.groupId, context)
    const classic = this.#classic.get(request.groupId) ?? (env.group?.groupType === 'classic' ? classicGroupOf({ group: undefined, persisted: env.group }, request.groupId, false) : undefined)
    if (classic === undefined) return decideOffsetCommit(request, env)
    // A classic group: its members commit at their generation (memberEpoch carries OffsetCommit's generation id).
    checkGroupId(request.groupId, this.#config)
    checkClassicOffsetCommit(classic, request.memberId, request.memberEpoch)
    return commitPartitions(request.groupId, request.partitions, env, 'classic')
  }

  fetchOffsets (request: OffsetFetchRequest): OffsetFetchResponse {
    checkGroupId(request.groupId, this.#config)
    return fetchOffsets(request, this.#groups.get(request.groupId))
  }

  deleteOffsets (request: OffsetDeleteRequest, context: DecisionContext): CoordinatorResult<OffsetDeleteResponse> {
    this.#refuseClassicMembers(request.groupId)
    return decideOffsetDelete(request, this.#offsetEnv(request.groupId, context))
  }

  resetOffsets (request: ResetOffsetsRequest, context: DecisionContext): CoordinatorResult<OffsetCommitResponse> {
    this.#refuseClassicMembers(request.groupId)
    return decideResetOffsets(request, this.#offsetEnv(request.groupId, context))
  }

  /** NON_EMPTY_GROUP while a classic group has members (they own partitions the broker cannot see). */
  #refuseClassicMembers (groupId: string): void {
    const classic = this.#classic.get(groupId)
    if (classic !== undefined && classic.members.size > 0) {
      throw new GregorError(ErrorCode.NON_EMPTY_GROUP, `group ${groupId} has ${classic.members.size} members; stop them first`)
    }
  }

  // ---- the classic group protocol ----

  #classicEnv (groupId: string, nowMs: number): ClassicEnv {
    return {
      config: this.#config, classic: this.#classicConfig, group: this.#classic.get(groupId), persisted: this.#groups.get(groupId),
      nowMs, newMemberId: this.#newMemberId,
    }
  }

  #applyClassic<Reply> (groupId: string, decision: ClassicDecision<Reply>): CoordinatorResult<ClassicOutcome<Reply>> {
    if (decision.group === undefined) this.#classic.delete(groupId)
    else this.#classic.set(groupId, decision.group)
    return { records: decision.records, response: decision.response }
  }

  joinGroup (request: JoinGroupRequest, context: DecisionContext): CoordinatorResult<ClassicOutcome<JoinGroupResponse>> {
    checkGroupId(request.groupId, this.#config)
    const groupCount = this.#groups.size + this.#classic.size
    return this.#applyClassic(request.groupId, decideJoinGroup(request, this.#classicEnv(request.groupId, context.nowMs), groupCount))
  }

  syncGroup (request: SyncGroupRequest, context: DecisionContext): CoordinatorResult<ClassicOutcome<SyncGroupResponse>> {
    checkGroupId(request.groupId, this.#config)
    return this.#applyClassic(request.groupId, decideSyncGroup(request, this.#classicEnv(request.groupId, context.nowMs)))
  }

  classicHeartbeat (request: ClassicHeartbeatRequest, context: DecisionContext): CoordinatorResult<ClassicOutcome<ClassicHeartbeatResponse>> {
    checkGroupId(request.groupId, this.#config)
    return this.#applyClassic(request.groupId, decideClassicHeartbeat(request, this.#classicEnv(request.groupId, context.nowMs)))
  }

  leaveGroup (request: LeaveGroupRequest, context: DecisionContext): CoordinatorResult<ClassicOutcome<LeaveGroupResponse>> {
    checkGroupId(request.groupId, this.#config)
    return this.#applyClassic(request.groupId, decideLeaveGroup(request, this.#classicEnv(request.groupId, context.nowMs)))
  }

  /** The timeouts of every classic group (sessions, join and sync phases): records and the answers they release. */
  classicTick (context: DecisionContext): CoordinatorResult<ClassicTickOutcome> {
    const records: GroupRecord[] = []
    const joins: GroupDelivery<JoinGroupResponse>[] = []
    const syncs: GroupDelivery<SyncGroupResponse>[] = []
    const expiredMembers: ClassicExpiry[] = []
    for (const groupId of [...this.#classic.keys()]) {
      const group = this.#classic.get(groupId) as ClassicGroup
      const decision = tickClassicGroup(group, this.#classicEnv(groupId, context.nowMs))
      this.#applyClassic(groupId, decision)
      records.push(...decision.records)
      joins.push(...decision.response.joins.map((delivery) => ({ groupId, ...delivery })))
      syncs.push(...decision.response.syncs.map((delivery) => ({ groupId, ...delivery })))
      expiredMembers.push(...decision.expired)
    }
    return { records, response: { joins, syncs, expiredMembers } }
  }

  /** DescribeGroups (key 15): a classic group as Kafka describes it; GROUP_ID_NOT_FOUND for a KIP-848 group. */
  describeClassicGroup (groupId: string): ClassicGroupDescription {
    const persisted = this.#groups.get(groupId)
    const classic = this.#classic.get(groupId)
    if (classic === undefined) {
      if (persisted === undefined) throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`)
      // A group holding only offsets (simple commits) is an empty classic group to Kafka's tools.
      if (persisted.groupType !== 'classic' && (persisted.groupEpoch > 0 || persisted.members.size > 0)) {
        throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} is not a classic group`)
      }
      return { groupId, state: 'empty', protocolType: '', protocolName: '', members: [] }
    }
    const stable = classic.state === 'stable'
    return {
      groupId,
      state: classic.state,
      protocolType: classic.protocolType,
      protocolName: stable ? classic.protocolName : '',
      members: [...classic.members.values()].map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? classic.metadataOf(member) : new Uint8Array(0),
        assignment: stable ? member.assignment : new Uint8Array(0),
      })),
    }
  }

  #offsetEnv (groupId: string, context: DecisionContext): OffsetEnv {
    return { config: this.#config, group: this.#groups.get(groupId), groupCount: this.#groups.size, context }
  }

  listGroups (): ListedGroup[] {
    const ids = new Set([...this.#groups.keys(), ...this.#classic.keys()])
    return [...ids].sort(compareStrings).map((groupId): ListedGroup => {
      const classic = this.#classic.get(groupId)
      if (classic !== undefined) return { groupId, groupType: 'classic', state: classic.state, protocolType: classic.protocolType }
      const group = this.#groups.get(groupId) as ConsumerGroupState
      return { groupId, groupType: group.groupType, state: group.state }
    })
  }

  describeGroup (groupId: string): DescribedGroup {
    const classic = this.#classic.get(groupId)
    if (classic !== undefined) {
      return {
        groupId, groupType: 'classic', state: classic.state, groupEpoch: classic.generationId, assignmentEpoch: classic.generationId,
        assignorName: classic.protocolName, members: describeClassicMembers(classic),
      }
    }
    const group = this.#groups.get(groupId)
    if (group === undefined) throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`)
    return {
      groupId,
      groupType: group.groupType,
      state: group.state,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: groupAssignorName(group.members.values(), this.#config),
      members: [...group.members].sort(([a], [b]) => compareStrings(a, b)).map(([memberId, member]) => {
        const current = group.currentOf(memberId)
        return {
          memberId,
          instanceId: member.instanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          rackId: member.rackId,
          memberEpoch: current.memberEpoch,
          state: current.state,
          subscribedTopicNames: member.subscribedTopicNames,
          subscribedTopicRegex: member.subscribedTopicRegex,
          assignment: current.assignedPartitions,
          targetAssignment: group.targets.get(memberId) ?? [],
        }
      }),
    }
  }

  /**
   * Deletes groups without members, each with every record it has (offsets included). Per group: INVALID_GROUP_ID,
   * GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or '' when deleted.
   */
  deleteGroups (groupIds: readonly string[], context: DecisionContext): CoordinatorResult<GroupResult[]> {
    void context
    const records: GroupRecord[] = []
    const deleted = new Set<string>()
    const results = groupIds.map((groupId): GroupResult => {
      try {
        checkGroupId(groupId, this.#config)
      } catch (error) {
        return { groupId, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: (error as Error).message }
      }
      const group = this.#groups.get(groupId)
      if (group === undefined || deleted.has(groupId)) {
        return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `group ${groupId} does not exist` }
      }
      const members = group.members.size + (this.#classic.get(groupId)?.members.size ?? 0)
      if (members > 0) {
        return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: `group ${groupId} has ${members} members` }
      }
      deleted.add(groupId)
      records.push(...groupTombstones(group))
      return { groupId, errorCode: '', errorMessage: '' }
    })
    return { records, response: results }
  }

  /**
   * The periodic work: expired sessions and rebalance timeouts remove members; a group whose subscribed topics
   * changed (partition counts, topics created or deleted, new regex matches) gets a new epoch and target; offsets of
   * groups without members expire after offsetsRetentionMs, and such a group with no offsets left is deleted.
   */
  tick (context: DecisionContext): CoordinatorResult<TickReport> {
    const nowMs = context.nowMs
    const records: GroupRecord[] = []
    const expiredMembers: ExpiredMember[] = []
    const reassignedGroups: string[] = []
    let expiredOffsets = 0
    const checkRetention = nowMs - this.#lastRetentionCheckMs >= OFFSET_RETENTION_CHECK_INTERVAL_MS
    if (checkRetention) this.#lastRetentionCheckMs = nowMs
    for (const group of this.#groups.values()) {
      if (group.members.size > 0) {
        const expired = this.#expiredMembers(group, nowMs)
        records.push(...this.#ghostTombstones(group))
        if (expired.length > 0) {
          records.push(...removeMembers(group, expired.map((e) => e.memberId), context, this.#config))
          expiredMembers.push(...expired)
        } else if (!samePartitionMetadata(resolvePartitionMetadata(group.members.values(), context.topics), group.partitionMetadata)) {
          records.push(...bumpAndReassign(group, group.members, group.targets, context, this.#config))
          reassignedGroups.push(group.groupId)
        }
      } else if (checkRetention && !this.#classic.has(group.groupId)) {
        const expired = this.#expiredOffsets(group, nowMs)
        expiredOffsets += expired.length
        records.push(...(expired.length === group.offsetCount ? groupTombstones(group) : expired))
      }
    }
    return { records, response: { expiredMembers, reassignedGroups, expiredOffsets } }
  }

  #expiredMembers (group: ConsumerGroupState, nowMs: number): ExpiredMember[] {
    const sessions = softMap(this.#sessions, group.groupId)
    const revocations = softMap(this.#revocations, group.groupId)
    const expired: ExpiredMember[] = []
    for (const [memberId, member] of group.members) {
      const session = sessions.get(memberId)
      if (session === undefined) sessions.set(memberId, nowMs + this.#config.sessionTimeoutMs)
      else if (nowMs >= session) {
        expired.push({ groupId: group.groupId, memberId, reason: 'session' })
        continue
      }
      if (group.memberState(memberId) !== 'unrevoked_partitions') {
        revocations.delete(memberId)
        continue
      }
      const deadline = revocations.get(memberId)
      if (deadline === undefined) revocations.set(memberId, nowMs + member.rebalanceTimeoutMs)
      else if (nowMs >= deadline) expired.push({ groupId: group.groupId, memberId, reason: 'rebalance' })
    }
    return expired
  }

  /** Assignments left behind by a member whose metadata is gone (never written by Gregor; healed if met). */
  #ghostTombstones (group: ConsumerGroupState): GroupRecord[] {
    const records: GroupRecord[] = []
    const groupId = group.groupId
    for (const memberId of group.current.keys()) {
      if (!group.members.has(memberId)) records.push({ type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: null })
    }
    for (const memberId of group.targets.keys()) {
      if (!group.members.has(memberId)) records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: null })
    }
    return records
  }

  #expiredOffsets (group: ConsumerGroupState, nowMs: number): GroupRecord[] {
    const records: GroupRecord[] = []
    for (const [topic, byPartition] of group.offsets) {
      for (const [partition, value] of byPartition) {
        if (value.commitTimestampMs + this.#config.offsetsRetentionMs <= nowMs) {
          records.push({ type: 'OffsetCommit', groupId: group.groupId, topic, partition, value: null })
        }
      }
    }
    return records
  }
}

function softMap (maps: Map<string, Map<string, number>>, groupId: string): Map<string, number> {
  let map = maps.get(groupId)
  if (map === undefined) maps.set(groupId, map = new Map())
  return map
}

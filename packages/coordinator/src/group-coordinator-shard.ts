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
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type CoordinatorConfig, resolveCoordinatorConfig } from './coordinator-config.js'
import type {
  CoordinatorResult, DecisionContext, DescribedGroup, GroupResult, HeartbeatRequest, HeartbeatResponse, ListedGroup,
  OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
  OffsetFetchResponse, ResetOffsetsRequest, TickReport,
} from './coordinator-types.js'
import { bumpAndReassign, checkGroupId, decideHeartbeat, removeMembers } from './consumer-group-heartbeat.js'
import type { GroupRecord } from './group-record.js'
import { ConsumerGroupState } from './group-state.js'
import {
  type OffsetEnv, decideOffsetCommit, decideOffsetDelete, decideResetOffsets, fetchOffsets, groupTombstones,
} from './offset-decisions.js'
import { groupAssignorName, resolvePartitionMetadata, samePartitionMetadata } from './subscription.js'
import { compareStrings } from './topic-partitions.js'

/** Offset retention is checked at most this often (it scans every offset of every group without members). */
const OFFSET_RETENTION_CHECK_INTERVAL_MS = 1000

export interface GroupCoordinatorShardOptions {
  readonly config: CoordinatorConfig
  /** A fresh, never reused member id (the runtime injects a UUID source). */
  readonly newMemberId: () => string
}

type ExpiredMember = TickReport['expiredMembers'][number]

export class GroupCoordinatorShard {
  readonly #config: CoordinatorConfig
  readonly #newMemberId: () => string
  readonly #groups = new Map<string, ConsumerGroupState>()
  /** Soft: groupId → memberId → session deadline (ms). */
  readonly #sessions = new Map<string, Map<string, number>>()
  /** Soft: groupId → memberId → rebalance-timeout deadline of a member revoking partitions (ms). */
  readonly #revocations = new Map<string, Map<string, number>>()
  #lastRetentionCheckMs = Number.NEGATIVE_INFINITY

  constructor (options: GroupCoordinatorShardOptions) {
    this.#config = resolveCoordinatorConfig(options.config)
    this.#newMemberId = options.newMemberId
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
    }
  }

  onLoaded (nowMs: number): void {
    this.#sessions.clear()
    this.#revocations.clear()
    for (const group of this.#groups.values()) {
      for (const [memberId, member] of group.members) {
        softMap(this.#sessions, group.groupId).set(memberId, nowMs + this.#config.sessionTimeoutMs)
        if (group.memberState(memberId) === 'unrevoked_partitions') {
          softMap(this.#revocations, group.groupId).set(memberId, nowMs + member.rebalanceTimeoutMs)
        }
      }
    }
  }

  heartbeat (request: HeartbeatRequest, context: DecisionContext): CoordinatorResult<HeartbeatResponse> {
    const group = this.#groups.get(request.groupId)
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
    return decideOffsetCommit(request, this.#offsetEnv(request.groupId, context))
  }

  fetchOffsets (request: OffsetFetchRequest): OffsetFetchResponse {
    checkGroupId(request.groupId, this.#config)
    return fetchOffsets(request, this.#groups.get(request.groupId))
  }

  deleteOffsets (request: OffsetDeleteRequest, context: DecisionContext): CoordinatorResult<OffsetDeleteResponse> {
    return decideOffsetDelete(request, this.#offsetEnv(request.groupId, context))
  }

  resetOffsets (request: ResetOffsetsRequest, context: DecisionContext): CoordinatorResult<OffsetCommitResponse> {
    return decideResetOffsets(request, this.#offsetEnv(request.groupId, context))
  }

  #offsetEnv (groupId: string, context: DecisionContext): OffsetEnv {
    return { config: this.#config, group: this.#groups.get(groupId), groupCount: this.#groups.size, context }
  }

  listGroups (): ListedGroup[] {
    return [...this.#groups.values()]
      .sort((a, b) => compareStrings(a.groupId, b.groupId))
      .map((group) => ({ groupId: group.groupId, groupType: group.groupType, state: group.state }))
  }

  describeGroup (groupId: string): DescribedGroup {
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
      if (group.members.size > 0) {
        return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: `group ${groupId} has ${group.members.size} members` }
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
      } else if (checkRetention) {
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

/**
 * The decisions of the classic group protocol (Kafka's `GroupMetadataManager.classicGroup*`): JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, the timeouts, and who may commit offsets to a classic group.
 *
 * A decision gets the group's soft state (`ClassicGroup`, changed in place), the group's replayed records and the
 * time, and returns records plus a `ClassicOutcome`: the caller's answer now, or that it waits, and the answers now
 * owed to members whose JoinGroup or SyncGroup waited (a join phase ends when the last member rejoins, or at its
 * deadline in `tickClassicGroup`). Nothing here reads a clock or schedules a timer: deadlines are numbers the tick
 * compares with the time it is given.
 *
 * The rules kept (Kafka's):
 * - JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED and a fresh id; the member joins again with it within
 *   its session timeout. A join of an empty group waits `initialRebalanceDelayMs` for more members (extended while
 *   members keep coming, at most up to the rebalance timeout); otherwise the join phase ends when every member has
 *   rejoined or at the group's rebalance timeout, and members that did not rejoin are removed.
 * - The join phase's end starts the next generation (persisted as the group's `ConsumerGroupMetadata` epoch, type
 *   classic, so generations never repeat across failovers) and picks the protocol every member supports with the
 *   most votes and a leader; the leader alone gets every member's metadata. SyncGroup from the leader stores each
 *   member's opaque assignment and answers every waiting member; members that do not sync within the rebalance
 *   timeout are removed.
 * - Persistence (Kafka's GroupMetadata record, key type 2): the leader's SyncGroup writes the completed generation
 *   with every member, its timeouts, its metadata for the chosen protocol and its assignment; a join phase that ends
 *   with no member tombstones it. The answers go out once that record is committed, so a new coordinator
 *   (`restoreClassicGroup`) knows every member a client believes it is in: it restores the group Stable, each
 *   member's session starting afresh at the load. If the join phase after the last such record ended but its sync
 *   never completed, the group is restored in a rebalance at the newer generation (its members rejoin).
 * - Fencing: a member unknown to the group is UNKNOWN_MEMBER_ID; a generation other than the group's is
 *   ILLEGAL_GENERATION; a heartbeat during the join phase, a SyncGroup before the join phase has ended, and an
 *   offset commit between the join and sync phases are REBALANCE_IN_PROGRESS.
 * - A group id belongs to one protocol: a classic request for a KIP-848 group with members is
 *   INCONSISTENT_GROUP_PROTOCOL (JoinGroup) or GROUP_ID_NOT_FOUND (the others); an empty KIP-848 group (offsets only)
 *   becomes classic on its first completed join.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { CoordinatorConfig } from './coordinator-config.js'
import type { CoordinatorResult } from './coordinator-types.js'
import {
  type ClassicGroupConfig, type ClassicHeartbeatRequest, type ClassicHeartbeatResponse, type ClassicMember,
  type JoinGroupRequest, type JoinGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse,
  type SyncGroupRequest, type SyncGroupResponse, ClassicGroup, EMPTY_BYTES,
} from './classic-group.js'
import type { ClassicGroupMetadataValue, GroupRecord } from './group-record.js'
import type { ConsumerGroupState } from './group-state.js'

export interface Delivery<Response> {
  readonly memberId: string
  readonly response: Response
}

export interface ClassicOutcome<Reply> {
  /** The caller's answer now; undefined when it waits for a delivery to `awaitingMemberId`. */
  readonly reply: Reply | undefined
  readonly awaitingMemberId: string
  /** Answers owed to waiting JoinGroup requests (the caller's included when this decision ended the join phase). */
  readonly joins: readonly Delivery<JoinGroupResponse>[]
  readonly syncs: readonly Delivery<SyncGroupResponse>[]
}

export interface ClassicEnv {
  readonly config: CoordinatorConfig
  readonly classic: ClassicGroupConfig
  /** The group's soft state, if it has any. */
  readonly group: ClassicGroup | undefined
  /** The group's replayed records, if it has any. */
  readonly persisted: ConsumerGroupState | undefined
  readonly nowMs: number
  readonly newMemberId: () => string
}

/** What a decision hands the shard: the outcome, and the group's soft state afterwards (undefined: forget it). */
export interface ClassicDecision<Reply> extends CoordinatorResult<ClassicOutcome<Reply>> {
  readonly group: ClassicGroup | undefined
}

/** Collects a decision's records and deliveries while it changes the group. */
class Effects {
  readonly records: GroupRecord[] = []
  readonly joins: Delivery<JoinGroupResponse>[] = []
  readonly syncs: Delivery<SyncGroupResponse>[] = []

  decision<Reply> (group: ClassicGroup | undefined, reply: Reply | undefined, awaitingMemberId = ''): ClassicDecision<Reply> {
    const keep = group !== undefined && !(group.state === 'empty' && group.isEmpty)
    return {
      records: this.records,
      response: { reply, awaitingMemberId, joins: this.joins, syncs: this.syncs },
      group: keep ? group : undefined,
    }
  }
}

const joinError = (code: ErrorCode, message: string, memberId: string): JoinGroupResponse => ({
  errorCode: code, errorMessage: message, generationId: -1, protocolType: '', protocolName: '', leader: '', memberId, members: [],
})
const syncError = (code: ErrorCode, message: string): SyncGroupResponse =>
  ({ errorCode: code, errorMessage: message, protocolType: '', protocolName: '', assignment: EMPTY_BYTES })
const heartbeatAnswer = (code: ErrorCode | '', message = ''): ClassicHeartbeatResponse => ({ errorCode: code, errorMessage: message })

/** Whether the group id is held by a KIP-848 group with members (so no classic member may use it). */
function isActiveConsumerGroup (persisted: ConsumerGroupState | undefined): boolean {
  return persisted !== undefined && persisted.groupType === 'consumer' && persisted.members.size > 0
}

/**
 * The group's soft state, created at the generation its records last persisted when it has none. Throws
 * GROUP_ID_NOT_FOUND for a KIP-848 group with members; returns undefined when neither exists and `create` is false.
 */
export function classicGroupOf (env: Pick<ClassicEnv, 'group' | 'persisted'>, groupId: string, create: boolean): ClassicGroup | undefined {
  if (env.group !== undefined) return env.group
  if (isActiveConsumerGroup(env.persisted)) {
    throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} is not a classic group`)
  }
  if (env.persisted === undefined && !create) return undefined
  return new ClassicGroup(groupId, env.persisted?.groupEpoch ?? 0)
}

// ---------------------------------------------------------------- join

export function decideJoinGroup (request: JoinGroupRequest, env: ClassicEnv, groupCount: number): ClassicDecision<JoinGroupResponse> {
  const effects = new Effects()
  const fail = (code: ErrorCode, message: string, group = env.group): ClassicDecision<JoinGroupResponse> =>
    effects.decision(group, joinError(code, message, request.memberId))
  if (request.groupInstanceId !== null) {
    return fail(ErrorCode.INVALID_REQUEST, 'static membership (group.instance.id) is not supported')
  }
  if (request.sessionTimeoutMs < env.classic.minSessionTimeoutMs || request.sessionTimeoutMs > env.classic.maxSessionTimeoutMs) {
    return fail(ErrorCode.INVALID_SESSION_TIMEOUT, `session timeout ${request.sessionTimeoutMs} ms is outside ` +
      `[${env.classic.minSessionTimeoutMs}, ${env.classic.maxSessionTimeoutMs}]`)
  }
  if (isActiveConsumerGroup(env.persisted)) {
    return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `group ${request.groupId} is a consumer (KIP-848) group with members`)
  }
  const existing = classicGroupOf(env, request.groupId, false)
  if (existing === undefined && request.memberId !== '') {
    return fail(ErrorCode.UNKNOWN_MEMBER_ID, `group ${request.groupId} does not exist`)
  }
  if (existing === undefined && env.persisted === undefined && groupCount >= env.config.groupsMax) {
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `this coordinator shard already holds ${groupCount} groups (groupsMax)`)
  }
  const group = existing ?? new ClassicGroup(request.groupId, 0)
  const nowMs = env.nowMs
  if (group.state === 'dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group ${request.groupId} is being deleted`, group)
  const rebalanceTimeoutMs = request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs

  if (request.memberId === '' || group.pendingMembers.has(request.memberId)) {
    if (!group.supportsProtocols(request.protocolType, request.protocols)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'no protocol of the member is supported by every member of the group', group)
    }
    let memberId = request.memberId
    if (memberId === '') {
      if (group.members.size + group.pendingMembers.size >= env.config.groupMaxSize) {
        return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `group ${request.groupId} already has ${env.config.groupMaxSize} members`, group)
      }
      memberId = newClassicMemberId(request.clientId, env.newMemberId)
      if (request.requireKnownMemberId) {
        group.pendingMembers.set(memberId, nowMs + request.sessionTimeoutMs)
        return effects.decision(group, joinError(ErrorCode.MEMBER_ID_REQUIRED, 'join again with the member id given', memberId))
      }
    }
    group.pendingMembers.delete(memberId)
    const member: ClassicMember = {
      memberId, clientId: request.clientId, clientHost: request.clientHost, protocolType: request.protocolType,
      protocols: request.protocols, sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs,
      awaitingJoin: true, awaitingSync: false, assignment: EMPTY_BYTES, sessionDeadlineMs: nowMs + request.sessionTimeoutMs,
    }
    if (group.members.size === 0) group.protocolType = request.protocolType
    group.members.set(memberId, member)
    if (group.leaderId === '' || !group.members.has(group.leaderId)) group.leaderId = memberId
    if (group.initialDelay !== undefined) group.initialDelay.memberJoined = true
    rebalanceOrCompleteJoin(group, env, effects)
    return effects.decision<JoinGroupResponse>(group, undefined, memberId)
  }

  const member = group.members.get(request.memberId)
  if (member === undefined) {
    return fail(ErrorCode.UNKNOWN_MEMBER_ID, `member ${request.memberId} is not in group ${request.groupId}`, group)
  }
  if (!group.supportsProtocols(request.protocolType, request.protocols, member.memberId)) {
    return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'no protocol of the member is supported by every member of the group', group)
  }
  member.sessionDeadlineMs = nowMs + request.sessionTimeoutMs
  const unchanged = member.protocolType === request.protocolType && sameProtocols(member.protocols, request.protocols)
  // A member that rejoins with what it had, after the join phase ended, gets the generation as it is (Kafka: its
  // JoinGroup response was lost); the leader rejoining in a stable group asks for a new generation.
  if (unchanged && (group.state === 'completing_rebalance' || (group.state === 'stable' && member.memberId !== group.leaderId))) {
    return effects.decision(group, joinAnswer(group, member.memberId))
  }
  if (member.awaitingJoin) {
    // The same member asks again while its first request waits: the first is answered now, the second waits.
    effects.joins.push({ memberId: member.memberId, response: joinError(ErrorCode.REBALANCE_IN_PROGRESS, 'superseded by a newer JoinGroup', member.memberId) })
  }
  member.clientId = request.clientId
  member.clientHost = request.clientHost
  member.protocols = request.protocols
  member.sessionTimeoutMs = request.sessionTimeoutMs
  member.rebalanceTimeoutMs = rebalanceTimeoutMs
  member.awaitingJoin = true
  rebalanceOrCompleteJoin(group, env, effects)
  return effects.decision<JoinGroupResponse>(group, undefined, member.memberId)
}

function rebalanceOrCompleteJoin (group: ClassicGroup, env: ClassicEnv, effects: Effects): void {
  if (group.state === 'preparing_rebalance') maybeCompleteJoin(group, env, effects)
  else prepareRebalance(group, env, effects)
}

function sameProtocols (a: readonly { name: string; metadata: Uint8Array }[], b: readonly { name: string; metadata: Uint8Array }[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]?.name && Buffer.compare(p.metadata, b[i]?.metadata ?? EMPTY_BYTES) === 0)
}

/** Kafka names a classic member `<client id>-<uuid>`. */
function newClassicMemberId (clientId: string, newMemberId: () => string): string {
  const prefix = clientId.slice(0, 100)
  return prefix === '' ? newMemberId() : `${prefix}-${newMemberId()}`
}

/** The JoinGroup answer of the current generation to one member (the leader gets every member's metadata). */
function joinAnswer (group: ClassicGroup, memberId: string): JoinGroupResponse {
  const isLeader = memberId === group.leaderId
  return {
    errorCode: '',
    errorMessage: '',
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    leader: group.leaderId,
    memberId,
    members: isLeader ? [...group.members.values()].map((m) => ({ memberId: m.memberId, metadata: group.metadataOf(m) })) : [],
  }
}

/** Starts a join phase: assignments are void, waiting SyncGroups learn of the rebalance. */
function prepareRebalance (group: ClassicGroup, env: ClassicEnv, effects: Effects): void {
  if (group.state === 'completing_rebalance' || group.state === 'stable') {
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES
      if (member.awaitingSync) {
        member.awaitingSync = false
        effects.syncs.push({ memberId: member.memberId, response: syncError(ErrorCode.REBALANCE_IN_PROGRESS, `group ${group.groupId} is rebalancing`) })
      }
    }
  }
  const rebalanceTimeoutMs = group.rebalanceTimeoutMs
  if (group.state === 'empty') {
    const delayMs = Math.min(env.classic.initialRebalanceDelayMs, rebalanceTimeoutMs)
    group.initialDelay = { remainingMs: Math.max(0, rebalanceTimeoutMs - delayMs), memberJoined: false }
    group.joinDeadlineMs = env.nowMs + delayMs
  } else {
    group.initialDelay = undefined
    group.joinDeadlineMs = env.nowMs + rebalanceTimeoutMs
  }
  group.state = 'preparing_rebalance'
  group.syncDeadlineMs = undefined
  group.pendingSync.clear()
  maybeCompleteJoin(group, env, effects)
}

/** Ends the join phase early once every member has rejoined (not during the initial delay, which waits for more). */
function maybeCompleteJoin (group: ClassicGroup, env: ClassicEnv, effects: Effects): void {
  if (group.state === 'preparing_rebalance' && group.initialDelay === undefined && group.allMembersJoined) completeJoin(group, env, effects)
}

/** The join phase ends: members that did not rejoin are removed, and the next generation starts. */
function completeJoin (group: ClassicGroup, env: ClassicEnv, effects: Effects): void {
  for (const member of [...group.members.values()]) {
    if (!member.awaitingJoin) removeMember(group, member, effects, 'did not rejoin within the rebalance timeout')
  }
  group.generationId++
  group.joinDeadlineMs = undefined
  group.initialDelay = undefined
  effects.records.push(...generationRecords(group, env.persisted))
  if (group.members.size === 0) {
    group.state = 'empty'
    group.protocolName = ''
    group.leaderId = ''
    return
  }
  group.protocolName = group.selectProtocol()
  if (!group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value as string
  group.state = 'completing_rebalance'
  group.syncDeadlineMs = env.nowMs + group.rebalanceTimeoutMs
  for (const member of group.members.values()) {
    member.awaitingJoin = false
    member.sessionDeadlineMs = env.nowMs + member.sessionTimeoutMs
    group.pendingSync.add(member.memberId)
    effects.joins.push({ memberId: member.memberId, response: joinAnswer(group, member.memberId) })
  }
}

/**
 * The group's persisted generation (its metadata record, type classic); a group left without members also loses its
 * persisted membership. A KIP-848 group without members turns classic here: its group-level KIP-848 records go.
 */
function generationRecords (group: ClassicGroup, persisted: ConsumerGroupState | undefined): GroupRecord[] {
  const groupId = group.groupId
  const records: GroupRecord[] = []
  if (persisted?.groupType === 'consumer') {
    if (persisted.partitionMetadata !== undefined) records.push({ type: 'ConsumerGroupPartitionMetadata', groupId, value: null })
    if (persisted.targetAssignmentEpoch !== undefined) records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', groupId, value: null })
  }
  records.push({ type: 'ConsumerGroupMetadata', groupId, value: { epoch: group.generationId, groupType: 'classic' } })
  if (group.members.size === 0 && persisted?.classic !== undefined) records.push({ type: 'GroupMetadata', groupId, value: null })
  return records
}

/** The completed generation as Kafka's GroupMetadata record persists it (written with the leader's assignments). */
export function classicGroupRecord (group: ClassicGroup, nowMs: number): GroupRecord {
  const value: ClassicGroupMetadataValue = {
    protocolType: group.protocolType,
    generationId: group.generationId,
    protocolName: group.protocolName,
    leader: group.leaderId,
    currentStateTimestampMs: nowMs,
    members: [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: null,
      clientId: member.clientId,
      clientHost: member.clientHost,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
      subscription: group.metadataOf(member),
      assignment: member.assignment,
    })),
  }
  return { type: 'GroupMetadata', groupId: group.groupId, value }
}

/**
 * A classic group as a new coordinator finds it in its replayed records (Kafka's `ClassicGroup.fromRecord` and the
 * load's heartbeat rescheduling): the members of its last completed generation, each with a fresh session from
 * `nowMs` (so members that keep heartbeating stay, silent ones expire and start a rebalance). Stable when that
 * generation is the group's; in a rebalance at the group's newer generation when a later join phase ended without
 * its sync being persisted. Undefined when the group has no persisted members (it starts empty, as before).
 */
export function restoreClassicGroup (persisted: ConsumerGroupState, nowMs: number): ClassicGroup | undefined {
  const value = persisted.classic
  if (persisted.groupType !== 'classic' || value === undefined || value.members.length === 0) return undefined
  const group = new ClassicGroup(persisted.groupId, persisted.groupEpoch)
  group.protocolType = value.protocolType
  group.protocolName = value.protocolName
  const completed = value.generationId === persisted.groupEpoch
  for (const m of value.members) {
    group.members.set(m.memberId, {
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      protocolType: value.protocolType,
      protocols: [{ name: value.protocolName, metadata: m.subscription }],
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      awaitingJoin: false,
      awaitingSync: false,
      assignment: completed ? m.assignment : EMPTY_BYTES,
      sessionDeadlineMs: nowMs + m.sessionTimeoutMs,
    })
  }
  group.leaderId = group.members.has(value.leader) ? value.leader : group.members.keys().next().value as string
  if (completed) {
    group.state = 'stable'
  } else {
    // The members were told of a generation whose assignments were never persisted: they rejoin (their SyncGroup
    // or heartbeat at it gets REBALANCE_IN_PROGRESS), and the next generation is one never used before.
    group.state = 'preparing_rebalance'
    group.joinDeadlineMs = nowMs + group.rebalanceTimeoutMs
  }
  return group
}

/** Removes a member; a request of it that waits is answered UNKNOWN_MEMBER_ID. */
function removeMember (group: ClassicGroup, member: ClassicMember, effects: Effects, why: string): void {
  group.members.delete(member.memberId)
  group.pendingSync.delete(member.memberId)
  if (member.awaitingJoin) {
    effects.joins.push({ memberId: member.memberId, response: joinError(ErrorCode.UNKNOWN_MEMBER_ID, `removed: ${why}`, member.memberId) })
  }
  if (member.awaitingSync) {
    effects.syncs.push({ memberId: member.memberId, response: syncError(ErrorCode.UNKNOWN_MEMBER_ID, `removed: ${why}`) })
  }
  if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? ''
}

/** After members left or expired: a rebalance, or the end of the join phase that waited for them. */
function afterRemoval (group: ClassicGroup, env: ClassicEnv, effects: Effects): void {
  if (group.state === 'stable' || group.state === 'completing_rebalance') prepareRebalance(group, env, effects)
  else if (group.state === 'preparing_rebalance') maybeCompleteJoin(group, env, effects)
}

// ---------------------------------------------------------------- sync, heartbeat, leave

/**
 * A classic request's member at its generation: the error (UNKNOWN_MEMBER_ID, GROUP_ID_NOT_FOUND, ILLEGAL_GENERATION)
 * or the member, whose session the request renews.
 */
function currentMember (env: ClassicEnv, groupId: string, memberId: string, generationId: number): { group: ClassicGroup; member: ClassicMember } | GregorError {
  let group: ClassicGroup | undefined
  try {
    group = classicGroupOf(env, groupId, false)
  } catch (error) {
    return error as GregorError
  }
  if (group === undefined) return new GregorError(ErrorCode.UNKNOWN_MEMBER_ID, `group ${groupId} does not exist`)
  if (group.state === 'dead') return new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group ${groupId} is being deleted`)
  const member = group.members.get(memberId)
  if (member === undefined) return new GregorError(ErrorCode.UNKNOWN_MEMBER_ID, `member ${memberId} is not in group ${groupId}`)
  if (generationId !== group.generationId) {
    return new GregorError(ErrorCode.ILLEGAL_GENERATION, `generation ${generationId} is not the group's (${group.generationId})`)
  }
  member.sessionDeadlineMs = env.nowMs + member.sessionTimeoutMs
  return { group, member }
}

export function decideSyncGroup (request: SyncGroupRequest, env: ClassicEnv): ClassicDecision<SyncGroupResponse> {
  const effects = new Effects()
  const known = currentMember(env, request.groupId, request.memberId, request.generationId)
  if (known instanceof GregorError) return effects.decision(env.group, syncError(known.code, known.message))
  const { group, member } = known
  group.pendingSync.delete(member.memberId)
  if (group.pendingSync.size === 0) group.syncDeadlineMs = undefined
  if (group.state === 'preparing_rebalance') {
    return effects.decision(group, syncError(ErrorCode.REBALANCE_IN_PROGRESS, `group ${group.groupId} is rebalancing`))
  }
  if (group.state === 'stable') return effects.decision(group, syncAnswer(group, member))
  // completing_rebalance: everyone waits for the leader's assignment.
  if (member.awaitingSync) {
    effects.syncs.push({ memberId: member.memberId, response: syncError(ErrorCode.REBALANCE_IN_PROGRESS, 'superseded by a newer SyncGroup') })
  }
  member.awaitingSync = true
  if (member.memberId === group.leaderId) {
    const assignments = new Map(request.assignments.map((a) => [a.memberId, a.assignment]))
    group.state = 'stable'
    for (const each of group.members.values()) each.assignment = assignments.get(each.memberId) ?? EMPTY_BYTES
    // Persisted before anyone learns its assignment (the answers wait for this record to commit).
    effects.records.push(classicGroupRecord(group, env.nowMs))
    for (const each of group.members.values()) {
      if (each.awaitingSync) {
        each.awaitingSync = false
        effects.syncs.push({ memberId: each.memberId, response: syncAnswer(group, each) })
      }
    }
  }
  return effects.decision<SyncGroupResponse>(group, undefined, member.memberId)
}

function syncAnswer (group: ClassicGroup, member: ClassicMember): SyncGroupResponse {
  return { errorCode: '', errorMessage: '', protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment }
}

export function decideClassicHeartbeat (request: ClassicHeartbeatRequest, env: ClassicEnv): ClassicDecision<ClassicHeartbeatResponse> {
  const effects = new Effects()
  const known = currentMember(env, request.groupId, request.memberId, request.generationId)
  if (known instanceof GregorError) return effects.decision(env.group, heartbeatAnswer(known.code, known.message))
  const { group, member } = known
  if (group.state === 'preparing_rebalance') {
    return effects.decision(group, heartbeatAnswer(ErrorCode.REBALANCE_IN_PROGRESS, `group ${group.groupId} is rebalancing`))
  }
  return effects.decision(group, heartbeatAnswer(''))
}

export function decideLeaveGroup (request: LeaveGroupRequest, env: ClassicEnv): ClassicDecision<LeaveGroupResponse> {
  const effects = new Effects()
  let group: ClassicGroup | undefined
  try {
    group = classicGroupOf(env, request.groupId, false)
  } catch (error) {
    const { code, message } = error as GregorError
    return effects.decision(env.group, { errorCode: code, errorMessage: message, members: [] })
  }
  if (group === undefined) {
    return effects.decision(undefined, { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, errorMessage: `group ${request.groupId} does not exist`, members: [] })
  }
  let removed = false
  const members = request.members.map(({ memberId, groupInstanceId }) => {
    const member = group.members.get(memberId)
    if (groupInstanceId !== null || (member === undefined && !group.pendingMembers.has(memberId))) {
      return { memberId, groupInstanceId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }
    }
    group.pendingMembers.delete(memberId)
    if (member !== undefined) {
      removeMember(group, member, effects, 'left the group')
      removed = true
    }
    return { memberId, groupInstanceId, errorCode: '' as const }
  })
  if (removed || group.state === 'preparing_rebalance') afterRemoval(group, env, effects)
  return effects.decision(group, { errorCode: '', errorMessage: '', members })
}

// ---------------------------------------------------------------- timeouts

export interface ClassicExpiry {
  readonly groupId: string
  readonly memberId: string
  readonly reason: 'session' | 'rebalance' | 'sync'
}

/**
 * The timeouts of one group at `env.nowMs`: named members that never joined, members silent past their session
 * (a member whose JoinGroup or SyncGroup waits is alive), the end of the join phase, members that did not sync.
 */
export function tickClassicGroup (group: ClassicGroup, env: ClassicEnv): ClassicDecision<undefined> & { expired: ClassicExpiry[] } {
  const effects = new Effects()
  const expired: ClassicExpiry[] = []
  const nowMs = env.nowMs
  for (const [memberId, deadlineMs] of group.pendingMembers) {
    if (nowMs >= deadlineMs) group.pendingMembers.delete(memberId)
  }
  let removed = false
  for (const member of [...group.members.values()]) {
    if (member.awaitingJoin || member.awaitingSync || nowMs < member.sessionDeadlineMs) continue
    removeMember(group, member, effects, 'session expired')
    expired.push({ groupId: group.groupId, memberId: member.memberId, reason: 'session' })
    removed = true
  }
  if (group.syncDeadlineMs !== undefined && nowMs >= group.syncDeadlineMs) {
    group.syncDeadlineMs = undefined
    for (const memberId of [...group.pendingSync]) {
      const member = group.members.get(memberId)
      if (member === undefined) continue
      removeMember(group, member, effects, 'did not sync within the rebalance timeout')
      expired.push({ groupId: group.groupId, memberId, reason: 'sync' })
      removed = true
    }
    group.pendingSync.clear()
  }
  if (removed) afterRemoval(group, env, effects)
  if (group.state === 'preparing_rebalance' && group.joinDeadlineMs !== undefined && nowMs >= group.joinDeadlineMs) {
    const delay = group.initialDelay
    if (delay !== undefined && delay.memberJoined && delay.remainingMs > 0) {
      // Members keep coming: wait one more delay (at most what is left of the rebalance timeout).
      const stepMs = Math.min(env.classic.initialRebalanceDelayMs, delay.remainingMs)
      group.initialDelay = { remainingMs: delay.remainingMs - stepMs, memberJoined: false }
      group.joinDeadlineMs = nowMs + stepMs
    } else {
      for (const member of group.members.values()) {
        if (!member.awaitingJoin) expired.push({ groupId: group.groupId, memberId: member.memberId, reason: 'rebalance' })
      }
      completeJoin(group, env, effects)
    }
  }
  return { ...effects.decision(group, undefined), expired }
}

// ---------------------------------------------------------------- offsets

/**
 * Who may commit offsets to a classic group (Kafka's `ClassicGroup.validateOffsetCommit`): anyone with generation
 * < 0 while it is empty; otherwise a member at the group's generation, not between the join and sync phases.
 */
export function checkClassicOffsetCommit (group: ClassicGroup, memberId: string, generationId: number): void {
  if (group.state === 'dead') throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `group ${group.groupId} is being deleted`)
  if (generationId < 0 && group.state === 'empty') return
  if (generationId >= 0 || memberId !== '') {
    if (!group.members.has(memberId)) {
      throw new GregorError(ErrorCode.UNKNOWN_MEMBER_ID, `member ${memberId} is not in group ${group.groupId}`, { details: { memberId } })
    }
    if (generationId !== group.generationId) {
      throw new GregorError(ErrorCode.ILLEGAL_GENERATION, `generation ${generationId} is not the group's (${group.generationId})`,
        { details: { memberId, generationId: group.generationId, receivedGenerationId: generationId } })
    }
  } else {
    throw new GregorError(ErrorCode.UNKNOWN_MEMBER_ID, `group ${group.groupId} has members; only a member may commit offsets`)
  }
  if (group.state === 'completing_rebalance') {
    // The member knows the new generation but not yet its assignment: it commits again after SyncGroup.
    throw new GregorError(ErrorCode.REBALANCE_IN_PROGRESS, `group ${group.groupId} is completing a rebalance`)
  }
}

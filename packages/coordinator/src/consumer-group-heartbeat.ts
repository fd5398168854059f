/**
 * The ConsumerGroupHeartbeat decision (KIP-848; Kafka's `GroupMetadataManager.consumerGroupHeartbeat`): joins,
 * leaves, subscription changes and the reconciliation of one member, as records plus the response.
 *
 * Steps, as Kafka: validate → find or create the group and member → write the member's metadata if it changed and
 * bump the group epoch if its subscription changed (with the group's partition metadata) → if the group epoch is
 * ahead of the target assignment, compute a new target for every member → reconcile this member
 * (current-assignment-builder.ts) → respond. Other members learn of a new target in their own next heartbeat.
 *
 * Gregor's wire carries the member's whole subscription in every heartbeat: empty names and no regex on a later
 * heartbeat unsubscribe the member from everything. Kafka's wire sends null for "unchanged" (`withUnchanged`).
 *
 * Errors (request-level, thrown):
 * - group id empty or longer than groupIdLengthMax: INVALID_GROUP_ID;
 * - a join (epoch 0) without topic names or regex, a non-empty instance id (static membership is not supported
 *   yet), an epoch below -1, a missing member id on a non-join, a rebalance timeout that is not a non-negative
 *   int32: INVALID_REQUEST;
 * - an assignor other than '', uniform, range: UNSUPPORTED_ASSIGNOR;
 * - a regex JavaScript cannot compile: INVALID_REGULAR_EXPRESSION;
 * - a non-empty classic group: INCONSISTENT_GROUP_PROTOCOL;
 * - a join that would create a group beyond groupsMax: INVALID_REQUEST (retriable: groups may expire);
 * - a new member beyond groupMaxSize: GROUP_MAX_SIZE_REACHED;
 * - an unknown member, or an unknown group on a non-join (Kafka answers GROUP_ID_NOT_FOUND there; Gregor answers
 *   UNKNOWN_MEMBER_ID, `details.kafkaCode` says so, because the client's remedy is the same: join again):
 *   UNKNOWN_MEMBER_ID;
 * - an epoch ahead of the member's, or behind it unless it is the member's previous epoch and the member owns no
 *   partition beyond its assignment (a lost response): FENCED_MEMBER_EPOCH.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { CoordinatorConfig } from './coordinator-config.js'
import {
  type CoordinatorResult, type DecisionContext, type GroupType, type HeartbeatRequest, type HeartbeatResponse,
  JOIN_GROUP_MEMBER_EPOCH, LEAVE_GROUP_MEMBER_EPOCH, type TopicPartitions,
} from './coordinator-types.js'
import { reconcileMember } from './current-assignment-builder.js'
import type { ConsumerGroupCurrentMemberAssignmentValue, ConsumerGroupMemberMetadataValue, GroupRecord } from './group-record.js'
import { groupRecordLimits } from './group-record.js'
import { isWellFormedString } from './group-record-codec.js'
import { type ConsumerGroupState, EMPTY_CURRENT } from './group-state.js'
import {
  checkAssignorName, compileSubscriptionRegex, computeTargetAssignment, resolvePartitionMetadata, samePartitionMetadata,
} from './subscription.js'
import { compareStrings, isSubset, toPartitionSet, toTopicPartitions } from './topic-partitions.js'

const int32Max = 2_147_483_647

function invalidRequest (message: string, details: Record<string, unknown> = {}): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message, { details })
}

export function checkGroupId (groupId: string, config: CoordinatorConfig): void {
  if (typeof groupId !== 'string' || groupId.length === 0) {
    throw new GregorError(ErrorCode.INVALID_GROUP_ID, 'the group id must not be empty')
  }
  if (!isWellFormedString(groupId)) throw new GregorError(ErrorCode.INVALID_GROUP_ID, 'the group id has a lone UTF-16 surrogate')
  if (groupId.length > config.groupIdLengthMax) {
    throw new GregorError(ErrorCode.INVALID_GROUP_ID,
      `the group id is ${groupId.length} characters long; at most ${config.groupIdLengthMax} are allowed`,
      { details: { groupIdLengthMax: config.groupIdLengthMax } })
  }
}

export function checkGroupCapacity (groupCount: number, config: CoordinatorConfig, groupId: string): void {
  if (groupCount >= config.groupsMax) {
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `cannot create group ${groupId}: this coordinator shard already holds ${groupCount} groups (groupsMax)`,
      { retriable: true, details: { groupsMax: config.groupsMax } })
  }
}

/** A heartbeat with Kafka's "unchanged" nulls filled in (`withUnchanged`). */
type ResolvedHeartbeat = { readonly [K in keyof HeartbeatRequest]: NonNullable<HeartbeatRequest[K]> }

/**
 * Kafka's heartbeats leave out (null) what did not change since the member's previous one: those take the member's
 * own values. A join inherits nothing (a join without a subscription is refused). Owned partitions left out are all
 * the member was given, pending revocations included, so a revocation is never taken as done without its word.
 */
function withUnchanged (request: HeartbeatRequest, group: ConsumerGroupState | undefined): ResolvedHeartbeat {
  const joining = request.memberEpoch === JOIN_GROUP_MEMBER_EPOCH
  const member = joining ? undefined : group?.members.get(request.memberId)
  let owned = request.ownedPartitions
  if (owned === null) {
    const current = joining ? undefined : group?.current.get(request.memberId)
    owned = current === undefined ? [] : toTopicPartitions(toPartitionSet([...current.assignedPartitions, ...current.partitionsPendingRevocation]))
  }
  return {
    ...request,
    rackId: request.rackId ?? member?.rackId ?? '',
    subscribedTopicNames: request.subscribedTopicNames ?? member?.subscribedTopicNames ?? [],
    subscribedTopicRegex: request.subscribedTopicRegex ?? member?.subscribedTopicRegex ?? '',
    serverAssignor: request.serverAssignor ?? member?.serverAssignor ?? '',
    ownedPartitions: owned,
  }
}

function checkRequest (request: ResolvedHeartbeat, config: CoordinatorConfig): void {
  checkGroupId(request.groupId, config)
  const epoch = request.memberEpoch
  if (!Number.isSafeInteger(epoch) || epoch < LEAVE_GROUP_MEMBER_EPOCH || epoch > int32Max) {
    throw invalidRequest(`member epoch ${epoch} is invalid (0 joins, -1 leaves; static membership is not supported)`)
  }
  if (request.instanceId !== '') {
    throw invalidRequest('static membership (a group instance id) is not supported yet', { instanceId: request.instanceId })
  }
  if (typeof request.memberId !== 'string' || request.memberId.length > groupRecordLimits.memberIdLengthMax ||
    !isWellFormedString(request.memberId)) {
    throw invalidRequest(`the member id must be a string of at most ${groupRecordLimits.memberIdLengthMax} characters`)
  }
  if (epoch !== JOIN_GROUP_MEMBER_EPOCH && request.memberId === '') {
    throw invalidRequest(`a heartbeat with member epoch ${epoch} must name its member id`)
  }
  if (epoch === LEAVE_GROUP_MEMBER_EPOCH) return
  for (const [field, value, max] of [['rackId', request.rackId, 255], ['clientId', request.clientId, 1024], ['clientHost', request.clientHost, 1024]] as const) {
    if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > max || !isWellFormedString(value)) {
      throw invalidRequest(`${field} must be a well-formed string of at most ${max} UTF-8 bytes`)
    }
  }
  if (!Number.isSafeInteger(request.rebalanceTimeoutMs) || request.rebalanceTimeoutMs < 0 || request.rebalanceTimeoutMs > int32Max) {
    throw invalidRequest(`rebalance timeout ${request.rebalanceTimeoutMs} ms is invalid (0 means the default)`)
  }
  if (epoch === JOIN_GROUP_MEMBER_EPOCH && request.subscribedTopicNames.length === 0 && request.subscribedTopicRegex === '') {
    throw invalidRequest('a member joining must subscribe to topic names or a topic regex')
  }
  if (request.subscribedTopicNames.length > groupRecordLimits.subscribedTopicsMax) {
    throw invalidRequest(`a member may subscribe to at most ${groupRecordLimits.subscribedTopicsMax} topic names`)
  }
  for (const name of request.subscribedTopicNames) {
    if (typeof name !== 'string' || name.length === 0 || name.length > groupRecordLimits.topicNameLengthMax ||
      !isWellFormedString(name)) {
      throw invalidRequest(`subscribed topic name ${JSON.stringify(name)} is not a legal topic name`)
    }
  }
  checkAssignorName(request.serverAssignor)
  if (request.subscribedTopicRegex !== '') {
    if (request.subscribedTopicRegex.length > groupRecordLimits.regexLengthMax ||
      compileSubscriptionRegex(request.subscribedTopicRegex) === null) {
      throw new GregorError(ErrorCode.INVALID_REGULAR_EXPRESSION,
        `subscribed topic regex ${JSON.stringify(request.subscribedTopicRegex)} is not a valid regular expression`,
        { details: { regex: request.subscribedTopicRegex } })
    }
  }
}

function unknownMember (groupId: string, memberId: string, groupExists: boolean): GregorError {
  return new GregorError(ErrorCode.UNKNOWN_MEMBER_ID,
    groupExists ? `member ${memberId} is not in group ${groupId}` : `group ${groupId} does not exist`,
    { details: groupExists ? { memberId } : { memberId, kafkaCode: 'GROUP_ID_NOT_FOUND' } })
}

function checkMemberEpoch (
  groupId: string, memberId: string, current: ConsumerGroupCurrentMemberAssignmentValue, received: number,
  owned: readonly TopicPartitions[],
): void {
  if (received === current.memberEpoch) return
  const fenced = (why: string): GregorError => new GregorError(ErrorCode.FENCED_MEMBER_EPOCH,
    `member ${memberId} of group ${groupId} is fenced: ${why}`,
    { details: { memberId, memberEpoch: current.memberEpoch, receivedMemberEpoch: received } })
  if (received > current.memberEpoch) throw fenced(`epoch ${received} is ahead of its epoch ${current.memberEpoch}`)
  if (received !== current.previousMemberEpoch) throw fenced(`epoch ${received} is stale; its epoch is ${current.memberEpoch}`)
  if (!isSubset(toPartitionSet(owned), toPartitionSet(current.assignedPartitions))) {
    throw fenced(`at its previous epoch ${received} it owns partitions it is no longer assigned`)
  }
}

export interface HeartbeatDecision extends CoordinatorResult<HeartbeatResponse> {
  /** The member after the decision; undefined after a leave. For the shard's soft state (sessions, timeouts). */
  readonly member: { readonly current: ConsumerGroupCurrentMemberAssignmentValue; readonly rebalanceTimeoutMs: number } | undefined
}

export interface HeartbeatEnv {
  readonly config: CoordinatorConfig
  readonly group: ConsumerGroupState | undefined
  readonly groupCount: number
  readonly newMemberId: () => string
  readonly context: DecisionContext
}

function memberMetadataOf (request: ResolvedHeartbeat, existing: ConsumerGroupMemberMetadataValue | undefined, config: CoordinatorConfig): ConsumerGroupMemberMetadataValue {
  return {
    instanceId: '',
    rackId: request.rackId,
    clientId: request.clientId,
    clientHost: request.clientHost,
    subscribedTopicNames: [...new Set(request.subscribedTopicNames)].sort(compareStrings),
    subscribedTopicRegex: request.subscribedTopicRegex,
    serverAssignor: request.serverAssignor,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs > 0
      ? request.rebalanceTimeoutMs
      : existing?.rebalanceTimeoutMs ?? config.rebalanceTimeoutMsDefault,
  }
}

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

function sameSubscription (a: ConsumerGroupMemberMetadataValue, b: ConsumerGroupMemberMetadataValue): boolean {
  return sameStrings(a.subscribedTopicNames, b.subscribedTopicNames) && a.subscribedTopicRegex === b.subscribedTopicRegex &&
    a.serverAssignor === b.serverAssignor
}

function sameMetadata (a: ConsumerGroupMemberMetadataValue, b: ConsumerGroupMemberMetadataValue): boolean {
  return sameSubscription(a, b) && a.instanceId === b.instanceId && a.rackId === b.rackId && a.clientId === b.clientId &&
    a.clientHost === b.clientHost && a.rebalanceTimeoutMs === b.rebalanceTimeoutMs
}

export function decideHeartbeat (received: HeartbeatRequest, env: HeartbeatEnv): HeartbeatDecision {
  const { config, group, context } = env
  const request = withUnchanged(received, group)
  checkRequest(request, config)
  const groupId = request.groupId
  if (group !== undefined && group.groupType === 'classic' && group.members.size > 0) {
    throw new GregorError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      `group ${groupId} is a classic group with members; a consumer-protocol member cannot join it`)
  }
  if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
    if (group === undefined || !group.members.has(request.memberId)) throw unknownMember(groupId, request.memberId, group !== undefined)
    return {
      records: removeMembers(group, [request.memberId], context, config),
      response: { memberId: request.memberId, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, heartbeatIntervalMs: 0, assignment: [] },
      member: undefined,
    }
  }

  let memberId = request.memberId
  let existing: ConsumerGroupMemberMetadataValue | undefined
  let current: ConsumerGroupCurrentMemberAssignmentValue
  if (request.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
    if (group === undefined) checkGroupCapacity(env.groupCount, config, groupId)
    if (memberId === '') {
      memberId = env.newMemberId()
      if (group?.members.has(memberId) === true) throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, `member id ${memberId} was issued twice`)
    }
    existing = group?.members.get(memberId)
    if (existing === undefined && (group?.members.size ?? 0) >= config.groupMaxSize) {
      throw new GregorError(ErrorCode.GROUP_MAX_SIZE_REACHED,
        `group ${groupId} already has ${config.groupMaxSize} members (groupMaxSize)`, { details: { groupMaxSize: config.groupMaxSize } })
    }
    // A member that joins again (epoch 0 with its id, KIP-1082 client-generated ids) has given up what it owned.
    current = existing === undefined ? EMPTY_CURRENT : { ...EMPTY_CURRENT, previousMemberEpoch: group?.currentOf(memberId).memberEpoch ?? -1 }
  } else {
    existing = group?.members.get(memberId)
    if (group === undefined || existing === undefined) throw unknownMember(groupId, memberId, group !== undefined)
    current = group.currentOf(memberId)
    checkMemberEpoch(groupId, memberId, current, request.memberEpoch, request.ownedPartitions)
  }

  const records: GroupRecord[] = []
  const metadata = memberMetadataOf(request, existing, config)
  let groupEpoch = group?.groupEpoch ?? 0
  let members: ReadonlyMap<string, ConsumerGroupMemberMetadataValue> = group?.members ?? new Map()
  let partitionMetadata: ReadonlyMap<string, number> = group?.partitionMetadata ?? new Map()
  if (existing === undefined || !sameMetadata(existing, metadata)) {
    records.push({ type: 'ConsumerGroupMemberMetadata', groupId, memberId, value: metadata })
  }
  const convertFromClassic = group !== undefined && group.groupType === 'classic'
  if (existing === undefined || !sameSubscription(existing, metadata) || convertFromClassic) {
    members = new Map(members).set(memberId, metadata)
    const bump = bumpGroupEpoch(groupId, group, members, 'consumer', context)
    records.push(...bump.records)
    groupEpoch = bump.groupEpoch
    partitionMetadata = bump.partitionMetadata
  }

  let assignmentEpoch = group?.assignmentEpoch ?? 0
  let target: readonly TopicPartitions[] = group?.targets.get(memberId) ?? []
  if (groupEpoch > assignmentEpoch) {
    const computed = computeTargetAssignment({ groupId, groupEpoch, members, partitionMetadata, targets: group?.targets ?? new Map(), config })
    records.push(...computed.records)
    assignmentEpoch = groupEpoch
    target = computed.targets.get(memberId) ?? []
  }

  const reconciled = reconcileMember({
    current,
    targetEpoch: assignmentEpoch,
    target,
    owned: toPartitionSet(request.ownedPartitions),
    isOwnedByOther: (topic, partition) => group?.isOwnedByOther(memberId, topic, partition) ?? false,
  })
  if (reconciled !== group?.current.get(memberId)) {
    records.push({ type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: reconciled })
  }
  const settled = reconciled.state === 'stable' && reconciled.memberEpoch === assignmentEpoch
  return {
    records,
    response: {
      memberId,
      memberEpoch: reconciled.memberEpoch,
      heartbeatIntervalMs: settled ? config.heartbeatIntervalMs : config.reconcileHeartbeatIntervalMs,
      assignment: reconciled.assignedPartitions,
    },
    member: { current: reconciled, rebalanceTimeoutMs: metadata.rebalanceTimeoutMs },
  }
}

/**
 * Removing members (a leave, an expired session, a missed rebalance timeout): tombstones for each one's current
 * assignment, target and metadata, then a group epoch bump and a new target for the rest (their partitions are
 * free at once: the removed member is fenced, it can no longer commit).
 */
export function removeMembers (
  group: ConsumerGroupState, memberIds: readonly string[], context: DecisionContext, config: CoordinatorConfig,
): GroupRecord[] {
  const groupId = group.groupId
  const records: GroupRecord[] = []
  const members = new Map(group.members)
  const targets = new Map(group.targets)
  for (const memberId of memberIds) {
    if (group.current.has(memberId)) records.push({ type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: null })
    if (group.targets.has(memberId)) records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: null })
    records.push({ type: 'ConsumerGroupMemberMetadata', groupId, memberId, value: null })
    members.delete(memberId)
    targets.delete(memberId)
  }
  records.push(...bumpAndReassign(group, members, targets, context, config))
  return records
}

/**
 * A group epoch bump for `members`: their partition metadata resolved afresh (a record only when it changed), then the
 * group metadata at the next epoch. Returns the records, the new epoch and the partition metadata in force.
 */
function bumpGroupEpoch (
  groupId: string, group: ConsumerGroupState | undefined, members: ReadonlyMap<string, ConsumerGroupMemberMetadataValue>,
  groupType: GroupType, context: DecisionContext,
): { records: GroupRecord[]; groupEpoch: number; partitionMetadata: ReadonlyMap<string, number> } {
  const records: GroupRecord[] = []
  const resolved = resolvePartitionMetadata(members.values(), context.topics)
  let partitionMetadata: ReadonlyMap<string, number> = group?.partitionMetadata ?? new Map()
  if (!samePartitionMetadata(resolved, group?.partitionMetadata)) {
    records.push({ type: 'ConsumerGroupPartitionMetadata', groupId, value: { topics: resolved } })
    partitionMetadata = new Map(resolved.map(({ topic, partitionCount }) => [topic, partitionCount]))
  }
  const groupEpoch = (group?.groupEpoch ?? 0) + 1
  records.push({ type: 'ConsumerGroupMetadata', groupId, value: { epoch: groupEpoch, groupType } })
  return { records, groupEpoch, partitionMetadata }
}

/** A group epoch bump with fresh partition metadata and a new target for `members`. */
export function bumpAndReassign (
  group: ConsumerGroupState, members: ReadonlyMap<string, ConsumerGroupMemberMetadataValue>,
  targets: ReadonlyMap<string, readonly TopicPartitions[]>, context: DecisionContext, config: CoordinatorConfig,
): GroupRecord[] {
  const groupId = group.groupId
  const { records, groupEpoch, partitionMetadata } = bumpGroupEpoch(groupId, group, members, group.groupType, context)
  records.push(...computeTargetAssignment({ groupId, groupEpoch, members, partitionMetadata, targets, config }).records)
  return records
}

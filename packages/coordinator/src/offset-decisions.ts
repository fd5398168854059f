/**
 * Committed offsets (Kafka's `OffsetMetadataManager`): commit, fetch, delete, and the operator's reset.
 *
 * Owns who may commit: a member of the group at its current epoch, or anyone ("simple" commits, memberId '' and
 * epoch -1, as the admin client and consumers without group management do) while the group has no members. A simple
 * commit to a group that does not exist creates an empty consumer group holding only offsets. Offsets are one record
 * per partition (key group/topic/partition), so a commit is as many records as partitions.
 *
 * Errors, request-level (thrown): INVALID_GROUP_ID (empty or too long id); GROUP_ID_NOT_FOUND (a member commit to a
 * group that does not exist, as Kafka's OffsetCommit v9+; deleting offsets of a group that does not exist);
 * UNKNOWN_MEMBER_ID (unknown member, or a simple commit while the group has members); FENCED_MEMBER_EPOCH (epoch
 * ahead of the member's); STALE_MEMBER_EPOCH (epoch behind it: retriable, the member heartbeats and commits again);
 * NON_EMPTY_GROUP (a reset while the group has members); INVALID_REQUEST (a new group beyond groupsMax).
 * Per partition (in the response): UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE, INVALID_REQUEST (negative
 * offset, bad leader epoch), GROUP_SUBSCRIBED_TO_TOPIC (deleting the offset of a topic a member subscribes to).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { CoordinatorConfig } from './coordinator-config.js'
import type {
  CoordinatorResult, DecisionContext, FetchedOffset, GroupType, OffsetCommitPartition, OffsetCommitRequest, OffsetCommitResponse,
  OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, PartitionResult,
  ResetOffsetsRequest,
} from './coordinator-types.js'
import { checkGroupCapacity, checkGroupId } from './consumer-group-heartbeat.js'
import type { GroupRecord, OffsetCommitValue } from './group-record.js'
import { isWellFormedString } from './group-record-codec.js'
import type { ConsumerGroupState } from './group-state.js'
import { memberSubscribesTo } from './subscription.js'
import { compareStrings } from './topic-partitions.js'

export interface OffsetEnv {
  readonly config: CoordinatorConfig
  readonly group: ConsumerGroupState | undefined
  readonly groupCount: number
  readonly context: DecisionContext
}

const ok = (topic: string, partition: number): PartitionResult => ({ topic, partition, errorCode: '', errorMessage: '' })
const failed = (topic: string, partition: number, code: ErrorCode, errorMessage: string): PartitionResult =>
  ({ topic, partition, errorCode: code, errorMessage })

function checkMemberCommit (request: OffsetCommitRequest, group: ConsumerGroupState): void {
  // Epoch < 0 (simple commits, the admin client) may commit only to a group without members (Kafka: same rule).
  if (request.memberEpoch < 0 && group.members.size === 0) return
  if (!group.members.has(request.memberId)) {
    throw new GregorError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId === ''
      ? `group ${group.groupId} has members; only a member may commit offsets`
      : `member ${request.memberId} is not in group ${group.groupId}`, { details: { memberId: request.memberId } })
  }
  const epoch = group.currentOf(request.memberId).memberEpoch
  const details = { memberId: request.memberId, memberEpoch: epoch, receivedMemberEpoch: request.memberEpoch }
  if (request.memberEpoch > epoch) {
    throw new GregorError(ErrorCode.FENCED_MEMBER_EPOCH,
      `member ${request.memberId} commits at epoch ${request.memberEpoch}, ahead of its epoch ${epoch}`, { details })
  }
  if (request.memberEpoch < epoch) {
    throw new GregorError(ErrorCode.STALE_MEMBER_EPOCH,
      `member ${request.memberId} commits at epoch ${request.memberEpoch}; its epoch is ${epoch}`, { details })
  }
}

/**
 * The records of committing `partitions` (a group record first when the group is new, of `groupType`: a classic
 * group's first commit may come before its first generation is persisted); per-partition results.
 */
export function commitPartitions (
  groupId: string, partitions: readonly OffsetCommitPartition[], env: OffsetEnv, groupType: GroupType = 'consumer',
): CoordinatorResult<OffsetCommitResponse> {
  const { config, context } = env
  const records: GroupRecord[] = []
  if (env.group === undefined) {
    checkGroupCapacity(env.groupCount, config, groupId)
    records.push({ type: 'ConsumerGroupMetadata', groupId, value: { epoch: 0, groupType } })
  }
  const results: PartitionResult[] = []
  for (const p of partitions) {
    const count = context.topics.partitionCount(p.topic)
    if (count === undefined || !Number.isSafeInteger(p.partition) || p.partition < 0 || p.partition >= count) {
      results.push(failed(p.topic, p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown partition ${p.topic}-${p.partition}`))
    } else if (!Number.isSafeInteger(p.offset) || p.offset < 0) {
      results.push(failed(p.topic, p.partition, ErrorCode.INVALID_REQUEST, `offset ${p.offset} is invalid (must be >= 0)`))
    } else if (!Number.isSafeInteger(p.leaderEpoch) || p.leaderEpoch < -1 || p.leaderEpoch > 2_147_483_647) {
      results.push(failed(p.topic, p.partition, ErrorCode.INVALID_REQUEST, `leader epoch ${p.leaderEpoch} is invalid`))
    } else if (typeof p.metadata !== 'string' || !isWellFormedString(p.metadata)) {
      results.push(failed(p.topic, p.partition, ErrorCode.INVALID_REQUEST, 'the commit metadata has a lone UTF-16 surrogate'))
    } else if (Buffer.byteLength(p.metadata, 'utf8') > config.offsetMetadataBytesMax) {
      results.push(failed(p.topic, p.partition, ErrorCode.OFFSET_METADATA_TOO_LARGE,
        `the commit metadata is longer than ${config.offsetMetadataBytesMax} bytes`))
    } else {
      records.push({
        type: 'OffsetCommit', groupId, topic: p.topic, partition: p.partition,
        value: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitTimestampMs: context.nowMs },
      })
      results.push(ok(p.topic, p.partition))
    }
  }
  // A new group with nothing committed is not created.
  if (env.group === undefined && records.length === 1) records.length = 0
  return { records, response: { partitions: results } }
}

export function decideOffsetCommit (request: OffsetCommitRequest, env: OffsetEnv): CoordinatorResult<OffsetCommitResponse> {
  checkGroupId(request.groupId, env.config)
  if (env.group === undefined) {
    if (request.memberEpoch >= 0) {
      throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${request.groupId} does not exist`)
    }
  } else {
    checkMemberCommit(request, env.group)
  }
  return commitPartitions(request.groupId, request.partitions, env)
}

export function decideResetOffsets (request: ResetOffsetsRequest, env: OffsetEnv): CoordinatorResult<OffsetCommitResponse> {
  checkGroupId(request.groupId, env.config)
  if (env.group !== undefined && env.group.members.size > 0) {
    throw new GregorError(ErrorCode.NON_EMPTY_GROUP,
      `group ${request.groupId} has ${env.group.members.size} members; stop them before resetting offsets`)
  }
  return commitPartitions(request.groupId, request.partitions, env)
}

const noOffset = (topic: string, partition: number): FetchedOffset =>
  ({ topic, partition, offset: -1, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 })

export function fetchOffsets (request: OffsetFetchRequest, group: ConsumerGroupState | undefined): OffsetFetchResponse {
  const fetched: FetchedOffset[] = []
  if (request.partitions.length === 0) {
    if (group === undefined) return { partitions: [] }
    for (const topic of [...group.offsets.keys()].sort(compareStrings)) {
      const byPartition = group.offsets.get(topic) as ReadonlyMap<number, OffsetCommitValue>
      for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
        const v = byPartition.get(partition)
        if (v !== undefined) fetched.push({ topic, partition, ...v })
      }
    }
    return { partitions: fetched }
  }
  for (const { topic, partitions } of request.partitions) {
    for (const partition of partitions) {
      const v = group?.offsets.get(topic)?.get(partition)
      fetched.push(v === undefined ? noOffset(topic, partition) : { topic, partition, ...v })
    }
  }
  return { partitions: fetched }
}

export function decideOffsetDelete (request: OffsetDeleteRequest, env: OffsetEnv): CoordinatorResult<OffsetDeleteResponse> {
  checkGroupId(request.groupId, env.config)
  const group = env.group
  if (group === undefined) throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${request.groupId} does not exist`)
  const records: GroupRecord[] = []
  const results: PartitionResult[] = []
  const seen = new Set<string>()
  for (const { topic, partitions } of request.partitions) {
    const subscribed = [...group.members.values()].some((member) => memberSubscribesTo(member, topic))
    for (const partition of partitions) {
      if (subscribed) {
        results.push(failed(topic, partition, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
          `group ${request.groupId} has a member subscribed to ${topic}`))
        continue
      }
      results.push(ok(topic, partition))
      const key = `${topic}\u0000${partition}`
      // Kafka writes nothing for a partition without a committed offset (and the answer is still success).
      if (group.offsets.get(topic)?.has(partition) === true && !seen.has(key)) {
        seen.add(key)
        records.push({ type: 'OffsetCommit', groupId: request.groupId, topic, partition, value: null })
      }
    }
  }
  return { records, response: { partitions: results } }
}

/** Tombstones for every key of the group, offsets included. */
export function groupTombstones (group: ConsumerGroupState): GroupRecord[] {
  const groupId = group.groupId
  const records: GroupRecord[] = []
  for (const [topic, byPartition] of group.offsets) {
    for (const partition of byPartition.keys()) records.push({ type: 'OffsetCommit', groupId, topic, partition, value: null })
  }
  for (const memberId of group.current.keys()) records.push({ type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: null })
  for (const memberId of group.targets.keys()) records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: null })
  for (const memberId of group.members.keys()) records.push({ type: 'ConsumerGroupMemberMetadata', groupId, memberId, value: null })
  if (group.targetAssignmentEpoch !== undefined) records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', groupId, value: null })
  if (group.partitionMetadata !== undefined) records.push({ type: 'ConsumerGroupPartitionMetadata', groupId, value: null })
  if (group.metadata !== undefined) records.push({ type: 'ConsumerGroupMetadata', groupId, value: null })
  if (group.classic !== undefined) records.push({ type: 'GroupMetadata', groupId, value: null })
  return records
}

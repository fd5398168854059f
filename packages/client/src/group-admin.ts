/**
 * Consumer group administration (Kafka AdminClient's group methods, `kafka-consumer-groups.sh`): list, describe,
 * delete groups, read and delete committed offsets, the lag table, and offset resets.
 *
 * Routing: ListGroups goes to every broker (each answers for the groups it coordinates, as in Kafka); everything
 * else goes to the group's coordinator, found with FindCoordinator and cached per group id. A response that says the
 * coordinator moved or is not ready (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) or a
 * transport failure drops the cached coordinator and retries, within the client's request timeout; every other
 * group-level error is thrown as a GregorError (responseError).
 *
 * Offset resets are planned first and executed second (the shape of log-retention.ts): `offsetResetPlan` is pure
 * math over committed offsets and the partitions' log start/end (ListOffsets earliest/latest, or by timestamp), every
 * new offset clamped to [logStart, logEnd]; `resetOffsets` sends a plan (ResetOffsets, refused with NON_EMPTY_GROUP
 * while the group has members).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type GrpcMethod, clientMethods, groupMethods } from '@gregor/protocol'
import type { BrokerConnection } from './cluster-connection.js'
import {
  type CoordinatorAddress, type CoordinatorRetryDeps, type GroupCoordinatorInfo, type TopicPartitionList, coordinatorWatch,
  findCoordinator, findCoordinators, flattenPartitionLists, isCoordinatorError, retryOnCoordinator, topicPartitionLists,
} from './coordinator-lookup.js'
import { joinHostPort } from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'
import { responseError } from './response-error.js'
import { topicPartitionKey } from './topic-partition-key.js'

export interface ListedGroup { groupId: string; groupType: string; state: string; coordinatorId: number }

export interface GroupMemberDescription {
  memberId: string; instanceId: string; clientId: string; clientHost: string; rackId: string; memberEpoch: number
  state: string; subscribedTopicNames: string[]; subscribedTopicRegex: string
  assignment: TopicPartitionList[]; targetAssignment: TopicPartitionList[]
}

export interface GroupDescription {
  groupId: string; groupType: string; state: string; groupEpoch: number; assignmentEpoch: number
  assignorName: string; coordinatorId: number; members: GroupMemberDescription[]
}

export interface CommittedOffset { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string; commitTimestampMs: number }

/** One row of `kafka-consumer-groups --describe`: committed vs log end, and the owning member if any. */
export interface GroupLagRow {
  groupId: string; topic: string; partition: number
  /** null: nothing committed ('-' in the table). */
  currentOffset: number | null
  /** The partition's high watermark (ListOffsets latest); -1 when its leader could not say. */
  logEndOffset: number
  /** logEndOffset - currentOffset; null when nothing is committed or the log end is unknown. */
  lag: number | null
  memberId: string | null; clientHost: string | null; clientId: string | null
}

export type OffsetResetSpec =
  | { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number }
  | { kind: 'datetime'; timestampMs: number } | { kind: 'shift'; by: number }

export interface OffsetResetPlanRow { topic: string; partition: number; currentOffset: number | null; newOffset: number }

/** What ListOffsets answered for one partition (`Admin.listOffsets`). */
export interface PartitionOffsetAnswer extends TopicPartition {
  readonly offset: number
  readonly errorCode: string
}

export type ListOffsetsSpec = 'earliest' | 'latest' | { readonly timestampMs: number }

export interface GroupAdminDeps extends CoordinatorRetryDeps {
  readonly connection: BrokerConnection
  /** ListOffsets to each partition's leader (Admin.listOffsets): never throws per partition. */
  readonly listOffsets: (partitions: readonly TopicPartition[], spec: ListOffsetsSpec) => Promise<readonly PartitionOffsetAnswer[]>
}

/** The facts a reset plan is computed from, per partition of one topic. */
export interface OffsetResetInput {
  readonly topic: string
  readonly partitions: readonly number[]
  /** Committed offset per partition; absent: nothing committed. */
  readonly committed: ReadonlyMap<number, number>
  readonly logStart: ReadonlyMap<number, number>
  readonly logEnd: ReadonlyMap<number, number>
  /** For 'datetime': ListOffsets by timestamp per partition (-1: no record that late → the log end). */
  readonly byTimestamp?: ReadonlyMap<number, number>
}

/**
 * The new committed offset of each partition under `spec`, clamped to [logStart, logEnd] (Kafka's
 * ConsumerGroupCommand). 'shift' needs a committed offset: a partition without one throws INVALID_REQUEST, as Kafka
 * refuses. Pure.
 */
export function offsetResetPlan (input: OffsetResetInput, spec: OffsetResetSpec): OffsetResetPlanRow[] {
  const rows: OffsetResetPlanRow[] = []
  const uncommitted: number[] = []
  for (const partition of [...input.partitions].sort((a, b) => a - b)) {
    const logStart = input.logStart.get(partition)
    const logEnd = input.logEnd.get(partition)
    if (logStart === undefined || logEnd === undefined) {
      throw new GregorError(ErrorCode.LEADER_NOT_AVAILABLE, 'log start or end unknown', { details: { topic: input.topic, partition } })
    }
    const current = input.committed.get(partition)
    const clamp = (offset: number): number => Math.min(logEnd, Math.max(logStart, offset))
    let target: number
    switch (spec.kind) {
      case 'earliest': target = logStart; break
      case 'latest': target = logEnd; break
      case 'offset': target = spec.offset; break
      case 'datetime': {
        const found = input.byTimestamp?.get(partition) ?? -1
        target = found < 0 ? logEnd : found
        break
      }
      case 'shift':
        if (current === undefined) { uncommitted.push(partition); continue }
        target = current + spec.by
        break
    }
    rows.push({ topic: input.topic, partition, currentOffset: current ?? null, newOffset: clamp(target) })
  }
  if (uncommitted.length > 0) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, 'cannot shift offsets of partitions with no committed offset', {
      details: { topic: input.topic, partitions: uncommitted },
    })
  }
  return rows
}

export class GroupAdmin {
  readonly #deps: GroupAdminDeps
  readonly #coordinators = new Map<string, CoordinatorAddress>()

  constructor (deps: GroupAdminDeps) {
    this.#deps = deps
  }

  /** The group's coordinator, retrying COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS within the request timeout. */
  async findCoordinator (groupId: string): Promise<GroupCoordinatorInfo> {
    const found = await retryOnCoordinator(this.#deps, async () => await this.#coordinator(groupId, true))
    return { groupId: found.groupId, nodeId: found.nodeId, host: found.host, port: found.port, partition: found.partition }
  }

  /** Every broker's groups, merged and sorted by group id; `states` filters (lower-case state names). */
  async listGroups (options: { readonly states?: readonly string[] } = {}): Promise<ListedGroup[]> {
    const cluster = await this.#deps.connection.callAny(clientMethods.describeCluster, {})
    const addresses = cluster.brokers.filter((broker) => broker.fenced !== true).map((broker) => joinHostPort(broker.host ?? '', broker.port ?? 0))
    const answers = await Promise.all(addresses.map(async (address) => {
      const response = await this.#deps.connection.call(address, groupMethods.listGroups, { statesFilter: [...(options.states ?? [])], typesFilter: [] })
      const error = responseError(response.errorCode, response.errorMessage, { address })
      if (error !== undefined) throw error
      return response.groups
    }))
    const merged = new Map<string, ListedGroup>()
    for (const group of answers.flat()) {
      const groupId = group.groupId ?? ''
      merged.set(groupId, { groupId, groupType: group.groupType ?? '', state: group.state ?? '', coordinatorId: group.coordinatorId ?? -1 })
    }
    return [...merged.values()].sort((a, b) => a.groupId.localeCompare(b.groupId))
  }

  /** One description per id, in the order asked; throws the first group's error (GROUP_ID_NOT_FOUND, …). */
  async describeGroups (groupIds: readonly string[]): Promise<GroupDescription[]> {
    const results = await this.#perGroup(groupIds, groupMethods.describeGroups, (ids) => ({ groupIds: ids }),
      (response) => response.groups.map((group) => ({ groupId: group.groupId ?? '', errorCode: group.errorCode ?? '', errorMessage: group.errorMessage ?? '', value: group })))
    return groupIds.map((groupId) => {
      const result = results.get(groupId)
      const error = result === undefined
        ? new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no result for group', { details: { groupId } })
        : responseError(result.errorCode, result.errorMessage, { groupId })
      if (error !== undefined || result === undefined) throw error
      const group = result.value
      return {
        groupId, groupType: group.groupType ?? '', state: group.state ?? '', groupEpoch: group.groupEpoch ?? 0,
        assignmentEpoch: group.assignmentEpoch ?? 0, assignorName: group.assignorName ?? '', coordinatorId: group.coordinatorId ?? -1,
        members: (group.members ?? []).map((member): GroupMemberDescription => ({
          memberId: member.memberId ?? '', instanceId: member.instanceId ?? '', clientId: member.clientId ?? '',
          clientHost: member.clientHost ?? '', rackId: member.rackId ?? '', memberEpoch: member.memberEpoch ?? 0,
          state: member.state ?? '', subscribedTopicNames: [...(member.subscribedTopicNames ?? [])],
          subscribedTopicRegex: member.subscribedTopicRegex ?? '',
          assignment: topicPartitionLists(member.assignment), targetAssignment: topicPartitionLists(member.targetAssignment),
        })),
      }
    })
  }

  /** Per-group outcome (errorCode "" = deleted); coordinator moves are retried, other failures reported, not thrown. */
  async deleteGroups (groupIds: readonly string[]): Promise<{ groupId: string; errorCode: string; errorMessage: string }[]> {
    const results = await this.#perGroup(groupIds, groupMethods.deleteGroups, (ids) => ({ groupIds: ids }),
      (response) => response.groups.map((group) => ({ groupId: group.groupId ?? '', errorCode: group.errorCode ?? '', errorMessage: group.errorMessage ?? '', value: undefined })))
    return groupIds.map((groupId) => {
      const result = results.get(groupId)
      return { groupId, errorCode: result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: result?.errorMessage ?? 'no result for group' }
    })
  }

  /** Committed offsets (all of the group's when `partitions` is absent), sorted by topic, partition; -1 = none. */
  async fetchOffsets (groupId: string, partitions?: readonly TopicPartitionList[]): Promise<CommittedOffset[]> {
    const response = await this.#callCoordinator(groupId, groupMethods.offsetFetch, {
      groupId, partitions: [...(partitions ?? [])],
    })
    const offsets: CommittedOffset[] = []
    for (const result of response.partitions) {
      const details = { groupId, topic: result.topic ?? '', partition: result.partition ?? 0 }
      const error = responseError(result.errorCode, result.errorMessage, details)
      if (error !== undefined) throw error
      offsets.push({
        topic: details.topic, partition: details.partition, offset: result.offset ?? -1, leaderEpoch: result.leaderEpoch ?? -1,
        metadata: result.metadata ?? '', commitTimestampMs: result.commitTimestampMs ?? -1,
      })
    }
    return offsets.sort(byTopicPartition)
  }

  async deleteOffsets (groupId: string, partitions: readonly TopicPartitionList[]): Promise<{ topic: string; partition: number; errorCode: string }[]> {
    const response = await this.#callCoordinator(groupId, groupMethods.offsetDelete, {
      groupId, partitions: [...partitions],
    })
    return response.partitions.map((result) => ({ topic: result.topic ?? '', partition: result.partition ?? 0, errorCode: result.errorCode ?? '' }))
      .sort(byTopicPartition)
  }

  /**
   * Every partition with a committed offset or owned by a member: committed offset, high watermark, lag and owner.
   * Throws what DescribeGroups throws (GROUP_ID_NOT_FOUND for a group that does not exist).
   */
  async groupLag (groupId: string): Promise<GroupLagRow[]> {
    const [description] = await this.describeGroups([groupId])
    const committed = await this.fetchOffsets(groupId)
    const committedByKey = new Map<string, number>()
    const keys = new Map<string, TopicPartition>()
    for (const c of committed) {
      if (c.offset < 0) continue
      committedByKey.set(partitionKey(c), c.offset)
      keys.set(partitionKey(c), { topic: c.topic, partition: c.partition })
    }
    const owners = new Map<string, GroupMemberDescription>()
    for (const member of description?.members ?? []) {
      for (const tp of flattenPartitionLists(member.assignment)) {
        owners.set(partitionKey(tp), member)
        keys.set(partitionKey(tp), tp)
      }
    }
    const partitions = [...keys.values()].sort(byTopicPartition)
    const ends = partitions.length === 0 ? [] : await this.#deps.listOffsets(partitions, 'latest')
    const endByKey = new Map(ends.filter((end) => end.errorCode === '').map((end) => [partitionKey(end), end.offset]))
    return partitions.map((tp): GroupLagRow => {
      const key = partitionKey(tp)
      const currentOffset = committedByKey.get(key) ?? null
      const logEndOffset = endByKey.get(key) ?? -1
      const owner = owners.get(key)
      return {
        groupId, topic: tp.topic, partition: tp.partition, currentOffset, logEndOffset,
        lag: currentOffset === null || logEndOffset < 0 ? null : logEndOffset - currentOffset,
        memberId: owner?.memberId ?? null, clientHost: owner?.clientHost ?? null, clientId: owner?.clientId ?? null,
      }
    })
  }

  /**
   * What `resetOffsets` would set for `topic` (all its partitions, or `partitions`) under `spec`, clamped to
   * [logStart, logEnd]. Throws when a partition's log start/end (or its offset by timestamp) cannot be read.
   */
  async planOffsetReset (groupId: string, topic: string, spec: OffsetResetSpec, partitions?: readonly number[]): Promise<OffsetResetPlanRow[]> {
    let numbers = partitions
    if (numbers === undefined) {
      const info = await this.#deps.connection.topic(topic, { refresh: true })
      const error = info === undefined
        ? new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic', { details: { topic } })
        : responseError(info.errorCode, info.errorMessage, { topic })
      if (error !== undefined || info === undefined) throw error
      numbers = info.partitions.map((p) => p.partition)
    }
    const tps = numbers.map((partition) => ({ topic, partition }))
    const committed = await this.fetchOffsets(groupId, [{ topic, partitions: [...numbers] }])
    const [starts, ends, byTimestamp] = await Promise.all([
      this.#deps.listOffsets(tps, 'earliest'),
      this.#deps.listOffsets(tps, 'latest'),
      spec.kind === 'datetime' ? this.#deps.listOffsets(tps, { timestampMs: spec.timestampMs }) : Promise.resolve([]),
    ])
    return offsetResetPlan({
      topic, partitions: numbers,
      committed: new Map(committed.filter((c) => c.offset >= 0 && c.topic === topic).map((c) => [c.partition, c.offset])),
      logStart: offsetsByPartition(starts), logEnd: offsetsByPartition(ends), byTimestamp: offsetsByPartition(byTimestamp),
    }, spec)
  }

  /** Commits the plan's offsets for a group without members; NON_EMPTY_GROUP (and any other failure) throws. */
  async resetOffsets (groupId: string, plan: readonly OffsetResetPlanRow[]): Promise<void> {
    const response = await this.#callCoordinator(groupId, groupMethods.resetOffsets, {
      groupId,
      partitions: plan.map((row) => ({ topic: row.topic, partition: row.partition, offset: row.newOffset, leaderEpoch: -1, metadata: '' })),
    })
    for (const result of response.partitions) {
      const error = responseError(result.errorCode, result.errorMessage, { groupId, topic: result.topic ?? '', partition: result.partition ?? 0 })
      if (error !== undefined) throw error
    }
  }

  async #coordinator (groupId: string, refresh: boolean): Promise<CoordinatorAddress> {
    const cached = this.#coordinators.get(groupId)
    if (cached !== undefined && !refresh) return cached
    const found = await findCoordinator(this.#deps.connection, groupId)
    this.#coordinators.set(groupId, found)
    return found
  }

  /**
   * One request to the group's coordinator whose response has a group-level `errorCode`; coordinator errors (in the
   * response or in transport) forget the coordinator and retry within the request timeout; other errors throw.
   */
  async #callCoordinator<Response extends { errorCode: string; errorMessage: string }, RequestProperties> (
    groupId: string,
    method: GrpcMethod<unknown, RequestProperties, Response, never>,
    request: RequestProperties,
  ): Promise<Response> {
    return await retryOnCoordinator(this.#deps, async (attempt) => {
      const coordinator = await this.#coordinator(groupId, attempt > 1)
      const response = await this.#deps.connection.call(coordinator.address, method, request, coordinatorWatch(coordinator))
      const error = responseError(response.errorCode, response.errorMessage, { groupId })
      if (error !== undefined) throw error
      return response
    })
  }

  /**
   * A request that names several groups, sent to each coordinator with the groups it holds; groups whose answer (or
   * coordinator lookup, or transport) is a coordinator error are asked again, within the request timeout.
   */
  async #perGroup<Response, RequestProperties, Value> (
    groupIds: readonly string[],
    method: GrpcMethod<unknown, RequestProperties, Response, never>,
    request: (groupIds: string[]) => RequestProperties,
    results: (response: Response) => { groupId: string; errorCode: string; errorMessage: string; value: Value }[],
  ): Promise<Map<string, { errorCode: string; errorMessage: string; value: Value }>> {
    const done = new Map<string, { errorCode: string; errorMessage: string; value: Value }>()
    let pending = [...new Set(groupIds)]
    await retryOnCoordinator(this.#deps, async () => {
      const coordinators = await findCoordinators(this.#deps.connection, pending)
      const byAddress = new Map<string, string[]>()
      let retry: GregorError | undefined
      for (const groupId of pending) {
        const found = coordinators.get(groupId)
        if (found === undefined || found instanceof GregorError) {
          if (found !== undefined && !isCoordinatorError(found)) throw found
          retry ??= found
          continue
        }
        byAddress.set(found.address, [...(byAddress.get(found.address) ?? []), groupId])
      }
      await Promise.all([...byAddress.entries()].map(async ([address, ids]) => {
        let response: Response
        try {
          response = await this.#deps.connection.call(address, method, request(ids))
        } catch (error) {
          if (!isCoordinatorError(error)) throw error
          retry ??= error as GregorError
          return
        }
        for (const result of results(response)) {
          const error = responseError(result.errorCode, result.errorMessage, { groupId: result.groupId })
          if (error !== undefined && isCoordinatorError(error)) { retry ??= error; continue }
          done.set(result.groupId, result)
        }
      }))
      pending = pending.filter((groupId) => !done.has(groupId))
      if (pending.length > 0) throw retry ?? new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'groups left unanswered', { details: { groupIds: pending } })
    }).catch((error: unknown) => {
      // Out of time: the groups still pending report the last coordinator error rather than failing the others.
      if (pending.length === 0 || !isCoordinatorError(error)) throw error
      const failure = error as GregorError
      for (const groupId of pending) done.set(groupId, { errorCode: failure.code, errorMessage: failure.message, value: undefined as Value })
    })
    return done
  }
}

function offsetsByPartition (answers: readonly PartitionOffsetAnswer[]): Map<number, number> {
  const offsets = new Map<number, number>()
  for (const answer of answers) {
    const error = responseError(answer.errorCode, undefined, { topic: answer.topic, partition: answer.partition })
    if (error !== undefined) throw error
    offsets.set(answer.partition, answer.offset)
  }
  return offsets
}

function partitionKey (tp: TopicPartition): string {
  return topicPartitionKey(tp.topic, tp.partition)
}

function byTopicPartition (a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic.localeCompare(b.topic)
}

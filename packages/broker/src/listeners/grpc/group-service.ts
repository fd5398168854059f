/**
 * GroupService on one client listener: the wire (proto/groups.proto) turned into the coordinator runtime's domain
 * requests and back. Nothing below this file sees a protobuf object.
 *
 * Owns: validation of the wire shapes (lengths and counts bounded by `groupRequestLimits`, so a malformed or huge
 * request is refused with INVALID_REQUEST before it reaches a decision) and the mapping of thrown GregorErrors to the
 * response's `error_code`. A client's host is the peer address of its connection, as Kafka reports it.
 *
 * Authorization (Kafka's rules, security/request-permissions.ts): FindCoordinator and DescribeGroups DESCRIBE,
 * the heartbeat READ (and DESCRIBE on every subscribed topic), DeleteGroups DELETE on each group; OffsetCommit and
 * ResetOffsets READ, OffsetFetch DESCRIBE, OffsetDelete DELETE on the group for the whole request, then READ
 * (OffsetFetch: DESCRIBE) on each partition's topic, refused partitions answering TOPIC_AUTHORIZATION_FAILED (an
 * OffsetFetch of every partition leaves them out); ListGroups lists the groups the caller may DESCRIBE.
 */
import type * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import type { PartitionResult, TopicPartitions } from '@gregor/coordinator'
import type { MetadataImage } from '@gregor/metadata'
import { type gregor, groupMethods, serviceDefinition } from '@gregor/protocol'
import type { GroupCoordinatorRuntime } from '../../group-coordinator/group-coordinator-runtime.js'
import { type Authorizer, type Operation, allowEverythingAuthorizer } from '../../security/authorizer.js'
import { listableGroups, requestPermissions } from '../../security/request-permissions.js'
import { type CallIdentity, type IdentifyCall, anonymousCallers } from './grpc-authentication.js'
import { decisions, refusalFields } from './grpc-authorization.js'

type Wire = typeof gregor.groups
type Props<K extends keyof Wire> = Wire[K] extends { prototype: unknown } ? NonNullable<ConstructorParameters<Wire[K]>[0]> : never

/** Bounds of one group request: everything a decision iterates over. */
export const groupRequestLimits = Object.freeze({
  groupIdsMax: 1000,
  partitionsMax: 100_000,
  subscribedTopicsMax: 10_000,
  stringLengthMax: 32 * 1024,
})

export interface GroupServiceDeps {
  readonly runtime: GroupCoordinatorRuntime
  readonly image: () => MetadataImage
  readonly brokerId: number
  /** Who each call comes from (session token, client certificate); absent: every caller is User:ANONYMOUS. */
  readonly identify?: IdentifyCall
  /** Who may do what (ACLs); absent: everything is allowed. */
  readonly authorizer?: Authorizer
}

export function addGroupService (server: grpc.Server, listenerName: string, deps: GroupServiceDeps): void {
  const { runtime } = deps
  const unary = unaryWith(deps.identify ?? anonymousCallers(listenerName))
  const authorizer = deps.authorizer ?? allowEverythingAuthorizer
  const mayGroup = (caller: CallIdentity, operation: Operation, groupId: string): boolean =>
    !authorizer.enabled || authorizer.authorize(caller, operation, 'GROUP', groupId)
  const mayTopic = (caller: CallIdentity, operation: Operation): (topic: string) => boolean =>
    authorizer.enabled ? decisions(authorizer, caller, operation, 'TOPIC') : () => true
  /** The partitions whose topic `allowed` lets through, and results refusing the others. */
  const byTopic = <T extends { readonly topic: string }> (items: readonly T[], allowed: (topic: string) => boolean, operation: Operation, expand: (item: T) => readonly number[]) => ({
    allowed: items.filter((item) => allowed(item.topic)),
    refused: items.filter((item) => !allowed(item.topic))
      .flatMap((item) => expand(item).map((partition) => ({ topic: item.topic, partition, ...refusalFields('TOPIC', operation) }))),
  })
  const flat = (item: { readonly partition: number }): readonly number[] => [item.partition]
  const grouped = (item: TopicPartitions): readonly number[] => item.partitions
  const handlers = {
    findCoordinator: unary(async (request: gregor.groups.FindCoordinatorRequest, caller: CallIdentity): Promise<Props<'FindCoordinatorResponse'>> => {
      const groupIds = bounded(request.groupIds, groupRequestLimits.groupIdsMax, 'group_ids')
      const { group } = requestPermissions.findCoordinator
      const coordinators = await Promise.all(groupIds.map(async (groupId): Promise<Props<'Coordinator'>> => {
        if (!mayGroup(caller, group, groupId)) return { groupId, nodeId: -1, ...refusalFields('GROUP', group) }
        try {
          const { nodeId, partition } = await runtime.findCoordinator(groupId)
          const listener = deps.image().broker(nodeId as never)?.listeners.find((item) => item.name === listenerName)
          if (listener === undefined) {
            return { groupId, nodeId: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: `broker ${nodeId} has no ${listenerName} listener` }
          }
          return { groupId, nodeId, host: listener.host, port: listener.port, partition, errorCode: '' }
        } catch (error) {
          return { groupId, nodeId: -1, ...errorFields(error) }
        }
      }))
      return { coordinators }
    }),
    consumerGroupHeartbeat: unary(async (request: gregor.groups.ConsumerGroupHeartbeatRequest, caller: CallIdentity): Promise<Props<'ConsumerGroupHeartbeatResponse'>> => {
      const { group } = requestPermissions.consumerGroupHeartbeat
      if (!mayGroup(caller, group, request.groupId)) return { ...refusalFields('GROUP', group), memberId: request.memberId, memberEpoch: -1 }
      const mayDescribe = mayTopic(caller, requestPermissions.metadata.topic)
      if (!request.subscribedTopicNames.every(mayDescribe)) {
        return { ...refusalFields('TOPIC', requestPermissions.metadata.topic), memberId: request.memberId, memberEpoch: -1 }
      }
      try {
        const response = await runtime.heartbeat({
          groupId: request.groupId,
          memberId: text(request.memberId, 'member_id'),
          memberEpoch: request.memberEpoch,
          instanceId: text(request.instanceId, 'instance_id'),
          rackId: text(request.rackId, 'rack_id'),
          rebalanceTimeoutMs: request.rebalanceTimeoutMs,
          subscribedTopicNames: bounded(request.subscribedTopicNames, groupRequestLimits.subscribedTopicsMax, 'subscribed_topic_names').map((name) => text(name, 'topic')),
          subscribedTopicRegex: text(request.subscribedTopicRegex, 'subscribed_topic_regex'),
          serverAssignor: text(request.serverAssignor, 'server_assignor'),
          ownedPartitions: topicPartitions(request.ownedPartitions),
          clientId: text(request.clientId, 'client_id'),
          clientHost: peerHost(caller.source),
        })
        return { errorCode: '', ...response, assignment: response.assignment.map(wireTopicPartitions) }
      } catch (error) {
        return { ...errorFields(error), memberId: request.memberId, memberEpoch: -1 }
      }
    }),
    offsetCommit: unary(async (request: gregor.groups.OffsetCommitRequest, caller: CallIdentity) => {
      const { group, topic } = requestPermissions.offsetCommit
      if (!mayGroup(caller, group, request.groupId)) return { ...refusalFields('GROUP', group), partitions: [] }
      const { allowed, refused } = byTopic(commitPartitions(request.partitions), mayTopic(caller, topic), topic, flat)
      return await partitionResults(async () => allowed.length === 0 ? { partitions: [] } : await runtime.commitOffsets({
        groupId: request.groupId, memberId: text(request.memberId, 'member_id'), memberEpoch: request.memberEpoch, partitions: allowed,
      }), refused)
    }),
    offsetFetch: unary(async (request: gregor.groups.OffsetFetchRequest, caller: CallIdentity): Promise<Props<'OffsetFetchResponse'>> => {
      const { group, topic } = requestPermissions.offsetFetch
      if (!mayGroup(caller, group, request.groupId)) return { ...refusalFields('GROUP', group), partitions: [] }
      const mayDescribe = mayTopic(caller, topic)
      const { allowed, refused } = byTopic(topicPartitions(request.partitions), mayDescribe, topic, grouped)
      try {
        // Every committed offset (no partitions named): those of topics the caller may not DESCRIBE are left out.
        if (request.partitions.length > 0 && allowed.length === 0) return { errorCode: '', partitions: refused }
        const response = await runtime.fetchOffsets({ groupId: request.groupId, partitions: allowed })
        const fetched = response.partitions.filter((p) => mayDescribe(p.topic)).map((p) => ({ ...p, errorCode: '' }))
        return { errorCode: '', partitions: [...fetched, ...refused] }
      } catch (error) {
        return { ...errorFields(error), partitions: [] }
      }
    }),
    offsetDelete: unary(async (request: gregor.groups.OffsetDeleteRequest, caller: CallIdentity) => {
      const { group, topic } = requestPermissions.offsetDelete
      if (!mayGroup(caller, group, request.groupId)) return { ...refusalFields('GROUP', group), partitions: [] }
      const { allowed, refused } = byTopic(topicPartitions(request.partitions), mayTopic(caller, topic), topic, grouped)
      return await partitionResults(async () => allowed.length === 0 ? { partitions: [] } : await runtime.deleteOffsets({ groupId: request.groupId, partitions: allowed }), refused)
    }),
    // Kafka resets offsets with an OffsetCommit: the same rule.
    resetOffsets: unary(async (request: gregor.groups.ResetOffsetsRequest, caller: CallIdentity) => {
      const { group, topic } = requestPermissions.offsetCommit
      if (!mayGroup(caller, group, request.groupId)) return { ...refusalFields('GROUP', group), partitions: [] }
      const { allowed, refused } = byTopic(commitPartitions(request.partitions), mayTopic(caller, topic), topic, flat)
      return await partitionResults(async () => allowed.length === 0 ? { partitions: [] } : await runtime.resetOffsets({ groupId: request.groupId, partitions: allowed }), refused)
    }),
    describeGroups: unary(async (request: gregor.groups.DescribeGroupsRequest, caller: CallIdentity): Promise<Props<'DescribeGroupsResponse'>> => {
      const groupIds = bounded(request.groupIds, groupRequestLimits.groupIdsMax, 'group_ids')
      const { group: describe } = requestPermissions.describeGroups
      const groups = await Promise.all(groupIds.map(async (groupId): Promise<Props<'DescribedGroup'>> => {
        if (!mayGroup(caller, describe, groupId)) return { groupId, ...refusalFields('GROUP', describe), coordinatorId: deps.brokerId, members: [] }
        try {
          const group = await runtime.describeGroup(groupId)
          return {
            ...group, errorCode: '', coordinatorId: deps.brokerId,
            members: group.members.map((member) => ({
              ...member, subscribedTopicNames: [...member.subscribedTopicNames],
              assignment: member.assignment.map(wireTopicPartitions), targetAssignment: member.targetAssignment.map(wireTopicPartitions),
            })),
          }
        } catch (error) {
          return { groupId, ...errorFields(error), coordinatorId: deps.brokerId, members: [] }
        }
      }))
      return { groups }
    }),
    deleteGroups: unary(async (request: gregor.groups.DeleteGroupsRequest, caller: CallIdentity): Promise<Props<'DeleteGroupsResponse'>> => {
      const groupIds = bounded(request.groupIds, groupRequestLimits.groupIdsMax, 'group_ids')
      const { group: remove } = requestPermissions.deleteGroups
      const groups = await Promise.all(groupIds.map(async (groupId) => {
        if (!mayGroup(caller, remove, groupId)) return { groupId, ...refusalFields('GROUP', remove) }
        try {
          return await runtime.deleteGroup(groupId)
        } catch (error) {
          return { groupId, ...errorFields(error) }
        }
      }))
      return { groups }
    }),
    listGroups: unary((request: gregor.groups.ListGroupsRequest, caller: CallIdentity): Props<'ListGroupsResponse'> => {
      const states = new Set(request.statesFilter.map((state) => state.toLowerCase()))
      const types = new Set(request.typesFilter.map((type) => type.toLowerCase()))
      const groups = listableGroups(authorizer, caller, runtime.listGroups(), (group) => group.groupId)
        .filter((group) => (states.size === 0 || states.has(group.state)) && (types.size === 0 || types.has(group.groupType)))
        .map((group) => ({ ...group, coordinatorId: deps.brokerId }))
      return { errorCode: '', groups }
    }),
  }
  server.addService(serviceDefinition(groupMethods as never), handlers as unknown as grpc.UntypedServiceImplementation)
}

/**
 * OffsetCommit, OffsetDelete and ResetOffsets share one answer shape: per-partition results (those of `refused`
 * partitions after the others), or a group-level error.
 */
async function partitionResults (
  run: () => Promise<{ readonly partitions: readonly PartitionResult[] }>, refused: readonly PartitionResult[] = [],
): Promise<Props<'OffsetCommitResponse'>> {
  try {
    return { errorCode: '', partitions: [...(await run()).partitions, ...refused] }
  } catch (error) {
    return { ...errorFields(error), partitions: [] }
  }
}

function errorFields (error: unknown): { errorCode: string; errorMessage: string } {
  if (isGregorError(error)) return { errorCode: error.code, errorMessage: error.message }
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: error instanceof Error ? error.message : String(error) }
}

function invalid (message: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message)
}

function bounded<T> (list: readonly T[], max: number, field: string): readonly T[] {
  if (list.length > max) throw invalid(`${field}: at most ${max} entries`)
  return list
}

function text (value: string, field: string): string {
  if (value.length > groupRequestLimits.stringLengthMax) throw invalid(`${field}: at most ${groupRequestLimits.stringLengthMax} characters`)
  return value
}

function topicPartitions (list: readonly gregor.groups.ITopicPartitions[]): TopicPartitions[] {
  let count = 0
  const result = bounded(list, groupRequestLimits.partitionsMax, 'partitions').map((item) => {
    const partitions = [...new Set(item.partitions ?? [])].sort((a, b) => a - b)
    count += partitions.length
    return { topic: text(item.topic ?? '', 'topic'), partitions }
  })
  if (count > groupRequestLimits.partitionsMax) throw invalid(`at most ${groupRequestLimits.partitionsMax} partitions per request`)
  return result
}

function commitPartitions (list: readonly gregor.groups.IOffsetCommitPartition[]): { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string }[] {
  return bounded(list, groupRequestLimits.partitionsMax, 'partitions').map((item) => ({
    topic: text(item.topic ?? '', 'topic'), partition: item.partition ?? 0, offset: item.offset ?? 0,
    leaderEpoch: item.leaderEpoch ?? -1, metadata: text(item.metadata ?? '', 'metadata'),
  }))
}

function wireTopicPartitions (item: TopicPartitions): Props<'TopicPartitions'> {
  return { topic: item.topic, partitions: [...item.partitions] }
}

/** `ipv4:127.0.0.1:53312` / `ipv6:[::1]:53312` → the host part, as Kafka's CLIENT-HOST column shows it. */
function peerHost (peer: string): string {
  const address = peer.replace(/^ipv[46]:/, '')
  const host = address.startsWith('[') ? address.slice(0, address.indexOf(']') + 1) : address.slice(0, address.lastIndexOf(':'))
  return `/${host === '' ? address : host}`
}

/**
 * Wraps a handler: the caller is identified first (an unknown session token is refused UNAUTHENTICATED before the
 * handler runs); a GregorError that escapes (a malformed request) becomes INVALID_ARGUMENT, never a crash.
 */
const unaryWith = (identify: IdentifyCall) => <Request, Response> (
  handler: (request: Request, caller: CallIdentity) => Promise<Response> | Response,
): grpc.handleUnaryCall<Request, Response> => {
  return (call, callback) => {
    const caller = identify(call)
    if (caller instanceof Error) { callback(caller); return }
    Promise.resolve().then(() => handler(call.request, caller)).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const code = isGregorError(error) && error.code === ErrorCode.INVALID_REQUEST ? 3 /* INVALID_ARGUMENT */ : 13 /* INTERNAL */
        callback({ name: 'Error', message: error instanceof Error ? error.message : String(error), code, details: String(error) })
      },
    )
  }
}

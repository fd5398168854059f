/**
 * Authorization rules of the group family (KafkaApis): FindCoordinator needs DESCRIBE on the group, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, ConsumerGroupHeartbeat and OffsetCommit READ on it (refused as a whole with
 * GROUP_AUTHORIZATION_FAILED), ConsumerGroupHeartbeat DESCRIBE on every subscribed topic (else TOPIC_AUTHORIZATION_FAILED
 * for the whole heartbeat, KIP-848), OffsetCommit also READ on each topic (per partition); OffsetFetch DESCRIBE on the group
 * and on each topic (named topics refused per partition, all-topics answers filtered); DescribeGroups and
 * ConsumerGroupDescribe DESCRIBE per group; ListGroups lists what the caller may DESCRIBE (everything with DESCRIBE on
 * the cluster); DeleteGroups DELETE per group; OffsetDelete DELETE on the group and READ on each topic.
 */
import { ErrorCode } from '@gregor/common'
import { ApiKey, type ResponseBodies, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { Caller } from '../../../security/authorizer.js'
import { authorizationFailed, listableGroups, requestPermissions } from '../../../security/request-permissions.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { byTopicPermission } from './data-rules.js'
import { type RuleScope, type Rules, withRefusals } from './kafka-authorization.js'

const GROUP_DENIED = kafkaErrorCode(ErrorCode.GROUP_AUTHORIZATION_FAILED)
const TOPIC_DENIED = kafkaErrorCode(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648
/** FindCoordinator's key type of a consumer group (1 is a transactional id, which Gregor does not have). */
const GROUP_KEY = 0

export function groupRules (scope: RuleScope): Rules {
  const { authorizer } = scope
  const group = (caller: Caller, operation: 'READ' | 'DESCRIBE' | 'DELETE', groupId: string): boolean =>
    authorizer.authorize(caller, operation, 'GROUP', groupId)
  const mayRead = (context: KafkaRequestContext, groupId: string): boolean => group(scope.caller(context), 'READ', groupId)
  const groupMessage = (operation: 'READ' | 'DESCRIBE' | 'DELETE'): string => authorizationFailed('GROUP', operation).message
  return {
    [ApiKey.FindCoordinator]: (inner) => async (request, context) => {
      if (request.keyType !== GROUP_KEY) return await inner(request, context)
      const caller = scope.caller(context)
      if (context.apiVersion < 4) {
        if (group(caller, 'DESCRIBE', request.key)) return await inner(request, context)
        return { throttleTimeMs: 0, errorCode: GROUP_DENIED, errorMessage: groupMessage('DESCRIBE'), nodeId: -1, host: '', port: -1, coordinators: [] }
      }
      const allowed = request.coordinatorKeys.filter((key) => group(caller, 'DESCRIBE', key))
      return await withRefusals(inner, request, context, request.coordinatorKeys.length - allowed.length, () => ({ ...request, coordinatorKeys: allowed }), (response) => {
        const denied = request.coordinatorKeys.filter((key) => !allowed.includes(key))
        return {
          ...response,
          coordinators: [...response.coordinators, ...denied.map((key) => ({
            key, nodeId: -1, host: '', port: -1, errorCode: GROUP_DENIED, errorMessage: groupMessage('DESCRIBE'),
          }))],
        }
      })
    },
    [ApiKey.JoinGroup]: (inner) => async (request, context) => mayRead(context, request.groupId)
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: GROUP_DENIED, generationId: -1, protocolName: '', leader: '', memberId: request.memberId, members: [] },
    [ApiKey.SyncGroup]: (inner) => async (request, context) => mayRead(context, request.groupId)
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: GROUP_DENIED, assignment: Buffer.alloc(0) },
    [ApiKey.Heartbeat]: (inner) => async (request, context) => mayRead(context, request.groupId)
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: GROUP_DENIED },
    [ApiKey.LeaveGroup]: (inner) => async (request, context) => mayRead(context, request.groupId)
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: GROUP_DENIED, members: [] },
    [ApiKey.ConsumerGroupHeartbeat]: (inner) => async (request, context) => {
      const refused = (errorCode: number, errorMessage: string): ResponseBodies[typeof ApiKey.ConsumerGroupHeartbeat] => ({
        throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null,
      })
      if (!mayRead(context, request.groupId)) return refused(GROUP_DENIED, groupMessage('READ'))
      // KIP-848: subscribing names topics, each of which the member must be allowed to DESCRIBE.
      const { denied } = byTopicPermission(scope, context, 'DESCRIBE', request.subscribedTopicNames ?? [], (name) => name)
      if (denied.length > 0) return refused(TOPIC_DENIED, `not authorized to DESCRIBE subscribed topics: ${denied.join(', ')}`)
      return await inner(request, context)
    },
    [ApiKey.OffsetCommit]: (inner) => async (request, context) => {
      const denyAll = (code: number, topics: typeof request.topics) => topics.map((topic) => ({
        name: topic.name, partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: code })),
      }))
      if (!mayRead(context, request.groupId)) return { throttleTimeMs: 0, topics: denyAll(GROUP_DENIED, request.topics) }
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.offsetCommit.topic, request.topics, (topic) => topic.name)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => {
        return { ...response, topics: [...response.topics, ...denyAll(TOPIC_DENIED, denied)] }
      })
    },
    [ApiKey.OffsetFetch]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      const operation = requestPermissions.offsetFetch.topic
      const refusedPartitions = (code: number, topics: readonly { name: string, partitionIndexes: readonly number[] }[]) => topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: null, errorCode: code })),
      }))
      if (context.apiVersion < 8) {
        if (!group(caller, 'DESCRIBE', request.groupId)) {
          // v1 has no top-level error: each named partition carries it.
          return { throttleTimeMs: 0, errorCode: GROUP_DENIED, topics: context.apiVersion < 2 ? refusedPartitions(GROUP_DENIED, request.topics ?? []) : [], groups: [] }
        }
        if (request.topics === null) {
          const response = await inner(request, context)
          if (response === undefined) return undefined
          return { ...response, topics: authorizer.filter(caller, operation, 'TOPIC', response.topics, (topic) => topic.name) }
        }
        const { allowed, denied } = byTopicPermission(scope, context, operation, request.topics, (topic) => topic.name)
        return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => {
          return { ...response, topics: [...response.topics, ...refusedPartitions(TOPIC_DENIED, denied)] }
        })
      }
      // v8: several groups, each checked on its own.
      const refusedGroups = new Map<string, number>()
      const deniedTopics = new Map<string, { name: string, partitionIndexes: readonly number[] }[]>()
      const groups = request.groups.flatMap((entry) => {
        if (!group(caller, 'DESCRIBE', entry.groupId)) { refusedGroups.set(entry.groupId, GROUP_DENIED); return [] }
        if (entry.topics === null) return [entry]
        const { allowed, denied } = byTopicPermission(scope, context, operation, entry.topics, (topic) => topic.name)
        if (denied.length > 0) deniedTopics.set(entry.groupId, denied)
        return [{ ...entry, topics: allowed }]
      })
      if (refusedGroups.size === 0 && deniedTopics.size === 0 && groups.every((entry) => entry.topics !== null)) return await inner(request, context)
      const response = await inner({ ...request, groups }, context)
      if (response === undefined) return undefined
      return {
        ...response,
        groups: [
          ...response.groups.map((entry) => {
            const asked = request.groups.find((candidate) => candidate.groupId === entry.groupId)
            const topics = asked?.topics === null
              ? authorizer.filter(caller, operation, 'TOPIC', entry.topics, (topic) => topic.name)
              : [...entry.topics, ...refusedPartitions(TOPIC_DENIED, deniedTopics.get(entry.groupId) ?? [])]
            return { ...entry, topics }
          }),
          ...[...refusedGroups].map(([groupId, errorCode]) => ({ groupId, topics: [], errorCode })),
        ],
      }
    },
    [ApiKey.DescribeGroups]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      const allowed = request.groups.filter((groupId) => group(caller, 'DESCRIBE', groupId))
      return await withRefusals(inner, request, context, request.groups.length - allowed.length, () => ({ ...request, groups: allowed }), (response) => {
        const denied = request.groups.filter((groupId) => !allowed.includes(groupId))
        return {
          ...response,
          groups: [...response.groups, ...denied.map((groupId) => ({
            errorCode: GROUP_DENIED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          }))],
        }
      })
    },
    [ApiKey.ConsumerGroupDescribe]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      const allowed = request.groupIds.filter((groupId) => group(caller, 'DESCRIBE', groupId))
      return await withRefusals(inner, request, context, request.groupIds.length - allowed.length, () => ({ ...request, groupIds: allowed }), (response) => {
        const denied = request.groupIds.filter((groupId) => !allowed.includes(groupId))
        return {
          ...response,
          groups: [...response.groups, ...denied.map((groupId) => ({
            errorCode: GROUP_DENIED, errorMessage: groupMessage('DESCRIBE'), groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1,
            assignorName: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          }))],
        }
      })
    },
    [ApiKey.ListGroups]: (inner) => async (request, context) => {
      const response = await inner(request, context)
      if (response === undefined) return undefined
      return { ...response, groups: listableGroups(authorizer, scope.caller(context), response.groups, (entry) => entry.groupId) }
    },
    [ApiKey.DeleteGroups]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      const allowed = request.groupsNames.filter((groupId) => group(caller, 'DELETE', groupId))
      return await withRefusals(inner, request, context, request.groupsNames.length - allowed.length, () => ({ ...request, groupsNames: allowed }), (response) => {
        const denied = request.groupsNames.filter((groupId) => !allowed.includes(groupId))
        return { ...response, results: [...response.results, ...denied.map((groupId) => ({ groupId, errorCode: GROUP_DENIED }))] }
      })
    },
    [ApiKey.OffsetDelete]: (inner) => async (request, context) => {
      if (!group(scope.caller(context), 'DELETE', request.groupId)) return { errorCode: GROUP_DENIED, throttleTimeMs: 0, topics: [] }
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.offsetDelete.topic, request.topics, (topic) => topic.name)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => ({
        ...response,
        topics: [...response.topics, ...denied.map((topic) => ({
          name: topic.name, partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: TOPIC_DENIED })),
        }))],
      }))
    },
  }
}

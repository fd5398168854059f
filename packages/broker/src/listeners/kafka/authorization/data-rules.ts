/**
 * Authorization rules of the data family and Metadata (KafkaApis): Produce needs WRITE on each topic, Fetch READ,
 * ListOffsets and OffsetForLeaderEpoch DESCRIBE, each answered per partition; InitProducerId (idempotent, no
 * transactional id) needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679); Metadata leaves out the
 * topics the caller may not DESCRIBE when it lists all, answers TOPIC_AUTHORIZATION_FAILED for a named one whether
 * it exists or not, and auto-creates an unknown topic only with CREATE on the cluster or the topic (else
 * TOPIC_AUTHORIZATION_FAILED, as Kafka answers).
 */
import { ErrorCode } from '@gregor/common'
import { ApiKey, type MetadataResponseTopic, kafkaErrorCode } from '@gregor/kafka-protocol'
import { mayCreateTopic, mayWriteIdempotently, requestPermissions } from '../../../security/request-permissions.js'
import { errorTopic } from '../handlers/metadata.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { type RuleScope, type Rules, withRefusals } from './kafka-authorization.js'

const TOPIC_DENIED = kafkaErrorCode(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
const CLUSTER_DENIED = kafkaErrorCode(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)

/** Splits `items` by whether the caller may do `operation` to each one's topic (denials logged and counted). */
export function byTopicPermission<T> (
  scope: RuleScope, context: KafkaRequestContext, operation: Parameters<RuleScope['authorizer']['authorize']>[1], items: readonly T[],
  topicOf: (item: T) => string | undefined,
): { allowed: T[], denied: T[] } {
  const caller = scope.caller(context)
  const allowed: T[] = []
  const denied: T[] = []
  for (const item of items) {
    const topic = topicOf(item)
    // A topic this broker cannot name (an unknown v13 id) goes on: the handler answers UNKNOWN_TOPIC_ID.
    if (topic === undefined || scope.authorizer.authorize(caller, operation, 'TOPIC', topic)) allowed.push(item)
    else denied.push(item)
  }
  return { allowed, denied }
}

export function dataRules (scope: RuleScope): Rules {
  const { deps } = scope
  return {
    [ApiKey.Produce]: (inner) => async (request, context) => {
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.produce.topic, request.topicData, (topic) => topic.name)
      if (denied.length === 0) return await inner(request, context)
      const response = await inner({ ...request, topicData: allowed }, context)
      if (response === undefined) {
        // acks=0 has no answer to carry the error: Kafka closes the connection so the client notices.
        context.closeAfterResponse?.('topic authorization failed', { topics: denied.map((topic) => topic.name) }, [TOPIC_DENIED])
        return undefined
      }
      return {
        ...response,
        responses: [...response.responses, ...denied.map((topic) => ({
          name: topic.name,
          partitionResponses: topic.partitionData.map((partition) => ({
            index: partition.index, errorCode: TOPIC_DENIED, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
          })),
        }))],
      }
    },
    [ApiKey.Fetch]: (inner) => async (request, context) => {
      const byId = context.apiVersion >= 13
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.fetch.topic, request.topics,
        (topic) => byId ? deps.topicName(topic.topicId) : topic.topic)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => {
        const abortedTransactions = response.responses[0]?.partitions[0]?.abortedTransactions ?? null
        return {
          ...response,
          responses: [...response.responses, ...denied.map((topic) => ({
            topic: topic.topic,
            topicId: topic.topicId,
            partitions: topic.partitions.map((partition) => ({
              partitionIndex: partition.partition, errorCode: TOPIC_DENIED, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
              divergingEpoch: null, currentLeader: null, snapshotId: null, abortedTransactions, preferredReadReplica: -1, records: null,
            })),
          }))],
        }
      })
    },
    [ApiKey.ListOffsets]: (inner) => async (request, context) => {
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.listOffsets.topic, request.topics, (topic) => topic.name)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => ({
        ...response,
        topics: [...response.topics, ...denied.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex, errorCode: TOPIC_DENIED, timestamp: -1, offset: -1, leaderEpoch: -1,
          })),
        }))],
      }))
    },
    [ApiKey.OffsetForLeaderEpoch]: (inner) => async (request, context) => {
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.offsetForLeaderEpoch.topic, request.topics, (topic) => topic.topic)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => ({
        ...response,
        topics: [...response.topics, ...denied.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((partition) => ({ errorCode: TOPIC_DENIED, partition: partition.partition, leaderEpoch: -1, endOffset: -1 })),
        }))],
      }))
    },
    [ApiKey.InitProducerId]: (inner) => async (request, context) => {
      // A transactional id would need WRITE on it; Gregor has no transactions and the handler refuses them.
      if (request.transactionalId !== null || mayWriteIdempotently(scope.authorizer, scope.caller(context))) return await inner(request, context)
      return { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, producerId: -1, producerEpoch: -1 }
    },
    [ApiKey.Metadata]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      if (request.topics === null) {
        const response = await inner(request, context)
        if (response === undefined) return undefined
        const visible = scope.authorizer.filter(caller, 'DESCRIBE', 'TOPIC', response.topics, (topic) => topic.name ?? '')
        return { ...response, topics: visible }
      }
      const named = request.topics.filter((topic) => topic.name !== null)
      const { allowed, denied } = byTopicPermission(scope, context, requestPermissions.metadata.topic, named, (topic) => topic.name ?? '')
      // Auto-creation is the only path where a missing topic the caller may describe is refused: it needs CREATE.
      const autoCreate = request.allowAutoTopicCreation && deps.metadata.autoCreateTopicsEnable()
      const creatable = autoCreate
        ? allowed.filter((topic) => deps.metadata.topic(topic.name ?? '') !== undefined || mayCreateTopic(scope.authorizer, caller, topic.name ?? ''))
        : allowed
      const refused = [...denied, ...allowed.filter((topic) => !creatable.includes(topic))]
      const allowedNames = new Set(creatable.map((topic) => topic.name))
      const byId = request.topics.filter((topic) => topic.name === null)
      if (refused.length === 0 && byId.length === 0) return await inner(request, context)
      const response = await inner({ ...request, topics: [...creatable, ...byId] }, context)
      if (response === undefined) return undefined
      // v12 names topics by id: one the caller may not describe is refused like a named one, without its name.
      const topics = response.topics.map((topic): MetadataResponseTopic =>
        topic.name === null || allowedNames.has(topic.name) || scope.authorizer.authorize(caller, 'DESCRIBE', 'TOPIC', topic.name)
          ? topic
          : { ...errorTopic(null, ErrorCode.TOPIC_AUTHORIZATION_FAILED), topicId: topic.topicId })
      const seen = new Set<string>()
      const refusals = refused.flatMap((topic) => {
        const name = topic.name ?? ''
        if (seen.has(name)) return []
        seen.add(name)
        return [errorTopic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED)]
      })
      return { ...response, topics: [...topics, ...refusals] }
    },
  }
}

/**
 * DeleteTopics (key 20, v1-6): by name (v1-5 `topic_names`, v6 `topics[].name`) or, from v6, by topic id.
 *
 * Kafka's rules kept here: a v6 entry naming both a name and an id, or neither, is INVALID_REQUEST; an unknown name is
 * UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID; deleting an internal topic is refused by the controller.
 * Each result echoes what the entry named (and, from v6, both the name and the id when the topic was found).
 */
import { ErrorCode } from '@gregor/common'
import { type DeleteTopicsRequest, type DeleteTopicsResponse, type DeleteTopicsResponseDeletableTopicResult, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import { type AdminFailure, type KafkaAdminApi, type TopicReference, isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { checkedOutcomes } from './checked-outcomes.js'

const NO_TOPIC_ID = '00000000-0000-0000-0000-000000000000'

function reference (entry: { readonly name: string | null; readonly topicId: string }): TopicReference | AdminFailure {
  const byId = entry.topicId !== NO_TOPIC_ID
  if (entry.name !== null && byId) return { error: ErrorCode.INVALID_REQUEST, message: 'give a topic name or a topic id, not both' }
  if (entry.name !== null) return { name: entry.name }
  if (byId) return { topicId: entry.topicId }
  return { error: ErrorCode.INVALID_REQUEST, message: 'give a topic name or a topic id' }
}

export async function handleDeleteTopics (api: KafkaAdminApi, request: DeleteTopicsRequest, context: KafkaRequestContext): Promise<DeleteTopicsResponse> {
  const entries = context.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: NO_TOPIC_ID }))
  const checked = entries.map(reference)
  const outcomes = await checkedOutcomes(checked, async (valid) => await api.deleteTopics(valid))
  const responses = entries.map((entry, i): DeleteTopicsResponseDeletableTopicResult => {
    const outcome = outcomes[i]
    if (outcome === undefined) {
      return { name: entry.name, topicId: entry.topicId, errorCode: kafkaErrorCode(ErrorCode.UNKNOWN_SERVER_ERROR), errorMessage: 'no answer for this topic' }
    }
    if (isAdminFailure(outcome)) {
      return { name: entry.name, topicId: entry.topicId, errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message }
    }
    return { name: outcome.name, topicId: outcome.topicId, errorCode: KAFKA_NONE, errorMessage: null }
  })
  return { throttleTimeMs: 0, responses }
}

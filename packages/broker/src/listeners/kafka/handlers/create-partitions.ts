/**
 * CreatePartitions (key 37, v0-3): more partitions for existing topics, increase only, placed as at creation;
 * `validate_only` checks without adding.
 *
 * Kafka's rules kept here: a topic named twice fails every entry with INVALID_REQUEST; explicit assignments are not
 * supported (INVALID_REQUEST, saying so). The controller answers the rest per topic: unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION; a count not above the current one INVALID_PARTITIONS (with the
 * current count in the message); too few live brokers INVALID_REPLICATION_FACTOR.
 */
import { ErrorCode } from '@gregor/common'
import { type CreatePartitionsRequest, type CreatePartitionsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import { repeatedNames } from '@gregor/metadata'
import type { AdminFailure, KafkaAdminApi, PartitionCountChange } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { checkedOutcomes } from './checked-outcomes.js'

export async function handleCreatePartitions (api: KafkaAdminApi, request: CreatePartitionsRequest, _context: KafkaRequestContext): Promise<CreatePartitionsResponse> {
  const repeated = repeatedNames(request.topics)
  const checked = request.topics.map((topic): PartitionCountChange | AdminFailure => {
    if (repeated.has(topic.name)) return { error: ErrorCode.INVALID_REQUEST, message: `topic ${topic.name} appears more than once in the request` }
    if (topic.assignments !== null && topic.assignments.length > 0) {
      return { error: ErrorCode.INVALID_REQUEST, message: 'explicit replica assignments are not supported: give the count only' }
    }
    return { name: topic.name, partitionCount: topic.count }
  })
  const outcomes = await checkedOutcomes(checked, async (valid) => await api.createPartitions(valid, { validateOnly: request.validateOnly }))
  const results = request.topics.map((topic, i) => {
    const outcome = outcomes[i]
    return outcome === undefined
      ? { name: topic.name, errorCode: KAFKA_NONE, errorMessage: null }
      : { name: topic.name, errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message }
  })
  return { throttleTimeMs: 0, results }
}

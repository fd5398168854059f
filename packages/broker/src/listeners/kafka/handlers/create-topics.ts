/**
 * CreateTopics (key 19, v2-7): topics by partition count and replication factor, -1 meaning the cluster's default,
 * with config overrides; `validate_only` checks without creating.
 *
 * Kafka's rules kept here, before the controller sees the request (ControllerApis.createTopics): a name given twice
 * fails every entry with INVALID_REQUEST; explicit replica assignments are not supported (INVALID_REQUEST, saying so);
 * a count of 0 or below -1 is INVALID_PARTITIONS, a replication factor of 0 or below -1
 * INVALID_REPLICATION_FACTOR, a config with a null value INVALID_CONFIG. The controller answers the rest per topic
 * (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_REPLICATION_FACTOR, INVALID_CONFIG, ...). v5+ answers what
 * each created topic got (partitions, replication factor, every config); a failed one -1, -1 and no configs.
 */
import { ErrorCode } from '@gregor/common'
import {
  type CreateTopicsRequest, type CreateTopicsRequestCreatableTopic, type CreateTopicsResponse, type CreateTopicsResponseCreatableTopicResult,
  KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { repeatedNames } from '@gregor/metadata'
import { type AdminFailure, type CreatedTopic, type KafkaAdminApi, type NewTopic, isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { checkedOutcomes } from './checked-outcomes.js'
import { kafkaConfigSource } from './config-entries.js'

const NO_TOPIC_ID = '00000000-0000-0000-0000-000000000000'

/** The domain request for one topic, or why the request itself is refused. */
function newTopic (topic: CreateTopicsRequestCreatableTopic, repeated: boolean): NewTopic | AdminFailure {
  const { name, numPartitions, replicationFactor } = topic
  if (repeated) return { error: ErrorCode.INVALID_REQUEST, message: `topic ${name} appears more than once in the request` }
  if (topic.assignments.length > 0) {
    return { error: ErrorCode.INVALID_REQUEST, message: 'explicit replica assignments are not supported: give num_partitions and replication_factor' }
  }
  if (numPartitions === 0 || numPartitions < -1) {
    return { error: ErrorCode.INVALID_PARTITIONS, message: `num_partitions must be positive or -1 (the default), not ${numPartitions}` }
  }
  if (replicationFactor === 0 || replicationFactor < -1) {
    return { error: ErrorCode.INVALID_REPLICATION_FACTOR, message: `replication_factor must be positive or -1 (the default), not ${replicationFactor}` }
  }
  const configs: Record<string, string> = {}
  for (const { name: key, value } of topic.configs) {
    if (value === null) return { error: ErrorCode.INVALID_CONFIG, message: `config ${key} has a null value` }
    configs[key] = value
  }
  return {
    name,
    partitionCount: numPartitions === -1 ? undefined : numPartitions,
    replicationFactor: replicationFactor === -1 ? undefined : replicationFactor,
    configs,
  }
}

function failed (name: string, failure: AdminFailure): CreateTopicsResponseCreatableTopicResult {
  return {
    name, topicId: NO_TOPIC_ID, errorCode: kafkaErrorCode(failure.error), errorMessage: failure.message,
    topicConfigErrorCode: KAFKA_NONE, numPartitions: -1, replicationFactor: -1, configs: null,
  }
}

function created (topic: CreatedTopic): CreateTopicsResponseCreatableTopicResult {
  return {
    name: topic.name, topicId: topic.topicId, errorCode: KAFKA_NONE, errorMessage: null, topicConfigErrorCode: KAFKA_NONE,
    numPartitions: topic.partitionCount, replicationFactor: topic.replicationFactor,
    configs: topic.configs.map((entry) => ({
      name: entry.name, value: entry.value, readOnly: entry.readOnly, configSource: kafkaConfigSource(entry.source), isSensitive: false,
    })),
  }
}

export async function handleCreateTopics (api: KafkaAdminApi, request: CreateTopicsRequest, _context: KafkaRequestContext): Promise<CreateTopicsResponse> {
  const repeated = repeatedNames(request.topics)
  const checked = request.topics.map((topic) => newTopic(topic, repeated.has(topic.name)))
  const outcomes = await checkedOutcomes(checked, async (valid) => await api.createTopics(valid, { validateOnly: request.validateOnly }))
  const topics = outcomes.map((outcome, i): CreateTopicsResponseCreatableTopicResult => {
    const name = request.topics[i]?.name ?? ''
    if (outcome === undefined) return failed(name, { error: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'no answer for this topic' })
    return isAdminFailure(outcome) ? failed(name, outcome) : created(outcome)
  })
  return { throttleTimeMs: 0, topics }
}

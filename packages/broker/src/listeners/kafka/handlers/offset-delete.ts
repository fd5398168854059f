/**
 * OffsetDelete (key 47, v0): deletes a group's committed offsets of some partitions. Per partition:
 * GROUP_SUBSCRIBED_TO_TOPIC while a member of the group subscribes to its topic, UNKNOWN_TOPIC_OR_PARTITION for a
 * topic that does not exist (as Kafka, checked before the coordinator), else success (also when nothing was
 * committed). Whole-group failures answer the top-level error code with no topics: GROUP_ID_NOT_FOUND,
 * NON_EMPTY_GROUP (a classic group with members), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID.
 */
import { ErrorCode } from '@gregor/common'
import type { TopicPartitions } from '@gregor/coordinator'
import { KAFKA_NONE, type OffsetDeleteRequest, type OffsetDeleteResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export async function handleOffsetDelete (api: KafkaGroupApi, request: OffsetDeleteRequest, _context: KafkaRequestContext): Promise<OffsetDeleteResponse> {
  const known = new Map<string, Set<number>>()
  for (const { name, partitions } of request.topics) {
    if (api.topicId(name) === undefined) continue
    const set = known.get(name) ?? new Set<number>()
    for (const { partitionIndex } of partitions) set.add(partitionIndex)
    known.set(name, set)
  }
  const asked: TopicPartitions[] = [...known].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }))
  const codes = new Map<string, number>()
  try {
    const response = await api.deleteOffsets({ groupId: request.groupId, partitions: asked })
    for (const result of response.partitions) codes.set(key(result.topic, result.partition), kafkaCode(result.errorCode as ErrorCode | ''))
  } catch (error) {
    return { errorCode: failureOf(error).code, throttleTimeMs: 0, topics: [] }
  }
  const unknownTopic = kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  return {
    errorCode: KAFKA_NONE,
    throttleTimeMs: 0,
    topics: request.topics.map(({ name, partitions }) => ({
      name,
      partitions: partitions.map(({ partitionIndex }) => ({
        partitionIndex,
        errorCode: known.has(name) ? codes.get(key(name, partitionIndex)) ?? kafkaErrorCode(ErrorCode.UNKNOWN_SERVER_ERROR) : unknownTopic,
      })),
    })),
  }
}

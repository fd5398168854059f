/**
 * Produce (key 0, versions 0-7): each partition's RecordBatch v2 bytes are appended as the client sent them, through
 * the same path as Gregor's own produce (CRC check, offsets stamped, producer-state sequence checks, acks).
 *
 * Kafka's rules kept here (KafkaApis.handleProduceRequest): acks=0 gets no answer at all (the request is still handled
 * to the end first, so a connection's produces apply in order), and when any partition failed (not the leader, unknown
 * topic, ...) the connection is closed instead, since no answer can carry the error and a client learns of it only by
 * reconnecting and refreshing its metadata; answers list the request's topics and
 * partitions in its order; a transactional produce (non-null `transactional_id`) is refused per partition, since
 * this broker has no transaction coordinator and InitProducerId never hands out a transactional producer; a partition
 * without records is a corrupt record set. Log-append time is -1 (topics stamp create time).
 */
import { ErrorCode } from '@gregor/common'
import { KAFKA_NONE, type ProduceRequest, type ProduceResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi, ProducePartitionOutcome } from '../kafka-data-api.js'
import { flattenByTopic, regroupByTopic } from './by-topic.js'

const EMPTY = new Uint8Array(0)

export async function handleProduce (api: KafkaDataApi, request: ProduceRequest, context: KafkaRequestContext): Promise<ProduceResponse | undefined> {
  const partitionsOf = (topic: ProduceRequest['topicData'][number]): ProduceRequest['topicData'][number]['partitionData'] => topic.partitionData
  const inputs = flattenByTopic(request.topicData, partitionsOf, (topic, p) => ({ topic: topic.name, partition: p.index, records: p.records ?? EMPTY }))
  const outcomes: readonly ProducePartitionOutcome[] = request.transactionalId !== null
    ? inputs.map(({ topic, partition }) => ({
      topic, partition, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'transactions are not supported', baseOffset: -1, logStartOffset: -1, logAppendTimeMs: -1,
    }))
    : await api.produce({ acks: request.acks, timeoutMs: request.timeoutMs, partitions: inputs })
  if (request.acks === 0) {
    const failed = outcomes.filter((outcome): outcome is ProducePartitionOutcome & { readonly errorCode: ErrorCode } => outcome.errorCode !== null)
    const first = failed[0]
    if (first !== undefined) {
      const fields = { failedPartitions: failed.length, topic: first.topic, partition: first.partition, error: first.errorCode }
      context.closeAfterResponse?.('acks=0 produce failed', fields, failed.map((outcome) => kafkaErrorCode(outcome.errorCode)))
    }
    return undefined
  }
  return {
    throttleTimeMs: 0,
    responses: regroupByTopic(request.topicData, partitionsOf, outcomes, (topic, answers) => ({
      name: topic.name,
      partitionResponses: answers.map((answer) => ({
        index: answer.partition,
        errorCode: answer.errorCode === null ? KAFKA_NONE : kafkaErrorCode(answer.errorCode),
        baseOffset: answer.baseOffset,
        logAppendTimeMs: answer.logAppendTimeMs,
        logStartOffset: answer.logStartOffset,
      })),
    })),
  }
}

/**
 * InitProducerId (key 22, versions 0-3): a producer id and epoch for an idempotent producer, from any broker.
 *
 * Kafka's rules kept here (TransactionCoordinator.handleInitProducerId): without a transactional id the request is
 * always granted a fresh id at epoch 0, whatever producer id and epoch it carries (KIP-360's bump is for
 * transactional producers). A transactional id is refused with INVALID_REQUEST: this broker has no transaction
 * coordinator, and a non-retriable code makes the client fail at once instead of looking for one forever.
 */
import { ErrorCode } from '@gregor/common'
import { type InitProducerIdRequest, type InitProducerIdResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi } from '../kafka-data-api.js'

export function handleInitProducerId (api: KafkaDataApi, request: InitProducerIdRequest, _context: KafkaRequestContext): InitProducerIdResponse {
  if (request.transactionalId !== null) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorCode(ErrorCode.INVALID_REQUEST), producerId: -1, producerEpoch: -1 }
  }
  const outcome = api.initProducerId()
  return {
    throttleTimeMs: 0,
    errorCode: outcome.errorCode === null ? KAFKA_NONE : kafkaErrorCode(outcome.errorCode),
    producerId: outcome.producerId,
    producerEpoch: outcome.producerEpoch,
  }
}

/**
 * FindCoordinator (key 10, v0-4): the broker coordinating a consumer group, by its address on this listener; v4 asks
 * for several groups at once (`coordinator_keys`). The first lookup creates `__consumer_offsets` and is answered
 * COORDINATOR_NOT_AVAILABLE (retriable). Transaction coordinators (key type 1) are not served: Gregor has no
 * transactions, so the answer is INVALID_REQUEST, which a transactional producer reports at once instead of retrying.
 */
import { ErrorCode } from '@gregor/common'
import {
  type FindCoordinatorRequest, type FindCoordinatorResponse, type FindCoordinatorResponseCoordinator, KAFKA_NONE,
  kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf } from './group-errors.js'

const GROUP_KEY_TYPE = 0
/** Bounds the work of one batched request (Kafka has no limit; a thousand groups is far beyond any client's use). */
const coordinatorKeysMax = 1000

export async function handleFindCoordinator (
  api: KafkaGroupApi, request: FindCoordinatorRequest, context: KafkaRequestContext,
): Promise<FindCoordinatorResponse> {
  const batched = context.apiVersion >= 4
  const keys = batched ? request.coordinatorKeys : [request.key]
  const coordinators = await Promise.all(keys.map(async (key, index): Promise<FindCoordinatorResponseCoordinator> => {
    const failed = (code: number, message: string): FindCoordinatorResponseCoordinator =>
      ({ key, nodeId: -1, host: '', port: -1, errorCode: code, errorMessage: message })
    if (request.keyType !== GROUP_KEY_TYPE) {
      return failed(kafkaErrorCode(ErrorCode.INVALID_REQUEST), `key type ${request.keyType} is not served (transactions are not supported)`)
    }
    if (index >= coordinatorKeysMax) return failed(kafkaErrorCode(ErrorCode.INVALID_REQUEST), `at most ${coordinatorKeysMax} keys per request`)
    try {
      const { nodeId, host, port } = await api.findGroupCoordinator(key)
      return { key, nodeId, host, port, errorCode: KAFKA_NONE, errorMessage: null }
    } catch (error) {
      const { code, message } = failureOf(error)
      return failed(code, message)
    }
  }))
  if (batched) {
    return { throttleTimeMs: 0, errorCode: KAFKA_NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators }
  }
  const only = coordinators[0] as FindCoordinatorResponseCoordinator
  return {
    throttleTimeMs: 0, errorCode: only.errorCode, errorMessage: only.errorMessage, nodeId: only.nodeId, host: only.host,
    port: only.port, coordinators: [],
  }
}

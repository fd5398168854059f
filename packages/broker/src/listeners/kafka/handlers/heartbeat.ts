/**
 * Heartbeat (key 12, v0-4): a classic group member stays alive; REBALANCE_IN_PROGRESS tells it to rejoin,
 * ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID that it was fenced.
 */
import type { HeartbeatRequest, HeartbeatResponse } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

export async function handleHeartbeat (api: KafkaGroupApi, request: HeartbeatRequest, _context: KafkaRequestContext): Promise<HeartbeatResponse> {
  try {
    const response = await api.heartbeat({
      groupId: request.groupId, generationId: request.generationId, memberId: request.memberId, groupInstanceId: request.groupInstanceId,
    })
    return { throttleTimeMs: 0, errorCode: kafkaCode(response.errorCode) }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: failureOf(error).code }
  }
}

/**
 * SyncGroup (key 14, v0-4): the leader hands in every member's assignment (opaque bytes); each member gets its own,
 * a follower's answer waiting for the leader's.
 */
import type { SyncGroupRequest, SyncGroupResponse } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

export async function handleSyncGroup (api: KafkaGroupApi, request: SyncGroupRequest, _context: KafkaRequestContext): Promise<SyncGroupResponse> {
  try {
    const response = await api.syncGroup({
      groupId: request.groupId, generationId: request.generationId, memberId: request.memberId,
      groupInstanceId: request.groupInstanceId, assignments: request.assignments,
    })
    return { throttleTimeMs: 0, errorCode: kafkaCode(response.errorCode), assignment: Buffer.from(response.assignment) }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: failureOf(error).code, assignment: Buffer.alloc(0) }
  }
}

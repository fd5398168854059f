/**
 * LeaveGroup (key 13, v0-4): members leave a classic group at once (their partitions move without waiting for the
 * session timeout). v0-2 name one member and answer one error; v3+ name several and answer each.
 */
import { KAFKA_NONE, type LeaveGroupRequest, type LeaveGroupResponse } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

export async function handleLeaveGroup (api: KafkaGroupApi, request: LeaveGroupRequest, context: KafkaRequestContext): Promise<LeaveGroupResponse> {
  const batched = context.apiVersion >= 3
  const members = batched ? request.members : [{ memberId: request.memberId, groupInstanceId: null }]
  try {
    const response = await api.leaveGroup({ groupId: request.groupId, members })
    const answered = response.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: kafkaCode(m.errorCode) }))
    const groupCode = kafkaCode(response.errorCode)
    if (batched) return { throttleTimeMs: 0, errorCode: groupCode, members: answered }
    return { throttleTimeMs: 0, errorCode: groupCode !== KAFKA_NONE ? groupCode : answered[0]?.errorCode ?? KAFKA_NONE, members: [] }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: failureOf(error).code, members: [] }
  }
}

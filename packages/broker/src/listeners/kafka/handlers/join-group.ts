/**
 * JoinGroup (key 11, v0-6): a classic group member joins; the answer may wait for the other members (the join phase).
 * From v4 a member without an id is first given one (MEMBER_ID_REQUIRED) and joins again with it. v0 has no rebalance
 * timeout (-1: the session timeout). Protocol metadata is relayed opaque to the leader.
 */
import {
  type JoinGroupRequest, type JoinGroupResponse, type JoinGroupResponseMember,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { clientHostOf, failureOf, kafkaCode } from './group-errors.js'

export async function handleJoinGroup (api: KafkaGroupApi, request: JoinGroupRequest, context: KafkaRequestContext): Promise<JoinGroupResponse> {
  try {
    const response = await api.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      protocolType: request.protocolType,
      protocols: request.protocols.map(({ name, metadata }) => ({ name, metadata })),
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: context.apiVersion >= 1 ? request.rebalanceTimeoutMs : -1,
      requireKnownMemberId: context.apiVersion >= 4,
      clientId: context.clientId ?? '',
      clientHost: clientHostOf(context.peer),
    })
    return {
      throttleTimeMs: 0,
      errorCode: kafkaCode(response.errorCode),
      generationId: response.generationId,
      protocolName: response.protocolName,
      leader: response.leader,
      memberId: response.memberId,
      members: response.members.map((m): JoinGroupResponseMember => ({ memberId: m.memberId, groupInstanceId: null, metadata: Buffer.from(m.metadata) })),
    }
  } catch (error) {
    return {
      throttleTimeMs: 0, errorCode: failureOf(error).code, generationId: -1, protocolName: '', leader: '', memberId: request.memberId, members: [],
    }
  }
}

/**
 * DescribeGroups (key 15, v0-5): classic groups as Kafka describes them: state, protocol type and chosen protocol,
 * members with client id and host, and (when stable) each member's metadata and assignment bytes. As Kafka answers
 * these versions, a group that does not exist, or is a KIP-848 group, is `Dead` with no error (v6 would say
 * GROUP_ID_NOT_FOUND). Authorized operations are not computed (no ACLs yet).
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import {
  type DescribeGroupsRequest, type DescribeGroupsResponse, type DescribeGroupsResponseDescribedGroup, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf } from './group-errors.js'
import { KAFKA_GROUP_STATE } from './list-groups.js'

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648
const groupsMax = 1000

export async function handleDescribeGroups (api: KafkaGroupApi, request: DescribeGroupsRequest, _context: KafkaRequestContext): Promise<DescribeGroupsResponse> {
  const groups = await Promise.all(request.groups.map(async (groupId, index): Promise<DescribeGroupsResponseDescribedGroup> => {
    const answer = (errorCode: number, groupState: string): DescribeGroupsResponseDescribedGroup => ({
      errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    })
    if (index >= groupsMax) return answer(kafkaErrorCode(ErrorCode.INVALID_REQUEST), '')
    try {
      const group = await api.describeGroup(groupId)
      return {
        errorCode: KAFKA_NONE,
        groupId,
        groupState: KAFKA_GROUP_STATE[group.state],
        protocolType: group.protocolType,
        protocolData: group.protocolName,
        members: group.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: null, clientId: m.clientId, clientHost: m.clientHost,
          memberMetadata: Buffer.from(m.metadata), memberAssignment: Buffer.from(m.assignment),
        })),
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      }
    } catch (error) {
      if (isGregorError(error) && error.code === ErrorCode.GROUP_ID_NOT_FOUND) return answer(KAFKA_NONE, 'Dead')
      return answer(failureOf(error).code, '')
    }
  }))
  return { throttleTimeMs: 0, groups }
}

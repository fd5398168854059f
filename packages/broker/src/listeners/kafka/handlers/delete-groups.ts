/**
 * DeleteGroups (key 42, v0-2): deletes groups without members, with their committed offsets, one answer per group:
 * NON_EMPTY_GROUP while it has members (either type), GROUP_ID_NOT_FOUND when there is none (a group named twice is
 * deleted once, then not found), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this broker does not coordinate
 * it now (the client asks the group's coordinator), INVALID_GROUP_ID for an empty id.
 */
import { ErrorCode } from '@gregor/common'
import { type DeleteGroupsRequest, type DeleteGroupsResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

const groupsMax = 1000

export async function handleDeleteGroups (api: KafkaGroupApi, request: DeleteGroupsRequest, _context: KafkaRequestContext): Promise<DeleteGroupsResponse> {
  const results = await Promise.all(request.groupsNames.map(async (groupId, index) => {
    if (index >= groupsMax) return { groupId, errorCode: kafkaErrorCode(ErrorCode.INVALID_REQUEST) }
    try {
      const result = await api.deleteGroup(groupId)
      return { groupId, errorCode: kafkaCode(result.errorCode as ErrorCode | '') }
    } catch (error) {
      return { groupId, errorCode: failureOf(error).code }
    }
  }))
  return { throttleTimeMs: 0, results }
}

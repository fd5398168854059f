/**
 * ConsumerGroupDescribe (key 69, v0): KIP-848 consumer groups as the coordinator describes them: group and
 * assignment epochs, the assignor, and each member with its subscription, current and target assignment (topics by id
 * and name). A group that does not exist, or is a classic group, is GROUP_ID_NOT_FOUND (as Kafka answers; classic
 * groups are described by DescribeGroups). A topic deleted since it was assigned keeps its name with the zero id.
 * Authorized operations are not computed (no ACLs yet).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { DescribedMember, TopicPartitions } from '@gregor/coordinator'
import {
  type ConsumerGroupDescribeAssignedPartitions, type ConsumerGroupDescribeGroup, type ConsumerGroupDescribeMember,
  type ConsumerGroupDescribeRequest, type ConsumerGroupDescribeResponse, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf } from './group-errors.js'
import { kafkaTopicId } from './kafka-topic-id.js'
import { KAFKA_GROUP_STATE } from './list-groups.js'

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648
const groupsMax = 1000

function described (api: KafkaGroupApi, list: readonly TopicPartitions[]): ConsumerGroupDescribeAssignedPartitions[] {
  return list.map(({ topic, partitions }) => ({ topicId: kafkaTopicId(api.topicId(topic)), topicName: topic, partitions }))
}

function member (api: KafkaGroupApi, m: DescribedMember): ConsumerGroupDescribeMember {
  return {
    memberId: m.memberId,
    instanceId: m.instanceId === '' ? null : m.instanceId,
    rackId: m.rackId === '' ? null : m.rackId,
    memberEpoch: m.memberEpoch,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex === '' ? null : m.subscribedTopicRegex,
    assignment: { topicPartitions: described(api, m.assignment) },
    targetAssignment: { topicPartitions: described(api, m.targetAssignment) },
  }
}

export async function handleConsumerGroupDescribe (
  api: KafkaGroupApi, request: ConsumerGroupDescribeRequest, _context: KafkaRequestContext,
): Promise<ConsumerGroupDescribeResponse> {
  const groups = await Promise.all(request.groupIds.map(async (groupId, index): Promise<ConsumerGroupDescribeGroup> => {
    const failed = (errorCode: number, errorMessage: string): ConsumerGroupDescribeGroup => ({
      errorCode, errorMessage, groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [],
      authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    })
    if (index >= groupsMax) return failed(kafkaErrorCode(ErrorCode.INVALID_REQUEST), `at most ${groupsMax} groups per request`)
    try {
      const group = await api.describeConsumerGroup(groupId)
      if (group.groupType !== 'consumer') throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} is not a consumer group`)
      return {
        errorCode: KAFKA_NONE,
        errorMessage: null,
        groupId,
        groupState: KAFKA_GROUP_STATE[group.state],
        groupEpoch: group.groupEpoch,
        assignmentEpoch: group.assignmentEpoch,
        assignorName: group.assignorName,
        members: group.members.map((m) => member(api, m)),
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      }
    } catch (error) {
      const failure = failureOf(error)
      return failed(failure.code, failure.message)
    }
  }))
  return { throttleTimeMs: 0, groups }
}

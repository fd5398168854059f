/**
 * Metadata (key 3): brokers (their address on this listener), cluster id, controller id, and topics with their
 * partitions' leader, leader epoch, replicas, ISR and offline replicas.
 *
 * Kafka's rules kept here (KafkaApis.handleTopicMetadataRequest, KRaftMetadataCache): a null topic list means every
 * topic, an empty one none; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, or, when the request allows auto-creation
 * and the broker enables it, its creation is started and the answer is LEADER_NOT_AVAILABLE (the client asks again);
 * an illegal name is INVALID_TOPIC_EXCEPTION either way. Internal (`__`) topics are never auto-created: the group
 * coordinator creates `__consumer_offsets` itself. A partition without a leader has leader -1 and
 * LEADER_NOT_AVAILABLE. Authorized operations are not computed (no ACLs yet): INT32_MIN, Kafka's "not provided".
 */
import { ErrorCode } from '@gregor/common'
import {
  KAFKA_NONE, type MetadataRequest, type MetadataResponse, type MetadataResponsePartition, type MetadataResponseTopic,
  kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { isInternalTopicName, topicNameProblem } from '@gregor/metadata'
import type { KafkaMetadataApi, TopicMetadata } from '../kafka-broker-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

/** Kafka's "authorized operations not provided". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

export function handleMetadata (api: KafkaMetadataApi, request: MetadataRequest, _context: KafkaRequestContext): MetadataResponse {
  const names = request.topics === null ? api.topicNames() : [...new Set(request.topics.map((topic) => topic.name))]
  const topics = names.map((name): MetadataResponseTopic => {
    const topic = api.topic(name)
    if (topic !== undefined) return topicResponse(topic)
    if (topicNameProblem(name) !== undefined) return errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION)
    if (request.allowAutoTopicCreation && api.autoCreateTopicsEnable() && !isInternalTopicName(name)) {
      api.createTopic(name)
      return errorTopic(name, ErrorCode.LEADER_NOT_AVAILABLE)
    }
    return errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })
  return {
    throttleTimeMs: 0,
    brokers: api.brokers().map(({ brokerId, host, port, rack }) => ({ nodeId: brokerId, host, port, rack })),
    clusterId: api.clusterId,
    controllerId: api.controllerId(),
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  }
}

function topicResponse (topic: TopicMetadata): MetadataResponseTopic {
  return {
    errorCode: KAFKA_NONE, name: topic.name, isInternal: topic.internal, topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    partitions: topic.partitions.map((partition): MetadataResponsePartition => ({
      errorCode: partition.leaderId === -1 ? kafkaErrorCode(ErrorCode.LEADER_NOT_AVAILABLE) : KAFKA_NONE,
      partitionIndex: partition.partition,
      leaderId: partition.leaderId,
      leaderEpoch: partition.leaderEpoch,
      replicaNodes: partition.replicas,
      isrNodes: partition.isr,
      offlineReplicas: partition.offlineReplicas,
    })),
  }
}

function errorTopic (name: string, code: ErrorCode): MetadataResponseTopic {
  return { errorCode: kafkaErrorCode(code), name, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED }
}

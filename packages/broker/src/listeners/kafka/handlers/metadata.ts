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
 * v10+ answers each topic's id (KIP-848 clients map ConsumerGroupHeartbeat's topic ids with it); v12 lets a request
 * name a topic by id only (name null): an unknown id is UNKNOWN_TOPIC_ID with a null name, never auto-created. Below
 * v12 a topic without a name is INVALID_REQUEST.
 */
import { ErrorCode } from '@gregor/common'
import {
  KAFKA_NONE, type MetadataRequest, type MetadataResponse, type MetadataResponsePartition, type MetadataResponseTopic,
  kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { isInternalTopicName, topicNameProblem } from '@gregor/metadata'
import type { KafkaMetadataApi, TopicMetadata } from '../kafka-broker-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { ZERO_UUID, kafkaTopicId } from './kafka-topic-id.js'

/** Kafka's "authorized operations not provided". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

export function handleMetadata (api: KafkaMetadataApi, request: MetadataRequest, context: KafkaRequestContext): MetadataResponse {
  const byId = (request.topics ?? []).filter((topic) => topic.name === null)
  const names = request.topics === null ? api.topicNames() : [...new Set(request.topics.flatMap((topic) => topic.name ?? []))]
  const named = names.map((name): MetadataResponseTopic => {
    const topic = api.topic(name)
    if (topic !== undefined) return topicResponse(topic)
    if (topicNameProblem(name) !== undefined) return errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION)
    if (request.allowAutoTopicCreation && api.autoCreateTopicsEnable() && !isInternalTopicName(name)) {
      api.createTopic(name)
      return errorTopic(name, ErrorCode.LEADER_NOT_AVAILABLE)
    }
    return errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })
  const topics = byId.length === 0 ? named : [...named, ...topicsById(api, byId.map((topic) => topic.topicId), context.apiVersion)]
  return {
    throttleTimeMs: 0,
    brokers: api.brokers().map(({ brokerId, host, port, rack }) => ({ nodeId: brokerId, host, port, rack })),
    clusterId: api.clusterId,
    controllerId: api.controllerId(),
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  }
}

/** Topics a v12 request names by id only (a by-id lookup scans the topics: such requests are rare). */
function topicsById (api: KafkaMetadataApi, topicIds: readonly string[], apiVersion: number): MetadataResponseTopic[] {
  if (apiVersion < 12) return [errorTopic('', ErrorCode.INVALID_REQUEST)]
  const byId = new Map<string, TopicMetadata>()
  for (const name of api.topicNames()) {
    const topic = api.topic(name)
    if (topic !== undefined) byId.set(topic.topicId, topic)
  }
  return [...new Set(topicIds)].map((topicId) => {
    const topic = byId.get(topicId)
    return topic === undefined ? { ...errorTopic(null, ErrorCode.UNKNOWN_TOPIC_ID), topicId } : topicResponse(topic)
  })
}

function topicResponse (topic: TopicMetadata): MetadataResponseTopic {
  return {
    errorCode: KAFKA_NONE, name: topic.name, topicId: kafkaTopicId(topic.topicId), isInternal: topic.internal, topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
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

export function errorTopic (name: string | null, code: ErrorCode): MetadataResponseTopic {
  return { errorCode: kafkaErrorCode(code), name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED }
}

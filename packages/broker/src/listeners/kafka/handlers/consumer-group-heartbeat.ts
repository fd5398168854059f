/**
 * ConsumerGroupHeartbeat (key 68, v0-1): KIP-848's consumer group protocol, served by the same coordinator as the
 * gRPC GroupService. One heartbeat joins (member epoch 0), keeps, or leaves (-1) a group; the coordinator assigns.
 *
 * Owns the Kafka side of the mapping: topics are named by id on this wire (owned partitions of a topic id the broker
 * does not know are dropped, as that topic is gone; an assigned topic that is gone is left out of the answer); Kafka's
 * nulls mean "unchanged since the member's previous heartbeat" and are passed on as such; rebalance timeout -1 means
 * unchanged. Kafka's request checks that the coordinator does not make are made here (INVALID_REQUEST): v1+ members
 * name themselves (KIP-1082), a join gives its rebalance timeout and owns nothing, group, instance and rack ids are
 * never blank. Static membership (an instance id, epoch -2) is refused by the coordinator with INVALID_REQUEST.
 *
 * The answer always carries the member's whole assignment (Kafka may leave it out when unchanged; clients diff it).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { HeartbeatRequest as DomainHeartbeat, TopicPartitions } from '@gregor/coordinator'
import { KAFKA_NONE, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { clientHostOf, failureOf } from './group-errors.js'
import { ZERO_UUID, kafkaTopicId } from './kafka-topic-id.js'

const LEAVE_GROUP_MEMBER_EPOCH = -1
/** Kafka's "unchanged" rebalance timeout. */
const UNCHANGED_TIMEOUT_MS = -1

function invalid (message: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message)
}

/** Blank as Kafka means it: present, and nothing but white space. */
const blank = (value: string | null): boolean => value !== null && value.trim() === ''

/** Kafka's checks of the request that the coordinator's decision does not make; throws INVALID_REQUEST. */
function checkKafkaRequest (request: ConsumerGroupHeartbeatRequest, apiVersion: number): void {
  if (apiVersion >= 1 && blank(request.memberId)) throw invalid('MemberId can\'t be empty.')
  if (blank(request.groupId)) throw invalid('GroupId can\'t be empty.')
  if (blank(request.instanceId)) throw invalid('InstanceId can\'t be empty.')
  if (blank(request.rackId)) throw invalid('RackId can\'t be empty.')
  if (request.memberEpoch === 0) {
    if (request.rebalanceTimeoutMs === UNCHANGED_TIMEOUT_MS) throw invalid('RebalanceTimeoutMs must be provided in first request.')
    if (request.topicPartitions === null || request.topicPartitions.length > 0) throw invalid('TopicPartitions must be empty when (re-)joining.')
  }
}

/** Owned partitions by topic name; topic ids the broker does not know are dropped. */
function ownedByName (api: KafkaGroupApi, owned: ConsumerGroupHeartbeatRequest['topicPartitions']): TopicPartitions[] | null {
  if (owned === null) return null
  const byName = new Map<string, Set<number>>()
  for (const { topicId, partitions } of owned) {
    const name = api.topicName(topicId)
    if (name === undefined) continue
    const set = byName.get(name) ?? new Set<number>()
    for (const partition of partitions) set.add(partition)
    byName.set(name, set)
  }
  return [...byName].map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }))
}

export async function handleConsumerGroupHeartbeat (
  api: KafkaGroupApi, request: ConsumerGroupHeartbeatRequest, context: KafkaRequestContext,
): Promise<ConsumerGroupHeartbeatResponse> {
  try {
    checkKafkaRequest(request, context.apiVersion)
    const domain: DomainHeartbeat = {
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId ?? '',
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs === UNCHANGED_TIMEOUT_MS ? 0 : request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: request.subscribedTopicRegex,
      serverAssignor: request.serverAssignor,
      ownedPartitions: ownedByName(api, request.topicPartitions),
      clientId: context.clientId ?? '',
      clientHost: clientHostOf(context.peer),
    }
    const response = await api.consumerGroupHeartbeat(domain)
    const left = response.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH
    return {
      throttleTimeMs: 0,
      errorCode: KAFKA_NONE,
      errorMessage: null,
      memberId: response.memberId,
      memberEpoch: response.memberEpoch,
      heartbeatIntervalMs: response.heartbeatIntervalMs,
      assignment: left
        ? null
        : {
            topicPartitions: response.assignment.flatMap(({ topic, partitions }) => {
              const topicId = kafkaTopicId(api.topicId(topic))
              return topicId === ZERO_UUID ? [] : [{ topicId, partitions }]
            }),
          },
    }
  } catch (error) {
    const failure = failureOf(error)
    return {
      throttleTimeMs: 0, errorCode: failure.code, errorMessage: failure.message, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null,
    }
  }
}

/**
 * Fetch (key 1, versions 4-13): consumers read stored RecordBatch v2 bytes below each partition's high watermark,
 * long-polling up to `max_wait_ms` for `min_bytes`, within `max_bytes` and each partition's `partition_max_bytes`
 * (the first batch comes whole even when larger, KIP-74), fenced by the partition's current leader epoch (KIP-320).
 *
 * Kafka's rules kept here: this broker keeps no fetch sessions (KIP-227), so every request is read as a full fetch of
 * the partitions it lists and answered with session id 0, which tells the client to keep sending full fetches;
 * forgotten topics are therefore moot. Without transactions, read_committed reads what read_uncommitted reads, the last
 * stable offset is the high watermark and no transaction was aborted (an empty list under read_committed, null
 * otherwise, as Kafka answers). No preferred read replica (-1, KIP-392) and no diverging epoch (followers fetch
 * over gRPC). Answers list the request's topics and partitions in its order. v13 names topics by id: a topic id this
 * broker does not know is UNKNOWN_TOPIC_ID for each of its partitions.
 */
import { ErrorCode } from '@gregor/common'
import {
  type FetchRequest, type FetchResponse, type FetchResponsePartitionData, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi } from '../kafka-data-api.js'
import { asBuffer, flattenByTopic, regroupByTopic } from './by-topic.js'

const READ_COMMITTED = 1
const NO_SESSION = 0
const NO_PREFERRED_READ_REPLICA = -1

type FetchTopic = FetchRequest['topics'][number]

export async function handleFetch (api: KafkaDataApi, request: FetchRequest, context: KafkaRequestContext): Promise<FetchResponse> {
  const byId = context.apiVersion >= 13
  // Each topic with its name; by id (v13+), one this broker does not know has none and is not fetched.
  const named = request.topics.map((topic) => ({ topic, name: byId ? api.topicName(topic.topicId) : topic.topic }))
  const known = named.filter((item): item is { topic: FetchTopic, name: string } => item.name !== undefined)
  const partitionsOf = (item: { topic: FetchTopic }): FetchTopic['partitions'] => item.topic.partitions
  const partitions = flattenByTopic(known, partitionsOf, ({ name }, p) => ({
    topic: name, partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
  }))
  const outcomes = await api.fetch({ maxWaitMs: request.maxWaitMs, minBytes: request.minBytes, maxBytes: request.maxBytes, partitions })
  const abortedTransactions = request.isolationLevel === READ_COMMITTED ? [] : null
  const answered = new Map(regroupByTopic(known, partitionsOf, outcomes, ({ topic }, answers) => [topic, answers] as const))
  return {
    throttleTimeMs: 0,
    errorCode: KAFKA_NONE,
    sessionId: NO_SESSION,
    responses: request.topics.map((topic) => ({
      topic: topic.topic,
      topicId: topic.topicId,
      partitions: answered.get(topic)?.map((answer): FetchResponsePartitionData => ({
        partitionIndex: answer.partition,
        errorCode: answer.errorCode === null ? KAFKA_NONE : kafkaErrorCode(answer.errorCode),
        highWatermark: answer.highWatermark,
        lastStableOffset: answer.highWatermark,
        logStartOffset: answer.logStartOffset,
        divergingEpoch: null,
        currentLeader: null,
        snapshotId: null,
        abortedTransactions,
        preferredReadReplica: NO_PREFERRED_READ_REPLICA,
        records: asBuffer(answer.records),
      })) ?? topic.partitions.map((p) => unknownTopicId(p.partition, abortedTransactions)),
    })),
  }
}

function unknownTopicId (partitionIndex: number, abortedTransactions: FetchResponsePartitionData['abortedTransactions']): FetchResponsePartitionData {
  return {
    partitionIndex, errorCode: kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_ID), highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
    divergingEpoch: null, currentLeader: null, snapshotId: null, abortedTransactions, preferredReadReplica: NO_PREFERRED_READ_REPLICA,
    records: null,
  }
}

/**
 * Fetch (key 1, versions 4-12): consumers read stored RecordBatch v2 bytes below each partition's high watermark,
 * long-polling up to `max_wait_ms` for `min_bytes`, within `max_bytes` and each partition's `partition_max_bytes`
 * (the first batch comes whole even when larger, KIP-74), fenced by the partition's current leader epoch (KIP-320).
 *
 * Kafka's rules kept here: this broker keeps no fetch sessions (KIP-227), so every request is read as a full fetch of
 * the partitions it lists and answered with session id 0, which tells the client to keep sending full fetches;
 * forgotten topics are therefore moot. Without transactions, read_committed reads what read_uncommitted reads, the last
 * stable offset is the high watermark and no transaction was aborted (an empty list under read_committed, null
 * otherwise, as Kafka answers). No preferred read replica (-1, KIP-392) and no diverging epoch (followers fetch
 * over gRPC). Answers list the request's topics and partitions in its order.
 */
import {
  type FetchRequest, type FetchResponse, type FetchResponsePartitionData, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi } from '../kafka-data-api.js'
import { asBuffer, flattenByTopic, regroupByTopic } from './by-topic.js'

const READ_COMMITTED = 1
const NO_SESSION = 0
const NO_PREFERRED_READ_REPLICA = -1

export async function handleFetch (api: KafkaDataApi, request: FetchRequest, _context: KafkaRequestContext): Promise<FetchResponse> {
  const partitionsOf = (topic: FetchRequest['topics'][number]): FetchRequest['topics'][number]['partitions'] => topic.partitions
  const partitions = flattenByTopic(request.topics, partitionsOf, (topic, p) => ({
    topic: topic.topic, partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
  }))
  const outcomes = await api.fetch({ maxWaitMs: request.maxWaitMs, minBytes: request.minBytes, maxBytes: request.maxBytes, partitions })
  const abortedTransactions = request.isolationLevel === READ_COMMITTED ? [] : null
  return {
    throttleTimeMs: 0,
    errorCode: KAFKA_NONE,
    sessionId: NO_SESSION,
    responses: regroupByTopic(request.topics, partitionsOf, outcomes, (topic, answers) => ({
      topic: topic.topic,
      partitions: answers.map((answer): FetchResponsePartitionData => ({
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
      })),
    })),
  }
}

/**
 * ListOffsets (key 2, versions 1-7): per partition, the earliest offset (-2), the latest (-1: the high watermark),
 * the first offset whose timestamp is at least a given time, or the first that carries the log's largest timestamp
 * (-3, KIP-734), with the leader epoch that wrote it; fenced by the partition's current leader epoch (KIP-320).
 *
 * Kafka's rules kept here: only committed data counts (no offset at or past the high watermark is answered: -1);
 * timestamps are matched per batch (the batch's base offset and largest timestamp), as Kafka's index lookup does.
 * Isolation level changes nothing (no transactions: the last stable offset is the high watermark). Answers list the
 * request's topics and partitions in its order.
 */
import { KAFKA_NONE, type ListOffsetsRequest, type ListOffsetsResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi } from '../kafka-data-api.js'
import { flattenByTopic, regroupByTopic } from './by-topic.js'

export async function handleListOffsets (api: KafkaDataApi, request: ListOffsetsRequest, _context: KafkaRequestContext): Promise<ListOffsetsResponse> {
  const partitionsOf = (topic: ListOffsetsRequest['topics'][number]): ListOffsetsRequest['topics'][number]['partitions'] => topic.partitions
  const outcomes = await api.listOffsets(flattenByTopic(request.topics, partitionsOf, (topic, p) => ({
    topic: topic.name, partition: p.partitionIndex, timestamp: p.timestamp, currentLeaderEpoch: p.currentLeaderEpoch,
  })))
  return {
    throttleTimeMs: 0,
    topics: regroupByTopic(request.topics, partitionsOf, outcomes, (topic, answers) => ({
      name: topic.name,
      partitions: answers.map((answer) => ({
        partitionIndex: answer.partition,
        errorCode: answer.errorCode === null ? KAFKA_NONE : kafkaErrorCode(answer.errorCode),
        timestamp: answer.timestamp,
        offset: answer.offset,
        leaderEpoch: answer.leaderEpoch,
      })),
    })),
  }
}

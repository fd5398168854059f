/**
 * OffsetForLeaderEpoch (key 23, versions 2-4): per partition, the largest leader epoch at most the one asked for that
 * the leader's log knows and where it ends (the log end for the current epoch), so a consumer can tell whether the
 * log it read from was truncated under it (KIP-320); fenced by the partition's current leader epoch.
 *
 * Kafka's rules kept here: only the leader answers (consumers ask the leader; followers of Gregor ask over gRPC); an
 * epoch newer than every one the log knows answers UNDEFINED_EPOCH (-1) and UNDEFINED_EPOCH_OFFSET (-1) without
 * error. Answers list the request's topics and partitions in its order.
 */
import { KAFKA_NONE, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaDataApi } from '../kafka-data-api.js'
import { flattenByTopic, regroupByTopic } from './by-topic.js'

export async function handleOffsetForLeaderEpoch (
  api: KafkaDataApi, request: OffsetForLeaderEpochRequest, _context: KafkaRequestContext,
): Promise<OffsetForLeaderEpochResponse> {
  const partitionsOf = (topic: OffsetForLeaderEpochRequest['topics'][number]): OffsetForLeaderEpochRequest['topics'][number]['partitions'] => topic.partitions
  const outcomes = await api.offsetForLeaderEpoch(flattenByTopic(request.topics, partitionsOf, (topic, p) => ({
    topic: topic.topic, partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch, leaderEpoch: p.leaderEpoch,
  })))
  return {
    throttleTimeMs: 0,
    topics: regroupByTopic(request.topics, partitionsOf, outcomes, (topic, answers) => ({
      topic: topic.topic,
      partitions: answers.map((answer) => ({
        errorCode: answer.errorCode === null ? KAFKA_NONE : kafkaErrorCode(answer.errorCode),
        partition: answer.partition,
        leaderEpoch: answer.leaderEpoch,
        endOffset: answer.endOffset,
      })),
    })),
  }
}

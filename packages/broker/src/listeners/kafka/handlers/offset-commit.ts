/**
 * OffsetCommit (key 8, v2-8): committed offsets for a classic group member at its generation, a KIP-848 member at its
 * epoch, or anyone with generation -1 while the group has no members ("simple" commits, as Kafka allows; they create
 * a group holding only offsets). A group-level failure is every partition's error. As Kafka does before v9, a member
 * commit to a group that does not exist is ILLEGAL_GENERATION (not GROUP_ID_NOT_FOUND, which these clients do not
 * know). `retention_time_ms` (v2-4) is ignored, as Kafka ignores it: offsets.retention.minutes applies.
 */
import { ErrorCode } from '@gregor/common'
import { type OffsetCommitRequest, type OffsetCommitResponse, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf, kafkaCode } from './group-errors.js'

/** Bounds one request's partitions (each is a record to write). */
const partitionsMax = 100_000

export async function handleOffsetCommit (api: KafkaGroupApi, request: OffsetCommitRequest, _context: KafkaRequestContext): Promise<OffsetCommitResponse> {
  const partitions = request.topics.flatMap((topic) => topic.partitions.map((p) => ({
    topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch,
    metadata: p.committedMetadata ?? '',
  })))
  let codeOf: (topic: string, partition: number) => number
  if (partitions.length > partitionsMax) {
    codeOf = () => kafkaErrorCode(ErrorCode.INVALID_REQUEST)
  } else {
    try {
      const response = await api.commitOffsets({
        groupId: request.groupId, memberId: request.memberId, memberEpoch: request.generationIdOrMemberEpoch, partitions,
      })
      const codes = new Map(response.partitions.map((p) => [`${p.topic}\u0000${p.partition}`, kafkaCode(p.errorCode as ErrorCode | '')]))
      codeOf = (topic, partition) => codes.get(`${topic}\u0000${partition}`) ?? kafkaErrorCode(ErrorCode.UNKNOWN_SERVER_ERROR)
    } catch (error) {
      const failure = failureOf(error)
      const code = failure.gregorCode === ErrorCode.GROUP_ID_NOT_FOUND ? kafkaErrorCode(ErrorCode.ILLEGAL_GENERATION) : failure.code
      codeOf = () => code
    }
  }
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codeOf(topic.name, p.partitionIndex) })),
    })),
  }
}

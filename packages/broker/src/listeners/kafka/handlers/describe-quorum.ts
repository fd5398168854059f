/**
 * DescribeQuorum (key 55, v0-2): the metadata quorum (Kafka's `__cluster_metadata` partition 0) for
 * `kafka-metadata-quorum describe --status`: leader, epoch (the raft term), high watermark (the commit index) and the
 * voters. Offsets are raft log indexes. The raft leader answers every voter's matched index (what
 * `kafka-metadata-quorum describe --replication` shows as lag); a follower knows only its own log end, the others are
 * -1 (Kafka forwards the request to the active controller; Gregor answers locally). Fetch timestamps are not tracked
 * (-1), and there are no observers (every broker votes).
 *
 * Kafka's rules kept here: a request for any other topic or partition is UNKNOWN_TOPIC_OR_PARTITION for that
 * partition; v2 lists no node endpoints (the raft listener is not a Kafka listener).
 */
import { ErrorCode } from '@gregor/common'
import { type DescribeQuorumPartition, type DescribeQuorumRequest, type DescribeQuorumResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaAdminApi } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

export const METADATA_TOPIC = '__cluster_metadata'
const NO_DIRECTORY_ID = '00000000-0000-0000-0000-000000000000'

export function handleDescribeQuorum (api: KafkaAdminApi, request: DescribeQuorumRequest, _context: KafkaRequestContext): DescribeQuorumResponse {
  const topics = request.topics.map((topic) => ({
    topicName: topic.topicName,
    partitions: topic.partitions.map(({ partitionIndex }): DescribeQuorumPartition => {
      const base = { partitionIndex, errorMessage: null, currentVoters: [], observers: [], leaderId: -1, leaderEpoch: -1, highWatermark: -1 }
      if (topic.topicName !== METADATA_TOPIC || partitionIndex !== 0) {
        return { ...base, errorCode: kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), errorMessage: `only ${METADATA_TOPIC}-0 has a quorum` }
      }
      const quorum = api.describeQuorum()
      return {
        ...base, errorCode: KAFKA_NONE, leaderId: quorum.leaderId, leaderEpoch: quorum.leaderEpoch, highWatermark: quorum.highWatermark,
        currentVoters: quorum.voters.map(({ replicaId, logEndOffset }) => ({
          replicaId, replicaDirectoryId: NO_DIRECTORY_ID, logEndOffset, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1,
        })),
      }
    }),
  }))
  return { errorCode: KAFKA_NONE, errorMessage: null, topics, nodes: [] }
}

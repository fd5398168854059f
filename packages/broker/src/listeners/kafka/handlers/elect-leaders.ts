/**
 * ElectLeaders (key 43, v0-2): preferred-leader elections (`kafka-leader-election --election-type PREFERRED`), for
 * the named partitions or, with a null list, every partition. Unclean elections (type 1) are not served: every named
 * partition answers INVALID_REQUEST, saying so (Gregor elects from the ISR and ELR only), and so does the top level.
 *
 * Per partition, Kafka's codes: NONE when elected, ELECTION_NOT_NEEDED (84) when the preferred replica already leads,
 * PREFERRED_LEADER_NOT_AVAILABLE (80) when it is not in the ISR or not live, UNKNOWN_TOPIC_OR_PARTITION. With a null
 * list only the partitions that were elected or failed are listed, as Kafka does. A request that could not reach the
 * controller fails at the top level (v1+) and each named partition with that error.
 */
import { ErrorCode } from '@gregor/common'
import {
  type ElectLeadersPartitionResult, type ElectLeadersRequest, type ElectLeadersResponse, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { type AdminFailure, type ElectionOutcome, type KafkaAdminApi, type PartitionReference, isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

const PREFERRED = 0
const KAFKA_ELECTION_NOT_NEEDED = 84
const KAFKA_PREFERRED_LEADER_NOT_AVAILABLE = 80

function partitionResult (partitionId: number, outcome: ElectionOutcome | AdminFailure): ElectLeadersPartitionResult {
  if (typeof outcome !== 'string') return { partitionId, errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message }
  switch (outcome) {
    case 'elected': return { partitionId, errorCode: KAFKA_NONE, errorMessage: null }
    case 'election-not-needed': return { partitionId, errorCode: KAFKA_ELECTION_NOT_NEEDED, errorMessage: 'the preferred replica already leads' }
    case 'preferred-leader-not-available':
      return { partitionId, errorCode: KAFKA_PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'the preferred replica is not in the ISR or not live' }
    case 'unknown-topic-or-partition':
      return { partitionId, errorCode: kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), errorMessage: 'no such partition' }
  }
}

export async function handleElectLeaders (api: KafkaAdminApi, request: ElectLeadersRequest, _context: KafkaRequestContext): Promise<ElectLeadersResponse> {
  const named = request.topicPartitions === null
    ? null
    : request.topicPartitions.flatMap(({ topic, partitions }) => partitions.map((partition): PartitionReference => ({ topic, partition })))
  const result = request.electionType === PREFERRED
    ? await api.electPreferredLeaders(named)
    : { error: ErrorCode.INVALID_REQUEST, message: `election type ${request.electionType} is not served: only preferred (0)` }
  let outcomes: readonly (PartitionReference & { readonly outcome: ElectionOutcome | AdminFailure })[]
  if (isAdminFailure(result)) outcomes = (named ?? []).map((reference) => ({ ...reference, outcome: result }))
  else outcomes = named === null ? result.filter(({ outcome }) => outcome !== 'election-not-needed') : result
  const byTopic = new Map<string, ElectLeadersPartitionResult[]>()
  for (const { topic, partition, outcome } of outcomes) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partitionResult(partition, outcome)])
  return {
    throttleTimeMs: 0,
    errorCode: isAdminFailure(result) ? kafkaErrorCode(result.error) : KAFKA_NONE,
    replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })),
  }
}

/**
 * Kafka-named error codes shared by every package and carried on the wire.
 *
 * Owns: the closed set of codes and whether each is retriable by default. A code means the same thing everywhere
 * (client, broker, wire); where Kafka has the concept we use Kafka's name so its semantics come with it.
 */
export const ErrorCode = {
  NOT_LEADER_OR_FOLLOWER: 'NOT_LEADER_OR_FOLLOWER',
  LEADER_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  FENCED_LEADER_EPOCH: 'FENCED_LEADER_EPOCH',
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  OFFSET_NOT_AVAILABLE: 'OFFSET_NOT_AVAILABLE',
  NOT_ENOUGH_REPLICAS: 'NOT_ENOUGH_REPLICAS',
  REQUEST_TIMED_OUT: 'REQUEST_TIMED_OUT',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  CORRUPT_MESSAGE: 'CORRUPT_MESSAGE',
  INVALID_REPLICATION_FACTOR: 'INVALID_REPLICATION_FACTOR',
  INVALID_TOPIC: 'INVALID_TOPIC',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  NOT_CONTROLLER: 'NOT_CONTROLLER',
  PROPOSAL_DROPPED: 'PROPOSAL_DROPPED',
  KAFKA_STORAGE_ERROR: 'KAFKA_STORAGE_ERROR',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_REQUEST: 'INVALID_REQUEST',
  OUT_OF_ORDER_SEQUENCE_NUMBER: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  INCONSISTENT_CLUSTER_ID: 'INCONSISTENT_CLUSTER_ID',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  UNKNOWN_SERVER_ERROR: 'UNKNOWN_SERVER_ERROR',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const retriableByDefault: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.PROPOSAL_DROPPED,
  ErrorCode.SHUTTING_DOWN,
])

/** Whether a client may retry a request that failed with `code` (Kafka's RetriableException set). */
export function isRetriableCode (code: ErrorCode): boolean {
  return retriableByDefault.has(code)
}

/**
 * Gregor's error codes as Kafka's int16 wire codes (the numbering of Kafka's `Errors.java`), for the Kafka listener's
 * answers: a handler that failed with a GregorError puts `kafkaErrorCodeOf(error)` in the error field of its response.
 *
 * Owns: the one table from `ErrorCode` names to Kafka numbers. Gregor's codes carry Kafka's names, so most entries are
 * the code of the same name. Gregor-only codes map to the Kafka code a Kafka client treats the same way (retries, or
 * not, and refreshes metadata), said in a comment each; a code without an entry (and anything that is not a
 * GregorError) is UNKNOWN_SERVER_ERROR, -1, which Kafka clients do not retry.
 */
import { ErrorCode, isGregorError } from '@gregor/common'

/** Kafka's "no error". */
export const KAFKA_NONE = 0
/** Kafka's UNKNOWN_SERVER_ERROR: an unexpected failure, not retriable. */
export const KAFKA_UNKNOWN_SERVER_ERROR = -1

const KAFKA_ERROR_CODES: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  [ErrorCode.UNKNOWN_SERVER_ERROR]: -1,
  [ErrorCode.OFFSET_OUT_OF_RANGE]: 1,
  [ErrorCode.CORRUPT_MESSAGE]: 2,
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 3,
  [ErrorCode.LEADER_NOT_AVAILABLE]: 5,
  [ErrorCode.NOT_LEADER_OR_FOLLOWER]: 6,
  [ErrorCode.REQUEST_TIMED_OUT]: 7,
  [ErrorCode.MESSAGE_TOO_LARGE]: 10,
  [ErrorCode.OFFSET_METADATA_TOO_LARGE]: 12,
  [ErrorCode.NETWORK_EXCEPTION]: 13,
  [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]: 14,
  [ErrorCode.COORDINATOR_NOT_AVAILABLE]: 15,
  [ErrorCode.NOT_COORDINATOR]: 16,
  [ErrorCode.INVALID_TOPIC_EXCEPTION]: 17,
  [ErrorCode.NOT_ENOUGH_REPLICAS]: 19,
  [ErrorCode.ILLEGAL_GENERATION]: 22,
  [ErrorCode.INCONSISTENT_GROUP_PROTOCOL]: 23,
  [ErrorCode.INVALID_GROUP_ID]: 24,
  [ErrorCode.UNKNOWN_MEMBER_ID]: 25,
  [ErrorCode.INVALID_SESSION_TIMEOUT]: 26,
  [ErrorCode.REBALANCE_IN_PROGRESS]: 27,
  [ErrorCode.UNSUPPORTED_VERSION]: 35,
  [ErrorCode.TOPIC_ALREADY_EXISTS]: 36,
  [ErrorCode.INVALID_PARTITIONS]: 37,
  [ErrorCode.INVALID_REPLICATION_FACTOR]: 38,
  [ErrorCode.INVALID_CONFIG]: 40,
  [ErrorCode.NOT_CONTROLLER]: 41,
  // A raft proposal dropped by a leadership change (or refused while too many are pending): Kafka's controller fails
  // such an operation with NOT_CONTROLLER, which clients retry after refreshing metadata.
  [ErrorCode.PROPOSAL_DROPPED]: 41,
  [ErrorCode.INVALID_REQUEST]: 42,
  [ErrorCode.POLICY_VIOLATION]: 44,
  [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER]: 45,
  [ErrorCode.INVALID_PRODUCER_EPOCH]: 47,
  [ErrorCode.KAFKA_STORAGE_ERROR]: 56,
  [ErrorCode.NON_EMPTY_GROUP]: 68,
  [ErrorCode.GROUP_ID_NOT_FOUND]: 69,
  [ErrorCode.FENCED_LEADER_EPOCH]: 74,
  [ErrorCode.STALE_BROKER_EPOCH]: 77,
  [ErrorCode.OFFSET_NOT_AVAILABLE]: 78,
  [ErrorCode.MEMBER_ID_REQUIRED]: 79,
  [ErrorCode.GROUP_MAX_SIZE_REACHED]: 81,
  [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]: 86,
  [ErrorCode.UNKNOWN_TOPIC_ID]: 100,
  [ErrorCode.INCONSISTENT_TOPIC_ID]: 103,
  [ErrorCode.INCONSISTENT_CLUSTER_ID]: 104,
  [ErrorCode.INELIGIBLE_REPLICA]: 107,
  [ErrorCode.FENCED_MEMBER_EPOCH]: 110,
  [ErrorCode.UNSUPPORTED_ASSIGNOR]: 112,
  [ErrorCode.STALE_MEMBER_EPOCH]: 113,
  [ErrorCode.INVALID_REGULAR_EXPRESSION]: 128,
  [ErrorCode.UNSUPPORTED_SASL_MECHANISM]: 33,
  [ErrorCode.ILLEGAL_SASL_STATE]: 34,
  [ErrorCode.SASL_AUTHENTICATION_FAILED]: 58,
  [ErrorCode.RESOURCE_NOT_FOUND]: 91,
  [ErrorCode.DUPLICATE_RESOURCE]: 92,
  [ErrorCode.UNACCEPTABLE_CREDENTIAL]: 93,
  [ErrorCode.TOPIC_AUTHORIZATION_FAILED]: 29,
  [ErrorCode.GROUP_AUTHORIZATION_FAILED]: 30,
  [ErrorCode.CLUSTER_AUTHORIZATION_FAILED]: 31,
  [ErrorCode.SECURITY_DISABLED]: 54,
  // SHUTTING_DOWN has no Kafka counterpart (a stopping Kafka broker closes its connections): UNKNOWN_SERVER_ERROR.
})

/** Kafka's wire code for a Gregor code; UNKNOWN_SERVER_ERROR (-1) when Kafka has none. */
export function kafkaErrorCode (code: ErrorCode): number {
  return KAFKA_ERROR_CODES[code] ?? KAFKA_UNKNOWN_SERVER_ERROR
}

/** Kafka's wire code for a caught error: a GregorError's code, anything else UNKNOWN_SERVER_ERROR. */
export function kafkaErrorCodeOf (error: unknown): number {
  return isGregorError(error) ? kafkaErrorCode(error.code) : KAFKA_UNKNOWN_SERVER_ERROR
}

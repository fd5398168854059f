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
  INVALID_TOPIC_EXCEPTION: 'INVALID_TOPIC_EXCEPTION',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  NOT_CONTROLLER: 'NOT_CONTROLLER',
  PROPOSAL_DROPPED: 'PROPOSAL_DROPPED',
  KAFKA_STORAGE_ERROR: 'KAFKA_STORAGE_ERROR',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** A partition count that is not positive, above the limit, or (for an increase) not above the current one (Kafka: code 37). */
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  /** The API version asked for is outside the range the broker serves (Kafka: code 35); ApiVersions answers it in v0. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  OUT_OF_ORDER_SEQUENCE_NUMBER: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  /** A request the broker's configured limits refuse (Kafka: code 44); not retriable: resending does not change it. */
  POLICY_VIOLATION: 'POLICY_VIOLATION',
  INCONSISTENT_CLUSTER_ID: 'INCONSISTENT_CLUSTER_ID',
  /** KIP-516: the request names a topic id this broker does not know (yet, or any more). */
  UNKNOWN_TOPIC_ID: 'UNKNOWN_TOPIC_ID',
  /** KIP-516: the topic name now belongs to another incarnation (deleted and re-created) than the id the request names. */
  INCONSISTENT_TOPIC_ID: 'INCONSISTENT_TOPIC_ID',
  /** KIP-903: a proposed ISR member is fenced, shutting down, offline or has restarted since it was seen caught up. */
  INELIGIBLE_REPLICA: 'INELIGIBLE_REPLICA',
  /** The request comes from a broker incarnation the controller has since replaced. */
  STALE_BROKER_EPOCH: 'STALE_BROKER_EPOCH',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  UNKNOWN_SERVER_ERROR: 'UNKNOWN_SERVER_ERROR',
  /** The connection broke or no answer came before the deadline (Kafka: code 13); the request may or may not have run. */
  NETWORK_EXCEPTION: 'NETWORK_EXCEPTION',
  // Consumer groups (KIP-848 and the group coordinator).
  COORDINATOR_LOAD_IN_PROGRESS: 'COORDINATOR_LOAD_IN_PROGRESS',
  COORDINATOR_NOT_AVAILABLE: 'COORDINATOR_NOT_AVAILABLE',
  NOT_COORDINATOR: 'NOT_COORDINATOR',
  INVALID_GROUP_ID: 'INVALID_GROUP_ID',
  GROUP_ID_NOT_FOUND: 'GROUP_ID_NOT_FOUND',
  NON_EMPTY_GROUP: 'NON_EMPTY_GROUP',
  UNKNOWN_MEMBER_ID: 'UNKNOWN_MEMBER_ID',
  FENCED_MEMBER_EPOCH: 'FENCED_MEMBER_EPOCH',
  STALE_MEMBER_EPOCH: 'STALE_MEMBER_EPOCH',
  GROUP_MAX_SIZE_REACHED: 'GROUP_MAX_SIZE_REACHED',
  UNSUPPORTED_ASSIGNOR: 'UNSUPPORTED_ASSIGNOR',
  INVALID_REGULAR_EXPRESSION: 'INVALID_REGULAR_EXPRESSION',
  GROUP_SUBSCRIBED_TO_TOPIC: 'GROUP_SUBSCRIBED_TO_TOPIC',
  OFFSET_METADATA_TOO_LARGE: 'OFFSET_METADATA_TOO_LARGE',
  INCONSISTENT_GROUP_PROTOCOL: 'INCONSISTENT_GROUP_PROTOCOL',
  // The classic group protocol (JoinGroup/SyncGroup/Heartbeat).
  /** The request's generation is not the group's (Kafka: code 22); the member rejoins. */
  ILLEGAL_GENERATION: 'ILLEGAL_GENERATION',
  /** The session timeout is outside the broker's bounds (Kafka: code 26). */
  INVALID_SESSION_TIMEOUT: 'INVALID_SESSION_TIMEOUT',
  /** The group is rebalancing (Kafka: code 27); the member rejoins. */
  REBALANCE_IN_PROGRESS: 'REBALANCE_IN_PROGRESS',
  /** JoinGroup v4+: the coordinator named the new member; it joins again with that id (Kafka: code 79). */
  MEMBER_ID_REQUIRED: 'MEMBER_ID_REQUIRED',
  // SASL authentication and SCRAM credentials (Kafka: codes 33, 34, 58, 91, 92, 93).
  UNSUPPORTED_SASL_MECHANISM: 'UNSUPPORTED_SASL_MECHANISM',
  ILLEGAL_SASL_STATE: 'ILLEGAL_SASL_STATE',
  SASL_AUTHENTICATION_FAILED: 'SASL_AUTHENTICATION_FAILED',
  RESOURCE_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  DUPLICATE_RESOURCE: 'DUPLICATE_RESOURCE',
  UNACCEPTABLE_CREDENTIAL: 'UNACCEPTABLE_CREDENTIAL',
  // Authorization (Kafka: codes 29, 30, 31, 54); never retriable: the same request is refused again until an ACL changes.
  /** The caller may not do this to the topic, or may not learn that it exists (Kafka: code 29). */
  TOPIC_AUTHORIZATION_FAILED: 'TOPIC_AUTHORIZATION_FAILED',
  GROUP_AUTHORIZATION_FAILED: 'GROUP_AUTHORIZATION_FAILED',
  CLUSTER_AUTHORIZATION_FAILED: 'CLUSTER_AUTHORIZATION_FAILED',
  /** CreateAcls/DescribeAcls/DeleteAcls on a cluster without an authorizer (GREGOR_ACLS_ENABLED off; Kafka: code 54). */
  SECURITY_DISABLED: 'SECURITY_DISABLED',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const retriableByDefault: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
  // Kafka's KafkaStorageException is retriable: the replica's log directory failed, leadership moves elsewhere.
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.PROPOSAL_DROPPED,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.STALE_MEMBER_EPOCH,
])

/** Whether a client may retry a request that failed with `code` (Kafka's RetriableException set). */
export function isRetriableCode (code: ErrorCode): boolean {
  return retriableByDefault.has(code)
}

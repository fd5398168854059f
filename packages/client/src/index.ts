/**
 * @gregor/client: the producer's network-free core so far. Keys are partitioned as Kafka's Java client does
 * (murmur2), keyless records stick to a partition per batch (KIP-480), records are batched per partition into
 * RecordBatch v2 buffers under a memory bound, and retries back off exponentially within a delivery timeout.
 * Over gRPC: `ClusterConnection` (bootstrap, channels, metadata, leader lookup), `Admin`, `Producer` (with its
 * `ProducerSender` loop), and a `Consumer` (its `FetchEngine`, and with a group its KIP-848 `GroupMembership`);
 * consumer group admin in `GroupAdmin` behind `Admin`. `testing/` helpers are not exported here.
 */
export { murmur2, toPositive } from './murmur2.js'
export type { NewBatchEvent, Partitioner, PartitionerInput } from './partitioner.js'
export { createDefaultPartitioner, partitionForKey } from './default-partitioner.js'
export { type PartitionLayout, StickyPartitionCache } from './sticky-partition-cache.js'
export { type Acks, MAX_IN_FLIGHT_PER_PARTITION, type ProducerConfig, defaultProducerConfig, validateProducerConfig } from './producer-config.js'
/** The producer's `compression` choices: every Kafka codec (the consumer reads all of them). */
export { COMPRESSION_NAMES, type CompressionName } from '@gregor/records'
export { type RetryDecision, type RetryInput, RetryPolicy, type RetryPolicyConfig } from './retry-policy.js'
export { type Scheduler, systemClock, systemScheduler, systemWallClock } from './scheduler.js'
export { type AllocationPlan, BatchBufferPool, BufferPool } from './buffer-pool.js'
export {
  checkRecordTimestamp, type RecordField, type RecordFields, type RecordHeadersInput, type RecordPlacement, recordBytes, writeRecordFields,
} from './record-bytes.js'
export { type BatchBuffers, ProducerBatch, type ProducerBatchState, type RecordMetadata, type StampedRecord } from './producer-batch.js'
export {
  abortedForNewBatch,
  type AppendInput,
  type AppendResult,
  type DrainOptions,
  type ReadyCheck,
  RecordAccumulator,
  type RecordAccumulatorConfig,
  type RecordAccumulatorDeps,
  type RecordAppend,
  type TopicPartition,
} from './record-accumulator.js'
export {
  type PartitionAndAppendInput, type PartitionAndAppendResult, RecordRouter, type RoutedMessage, partitionAndAppend,
} from './partition-and-append.js'
export {
  type BrokerConnection, ClusterConnection, type ClusterConnectionConfig, defaultClusterConnectionConfig, parseBootstrapServers,
} from './cluster-connection.js'
export {
  type BrokerInfo, type MetadataSnapshot, type PartitionInfo, type PartitionLeader, type TopicInfo,
  availablePartitions, leaderFor, metadataSnapshot,
} from './metadata-snapshot.js'
export { type GroupedByLeader, type LeaderGroup, groupByLeader } from './group-by-leader.js'
export { isStaleMetadataError, responseError, transportError } from './response-error.js'
export {
  Admin, type AdminDeps, type BrokerDescription, type ClientConfig, type ClusterDescription, type ListedOffset, type NewTopic, type TopicDescription,
  connectionFor,
} from './admin.js'
export {
  type CoordinatorAddress, type GroupCoordinatorInfo, type TopicPartitionList, findCoordinator, findCoordinators, isCoordinatorError,
} from './coordinator-lookup.js'
export {
  type CommittedOffset, type GroupDescription, type GroupLagRow, type GroupMemberDescription, type ListOffsetsSpec, type ListedGroup,
  type OffsetResetInput, type OffsetResetPlanRow, type OffsetResetSpec, GroupAdmin, type GroupAdminDeps, offsetResetPlan,
} from './group-admin.js'
export {
  type AssignedPartition, GroupMembership, type GroupMembershipConfig, type GroupMembershipDeps, type MembershipTarget, type OffsetToCommit,
  type Subscription, defaultGroupMembershipConfig,
} from './group-membership.js'
export { type ConsumerAssignment, FetchEngine, type FetchEngineConfig, type PartitionOffset, type StartOffset } from './fetch-engine.js'
export { type ProduceOutcome, ProducerSender, type ProducerSenderDeps, produceOutcomes, produceRequest } from './producer-sender.js'
export { Producer, type ProducerDeps, type ProducerMessage, type ProducerOptions, type ProducerRecord, recordInput } from './producer.js'
export { type ConsumerMessage, type FetchedRecords, fetchedRecords } from './fetch-records.js'
export { type PartitionFetchPosition, PartitionRecordCursor, PartitionRecords } from './partition-records.js'
export {
  Consumer, type ConsumerBatch, type ConsumerDeps, type ConsumerOptions, type ConsumerRunOptions, type OffsetCommitEntry,
} from './consumer.js'
export { type TlsConfig, readTlsFiles } from '@gregor/protocol'
export { BrokerSession, type SaslConfig } from './broker-session.js'
export { ScramClient } from './scram-client.js'
export { AclAdmin, type AclBinding, type AclFilter } from './acl-admin.js'

/**
 * @gregor/coordinator: Kafka 4's group coordinator (KIP-848 consumer groups), pure.
 *
 * A `GroupCoordinatorShard` holds the groups of one `__consumer_offsets` partition. Its decisions (heartbeat, offset
 * commit/delete/reset, group deletion, the periodic tick) are functions of (replayed state, request, context with the
 * clock and the topics) that return records and a response, or throw a GregorError with a Kafka-named code; the
 * runtime replays the records into the shard (`replay`, the only way group state changes) and writes them to the
 * partition. Records round-trip through `encodeGroupRecord` / `decodeGroupRecord`. Classic groups (JoinGroup/SyncGroup)
 * are the second group type, with in-memory membership (classic-group.ts, classic-group-decisions.ts).
 */
export * from './coordinator-types.js'
export { type AssignorName, type CoordinatorConfig, defaultCoordinatorConfig, resolveCoordinatorConfig } from './coordinator-config.js'
export * from './group-record.js'
export { decodeGroupRecord, encodeGroupRecord } from './group-record-codec.js'
export { CONSUMER_OFFSETS_TOPIC, groupPartition } from './group-partition.js'
export { GroupCoordinatorShard, type GroupCoordinatorShardOptions } from './group-coordinator-shard.js'
export type { ConsumerGroupState } from './group-state.js'
export { checkGroupId } from './consumer-group-heartbeat.js'
export * from './classic-group.js'
export { type ClassicExpiry, type ClassicOutcome, type Delivery } from './classic-group-decisions.js'
export type { ClassicTickOutcome, GroupDelivery } from './group-coordinator-shard.js'
export { assignmentPartitions, subscriptionTopics } from './consumer-protocol.js'

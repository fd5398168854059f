/**
 * @gregor/coordinator: Kafka 4's group coordinator (KIP-848 consumer groups), pure.
 *
 * A `GroupCoordinatorShard` holds the groups of one `__consumer_offsets` partition. Its decisions (heartbeat, offset
 * commit/delete/reset, group deletion, the periodic tick) are functions of (replayed state, request, context with the
 * clock and the topics) that return records and a response, or throw a GregorError with a Kafka-named code; the
 * runtime replays the records into the shard (`replay`, the only way group state changes) and writes them to the
 * partition. Records round-trip through `encodeGroupRecord` / `decodeGroupRecord`.
 */
export * from './coordinator-types.js'
export {
  ASSIGNOR_NAMES, type AssignorName, type CoordinatorConfig, defaultCoordinatorConfig, resolveCoordinatorConfig,
  validateCoordinatorConfig,
} from './coordinator-config.js'
export * from './group-record.js'
export { GROUP_JSON_VALUE_VERSION, OFFSET_COMMIT_VALUE_VERSION, decodeGroupRecord, encodeGroupRecord } from './group-record-codec.js'
export { CONSUMER_OFFSETS_TOPIC, groupPartition, javaStringHashCode, kafkaAbs } from './group-partition.js'
export { GroupCoordinatorShard, type GroupCoordinatorShardOptions, OFFSET_RETENTION_CHECK_INTERVAL_MS } from './group-coordinator-shard.js'
export { ConsumerGroupState } from './group-state.js'
export { type ReconcileInput, reconcileMember } from './current-assignment-builder.js'
export { type Assignor, type AssignorInput, type AssignorMember, assignors, rangeAssign, uniformAssign } from './assignors/index.js'
export {
  type PartitionSet, canonicalTopicPartitions, compareStrings, toPartitionSet, toTopicPartitions,
} from './topic-partitions.js'
export { compileSubscriptionRegex, isInternalTopic } from './subscription.js'

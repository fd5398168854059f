/**
 * The partition log: segments of RecordBatch v2 bytes with sparse offset and time indexes, group-committed appends,
 * zero-copy-ish reads, truncation, retention, the leader-epoch cache, crash recovery and the broker-level offset
 * checkpoints. See partition-log.ts for the model and log-loader.ts for recovery.
 */
export { PartitionLog } from './partition-log.js'
export type { AppendResult, CleanResult, LeaderEpochCacheView, LogReadOptions, LogReadResult, PartitionLogOptions, RetentionResult } from './partition-log.js'
export { defaultLogConfig, logConfigProblems, topicLevelLogConfigKeys, validateLogConfig } from './log-config.js'
export type { FlushPolicy, LogCleanupPolicy, LogConfig, TopicLevelLogConfigKey } from './log-config.js'
export { CLEANER_OFFSET_CHECKPOINT_FILE } from './segment-file-names.js'
export type { CorruptionReport } from './log-loader.js'
export { FileHandleCache } from './file-handle-cache.js'
export { ReadBufferPool, ReadBuffers } from './read-buffer-pool.js'
export type { ReadBufferPoolOptions } from './read-buffer-pool.js'
export type { FileLease } from './file-handle-cache.js'
export { CheckpointFile } from './checkpoint-file.js'
export { replaceFile, writeDurably } from './replace-file.js'
export { fsyncDirectory } from './fsync-directory.js'
export { mkdirDurable } from './mkdir-durable.js'
export { hasErrno } from './storage-error.js'
export type { CheckpointFormat } from './checkpoint-file.js'
export {
  LOG_START_OFFSET_CHECKPOINT_FILE, OffsetCheckpoints, RECOVERY_POINT_CHECKPOINT_FILE, REPLICATION_OFFSET_CHECKPOINT_FILE,
  topicPartitionKey,
} from './offset-checkpoints.js'
export type { TopicPartitionOffset } from './offset-checkpoints.js'
export { LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCache } from './leader-epoch-cache.js'
export type { EpochEntry } from './leader-epoch-cache.js'

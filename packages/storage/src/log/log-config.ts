/**
 * Configuration of a partition log: the type, frozen defaults (Kafka's where Kafka has the setting) and a validator
 * that lists every problem at once.
 *
 * Owns: nothing at run time; `PartitionLog` reads the validated, frozen object it is given. Names put the unit last
 * (`segmentBytes`, `retentionMs`) and limits end in `Max`.
 */
import { ErrorCode, GregorError } from '@gregor/common'

/** When an append counts as durable. */
export type FlushPolicy = 'always' | 'interval' | 'never'

/** Kafka's `cleanup.policy`: delete whole segments by retention, compact by key (log-cleaner.ts), or both. */
export type LogCleanupPolicy = 'delete' | 'compact' | 'compact,delete'

export interface LogConfig {
  /** Roll the active segment before it would exceed this size. Positions in the indexes are int32, hence ≤ 2 GiB-1. */
  readonly segmentBytes: number
  /** Roll a non-empty active segment once it is this old (against the `nowMs` an append passes). */
  readonly segmentMs: number
  /** Bytes of batches between two sparse index entries (0 = an entry for every batch). */
  readonly indexIntervalBytes: number
  /** Delete whole segments whose newest timestamp is older than this; -1 keeps them forever. */
  readonly retentionMs: number
  /** Delete the oldest whole segments while the log exceeds this size; -1 for no limit. */
  readonly retentionBytes: number
  /** Largest record batch accepted on append, header included (Kafka's `max.message.bytes`). */
  readonly batchBytesMax: number
  /** 'always': an append resolves after the fdatasync that covers it (group commit); 'interval': the broker calls
   * `maybeFlush(nowMs)` and data is synced every `flushIntervalMs`; 'never': resolve after the write (Kafka). */
  readonly flush: FlushPolicy
  readonly flushIntervalMs: number
  /** Size of the shared `FileHandleCache` the broker creates once for all logs. */
  readonly openFilesMax: number
  /** 'compact' or 'compact,delete': `clean` keeps the last record of each key. Retention applies as configured. */
  readonly cleanupPolicy: LogCleanupPolicy
  /** A tombstone (null value) survives cleaning while its segment's newest timestamp is younger than this. */
  readonly deleteRetentionMs: number
  /** Clean only when dirty bytes / cleanable bytes reach this ratio (Kafka `min.cleanable.dirty.ratio`). */
  readonly minCleanableDirtyRatio: number
  /** A segment whose newest timestamp is younger than this is not cleaned yet (Kafka `min.compaction.lag.ms`). */
  readonly minCompactionLagMs: number
  /** Memory of the cleaner's key → offset map for one pass (Kafka `log.cleaner.dedupe.buffer.size`). */
  readonly cleanerDedupeBufferBytes: number
  /** Bytes per second the cleaner reads and writes at most; -1 for no limit (`log.cleaner.io.max.bytes.per.second`). */
  readonly cleanerIoBytesPerSecondMax: number
}

/** The settings a topic's config sets and can change on an open log (`PartitionLog.setConfig`); the rest are the broker's. */
export const topicLevelLogConfigKeys = Object.freeze([
  'segmentBytes', 'segmentMs', 'retentionMs', 'retentionBytes', 'batchBytesMax', 'cleanupPolicy', 'deleteRetentionMs',
  'minCleanableDirtyRatio', 'minCompactionLagMs',
] as const)
export type TopicLevelLogConfigKey = typeof topicLevelLogConfigKeys[number]

const MiB = 1024 * 1024
const dayMs = 24 * 60 * 60 * 1000
/** Positions are int32 in the offset index. */
export const SEGMENT_BYTES_LIMIT = 2 ** 31 - 1

export const defaultLogConfig: LogConfig = Object.freeze({
  segmentBytes: 1024 * MiB,
  segmentMs: 7 * dayMs,
  indexIntervalBytes: 4096,
  retentionMs: 7 * dayMs,
  retentionBytes: -1,
  batchBytesMax: MiB + 12,
  flush: 'always',
  flushIntervalMs: 1000,
  openFilesMax: 1000,
  cleanupPolicy: 'delete',
  deleteRetentionMs: dayMs,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  cleanerDedupeBufferBytes: 32 * MiB,
  cleanerIoBytesPerSecondMax: -1,
})

const flushPolicies: ReadonlySet<string> = new Set(['always', 'interval', 'never'])
const cleanupPolicies: ReadonlySet<string> = new Set(['delete', 'compact', 'compact,delete'])

/** Every problem with `config`, as one sentence each; empty when valid. */
export function logConfigProblems (config: LogConfig): string[] {
  const problems: string[] = []
  const integerAtLeast = (name: keyof LogConfig, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const value = config[name]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
    }
  }
  integerAtLeast('segmentBytes', 1024, SEGMENT_BYTES_LIMIT)
  integerAtLeast('segmentMs', 1)
  integerAtLeast('indexIntervalBytes', 0)
  integerAtLeast('retentionMs', -1)
  integerAtLeast('retentionBytes', -1)
  integerAtLeast('batchBytesMax', 61, SEGMENT_BYTES_LIMIT)
  integerAtLeast('flushIntervalMs', 1)
  integerAtLeast('openFilesMax', 1)
  integerAtLeast('deleteRetentionMs', 0)
  integerAtLeast('minCompactionLagMs', 0)
  integerAtLeast('cleanerDedupeBufferBytes', 1024)
  integerAtLeast('cleanerIoBytesPerSecondMax', -1)
  if (config.cleanerIoBytesPerSecondMax === 0) problems.push('cleanerIoBytesPerSecondMax must be -1 (no limit) or positive, got 0')
  const ratio = config.minCleanableDirtyRatio
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    problems.push(`minCleanableDirtyRatio must be a number in [0, 1], got ${String(ratio)}`)
  }
  if (!cleanupPolicies.has(config.cleanupPolicy)) {
    problems.push(`cleanupPolicy must be 'delete', 'compact' or 'compact,delete', got ${String(config.cleanupPolicy)}`)
  }
  if (!flushPolicies.has(config.flush)) problems.push(`flush must be 'always', 'interval' or 'never', got ${String(config.flush)}`)
  if (config.batchBytesMax > config.segmentBytes) {
    problems.push(`batchBytesMax (${config.batchBytesMax}) must not exceed segmentBytes (${config.segmentBytes})`)
  }
  return problems
}

/** Defaults overlaid with `overrides`, validated and frozen. Throws INVALID_CONFIG listing every problem. */
export function validateLogConfig (overrides: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...defaultLogConfig, ...overrides }
  const problems = logConfigProblems(config)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid log config', { details: { problems } })
  }
  return Object.freeze(config)
}

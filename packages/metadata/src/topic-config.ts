/**
 * Per-topic configuration: what a Topic record carries and a CreateTopics request may override.
 *
 * Owns: `TopicConfig`, the frozen defaults (Kafka's, except `minInsyncReplicas`), and the one table of valid ranges
 * that the record codec, the config validator and CreateTopics all check against, so the three can never disagree.
 * Names follow Kafka's topic configs in camelCase with units last (`retention.ms` → `retentionMs`).
 */
import { ErrorCode, GregorError } from '@gregor/common'

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete'

export interface TopicConfig {
  /** acks=all needs this many ISR members (Kafka `min.insync.replicas`); at most the replication factor. */
  readonly minInsyncReplicas: number
  /** Segments older than this are deleted; -1 keeps them forever (`retention.ms`). */
  readonly retentionMs: number
  /** The log is trimmed to this many bytes; -1 means no size limit (`retention.bytes`). */
  readonly retentionBytes: number
  /** A segment rolls at this size (`segment.bytes`). */
  readonly segmentBytes: number
  /** A segment rolls at this age even when small (`segment.ms`). */
  readonly segmentMs: number
  /** The largest record batch the leader accepts (`max.message.bytes`). */
  readonly maxMessageBytes: number
  /** `delete` by retention, `compact` by key, or both (`cleanup.policy`; Kafka's `delete,compact` reads the same). */
  readonly cleanupPolicy: CleanupPolicy
  /** A compacted topic keeps tombstones (null values) at least this long after their segment (`delete.retention.ms`). */
  readonly deleteRetentionMs: number
  /** Clean a compacted log once its dirty bytes reach this share of its cleanable bytes (`min.cleanable.dirty.ratio`). */
  readonly minCleanableDirtyRatio: number
  /** A record stays uncompacted at least this long after its timestamp (`min.compaction.lag.ms`). */
  readonly minCompactionLagMs: number
}

const dayMs = 24 * 60 * 60 * 1000
const int32Max = 2 ** 31 - 1

/**
 * Kafka's defaults, except `minInsyncReplicas`: 2 rather than 1, because Gregor's default profile is RF 3 with
 * acks=all, the combination that survives one broker loss without losing acknowledged writes. CreateTopics caps
 * the default (never an explicit override) at the topic's replication factor.
 */
export const defaultTopicConfig: TopicConfig = Object.freeze({
  minInsyncReplicas: 2,
  retentionMs: 7 * dayMs,
  retentionBytes: -1,
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * dayMs,
  maxMessageBytes: 1024 * 1024 + 12,
  cleanupPolicy: 'delete',
  deleteRetentionMs: dayMs,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
})

export const topicConfigKeys: readonly (keyof TopicConfig)[] = Object.freeze([
  'minInsyncReplicas', 'retentionMs', 'retentionBytes', 'segmentBytes', 'segmentMs', 'maxMessageBytes', 'cleanupPolicy',
  'deleteRetentionMs', 'minCleanableDirtyRatio', 'minCompactionLagMs',
])

/**
 * Keys added after the first release: a record or snapshot written before them lacks them and decodes with their
 * defaults (the codec reads them as optional).
 */
export const laterTopicConfigKeys: readonly (keyof TopicConfig)[] = Object.freeze([
  'deleteRetentionMs', 'minCleanableDirtyRatio', 'minCompactionLagMs',
])

/** Whether `policy` deletes by retention (a compact-only topic has no time or size retention). */
export const cleanupDeletes = (policy: CleanupPolicy): boolean => policy !== 'compact'

const supportedCleanupPolicies: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete']

/** Inclusive integer ranges; a segment below 1 KiB would roll on nearly every batch. */
const integerRanges: Readonly<Record<Exclude<keyof TopicConfig, 'cleanupPolicy' | 'minCleanableDirtyRatio'>, readonly [number, number]>> = {
  minInsyncReplicas: [1, 128],
  retentionMs: [-1, Number.MAX_SAFE_INTEGER],
  retentionBytes: [-1, Number.MAX_SAFE_INTEGER],
  segmentBytes: [1024, int32Max],
  segmentMs: [1, Number.MAX_SAFE_INTEGER],
  maxMessageBytes: [1, int32Max],
  deleteRetentionMs: [0, Number.MAX_SAFE_INTEGER],
  minCompactionLagMs: [0, Number.MAX_SAFE_INTEGER],
}

/** Why `value` is not valid for `key` ("must be ..."), or undefined when it is. */
export function topicConfigFieldProblem (key: keyof TopicConfig, value: unknown): string | undefined {
  if (key === 'cleanupPolicy') {
    return supportedCleanupPolicies.includes(normalizeCleanupPolicy(value)) ? undefined : `must be one of ${supportedCleanupPolicies.join(', ')}`
  }
  if (key === 'minCleanableDirtyRatio') {
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1 ? undefined : 'must be a number in [0, 1]'
  }
  const [min, max] = integerRanges[key]
  const valid = typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
  return valid ? undefined : `must be an integer in [${min}, ${max}]`
}

/** Every problem with a (possibly partial) topic config, including keys that are not topic configs at all. */
export function topicConfigProblems (value: object, required: boolean): string[] {
  const config = value as Readonly<Record<string, unknown>>
  const problems: string[] = []
  for (const key of Object.keys(config)) {
    if (!(topicConfigKeys as readonly string[]).includes(key)) problems.push(`${key} is not a topic config`)
  }
  for (const key of topicConfigKeys) {
    if (config[key] === undefined) {
      if (required) problems.push(`${key} is missing`)
      continue
    }
    const problem = topicConfigFieldProblem(key, config[key])
    if (problem !== undefined) problems.push(`${key} ${problem}`)
  }
  return problems
}

/**
 * The effective config of a new topic: `defaults` overlaid with `overrides`, checked against the replication factor.
 * Throws GregorError INVALID_CONFIG listing every problem.
 */
export function resolveTopicConfig (
  overrides: Readonly<Partial<TopicConfig>>,
  defaults: TopicConfig,
  replicationFactor: number,
): TopicConfig {
  const problems = topicConfigProblems(overrides, false)
  const minInsyncReplicas = overrides.minInsyncReplicas ?? Math.min(defaults.minInsyncReplicas, replicationFactor)
  // Kafka accepts min.insync.replicas > RF and then fails every acks=all produce; rejecting it up front is kinder.
  if (problems.length === 0 && minInsyncReplicas > replicationFactor) {
    problems.push(`minInsyncReplicas ${minInsyncReplicas} must not exceed the replication factor ${replicationFactor}`)
  }
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, `invalid topic config: ${problems.join('; ')}`, { details: { problems } })
  }
  return Object.freeze({
    minInsyncReplicas,
    retentionMs: overrides.retentionMs ?? defaults.retentionMs,
    retentionBytes: overrides.retentionBytes ?? defaults.retentionBytes,
    segmentBytes: overrides.segmentBytes ?? defaults.segmentBytes,
    segmentMs: overrides.segmentMs ?? defaults.segmentMs,
    maxMessageBytes: overrides.maxMessageBytes ?? defaults.maxMessageBytes,
    cleanupPolicy: normalizeCleanupPolicy(overrides.cleanupPolicy ?? defaults.cleanupPolicy),
    deleteRetentionMs: overrides.deleteRetentionMs ?? defaults.deleteRetentionMs,
    minCleanableDirtyRatio: overrides.minCleanableDirtyRatio ?? defaults.minCleanableDirtyRatio,
    minCompactionLagMs: overrides.minCompactionLagMs ?? defaults.minCompactionLagMs,
  })
}

/** Kafka's list `delete,compact` (any order, spaces allowed) names the same policy as `compact,delete`. */
export function normalizeCleanupPolicy (value: unknown): CleanupPolicy {
  if (typeof value !== 'string') return value as CleanupPolicy
  const parts = [...new Set(value.split(',').map((part) => part.trim()))].sort()
  return (parts.length === 2 && parts[0] === 'compact' && parts[1] === 'delete' ? 'compact,delete' : value) as CleanupPolicy
}

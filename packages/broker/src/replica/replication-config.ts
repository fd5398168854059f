/**
 * Configuration of the replica manager and its fetchers: the type, frozen defaults (Kafka's where Kafka has the
 * setting) and a validator that lists every problem at once.
 *
 * Owns: nothing at run time. Every wait, buffer and queue of the data plane has a named maximum here (ARCHITECTURE.md
 * §4 Limits): beyond it a request fails with a clear code instead of the broker growing without bound.
 */
import { ErrorCode, GregorError } from '@gregor/common'

export interface ReplicationConfig {
  /** A follower that has not caught up with the leader's log end for this long leaves the ISR (`replica.lag.time.max.ms`). */
  readonly replicaLagTimeMaxMs: number
  /** Long-poll wait of a follower fetch (`replica.fetch.wait.max.ms`). */
  readonly replicaFetchMaxWaitMs: number
  readonly replicaFetchMinBytes: number
  /** Bytes one follower fetch response may carry, all partitions together (`replica.fetch.response.max.bytes`). */
  readonly replicaFetchMaxBytes: number
  /** A follower fetch whose response has not arrived after maxWait + this is treated as a broken stream. */
  readonly replicaFetchResponseTimeoutMs: number
  /** Pause before a partition that failed (wrong leader, error) is fetched again (`replica.fetch.backoff.ms`). */
  readonly replicaFetchBackoffMs: number
  readonly reconnectBackoffMsMin: number
  readonly reconnectBackoffMsMax: number
  /** Upper bound on a produce request's `timeout_ms` (acks=all wait). */
  readonly produceTimeoutMsMax: number
  /** Upper bound on a consumer fetch's `max_wait_ms`. */
  readonly fetchMaxWaitMsMax: number
  /** Upper bound on a consumer fetch's `max_bytes` (and each partition's). */
  readonly fetchBytesMax: number
  /** Largest produce request, all record bytes together. */
  readonly requestBytesMax: number
  /** acks=all produces waiting for the ISR at once; beyond it a produce is refused before it is appended (retriable). */
  readonly produceWaitersMax: number
  /** Consumer long polls waiting for data at once; beyond it a long poll is answered at once with what there is. */
  readonly consumerFetchWaitersMax: number
  /** Follower long polls waiting for data at once; beyond it a follower fetch is answered at once. */
  readonly followerFetchWaitersMax: number
  /**
   * Bytes in flight on the data plane, broker-wide: produce request records until answered, fetch responses from the
   * log read until answered (Kafka's `queued.max.request.bytes`). Beyond it a produce request, or a partition's fetch
   * read, is refused with a retriable REQUEST_TIMED_OUT naming this limit.
   */
  readonly inFlightBytesMax: number
  /** Largest gRPC message on the replication stream (must hold replicaFetchMaxBytes plus one batch). */
  readonly messageBytesMax: number
  /** Interval of the leader's ISR shrink check. */
  readonly isrCheckIntervalMs: number
  /**
   * After the controller refuses (or fails to answer) adding a follower to a partition's ISR, the leader waits this
   * long before proposing an expansion of that partition again, doubling per refusal up to `isrExpandBackoffMsMax`
   * (a fenced follower that can still fetch would otherwise be proposed on every fetch).
   */
  readonly isrExpandBackoffMsMin: number
  readonly isrExpandBackoffMsMax: number
  /**
   * An ISR change the controller has not answered within this long is treated as failed (outcome unknown): it stops
   * blocking further ISR changes of the partition, and the members it would add still count for the HW until an image
   * shows the outcome.
   */
  readonly alterPartitionTimeoutMs: number
  /** Interval of the high-watermark and recovery-point checkpoints (Kafka's `replica.high.watermark.checkpoint.interval.ms`). */
  readonly checkpointIntervalMs: number
  /** Interval of the retention check that deletes old segments (Kafka's `log.retention.check.interval.ms`). */
  readonly retentionCheckIntervalMs: number
  /** Pause between log cleaner passes over the compacted partitions (Kafka's `log.cleaner.backoff.ms`). */
  readonly cleanerBackoffMs: number
  /** Idempotent producers a partition tracks; a new one beyond it is refused (POLICY_VIOLATION), none is forgotten. */
  readonly producersPerPartitionMax: number
  /** A producer whose last batch is older than this is forgotten (Kafka's `producer.id.expiration.ms`). */
  readonly producerIdExpirationMs: number
  /** How often expired producers are removed (Kafka's `producer.id.expiration.check.interval.ms`). */
  readonly producerIdExpirationCheckIntervalMs: number
  /** While the log directory is offline, how often it is probed to see whether it works again. */
  readonly logDirProbeIntervalMs: number
}

const MiB = 1024 * 1024

export const defaultReplicationConfig: ReplicationConfig = Object.freeze({
  replicaLagTimeMaxMs: 5000,
  replicaFetchMaxWaitMs: 500,
  replicaFetchMinBytes: 1,
  replicaFetchMaxBytes: 8 * MiB,
  replicaFetchResponseTimeoutMs: 30_000,
  replicaFetchBackoffMs: 200,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 1000,
  produceTimeoutMsMax: 60_000,
  fetchMaxWaitMsMax: 30_000,
  fetchBytesMax: 50 * MiB,
  requestBytesMax: 100 * MiB,
  produceWaitersMax: 10_000,
  consumerFetchWaitersMax: 10_000,
  followerFetchWaitersMax: 1000,
  inFlightBytesMax: 512 * MiB,
  messageBytesMax: 128 * MiB,
  isrCheckIntervalMs: 1000,
  isrExpandBackoffMsMin: 100,
  isrExpandBackoffMsMax: 5000,
  alterPartitionTimeoutMs: 30_000,
  checkpointIntervalMs: 5000,
  retentionCheckIntervalMs: 300_000,
  cleanerBackoffMs: 15_000,
  producersPerPartitionMax: 10_000,
  producerIdExpirationMs: 86_400_000,
  producerIdExpirationCheckIntervalMs: 600_000,
  logDirProbeIntervalMs: 1000,
})

/** Every problem with `config`, one sentence each; empty when valid. */
export function replicationConfigProblems (config: ReplicationConfig): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${name} must be a positive integer, got ${String(value)}`)
    }
  }
  if (config.reconnectBackoffMsMin > config.reconnectBackoffMsMax) {
    problems.push('reconnectBackoffMsMin must not exceed reconnectBackoffMsMax')
  }
  if (config.isrExpandBackoffMsMin > config.isrExpandBackoffMsMax) {
    problems.push('isrExpandBackoffMsMin must not exceed isrExpandBackoffMsMax')
  }
  if (config.messageBytesMax < config.replicaFetchMaxBytes * 2) {
    problems.push('messageBytesMax must be at least twice replicaFetchMaxBytes (a response may exceed it by one batch)')
  }
  if (config.messageBytesMax < config.fetchBytesMax) problems.push('messageBytesMax must be at least fetchBytesMax')
  for (const name of ['requestBytesMax', 'fetchBytesMax', 'replicaFetchMaxBytes'] as const) {
    if (config.inFlightBytesMax < config[name]) problems.push(`inFlightBytesMax must be at least ${name} (one largest request must fit)`)
  }
  return problems
}

/** Defaults overlaid with `overrides`, validated and frozen. Throws INVALID_CONFIG listing every problem. */
export function validateReplicationConfig (overrides: Partial<ReplicationConfig> = {}): ReplicationConfig {
  const config: ReplicationConfig = { ...defaultReplicationConfig, ...overrides }
  const problems = replicationConfigProblems(config)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid replication config', { details: { problems } })
  }
  return Object.freeze(config)
}

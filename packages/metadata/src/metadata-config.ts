/**
 * The controller's settings: broker liveness timing and the defaults and limits of topic creation.
 *
 * Owns: `MetadataConfig`, the frozen defaults and `validateMetadataConfig`, which reports every problem at once.
 * Gregor wants failover in about a second, so the liveness defaults are far below Kafka's (heartbeat 2 s, session
 * 9 s): a broker whose connection to the controller drops is fenced after `brokerConnectionLossGraceMs` unless it
 * heartbeats again; a silent broker (paused, partitioned) at `brokerSessionTimeoutMs`.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { metadataLimits } from './metadata-record.js'
import { type TopicConfig, defaultTopicConfig, topicConfigProblems } from './topic-config.js'

export interface MetadataConfig {
  /** How often brokers heartbeat the controller (they learn it from the controller; Kafka: 2000). */
  readonly brokerHeartbeatIntervalMs: number
  /** A broker not heard from for this long is fenced (Kafka `broker.session.timeout.ms`: 9000). */
  readonly brokerSessionTimeoutMs: number
  /** After its connection to the controller drops, a broker is fenced this much later unless it heartbeats again. */
  readonly brokerConnectionLossGraceMs: number
  /**
   * How often the controller hands leadership back to each partition's preferred replica where that replica is in
   * the ISR and eligible (Kafka `leader.imbalance.check.interval.seconds`, 300 s, with auto leader rebalance on);
   * 0 turns it off. Without it, leadership piles up on the brokers that survived the last failure.
   */
  readonly leaderImbalanceCheckIntervalMs: number
  /** Partitions of a topic created without a count (Kafka `num.partitions`). */
  readonly defaultPartitionCount: number
  /** Replication factor of a topic created without one (Kafka `default.replication.factor`, default 1). */
  readonly defaultReplicationFactor: number
  /** The most partitions one topic may have: a CreateTopics request beyond it fails. */
  readonly partitionCountMax: number
  /** Config of a topic created without overrides. */
  readonly defaultTopicConfig: TopicConfig
}

/**
 * RF 3 by default, unlike Kafka's 1: the cluster this project runs is three brokers, and a topic that cannot survive
 * one of them dying defeats the point. A single-broker setup sets `defaultReplicationFactor: 1`.
 */
export const defaultMetadataConfig: MetadataConfig = Object.freeze({
  brokerHeartbeatIntervalMs: 500,
  brokerSessionTimeoutMs: 3000,
  brokerConnectionLossGraceMs: 500,
  leaderImbalanceCheckIntervalMs: 30_000,
  defaultPartitionCount: 1,
  defaultReplicationFactor: 3,
  partitionCountMax: 10_000,
  defaultTopicConfig,
})

const isPositiveInteger = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

function livenessProblems (config: MetadataConfig): string[] {
  const problems: string[] = []
  const { brokerHeartbeatIntervalMs: heartbeatMs, brokerSessionTimeoutMs: sessionMs } = config
  const graceMs = config.brokerConnectionLossGraceMs
  if (!isPositiveInteger(heartbeatMs)) problems.push('brokerHeartbeatIntervalMs must be a positive integer')
  if (!isPositiveInteger(sessionMs)) problems.push('brokerSessionTimeoutMs must be a positive integer')
  if (!Number.isSafeInteger(graceMs) || graceMs < 0) problems.push('brokerConnectionLossGraceMs must be a non-negative integer')
  // One late heartbeat must not fence a healthy broker.
  if (isPositiveInteger(heartbeatMs) && isPositiveInteger(sessionMs) && sessionMs < 2 * heartbeatMs) {
    problems.push('brokerSessionTimeoutMs must be at least twice brokerHeartbeatIntervalMs')
  }
  // A grace as long as the session would make the connection-loss hint pointless.
  if (Number.isSafeInteger(graceMs) && isPositiveInteger(sessionMs) && graceMs >= sessionMs) {
    problems.push('brokerConnectionLossGraceMs must be less than brokerSessionTimeoutMs')
  }
  const rebalanceMs = config.leaderImbalanceCheckIntervalMs
  if (!Number.isSafeInteger(rebalanceMs) || rebalanceMs < 0) problems.push('leaderImbalanceCheckIntervalMs must be a non-negative integer')
  return problems
}

function topicDefaultsProblems (config: MetadataConfig): string[] {
  const problems: string[] = []
  const { partitionCountMax, defaultPartitionCount, defaultReplicationFactor } = config
  if (!isPositiveInteger(partitionCountMax) || partitionCountMax > metadataLimits.partitionCountMax) {
    problems.push(`partitionCountMax must be an integer in [1, ${metadataLimits.partitionCountMax}]`)
  }
  if (!isPositiveInteger(defaultPartitionCount)) {
    problems.push('defaultPartitionCount must be a positive integer')
  } else if (isPositiveInteger(partitionCountMax) && defaultPartitionCount > partitionCountMax) {
    problems.push('defaultPartitionCount must not exceed partitionCountMax')
  }
  if (!isPositiveInteger(defaultReplicationFactor) || defaultReplicationFactor > metadataLimits.replicasMax) {
    problems.push(`defaultReplicationFactor must be an integer in [1, ${metadataLimits.replicasMax}]`)
  }
  const topicConfig = config.defaultTopicConfig
  if (typeof topicConfig !== 'object' || topicConfig === null) {
    problems.push('defaultTopicConfig must be an object')
  } else {
    for (const problem of topicConfigProblems(topicConfig, true)) {
      problems.push(`defaultTopicConfig.${problem}`)
    }
  }
  return problems
}

/** Returns a frozen copy of `config`, or throws GregorError INVALID_CONFIG with every problem in `details.problems`. */
export function validateMetadataConfig (config: MetadataConfig): MetadataConfig {
  const problems = [...livenessProblems(config), ...topicDefaultsProblems(config)]
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid metadata config', { details: { problems } })
  }
  return Object.freeze({ ...config, defaultTopicConfig: Object.freeze({ ...config.defaultTopicConfig }) })
}

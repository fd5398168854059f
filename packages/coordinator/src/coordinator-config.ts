/**
 * Configuration of the group coordinator: the type, frozen defaults (Kafka's where Kafka has the setting) and a
 * validator that lists every problem at once.
 *
 * Owns: nothing at run time. Every per-shard quantity that could grow without bound has a named maximum here
 * (members per group, groups per shard, bytes of commit metadata, length of a group id).
 */
import { ErrorCode, GregorError } from '@gregor/common'

export type AssignorName = 'uniform' | 'range'
export const ASSIGNOR_NAMES: readonly AssignorName[] = Object.freeze(['uniform', 'range'])

export interface CoordinatorConfig {
  /** A member that has not heartbeated for this long is removed (`group.consumer.session.timeout.ms`). */
  readonly sessionTimeoutMs: number
  /** The interval told to a member stable at the target (Kafka 5000; Gregor reconciles within about one interval). */
  readonly heartbeatIntervalMs: number
  /** The interval told to a member not yet stable at the target (revoking or waiting for partitions). */
  readonly reconcileHeartbeatIntervalMs: number
  /** The rebalance timeout of a member whose request says 0 (Kafka's `max.poll.interval.ms`). */
  readonly rebalanceTimeoutMsDefault: number
  /** Members per group; a join beyond it fails with GROUP_MAX_SIZE_REACHED (`group.consumer.max.size`). */
  readonly groupMaxSize: number
  /** Committed offsets of a group without members live this long after their commit (`offsets.retention.minutes`). */
  readonly offsetsRetentionMs: number
  /** UTF-8 bytes of a commit's metadata string (`offset.metadata.max.bytes`). */
  readonly offsetMetadataBytesMax: number
  /** Characters of a group id; an empty or longer id is INVALID_GROUP_ID. */
  readonly groupIdLengthMax: number
  /** Groups per shard (one `__consumer_offsets` partition); a request that would create one more is refused. */
  readonly groupsMax: number
  readonly defaultAssignor: AssignorName
}

export const defaultCoordinatorConfig: CoordinatorConfig = Object.freeze({
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 500,
  reconcileHeartbeatIntervalMs: 50,
  rebalanceTimeoutMsDefault: 300_000,
  groupMaxSize: 1000,
  offsetsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  offsetMetadataBytesMax: 4096,
  groupIdLengthMax: 255,
  groupsMax: 100_000,
  defaultAssignor: 'uniform',
})

/** Every problem with `config`, one sentence each; empty when valid. */
export function validateCoordinatorConfig (config: CoordinatorConfig): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(config)) {
    if (name === 'defaultAssignor') continue
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${name} must be a positive integer, got ${String(value)}`)
    }
  }
  if (!ASSIGNOR_NAMES.includes(config.defaultAssignor)) {
    problems.push(`defaultAssignor must be one of ${ASSIGNOR_NAMES.join(', ')}, got ${String(config.defaultAssignor)}`)
  }
  if (config.heartbeatIntervalMs >= config.sessionTimeoutMs) {
    problems.push('heartbeatIntervalMs must be below sessionTimeoutMs (a member would expire between heartbeats)')
  }
  if (config.reconcileHeartbeatIntervalMs > config.heartbeatIntervalMs) {
    problems.push('reconcileHeartbeatIntervalMs must not exceed heartbeatIntervalMs')
  }
  // Group ids are written as int16-length strings in record keys.
  if (config.groupIdLengthMax > 8192) problems.push('groupIdLengthMax must be at most 8192 (record keys hold it)')
  if (config.offsetMetadataBytesMax > 32_767) problems.push('offsetMetadataBytesMax must be at most 32767 (an int16 length)')
  return problems
}

/** Defaults overlaid with `overrides`, validated and frozen. Throws INVALID_CONFIG listing every problem. */
export function resolveCoordinatorConfig (overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  const config: CoordinatorConfig = { ...defaultCoordinatorConfig, ...overrides }
  const problems = validateCoordinatorConfig(config)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid coordinator config', { details: { problems } })
  }
  return Object.freeze(config)
}

/**
 * Configuration of one Raft node: its id, the static voter set, timeouts in ticks and the limits on what it buffers.
 *
 * Owns: `RaftConfig`, the frozen defaults and `validateRaftConfig`, which reports every problem at once (etcd's
 * `Config.validate`). Time is counted in ticks only; the driver decides how long a tick is (`tickIntervalMs`).
 */
import { ErrorCode, GregorError, type NodeId, type RaftIndex } from '@gregor/common'

export interface RaftConfig {
  /** This node; must be one of `voters`. */
  readonly id: NodeId
  /** The static voter set (membership changes are not supported yet). */
  readonly voters: readonly NodeId[]
  /**
   * A follower that hears nothing for a randomized [electionTicks, 2 * electionTicks) ticks starts an election
   * (Raft §5.2); a leader with CheckQuorum steps down when it has not heard from a quorum for electionTicks.
   */
  readonly electionTicks: number
  /** A leader sends heartbeats every heartbeatTicks; must be well below electionTicks. */
  readonly heartbeatTicks: number
  /** Run a pre-vote round before incrementing the term (Raft thesis §9.6). */
  readonly preVote: boolean
  /** Leader steps down without a quorum; followers honour the leader lease (thesis §6.2, §4.2.3). */
  readonly checkQuorum: boolean
  /** The last index the application has applied (its state machine, restored from the latest snapshot). */
  readonly appliedIndex: RaftIndex
  /** Upper bound on entry bytes in one append message (the first entry is always sent). */
  readonly messageBytesMax: number
  /** Append messages in flight to one follower in replicate state (flow control). */
  readonly inflightMessagesMax: number
  /** Payload bytes a leader accepts but has not committed yet; proposals beyond it are dropped. */
  readonly uncommittedBytesMax: number
}

export const defaultRaftConfig: Readonly<Omit<RaftConfig, 'id' | 'voters' | 'appliedIndex'>> = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  messageBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  uncommittedBytesMax: 16 * 1024 * 1024,
})

const isPositiveInteger = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) > 0

/** Returns a frozen copy of `config`, or throws GregorError(INVALID_CONFIG) with every problem in `details.problems`. */
export function validateRaftConfig (config: RaftConfig): RaftConfig {
  const problems: string[] = []
  if (!isPositiveInteger(config.id)) problems.push('id must be a positive integer')
  if (!Array.isArray(config.voters) || config.voters.length === 0) {
    problems.push('voters must be a non-empty list')
  } else {
    if (!config.voters.every(isPositiveInteger)) problems.push('voters must be positive integers')
    if (new Set(config.voters).size !== config.voters.length) problems.push('voters must not repeat')
    if (!config.voters.includes(config.id)) problems.push('id must be one of voters')
  }
  if (!isPositiveInteger(config.heartbeatTicks)) problems.push('heartbeatTicks must be a positive integer')
  if (!isPositiveInteger(config.electionTicks)) {
    problems.push('electionTicks must be a positive integer')
  } else if (isPositiveInteger(config.heartbeatTicks) && config.electionTicks <= config.heartbeatTicks) {
    problems.push('electionTicks must be greater than heartbeatTicks')
  }
  if (typeof config.preVote !== 'boolean') problems.push('preVote must be a boolean')
  if (typeof config.checkQuorum !== 'boolean') problems.push('checkQuorum must be a boolean')
  if (!Number.isSafeInteger(config.appliedIndex) || config.appliedIndex < 0) {
    problems.push('appliedIndex must be a non-negative integer')
  }
  if (!isPositiveInteger(config.messageBytesMax)) problems.push('messageBytesMax must be a positive integer')
  if (!isPositiveInteger(config.inflightMessagesMax)) problems.push('inflightMessagesMax must be a positive integer')
  if (!isPositiveInteger(config.uncommittedBytesMax)) problems.push('uncommittedBytesMax must be a positive integer')
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid raft config', { details: { problems } })
  }
  return Object.freeze({ ...config, voters: Object.freeze([...config.voters]) })
}

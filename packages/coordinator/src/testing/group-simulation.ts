/**
 * Test support: a group coordinator shard driven like the broker's runtime drives it (each decision's records are
 * replayed at once and kept in a log), a mutable topic list, a manual clock, and simulated KIP-848 members that
 * heartbeat with what they own and revoke as told (now, or after some heartbeats to model a slow `onPartitionsRevoked`).
 *
 * Not exported from the package index (tests import it by path); the whole-cluster simulation may reuse it.
 */
import { isGregorError } from '@gregor/common'
import { type CoordinatorConfig, defaultCoordinatorConfig } from '../coordinator-config.js'
import type {
  CoordinatorResult, DecisionContext, HeartbeatRequest, HeartbeatResponse, TopicPartitions, TopicsView,
} from '../coordinator-types.js'
import { GroupCoordinatorShard } from '../group-coordinator-shard.js'
import type { GroupRecord } from '../group-record.js'
import { addPartition, toPartitionSet, toTopicPartitions } from '../topic-partitions.js'

export class MutableTopics implements TopicsView {
  readonly counts = new Map<string, number>()
  constructor (topics: Record<string, number> = {}) {
    for (const [topic, count] of Object.entries(topics)) this.counts.set(topic, count)
  }

  partitionCount (topic: string): number | undefined { return this.counts.get(topic) }
  topicNames (): Iterable<string> { return this.counts.keys() }
  set (topic: string, count: number): void { this.counts.set(topic, count) }
  delete (topic: string): void { this.counts.delete(topic) }
}

export interface SimulatedSubscription {
  readonly topics?: readonly string[]
  readonly regex?: string
  readonly assignor?: string
}

/** A consumer as KIP-848 runs it: heartbeats with what it owns; takes new partitions at once, revokes as told. */
export class SimulatedMember {
  memberId = ''
  memberEpoch = 0
  /** What the client owns (consumes) right now. */
  owned = new Map<string, Set<number>>()
  subscription: SimulatedSubscription
  /** Heartbeats a revocation takes (0: revoked before the next heartbeat). */
  revokeDelayHeartbeats: number
  #revoking = new Map<string, Set<number>>()
  #revokingFor = 0
  left = false
  readonly epochs: number[] = []
  heartbeatIntervalMs = 0

  constructor (subscription: SimulatedSubscription, revokeDelayHeartbeats = 0) {
    this.subscription = subscription
    this.revokeDelayHeartbeats = revokeDelayHeartbeats
  }

  request (groupId: string): HeartbeatRequest {
    if (this.#revoking.size > 0 && this.#revokingFor-- <= 0) {
      for (const [topic, partitions] of this.#revoking) for (const p of partitions) this.owned.get(topic)?.delete(p)
      this.#revoking.clear()
    }
    return {
      groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: '',
      rackId: '',
      rebalanceTimeoutMs: 0,
      subscribedTopicNames: this.subscription.topics ?? [],
      subscribedTopicRegex: this.subscription.regex ?? '',
      serverAssignor: this.subscription.assignor ?? '',
      ownedPartitions: toTopicPartitions(this.owned),
      clientId: 'sim',
      clientHost: '127.0.0.1',
    }
  }

  onResponse (response: HeartbeatResponse): void {
    this.memberId = response.memberId
    this.memberEpoch = response.memberEpoch
    this.heartbeatIntervalMs = response.heartbeatIntervalMs
    this.epochs.push(response.memberEpoch)
    const assignment = toPartitionSet(response.assignment)
    for (const [topic, partitions] of assignment) for (const p of partitions) addPartition(this.owned, topic, p)
    // A revocation already under way keeps its progress (the client is still in onPartitionsRevoked).
    const alreadyRevoking = this.#revoking.size > 0
    this.#revoking.clear()
    for (const [topic, partitions] of this.owned) {
      for (const p of partitions) {
        if (assignment.get(topic)?.has(p) !== true) addPartition(this.#revoking, topic, p)
      }
    }
    if (!alreadyRevoking) this.#revokingFor = this.revokeDelayHeartbeats
    if (this.#revoking.size > 0 && this.revokeDelayHeartbeats === 0) {
      for (const [topic, partitions] of this.#revoking) for (const p of partitions) this.owned.get(topic)?.delete(p)
      this.#revoking.clear()
    }
    for (const [topic, partitions] of [...this.owned]) if (partitions.size === 0) this.owned.delete(topic)
  }

  /** The coordinator fenced or forgot the member: it loses everything and joins again (KIP-848 client behaviour). */
  reset (): void {
    this.memberId = ''
    this.memberEpoch = 0
    this.owned.clear()
    this.#revoking.clear()
  }

  ownedList (): TopicPartitions[] { return toTopicPartitions(this.owned) }
}

export class GroupSimulation {
  readonly shard: GroupCoordinatorShard
  readonly topics: MutableTopics
  readonly log: GroupRecord[] = []
  readonly groupId: string
  nowMs = 1_000_000
  #nextMember = 0

  constructor (options: { groupId?: string; topics?: Record<string, number>; config?: Partial<CoordinatorConfig> } = {}) {
    this.groupId = options.groupId ?? 'group'
    this.topics = new MutableTopics(options.topics ?? {})
    this.shard = new GroupCoordinatorShard({
      config: { ...defaultCoordinatorConfig, ...options.config },
      newMemberId: () => `member-${String(this.#nextMember++).padStart(4, '0')}`,
    })
  }

  get context (): DecisionContext { return { nowMs: this.nowMs, topics: this.topics } }

  /** Applies a result as the runtime does: replay every record at once, keep it in the log. */
  apply<R> (result: CoordinatorResult<R>): R {
    return applyResult(this.shard, this.log, result)
  }

  /** One heartbeat of `member`; a fencing error makes it rejoin (as the client does). Returns the error code or ''. */
  heartbeat (member: SimulatedMember): string {
    try {
      const response = this.apply(this.shard.heartbeat(member.request(this.groupId), this.context))
      member.onResponse(response)
      return ''
    } catch (error) {
      if (isGregorError(error) && (error.code === 'UNKNOWN_MEMBER_ID' || error.code === 'FENCED_MEMBER_EPOCH')) {
        member.reset()
        return error.code
      }
      throw error
    }
  }

  leave (member: SimulatedMember): void {
    const request = { ...member.request(this.groupId), memberEpoch: -1 }
    this.apply(this.shard.heartbeat(request, this.context))
    member.reset()
    member.left = true
  }

  tick (): void {
    this.apply(this.shard.tick(this.context))
  }

  advance (ms: number): void {
    this.nowMs += ms
    this.tick()
  }
}

/** What the runtime does with a decision's result: replay every record at once (kept in `log`); the response. */
export function applyResult<R> (shard: GroupCoordinatorShard, log: GroupRecord[], result: CoordinatorResult<R>): R {
  for (const record of result.records) {
    shard.replay(record)
    log.push(record)
  }
  return result.response
}

/**
 * A consumer's membership in a group under KIP-848 (Kafka's ConsumerMembershipManager + HeartbeatRequestManager):
 * the coordinator computes assignments; the member heartbeats and reconciles what it owns with what it is given.
 *
 * Heartbeats: the first joins (member id '', epoch 0); each carries the subscription and the partitions owned right
 * now, one in flight at a time, the next `heartbeatIntervalMs` (from the response) after the last response, or at
 * once after a reconciliation step finished (so a rebalance takes round trips, not intervals).
 *
 * Reconciliation, one at a time, always toward the latest assignment received:
 *   revoked = owned − assignment: read their positions, stop fetching them and drop their buffered records
 *     (`stopPartitions`), commit the positions (autoCommit), call onPartitionsRevoked, and only then stop owning
 *     them and heartbeat at once. So the heartbeat that reports them gone is sent after the commit and the callback,
 *     and the client never fetches or hands out a partition it has reported gone.
 *   added = assignment − owned: fetch their committed offsets (OffsetFetch; none → autoOffsetReset, decided by the
 *     target), start fetching (`startPartitions`), own them, call onPartitionsAssigned, heartbeat at once.
 *
 * Errors: FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID lose every partition (stopped, onPartitionsRevoked, no commit:
 * Kafka's "lost") and rejoin with epoch 0 (UNKNOWN_MEMBER_ID, or a fenced join, also with member id ''). Coordinator
 * errors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) and transport failures forget
 * the coordinator, find it again and retry with exponential backoff. Calls to the coordinator name its
 * `__consumer_offsets` partition, so one that stalls is abandoned as soon as another broker's metadata shows that
 * partition led elsewhere (a transport error: the coordinator is found again), rather than at its deadline. With no
 * successful heartbeat for `sessionTimeoutMs` the member loses its partitions by itself (the coordinator has most
 * likely given them to another member) and rejoins with epoch 0 once it can. Other errors (GROUP_MAX_SIZE_REACHED,
 * UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, …) are fatal: heartbeats stop and the target's `onFatalError` is
 * told.
 *
 * Commits carry the member id and epoch; STALE_MEMBER_EPOCH waits for the next heartbeat (asked for at once) and
 * tries again; coordinator errors find the coordinator again; both within the request timeout. `close` commits
 * (autoCommit), revokes, and sends the leave heartbeat (epoch -1) without waiting for a heartbeat in flight.
 *
 * Invariant: `#incarnation` changes whenever the member loses its partitions (fenced, session lost, closed); an
 * answer or reconciliation step begun under an older incarnation changes nothing.
 */
import { type Clock, ErrorCode, GregorError, type Logger, isGregorError, silentLogger } from '@gregor/common'
import { type gregor, groupMethods } from '@gregor/protocol'
import type { BrokerConnection } from './cluster-connection.js'
import {
  type CoordinatorAddress, type CoordinatorRetryDeps, coordinatorWatch, findCoordinator, flattenPartitionLists, groupPartitionsByTopic, isCoordinatorError,
  retryOnCoordinator, topicPartitionLists,
} from './coordinator-lookup.js'
import type { PartitionOffset } from './fetch-engine.js'
import type { TopicPartition } from './record-accumulator.js'
import { responseError } from './response-error.js'
import { exponentialBackoffMs } from './retry-policy.js'
import type { Scheduler } from './scheduler.js'
import { topicPartitionKey } from './topic-partition-key.js'

export const JOIN_MEMBER_EPOCH = 0
export const LEAVE_MEMBER_EPOCH = -1

export interface GroupMembershipConfig {
  readonly groupId: string
  readonly clientId: string
  /** How long the member may take to revoke (Kafka `max.poll.interval.ms`), sent to the coordinator. */
  readonly rebalanceTimeoutMs: number
  /** Without a successful heartbeat for this long, the member drops its partitions as lost (self-fencing). */
  readonly sessionTimeoutMs: number
  /** Server-side assignor name; '' the coordinator's default. */
  readonly groupAssignor: string
  readonly autoCommit: boolean
  readonly autoCommitIntervalMs: number
  /** Until the first response names one. */
  readonly heartbeatIntervalMs: number
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
  /** Bounds each commit's retries (and the leave on close). */
  readonly requestTimeoutMs: number
}

export const defaultGroupMembershipConfig = Object.freeze({
  clientId: '',
  rebalanceTimeoutMs: 300_000,
  sessionTimeoutMs: 45_000,
  groupAssignor: '',
  autoCommit: true,
  autoCommitIntervalMs: 5000,
  heartbeatIntervalMs: 3000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  requestTimeoutMs: 30_000,
})

export interface Subscription {
  readonly topics: readonly string[]
  /** '' none. */
  readonly regex: string
}

/** A newly assigned partition and its committed offset (undefined: nothing committed). */
export interface AssignedPartition extends TopicPartition {
  readonly committedOffset: number | undefined
}

/** An offset to commit, with optional metadata. */
export interface OffsetToCommit extends PartitionOffset {
  readonly metadata?: string
}

/** What membership drives: the fetch side of the consumer and the application's callbacks. */
export interface MembershipTarget {
  /** Starts fetching newly assigned partitions from their committed offsets (or the reset policy). */
  startPartitions (partitions: readonly AssignedPartition[]): void
  /** Stops fetching these partitions and drops their buffered records. */
  stopPartitions (partitions: readonly TopicPartition[]): void
  /** Positions to auto-commit for these partitions (records the application has finished). */
  committableOffsets (partitions: readonly TopicPartition[]): PartitionOffset[]
  onPartitionsAssigned? (partitions: TopicPartition[]): void | Promise<void>
  onPartitionsRevoked? (partitions: TopicPartition[]): void | Promise<void>
  /** Membership stopped for good (a fatal coordinator error). */
  onFatalError (error: GregorError): void
}

export interface GroupMembershipDeps {
  readonly connection: Pick<BrokerConnection, 'call' | 'callAny'>
  readonly clock: Clock
  readonly scheduler: Scheduler
  readonly logger?: Logger
}

export class GroupMembership {
  readonly #config: GroupMembershipConfig
  readonly #target: MembershipTarget
  readonly #deps: GroupMembershipDeps
  readonly #log: Logger
  #subscription: Subscription | undefined
  #memberId = ''
  #memberEpoch = JOIN_MEMBER_EPOCH
  #coordinator: CoordinatorAddress | undefined
  readonly #owned = new Map<string, TopicPartition>()
  /** The latest assignment the coordinator gave; reconciliation moves `#owned` toward it. */
  #assignment: TopicPartition[] | undefined
  #incarnation = 0
  #started = false
  #closed = false
  #fatal = false
  #heartbeatInFlight = false
  #heartbeatAgain = false
  #heartbeatTimer: (() => void) | undefined
  #heartbeatIntervalMs: number
  #failedHeartbeats = 0
  #sessionTimer: (() => void) | undefined
  #autoCommitTimer: (() => void) | undefined
  #reconciling: Promise<void> | undefined
  /** Resolved at the next successful heartbeat (commits that met STALE_MEMBER_EPOCH wait on it). */
  #heartbeatWaiters: (() => void)[] = []
  /** The last offset committed per partition, so auto-commit skips partitions that have not moved. */
  readonly #committed = new Map<string, number>()

  constructor (config: GroupMembershipConfig, target: MembershipTarget, deps: GroupMembershipDeps) {
    this.#config = config
    this.#target = target
    this.#deps = deps
    this.#heartbeatIntervalMs = config.heartbeatIntervalMs
    this.#log = (deps.logger ?? silentLogger).child({ component: 'group-membership', groupId: config.groupId })
  }

  /** The id the coordinator gave, undefined until the first join answered. */
  get memberId (): string | undefined { return this.#memberId === '' ? undefined : this.#memberId }

  get memberEpoch (): number { return this.#memberEpoch }

  /** Partitions owned right now: being fetched, or being revoked (until onPartitionsRevoked returned). */
  owned (): TopicPartition[] {
    return [...this.#owned.values()]
  }

  /** Sets the subscription and heartbeats at once (the first call joins the group). */
  subscribe (subscription: Subscription): void {
    if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'consumer closed')
    this.#subscription = { topics: [...subscription.topics], regex: subscription.regex }
    if (!this.#started) {
      this.#started = true
      this.#armSessionTimer()
      this.#armAutoCommit()
    }
    this.#heartbeatSoon()
  }

  /**
   * Commits offsets with the member's id and epoch. STALE_MEMBER_EPOCH waits for the next heartbeat and tries
   * again; a moved coordinator is found again; both within the request timeout. Other failures throw.
   */
  async commit (offsets: readonly OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return
    await retryOnCoordinator(this.#retryDeps(this.#config.requestTimeoutMs), async () => { await this.#commitOnce(offsets) }, {
      onCoordinatorError: () => { this.#coordinator = undefined },
      waitBeforeRetry: (error, remainingMs) => {
        if (!isGregorError(error) || error.code !== ErrorCode.STALE_MEMBER_EPOCH || this.#closed) return undefined
        // The coordinator bumped our epoch in a heartbeat answer we have not seen yet: get it, then commit again.
        const next = this.#nextHeartbeat(remainingMs)
        this.#heartbeatSoon()
        return next
      },
    })
  }

  /**
   * Leaves the group: stops heartbeating, commits the owned partitions' positions (autoCommit), calls
   * onPartitionsRevoked, and sends the leave heartbeat (epoch -1) once. Never throws for the group's sake.
   */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#incarnation++
    this.#heartbeatTimer?.()
    this.#sessionTimer?.()
    this.#autoCommitTimer?.()
    const owned = this.owned()
    if (owned.length > 0) {
      const offsets = this.#config.autoCommit && this.#memberEpoch > 0 ? this.#target.committableOffsets(owned) : []
      this.#target.stopPartitions(owned)
      await this.commit(this.#changed(offsets)).catch((error: unknown) => { this.#log.warn({ err: error }, 'commit on close failed') })
      await this.#callback('onPartitionsRevoked', owned)
      this.#owned.clear()
    }
    if (this.#memberId !== '' && this.#started && !this.#fatal) {
      try {
        const coordinator = await this.#findCoordinator()
        await this.#deps.connection.call(coordinator.address, groupMethods.consumerGroupHeartbeat, this.#heartbeatRequest(LEAVE_MEMBER_EPOCH))
        this.#log.info({ memberId: this.#memberId }, 'left group')
      } catch (error) {
        this.#log.warn({ err: error }, 'leave group failed')
      }
    }
    this.#memberEpoch = LEAVE_MEMBER_EPOCH
    for (const waiter of this.#heartbeatWaiters.splice(0)) waiter()
  }

  // ---- heartbeats ----

  #heartbeatSoon (): void {
    if (this.#closed || this.#fatal || !this.#started) return
    if (this.#heartbeatInFlight) {
      this.#heartbeatAgain = true
      return
    }
    void this.#heartbeat()
  }

  #scheduleHeartbeat (delayMs: number): void {
    this.#heartbeatTimer?.()
    this.#heartbeatTimer = this.#deps.scheduler.setTimer(delayMs, () => {
      this.#heartbeatTimer = undefined
      this.#heartbeatSoon()
    })
  }

  async #heartbeat (): Promise<void> {
    this.#heartbeatTimer?.()
    this.#heartbeatTimer = undefined
    this.#heartbeatInFlight = true
    this.#heartbeatAgain = false
    const incarnation = this.#incarnation
    let sentEpoch = this.#memberEpoch
    try {
      const coordinator = await this.#findCoordinator()
      if (incarnation !== this.#incarnation) return
      // Built after the lookup, so it reports what is owned when it leaves.
      const request = this.#heartbeatRequest(this.#memberEpoch)
      sentEpoch = request.memberEpoch ?? JOIN_MEMBER_EPOCH
      const response = await this.#deps.connection.call(coordinator.address, groupMethods.consumerGroupHeartbeat, request, coordinatorWatch(coordinator))
      const error = responseError(response.errorCode, response.errorMessage, { groupId: this.#config.groupId, memberId: this.#memberId })
      if (error !== undefined) throw error
      if (incarnation !== this.#incarnation) return
      this.#onHeartbeatResponse(response)
    } catch (error) {
      if (incarnation === this.#incarnation && !this.#closed) this.#onHeartbeatError(error, sentEpoch)
    } finally {
      this.#heartbeatInFlight = false
      if (this.#heartbeatAgain) this.#heartbeatSoon()
      else if (this.#heartbeatTimer === undefined && !this.#closed && !this.#fatal) this.#scheduleHeartbeat(this.#heartbeatIntervalMs)
    }
  }

  #heartbeatRequest (memberEpoch: number): gregor.groups.ConsumerGroupHeartbeatRequest.$Properties {
    const subscription = this.#subscription ?? { topics: [], regex: '' }
    return {
      groupId: this.#config.groupId,
      memberId: this.#memberId,
      memberEpoch,
      instanceId: '',
      rackId: '',
      rebalanceTimeoutMs: this.#config.rebalanceTimeoutMs,
      subscribedTopicNames: [...subscription.topics],
      subscribedTopicRegex: subscription.regex,
      serverAssignor: this.#config.groupAssignor,
      ownedPartitions: memberEpoch === LEAVE_MEMBER_EPOCH ? [] : groupPartitionsByTopic(this.#owned.values()),
      clientId: this.#config.clientId,
    }
  }

  #onHeartbeatResponse (response: gregor.groups.ConsumerGroupHeartbeatResponse): void {
    this.#failedHeartbeats = 0
    this.#armSessionTimer()
    const joined = this.#memberEpoch === JOIN_MEMBER_EPOCH
    if (response.memberId !== '') this.#memberId = response.memberId
    this.#memberEpoch = response.memberEpoch
    if (response.heartbeatIntervalMs > 0) this.#heartbeatIntervalMs = response.heartbeatIntervalMs
    if (joined) this.#log.info({ memberId: this.#memberId, memberEpoch: this.#memberEpoch }, 'joined group')
    this.#scheduleHeartbeat(this.#heartbeatIntervalMs)
    this.#assignment = flattenPartitionLists(topicPartitionLists(response.assignment))
    for (const waiter of this.#heartbeatWaiters.splice(0)) waiter()
    this.#startReconciling()
  }

  #onHeartbeatError (error: unknown, sentEpoch: number): void {
    const code = isGregorError(error) ? error.code : undefined
    if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.#log.warn({ memberId: this.#memberId, memberEpoch: this.#memberEpoch, code }, 'member fenced, rejoining')
      // Kafka rejoins under the same id with epoch 0; an id the coordinator does not know, or a join that was itself
      // refused, starts over with a new one.
      if (code === ErrorCode.UNKNOWN_MEMBER_ID || sentEpoch === JOIN_MEMBER_EPOCH) this.#memberId = ''
      this.#loseAll('fenced')
      this.#heartbeatAgain = true
      return
    }
    if (isCoordinatorError(error) || (isGregorError(error) && error.retriable)) {
      if (isCoordinatorError(error)) this.#coordinator = undefined
      this.#failedHeartbeats++
      const delayMs = exponentialBackoffMs(this.#failedHeartbeats, this.#config.retryBackoffMs, this.#config.retryBackoffMaxMs)
      this.#log.debug({ code, delayMs }, 'heartbeat failed, retrying')
      this.#scheduleHeartbeat(delayMs)
      return
    }
    const fatal = isGregorError(error) ? error : new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, String(error), { cause: error })
    this.#log.error({ code: fatal.code, message: fatal.message }, 'group membership failed')
    this.#fatal = true
    this.#heartbeatTimer?.()
    this.#sessionTimer?.()
    this.#autoCommitTimer?.()
    this.#loseAll('fatal')
    this.#target.onFatalError(fatal)
  }

  /** Drops every owned partition without committing (Kafka's onPartitionsLost) and goes back to epoch 0. */
  #loseAll (reason: string): void {
    this.#incarnation++
    this.#memberEpoch = JOIN_MEMBER_EPOCH
    this.#assignment = undefined
    const lost = this.owned()
    if (lost.length === 0) return
    this.#log.warn({ reason, partitions: lost.length }, 'partitions lost')
    this.#target.stopPartitions(lost)
    this.#owned.clear()
    void this.#callback('onPartitionsRevoked', lost)
  }

  #armSessionTimer (): void {
    this.#sessionTimer?.()
    this.#sessionTimer = this.#deps.scheduler.setTimer(this.#config.sessionTimeoutMs, () => {
      this.#sessionTimer = undefined
      if (this.#closed || this.#fatal) return
      if (this.#owned.size === 0 && this.#memberEpoch === JOIN_MEMBER_EPOCH) return
      // Most likely the coordinator has expired us and given our partitions to someone else: stop consuming them.
      this.#log.warn({ sessionTimeoutMs: this.#config.sessionTimeoutMs }, 'no heartbeat answered within session timeout')
      this.#loseAll('session timeout')
      this.#heartbeatSoon()
    })
  }

  // ---- reconciliation ----

  #startReconciling (): void {
    if (this.#reconciling !== undefined) return
    this.#reconciling = this.#reconcile().catch((error: unknown) => {
      this.#log.warn({ err: error }, 'reconciliation failed')
    }).finally(() => {
      this.#reconciling = undefined
      // A newer assignment may have arrived while the last step was finishing.
      if (this.#assignment !== undefined && this.#differs(this.#assignment) && !this.#closed) this.#startReconciling()
    })
  }

  async #reconcile (): Promise<void> {
    while (!this.#closed && !this.#fatal) {
      const assignment = this.#assignment
      if (assignment === undefined || !this.#differs(assignment)) return
      const incarnation = this.#incarnation
      const assigned = new Set(assignment.map(partitionKey))
      const revoked = this.owned().filter((tp) => !assigned.has(partitionKey(tp)))
      if (revoked.length > 0) {
        const offsets = this.#config.autoCommit ? this.#target.committableOffsets(revoked) : []
        this.#target.stopPartitions(revoked)
        await this.commit(this.#changed(offsets)).catch((error: unknown) => {
          // Not fatal: the next owner starts from the last commit, so these records are delivered again.
          this.#log.warn({ err: error }, 'commit of revoked partitions failed')
        })
        if (incarnation !== this.#incarnation) return
        await this.#callback('onPartitionsRevoked', revoked)
        if (incarnation !== this.#incarnation) return
        for (const tp of revoked) this.#owned.delete(partitionKey(tp))
        this.#log.info({ partitions: revoked.length, memberEpoch: this.#memberEpoch }, 'partitions revoked')
        this.#heartbeatSoon()
      }
      const current = new Set((this.#assignment ?? []).map(partitionKey))
      const added = assignment.filter((tp) => !this.#owned.has(partitionKey(tp)) && current.has(partitionKey(tp)))
      if (added.length > 0) {
        const committed = await this.#fetchCommitted(added, incarnation)
        if (incarnation !== this.#incarnation || this.#closed) return
        // Only what is still assigned: a newer answer may have taken some back while OffsetFetch was out.
        const still = new Set((this.#assignment ?? []).map(partitionKey))
        const starting = added.filter((tp) => still.has(partitionKey(tp)) && !this.#owned.has(partitionKey(tp)))
        if (starting.length > 0) {
          this.#target.startPartitions(starting.map((tp) => ({ ...tp, committedOffset: committed.get(partitionKey(tp)) })))
          for (const tp of starting) this.#owned.set(partitionKey(tp), tp)
          this.#log.info({ partitions: starting.length, memberEpoch: this.#memberEpoch }, 'partitions assigned')
          await this.#callback('onPartitionsAssigned', starting)
          if (incarnation !== this.#incarnation) return
          this.#heartbeatSoon()
        }
      }
    }
  }

  /** Whether what is owned is not exactly `assignment`. */
  #differs (assignment: readonly TopicPartition[]): boolean {
    if (assignment.length !== this.#owned.size) return true
    return assignment.some((tp) => !this.#owned.has(partitionKey(tp)))
  }

  /** Committed offsets of `partitions` (absent: none); retries coordinator errors until it succeeds or the member
   * loses its partitions. */
  async #fetchCommitted (partitions: readonly TopicPartition[], incarnation: number): Promise<Map<string, number>> {
    const abandoned = (): boolean => incarnation !== this.#incarnation || this.#closed
    try {
      return await retryOnCoordinator(this.#retryDeps(Infinity), async () => await this.#offsetFetch(partitions), {
        retriable: (error) => !abandoned() && (isCoordinatorError(error) || (isGregorError(error) && error.retriable)),
        onCoordinatorError: () => { this.#coordinator = undefined },
      })
    } catch (error) {
      if (abandoned()) return new Map()
      throw error
    }
  }

  async #offsetFetch (partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const coordinator = await this.#findCoordinator()
    const response = await this.#deps.connection.call(coordinator.address, groupMethods.offsetFetch, {
      groupId: this.#config.groupId, partitions: groupPartitionsByTopic(partitions),
    }, coordinatorWatch(coordinator))
    const groupError = responseError(response.errorCode, response.errorMessage, { groupId: this.#config.groupId })
    if (groupError !== undefined) throw groupError
    const committed = new Map<string, number>()
    for (const result of response.partitions) {
      const tp = { topic: result.topic ?? '', partition: result.partition ?? 0 }
      const error = responseError(result.errorCode, result.errorMessage, tp)
      if (error !== undefined) throw error
      const offset = result.offset ?? -1
      if (offset >= 0) {
        committed.set(partitionKey(tp), offset)
        this.#committed.set(partitionKey(tp), offset)
      }
    }
    return committed
  }

  // ---- commits ----

  async #commitOnce (offsets: readonly OffsetToCommit[]): Promise<void> {
    const coordinator = await this.#findCoordinator()
    const response = await this.#deps.connection.call(coordinator.address, groupMethods.offsetCommit, {
      groupId: this.#config.groupId,
      memberId: this.#memberId,
      memberEpoch: this.#memberEpoch,
      partitions: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: o.metadata ?? '' })),
    }, coordinatorWatch(coordinator))
    const groupError = responseError(response.errorCode, response.errorMessage, { groupId: this.#config.groupId })
    if (groupError !== undefined) throw groupError
    let firstError: GregorError | undefined
    for (const result of response.partitions) {
      const error = responseError(result.errorCode, result.errorMessage, { topic: result.topic ?? '', partition: result.partition ?? 0 })
      firstError ??= error
    }
    if (firstError !== undefined) throw firstError
    for (const o of offsets) this.#committed.set(partitionKey(o), o.offset)
  }

  /** The offsets that differ from what was last committed (or fetched) for their partition. */
  #changed (offsets: readonly PartitionOffset[]): PartitionOffset[] {
    return offsets.filter((o) => this.#committed.get(partitionKey(o)) !== o.offset)
  }

  #armAutoCommit (): void {
    if (!this.#config.autoCommit) return
    this.#autoCommitTimer = this.#deps.scheduler.setTimer(this.#config.autoCommitIntervalMs, () => {
      this.#autoCommitTimer = undefined
      if (this.#closed || this.#fatal) return
      const owned = this.owned()
      const offsets = owned.length > 0 && this.#memberEpoch > 0 ? this.#changed(this.#target.committableOffsets(owned)) : []
      void this.commit(offsets)
        .catch((error: unknown) => { this.#log.warn({ err: error }, 'auto-commit failed') })
        .finally(() => { if (!this.#closed && !this.#fatal) this.#armAutoCommit() })
    })
  }

  // ---- helpers ----

  async #findCoordinator (): Promise<CoordinatorAddress> {
    if (this.#coordinator !== undefined) return this.#coordinator
    const found = await findCoordinator(this.#deps.connection, this.#config.groupId)
    if (this.#coordinator === undefined) this.#log.info({ coordinatorId: found.nodeId, address: found.address }, 'found coordinator')
    this.#coordinator = found
    return found
  }

  /** Resolves at the next successful heartbeat, or after `timeoutMs`, or on close. */
  async #nextHeartbeat (timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const cancel = this.#deps.scheduler.setTimer(timeoutMs, resolve)
      this.#heartbeatWaiters.push(() => { cancel(); resolve() })
    })
  }

  #retryDeps (timeoutMs: number): CoordinatorRetryDeps {
    const { clock, scheduler } = this.#deps
    return { clock, scheduler, timeoutMs, retryBackoffMs: this.#config.retryBackoffMs, retryBackoffMaxMs: this.#config.retryBackoffMaxMs }
  }

  /** Runs an application callback; its failure is logged, never allowed to stop the membership. */
  async #callback (name: 'onPartitionsAssigned' | 'onPartitionsRevoked', partitions: TopicPartition[]): Promise<void> {
    try {
      await this.#target[name]?.([...partitions])
    } catch (error) {
      this.#log.error({ err: error, callback: name }, 'rebalance callback failed')
    }
  }
}

function partitionKey (tp: TopicPartition): string {
  return topicPartitionKey(tp.topic, tp.partition)
}

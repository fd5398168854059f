/**
 * A KIP-848 group consumer for the simulation: it heartbeats to the group's coordinator, owns what the coordinator
 * assigns, commits its position before it gives a partition up, fetches from each owned partition's leader at the
 * leader epoch it knows, and fences itself when its session lapses (no heartbeat answered for a session timeout,
 * counted from when that heartbeat was SENT, so it lets go no later than the coordinator can expire it).
 *
 * It reports to the invariants what a real application would act on: the partitions it owns (invariant: never two
 * owners), the committed offsets the coordinator answers (never back), and the high watermarks fetches serve
 * (never back).
 */
import { ErrorCode } from '@gregor/common'
import type { TopicPartitions } from '@gregor/coordinator'
import { parseBatch, walkBatches } from '@gregor/records'
import type { ClusterInvariants } from './cluster-invariants.js'
import { type SimClient, errorCodeOf } from './sim-client.js'

export interface SimGroupConsumerOptions {
  readonly name: string
  readonly groupId: string
  readonly topic: string
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly fetchIntervalMs: number
  readonly commitIntervalMs: number
}

/** Answers after which the member has lost its membership: it lets go of everything and joins again. */
const fencedCodes: ReadonlySet<string> = new Set([ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID])

export class SimGroupConsumer {
  readonly #client: SimClient
  readonly #options: SimGroupConsumerOptions
  readonly #invariants: ClusterInvariants
  readonly #trace: (line: string) => void
  #memberId = ''
  #memberEpoch = 0
  #coordinator: number | undefined
  /** Owned partition → next offset to read. */
  readonly #positions = new Map<number, number>()
  #sessionTimer: { cancel: () => void } | undefined
  #stopped = false
  consumed = 0
  rejoins = 0

  constructor (client: SimClient, options: SimGroupConsumerOptions, invariants: ClusterInvariants, trace: (line: string) => void) {
    this.#client = client
    this.#options = options
    this.#invariants = invariants
    this.#trace = trace
  }

  start (): void {
    void this.#heartbeatLoop()
    void this.#fetchLoop()
    void this.#commitLoop()
  }

  stop (): void {
    this.#stopped = true
  }

  get owned (): number[] { return [...this.#positions.keys()].sort((a, b) => a - b) }

  #partitionKey (partition: number): string { return `${this.#options.topic}-${partition}` }

  #report (): void {
    this.#invariants.observeOwnership(this.#options.groupId, this.#options.name, this.owned.map((p) => this.#partitionKey(p)))
  }

  /** Lets go of every partition (fenced, session lapsed): it must not act on them any more. */
  #letGo (why: string): void {
    if (this.#positions.size > 0) this.#trace(`${this.#options.name} lets go of ${this.owned.join(',')} (${why})`)
    this.#positions.clear()
    this.#memberId = ''
    this.#memberEpoch = 0
    this.#sessionTimer?.cancel()
    this.#sessionTimer = undefined
    this.rejoins++
    this.#report()
  }

  async #heartbeatLoop (): Promise<void> {
    const { heartbeatIntervalMs } = this.#options
    while (!this.#stopped) {
      await this.#client.sleep(heartbeatIntervalMs)
      await this.#heartbeat()
    }
  }

  async #heartbeat (): Promise<void> {
    const { groupId, topic, name, sessionTimeoutMs } = this.#options
    try {
      this.#coordinator ??= (await this.#client.call(this.#client.randomBroker(), async (api) => await api.findCoordinator(groupId))).nodeId
      const sentMs = this.#client.process.clock.nowMs()
      const owned: TopicPartitions[] = this.#positions.size === 0 ? [] : [{ topic, partitions: this.owned }]
      const memberEpochSent = this.#memberEpoch
      const response = await this.#client.call(this.#coordinator, async (api) => await api.heartbeat({
        groupId, memberId: this.#memberId, memberEpoch: memberEpochSent, instanceId: '', rackId: '',
        rebalanceTimeoutMs: sessionTimeoutMs, subscribedTopicNames: [topic], subscribedTopicRegex: '', serverAssignor: '',
        ownedPartitions: owned, clientId: name, clientHost: name,
      }))
      // An answer to a heartbeat sent before we let go belongs to a membership we no longer have.
      if (memberEpochSent !== 0 && this.#memberEpoch === 0) return
      this.#memberId = response.memberId
      this.#memberEpoch = response.memberEpoch
      this.#sessionTimer?.cancel()
      const lapseMs = Math.max(0, sentMs + sessionTimeoutMs - this.#client.process.clock.nowMs())
      this.#sessionTimer = this.#client.process.timers.setTimeout(() => { this.#letGo('session lapsed') }, lapseMs)
      await this.#reconcile(new Set(response.assignment.filter((item) => item.topic === topic).flatMap((item) => item.partitions)))
    } catch (error) {
      const code = errorCodeOf(error)
      if (fencedCodes.has(code)) this.#letGo(code)
      else this.#coordinator = undefined
    }
  }

  /** Gives up what is no longer assigned (committing first), then takes what is new from its committed offset. */
  async #reconcile (assigned: ReadonlySet<number>): Promise<void> {
    const revoked = this.owned.filter((partition) => !assigned.has(partition))
    if (revoked.length > 0) {
      await this.#commit(revoked)
      for (const partition of revoked) this.#positions.delete(partition)
      this.#report()
    }
    const added = [...assigned].filter((partition) => !this.#positions.has(partition))
    if (added.length === 0 || this.#coordinator === undefined) return
    const { groupId, topic } = this.#options
    const fetched = await this.#client.call(this.#coordinator, async (api) => await api.fetchOffsets({ groupId, partitions: [{ topic, partitions: added }] }))
    if (this.#memberEpoch === 0) return
    for (const partition of added) {
      const committed = fetched.partitions.find((item) => item.topic === topic && item.partition === partition)?.offset ?? -1
      if (committed >= 0) this.#invariants.observeCommittedOffset(groupId, this.#partitionKey(partition), committed)
      this.#positions.set(partition, Math.max(0, committed))
    }
    this.#report()
  }

  async #commitLoop (): Promise<void> {
    while (!this.#stopped) {
      await this.#client.sleep(this.#options.commitIntervalMs)
      try { await this.#commit(this.owned) } catch { /* the next round commits again */ }
    }
  }

  async #commit (partitions: readonly number[]): Promise<void> {
    const { groupId, topic } = this.#options
    const coordinator = this.#coordinator
    if (partitions.length === 0 || coordinator === undefined || this.#memberEpoch <= 0) return
    const offsets = partitions.map((partition) => ({ partition, offset: this.#positions.get(partition) ?? 0 }))
    const response = await this.#client.call(coordinator, async (api) => await api.commitOffsets({
      groupId, memberId: this.#memberId, memberEpoch: this.#memberEpoch,
      partitions: offsets.map(({ partition, offset }) => ({ topic, partition, offset, leaderEpoch: -1, metadata: '' })),
    }))
    for (const result of response.partitions) {
      if (result.errorCode !== '') continue
      const offset = offsets.find((item) => item.partition === result.partition)?.offset
      if (offset !== undefined) this.#invariants.observeCommittedOffset(groupId, this.#partitionKey(result.partition), offset)
    }
  }

  async #fetchLoop (): Promise<void> {
    while (!this.#stopped) {
      await this.#client.sleep(this.#options.fetchIntervalMs)
      for (const partition of this.owned) {
        try { await this.#fetch(partition) } catch { /* leader moved or unreachable: next round */ }
      }
    }
  }

  async #fetch (partition: number): Promise<void> {
    const { topic } = this.#options
    const position = this.#positions.get(partition)
    if (position === undefined) return
    const leader = await this.#client.leaderOf(topic, partition)
    if (leader === undefined) return
    const response = await this.#client.call(leader.leader, async (api) => await api.fetch({
      maxWaitMs: 0, minBytes: 1, maxBytes: 64 * 1024,
      partitions: [{ topic, partition, fetchOffset: position, partitionMaxBytes: 64 * 1024, currentLeaderEpoch: leader.leaderEpoch }],
    }))
    const result = response.partitions?.[0]
    if (result === undefined || (result.errorCode ?? '') !== '') return
    this.#invariants.highWatermarkServed(this.#partitionKey(partition), Number(result.highWatermark ?? 0))
    const bytes = Buffer.from(result.records ?? new Uint8Array())
    let next = position
    for (const { position: at, header } of walkBatches(bytes)) {
      const batch = parseBatch(bytes, at)
      for (const record of batch.records) if (record.offset >= next) { next = record.offset + 1; this.consumed++ }
      next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1)
    }
    // Still ours? A revocation or fence while the fetch was out means another member reads from here on.
    if (this.#positions.has(partition) && next > position) this.#positions.set(partition, next)
  }
}

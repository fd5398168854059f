/**
 * The follower side of replication for one leader broker: one session (a stream in production) carrying every
 * partition this broker follows from that leader (Kafka's `ReplicaFetcherThread`, one per source broker).
 *
 * Owns: the session, the set of partitions it fetches and their retry times. It knows nothing about logs: it asks the
 * host for each partition's fetch state and hands each partition result back to the host, which appends durably,
 * truncates on a diverging epoch (KIP-595) and moves the follower's high watermark. It knows nothing about the
 * network either: sessions come from the injected `ReplicaFetchTransport`, time from the injected clock and timers.
 *
 * Async model: one loop, ONE request in flight at a time: request → response → the host applies every partition
 * result (durably) → next request. So the fetch offset a follower reports is always its durable log end, which is
 * what lets the leader count it for acks=all. A broken session, or one that has not answered within
 * `replicaFetchMaxWaitMs + replicaFetchResponseTimeoutMs` (a black-holed connection looks healthy to the transport),
 * is closed and replaced after a bounded exponential backoff (the transport resolves the leader's address again).
 * A partition whose result was an error waits `replicaFetchBackoffMs` before it is asked for again, so a leader that
 * does not know it leads yet is not spun on; NOT_LEADER_OR_FOLLOWER waits only `leaderBehindBackoffMs`: right after
 * an election the follower often applies the new leadership a few milliseconds before the leader does, and the
 * leader's first acks=all write waits for this follower's next fetch (issue 12, failover). A long poll lasts no
 * longer than until the first partition backing off is due, so a retry is not held up by the other partitions' poll.
 *
 * A partition added while a long poll is in flight (a leadership moved here from a dead broker, and this fetcher
 * was idle-polling the new leader for other partitions) would wait for that poll's `replicaFetchMaxWaitMs`: the poll
 * is abandoned instead (its session closed, a new one opened at once). Nothing is lost: the fetch offsets sent are
 * the durable log ends, and whatever the abandoned answer carried is fetched again. A session is a new connection,
 * so this is bounded: only a request out for `interruptAfterMs` (a long poll, not an answer on its way) on a session
 * that has answered before (its connection works) is abandoned, so every abandoned request is followed by at least
 * one answered one, and partitions added one after another (a topic of fifty being created) cannot starve the
 * fetcher with reconnects.
 *
 * Identity: every request carries this broker's epoch (KIP-903, for the leader's ISR proposals) and every partition
 * its topic id (KIP-516, from the host's fetch state). A partition the leader answers UNKNOWN_TOPIC_ID or
 * INCONSISTENT_TOPIC_ID is another incarnation of the topic there (deleted and re-created, and one of the two
 * brokers' metadata is behind): its result is not handed to the host, so nothing of it is appended, and the
 * partition backs off until the metadata catches up (the replica manager then replaces or drops it).
 *
 * Corrupt data from the leader: a result the host refuses as CORRUPT_MESSAGE (its append validates every batch: CRC,
 * magic, record count) makes the next fetch of that partition ask the leader to verify its own copy
 * (`verifyRecords`). Reads on the leader check headers only, so without this a batch rotted on the leader's disk
 * would be served, and refused, forever (issue 10, seeds 452 and 1175 of the disk-fault simulation).
 */
import { type Clock, ErrorCode, type Logger, type TimerHandle, type Timers, isGregorError } from '@gregor/common'
import type { ReplicaFetchPartition, ReplicaFetchPartitionResult, ReplicaFetchRequest, ReplicaFetchResponse } from './leader-requests.js'
import type { ReplicaFetchSession, ReplicaFetchTransport } from './replica-fetch-transport.js'
import type { ReplicationConfig } from './replication-config.js'

/** Backoff of a partition its leader does not lead yet (or no longer): its metadata is a few ms behind ours. */
const leaderBehindBackoffMs = 20
/** How long a request must have been out before a partition added meanwhile abandons it (see the header). */
const interruptAfterMs = 50

/** What the fetcher needs from the replica manager. */
export interface ReplicaFetcherHost {
  /** The partition's fetch state (with its topic id) if it still follows `leaderId`; undefined drops it from this fetcher. */
  fetchState (key: string, leaderId: number): ReplicaFetchPartition | undefined
  /** Applies one partition's result durably; false when the partition should back off before its next fetch. */
  handleFetchResult (key: string, leaderId: number, sent: ReplicaFetchPartition, result: ReplicaFetchPartitionResult): Promise<boolean>
}

export interface ReplicaFetcherDeps {
  readonly brokerId: number
  readonly leaderId: number
  /** This broker's epoch (its current registration's), -1 when unknown: sent with every request (KIP-903). */
  readonly brokerEpoch: () => number
  readonly transport: ReplicaFetchTransport
  readonly config: ReplicationConfig
  readonly clock: Clock
  readonly timers: Timers
  readonly logger: Logger
  readonly host: ReplicaFetcherHost
}

export class ReplicaFetcher {
  readonly leaderId: number
  readonly #brokerId: number
  readonly #brokerEpoch: () => number
  readonly #transport: ReplicaFetchTransport
  readonly #config: ReplicationConfig
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #log: Logger
  readonly #host: ReplicaFetcherHost
  /** Partition key → earliest time (clock ms) it may be fetched again. */
  readonly #partitions = new Map<string, number>()
  /** Partitions whose last result the host refused as corrupt: their next fetch asks the leader to verify. */
  readonly #refused = new Set<string>()
  #running = true
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #session: ReplicaFetchSession | undefined
  #backoffMs: number
  /** Abandons the request in flight (see the header); undefined while none is or while it may not be abandoned. */
  #interrupt: (() => void) | undefined
  /** Whether the current session has answered a request: only then is its connection known to work. */
  #sessionAnswered = false
  /** A partition was added while the request in flight was too young to abandon: abandon it once it may be. */
  #addedWhileOut = false

  constructor (deps: ReplicaFetcherDeps) {
    this.leaderId = deps.leaderId
    this.#brokerId = deps.brokerId
    this.#brokerEpoch = deps.brokerEpoch
    this.#transport = deps.transport
    this.#config = deps.config
    this.#clock = deps.clock
    this.#timers = deps.timers
    this.#log = deps.logger.child({ leaderId: deps.leaderId })
    this.#host = deps.host
    this.#backoffMs = deps.config.reconnectBackoffMsMin
  }

  get partitionCount (): number {
    return this.#partitions.size
  }

  /** Starts (or resumes at once) fetching `key` from this leader. */
  addPartition (key: string): void {
    // Only a request sent before this call is abandoned: partitions added together (one metadata update) go out in
    // one request, since the loop sends its first one a microtask after it starts.
    const added = !this.#partitions.has(key)
    const interrupt = added ? this.#interrupt : undefined
    if (added) this.#addedWhileOut = true
    this.#partitions.set(key, 0)
    this.#loop ??= this.#run()
    this.#wake?.()
    interrupt?.()
  }

  removePartition (key: string): void {
    this.#partitions.delete(key)
    this.#refused.delete(key)
  }

  /** Stops the loop and the session; resolves once the loop has finished its current step. */
  async close (): Promise<void> {
    this.#running = false
    this.#wake?.()
    this.#closeSession()
    await this.#loop
  }

  async #run (): Promise<void> {
    await Promise.resolve()
    while (this.#running) {
      const request = this.#buildRequest()
      if (request === undefined) {
        await this.#sleep(this.#untilNextDueMs())
        continue
      }
      let response: ReplicaFetchResponse
      try {
        const answer = await this.#exchange(request)
        if (answer === 'interrupted') {
          this.#closeSession()
          continue
        }
        response = answer
        this.#sessionAnswered = true
        this.#backoffMs = this.#config.reconnectBackoffMsMin
      } catch (error) {
        if (!this.#running) break
        this.#log.warn({ err: error instanceof Error ? error.message : String(error), backoffMs: this.#backoffMs }, 'fetch from leader failed')
        this.#closeSession()
        await this.#sleep(this.#backoffMs)
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#config.reconnectBackoffMsMax)
        continue
      }
      await this.#applyResponse(request, response)
    }
  }

  #buildRequest (): ReplicaFetchRequest | undefined {
    const nowMs = this.#clock.nowMs()
    const partitions: ReplicaFetchPartition[] = []
    // The long poll ends when the first partition backing off is due again, so its retry does not wait for the poll.
    let maxWaitMs = this.#config.replicaFetchMaxWaitMs
    for (const [key, retryAtMs] of this.#partitions) {
      if (retryAtMs > nowMs) {
        maxWaitMs = Math.min(maxWaitMs, retryAtMs - nowMs)
        continue
      }
      const state = this.#host.fetchState(key, this.leaderId)
      if (state === undefined) { this.#partitions.delete(key); continue }
      partitions.push(this.#refused.has(key) ? { ...state, verifyRecords: true } : state)
    }
    if (partitions.length === 0) return undefined
    return {
      replicaId: this.#brokerId,
      brokerEpoch: this.#brokerEpoch(),
      maxWaitMs,
      minBytes: this.#config.replicaFetchMinBytes,
      maxBytes: this.#config.replicaFetchMaxBytes,
      partitions,
    }
  }

  /**
   * Applies every partition's result at once: each append waits for its own fdatasync, and partitions are independent
   * (each on its own replica's turn), so a response carrying N partitions costs the slowest sync, not the sum of N.
   * The next request still waits for all of them, so every fetch offset it reports is durable.
   */
  async #applyResponse (request: ReplicaFetchRequest, response: ReplicaFetchResponse): Promise<void> {
    const sent = new Map((request.partitions ?? []).map((p) => [`${p.topic ?? ''}-${p.partition ?? 0}`, p]))
    const results = response.partitions ?? []
    if (results.length === 1) await this.#applyResult(sent, results[0] as ReplicaFetchPartitionResult)
    else await Promise.all(results.map(async (result) => { await this.#applyResult(sent, result) }))
  }

  async #applyResult (sent: ReadonlyMap<string, ReplicaFetchPartition>, result: ReplicaFetchPartitionResult): Promise<void> {
    const key = `${result.topic ?? ''}-${result.partition ?? 0}`
    const state = sent.get(key)
    if (state === undefined || !this.#partitions.has(key)) return
    const errorCode = result.errorCode ?? ''
    if (errorCode === ErrorCode.UNKNOWN_TOPIC_ID || errorCode === ErrorCode.INCONSISTENT_TOPIC_ID) {
      // Another incarnation of the topic on the leader: nothing of it may reach this log. Wait for the metadata.
      this.#log.info({ key, errorCode, topicId: state.topicId }, 'topic id differs from the leader\'s')
      this.#partitions.set(key, this.#clock.nowMs() + this.#config.replicaFetchBackoffMs)
      return
    }
    let ok = false
    try {
      ok = await this.#host.handleFetchResult(key, this.leaderId, state, result)
      this.#refused.delete(key)
    } catch (error) {
      if (isGregorError(error) && error.code === ErrorCode.CORRUPT_MESSAGE) this.#refused.add(key)
      this.#log.warn({ key, err: error instanceof Error ? error.message : String(error) }, 'fetch result not applied')
    }
    const backoffMs = errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
      ? Math.min(leaderBehindBackoffMs, this.#config.replicaFetchBackoffMs)
      : this.#config.replicaFetchBackoffMs
    if (!ok && this.#partitions.has(key)) this.#partitions.set(key, this.#clock.nowMs() + backoffMs)
  }

  #untilNextDueMs (): number {
    if (this.#partitions.size === 0) return this.#config.replicaFetchBackoffMs * 10
    const nowMs = this.#clock.nowMs()
    return Math.max(1, Math.min(...this.#partitions.values()) - nowMs)
  }

  /** Sleeps `ms`, or until a partition is added or the fetcher closes. */
  async #sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = this.#timers.setTimeout(() => { this.#wake = undefined; resolve() }, ms)
      this.#wake = () => { timer.cancel(); this.#wake = undefined; resolve() }
    })
  }

  /**
   * Sends one request on the session (opened if there is none) and waits for its response: the only request in
   * flight. Rejects when the session breaks, or when no answer came within the long-poll wait plus the response
   * timeout.
   */
  #exchange (request: ReplicaFetchRequest): Promise<ReplicaFetchResponse | 'interrupted'> {
    let session = this.#session
    if (session === undefined) {
      session = this.#transport.open(this.leaderId)
      if (session === undefined) return Promise.reject(new Error('leader address unknown'))
      this.#session = session
    }
    const fetching = session.fetch(request)
    let timer: TimerHandle | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = this.#timers.setTimeout(() => { reject(new Error('replica fetch response timed out')) },
        this.#config.replicaFetchMaxWaitMs + this.#config.replicaFetchResponseTimeoutMs)
    })
    let armTimer: TimerHandle | undefined
    this.#addedWhileOut = false
    const interrupted = new Promise<'interrupted'>((resolve) => {
      if (!this.#sessionAnswered) return
      armTimer = this.#timers.setTimeout(() => {
        this.#interrupt = () => { resolve('interrupted') }
        if (this.#addedWhileOut) this.#interrupt()
      }, interruptAfterMs)
    })
    return Promise.race([fetching, deadline, interrupted]).finally(() => {
      timer?.cancel()
      armTimer?.cancel()
      this.#interrupt = undefined
    })
  }

  #closeSession (): void {
    const session = this.#session
    this.#session = undefined
    this.#sessionAnswered = false
    session?.close()
  }
}

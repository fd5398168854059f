/**
 * The producer's network half (Kafka's `Sender`): takes ready batches from a RecordAccumulator, sends them to
 * their partition leaders, and settles or retries each one from the response.
 *
 * Loop: woken by the accumulator's `onReady` (new full batch, linger over, retry backoff over, flush), it asks which
 * partitions are ready, groups them by leader broker from the cached metadata, and drains and sends one Produce
 * request per broker (bounded by `requestBytesMax`). Partitions without a known leader stay queued and trigger a
 * metadata refresh, at most one at a time and one per `retryBackoffMs`; the refresh wakes the loop again.
 *
 * A request names the leader (id and epoch) its partitions were sent to, so the connection abandons it when it stalls
 * and metadata from another broker shows a new leader (cluster-connection.ts): its batches are retried at the new
 * leader with the same sequence numbers (at once: no backoff and no second metadata refresh), so an idempotent
 * producer's retry is stored once.
 *
 * Per batch outcome: success completes it at the broker's base offset; a failure goes to RetryPolicy, which either
 * re-enqueues it after a backoff (refreshing metadata first when the error says leaders moved, the topic id is
 * stale, or the broker was unreachable) or fails it, never past `deliveryTimeoutMs`. While such a batch waits, its
 * partition's metadata is asked again every `retryBackoffMs`, and as soon as it names another leader (or a newer
 * epoch) the batch goes there without waiting out the rest of its backoff (Kafka KIP-951): after a leader dies, the
 * first retry reaches the new leader within about one `retryBackoffMs` of its election, not after a doubled backoff. A batch whose delivery timeout
 * passes while it is in flight fails at once ("may have been committed"); its answer, when it comes, only releases
 * its place. A batch that fails after it was sent makes the accumulator drop the producer id: the next drain first
 * asks for a new one (InitProducerId), so no sequence number whose fate is unknown is ever followed by another under
 * the same id.
 *
 * Batches in flight per partition (the accumulator enforces the order, record-accumulator.ts): an idempotent producer
 * keeps up to `maxInFlightPerPartition` (1..5, Kafka's `max.in.flight.requests.per.connection` with idempotence: the
 * batches a broker remembers per producer for duplicate detection; default 5, see producer-config.ts), each in its
 * own request; any other keeps one, since without sequence numbers a retry could overtake the batch behind it. The
 * loop drains until nothing more is ready, so a partition's next full batch leaves without waiting for the previous
 * acknowledgement. Requests to one broker are written in send order on its one ProduceStream, but a stream that breaks
 * and is reopened, or a predecessor retried at a new leader, can still let a batch arrive before the one ahead of it:
 * a batch sent behind another of its partition (`pipelined`) that comes back OUT_OF_ORDER_SEQUENCE_NUMBER may simply
 * have arrived first, so it is retried (the accumulator resends it alone, after its predecessors); the same answer to
 * a batch sent alone is final, as in Kafka.
 *
 * Each partition of a request carries the topic id of the metadata snapshot (KIP-516; "" while unknown): a topic
 * deleted and re-created under the same name is another topic, refused with UNKNOWN_TOPIC_ID or
 * INCONSISTENT_TOPIC_ID, after which the batch is retried once metadata is refreshed, so records go to the
 * incarnation the client knows.
 */
import { ErrorCode, GregorError, type Clock, type Rng } from '@gregor/common'
import { type gregor, clientMethods } from '@gregor/protocol'
import type { ClusterConnection } from './cluster-connection.js'
import { groupByLeader } from './group-by-leader.js'
import type { ProducerBatch } from './producer-batch.js'
import type { Acks, ProducerConfig } from './producer-config.js'
import { RecordAccumulator } from './record-accumulator.js'
import { isStaleMetadataError, responseError } from './response-error.js'
import { RetryPolicy } from './retry-policy.js'
import type { Scheduler } from './scheduler.js'
import { topicPartitionKey } from './topic-partition-key.js'

/** Kafka's `max.request.size` default: one Produce request carries batches of many partitions up to this. */
const REQUEST_BYTES_MAX = 1024 * 1024

export const acksOnWire: Readonly<Record<Acks, number>> = Object.freeze({ all: -1, leader: 1, none: 0 })

export interface ProducerSenderDeps {
  readonly connection: ClusterConnection
  readonly clock: Clock
  readonly wallClock: Clock
  readonly scheduler: Scheduler
  readonly rng: Rng
}

/** What one batch's attempt came to. */
export type ProduceOutcome =
  | { readonly batch: ProducerBatch; readonly ok: true; readonly baseOffset: number; readonly logAppendTimeMs: number | undefined }
  | { readonly batch: ProducerBatch; readonly ok: false; readonly error: GregorError }

/**
 * The Produce request for `batches` (at most one per partition, as `drain` returns them); `topicIdOf` gives each
 * topic's id from the metadata ("" when unknown: the broker then checks the name only).
 */
export function produceRequest (
  batches: readonly ProducerBatch[],
  options: { readonly acks: Acks; readonly timeoutMs: number; readonly topicIdOf?: (topic: string) => string },
): gregor.cluster.ProduceRequest.$Properties {
  const topicIdOf = options.topicIdOf ?? (() => '')
  return {
    acks: acksOnWire[options.acks],
    timeoutMs: options.timeoutMs,
    partitions: batches.map((batch) => ({ topic: batch.topic, partition: batch.partition, records: batch.buffer, topicId: topicIdOf(batch.topic) })),
  }
}

/** Matches a ProduceResponse to the batches sent; a partition the response leaves out fails (not retriable). */
export function produceOutcomes (
  response: gregor.cluster.ProduceResponse.$Properties,
  batches: readonly ProducerBatch[],
): ProduceOutcome[] {
  const results = new Map<string, gregor.cluster.ProducePartitionResult.$Properties>()
  for (const result of response.partitions ?? []) results.set(topicPartitionKey(result.topic ?? '', result.partition ?? 0), result)
  return batches.map((batch): ProduceOutcome => {
    const details = { topic: batch.topic, partition: batch.partition }
    const result = results.get(topicPartitionKey(batch.topic, batch.partition))
    if (result === undefined) {
      return { batch, ok: false, error: new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no result for partition', { details }) }
    }
    const error = responseError(result.errorCode, result.errorMessage, details)
    if (error !== undefined) return { batch, ok: false, error }
    const logAppendTimeMs = result.logAppendTimeMs ?? -1
    return { batch, ok: true, baseOffset: result.baseOffset ?? 0, logAppendTimeMs: logAppendTimeMs >= 0 ? logAppendTimeMs : undefined }
  })
}

/**
 * OUT_OF_ORDER_SEQUENCE_NUMBER for a batch sent while an earlier one of its partition was in flight: the broker may
 * have seen it before its predecessor (or the predecessor failed), so it is retriable; the accumulator resends it
 * alone, after the batches before it. Any other error is returned as it is.
 */
function outOfOrderBehindAnother (batch: ProducerBatch, error: GregorError): GregorError {
  if (error.code !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || !batch.pipelined || error.retriable) return error
  return new GregorError(error.code, error.message, { retriable: true, cause: error, details: { ...error.details, pipelined: true } })
}

export class ProducerSender {
  readonly accumulator: RecordAccumulator
  readonly #config: ProducerConfig
  readonly #deps: ProducerSenderDeps
  readonly #retryPolicy: RetryPolicy
  #running = false
  #runAgain = false
  #closed = false
  #refreshInFlight = false
  #lastRefreshMs = Number.NEGATIVE_INFINITY
  #refreshTimer: (() => void) | undefined
  #readyCheckTimer: (() => void) | undefined
  readonly #staleTopics = new Set<string>()
  /**
   * Partitions whose batch failed for want of a (live) leader, with the leader it was sent to: watched on every
   * metadata refresh until another leader shows, the partition is acknowledged, or the batch's delivery timeout ends.
   */
  /**
   * Per batch, the leader (broker and epoch) of its last failed attempt and how many attempts it had made before
   * that leader: the exponential backoff counts attempts at the current leader only, so a batch that failed at a dead
   * leader and is then refused once by the new leader (which has not applied its election yet) waits the base
   * backoff, not the doubled one it earned at the dead broker.
   */
  readonly #failedAt = new WeakMap<ProducerBatch, { readonly brokerId: number; readonly leaderEpoch: number; readonly attemptsBefore: number }>()
  readonly #awaitingLeader = new Map<string, { readonly topic: string; readonly partition: number; readonly brokerId: number; readonly leaderEpoch: number; readonly untilMs: number }>()
  /** Idempotent (Kafka `enable.idempotence` with acks=all): batches wait for a producer id before they are sent. */
  readonly #idempotent: boolean
  #initInFlight = false
  #initRetryTimer: (() => void) | undefined
  /** Brokers with a Produce request still being written: the next one to them waits (see `#produce`). */
  readonly #writing = new Set<number>()

  /** `config` must have passed `validateProducerConfig`. */
  constructor (config: ProducerConfig, deps: ProducerSenderDeps) {
    this.#config = config
    this.#deps = deps
    this.#retryPolicy = new RetryPolicy(config, { rng: deps.rng })
    this.#idempotent = config.idempotent && config.acks === 'all'
    this.accumulator = new RecordAccumulator({ ...config, maxInFlightPerPartition: this.#idempotent ? config.maxInFlightPerPartition : 1 }, {
      clock: deps.clock, wallClock: deps.wallClock, scheduler: deps.scheduler, onReady: () => this.#wake(),
    })
  }

  /** Stops the loop: batches not yet sent fail with SHUTTING_DOWN; requests in flight settle as they answer. */
  close (): void {
    this.#closed = true
    this.#refreshTimer?.()
    this.#readyCheckTimer?.()
    this.#initRetryTimer?.()
    this.accumulator.close()
    this.accumulator.abortQueued(new GregorError(ErrorCode.SHUTTING_DOWN, 'producer closed'))
  }

  #wake (): void {
    if (this.#closed) return
    if (this.#running) {
      this.#runAgain = true
      return
    }
    this.#running = true
    try {
      do {
        this.#runAgain = false
        // A drain takes one batch per partition: while it took any, a partition may have another ready behind it.
        if (this.#sendReady()) this.#runAgain = true
      } while (this.#runAgain && !this.#closed)
    } finally {
      this.#running = false
    }
  }

  /** Sends what is ready; true if it sent anything. */
  #sendReady (): boolean {
    const { connection } = this.#deps
    if (this.#idempotent && this.accumulator.producerIdentity === undefined) {
      this.#initProducerId()
      return false
    }
    const { partitions, nextReadyCheckDelayMs } = this.accumulator.ready()
    this.#scheduleReadyCheck(nextReadyCheckDelayMs)
    const { groups, leaderless } = groupByLeader(partitions, (tp) => connection.leaderFor(tp))
    if (leaderless.length > 0) this.#refreshMetadata(leaderless.map((tp) => tp.topic))
    let sent = false
    for (const group of groups.values()) {
      if (this.#writing.has(group.brokerId)) continue
      const batches = this.accumulator.drain({
        bytesMax: REQUEST_BYTES_MAX,
        filter: (tp) => connection.leaderFor(tp)?.brokerId === group.brokerId,
      })
      if (batches.length > 0) {
        sent = true
        void this.#produce(group.address, group.brokerId, batches)
      }
    }
    return sent
  }

  /**
   * Looks again when the accumulator says a batch becomes ready by time alone. Its own linger and backoff timers
   * usually wake us first, but a timer may fire a little before the monotonic clock agrees that the time is up;
   * without this, such a batch would wait for its delivery timeout.
   */
  #scheduleReadyCheck (delayMs: number | undefined): void {
    this.#readyCheckTimer?.()
    this.#readyCheckTimer = undefined
    if (delayMs === undefined || this.#closed) return
    this.#readyCheckTimer = this.#deps.scheduler.setTimer(Math.max(1, Math.ceil(delayMs)), () => {
      this.#readyCheckTimer = undefined
      this.#wake()
    })
  }

  async #produce (address: string, brokerId: number, batches: ProducerBatch[]): Promise<void> {
    const { snapshot } = this.#deps.connection
    const request = produceRequest(batches, {
      acks: this.#config.acks, timeoutMs: this.#config.requestTimeoutMs, topicIdOf: (topic) => snapshot.topics.get(topic)?.topicId ?? '',
    })
    const leaders = batches.map((batch) => ({
      topic: batch.topic, partition: batch.partition, brokerId, leaderEpoch: this.#deps.connection.leaderFor(batch)?.leaderEpoch ?? -1,
    }))
    let outcomes: ProduceOutcome[]
    // One request being written per broker. Every Produce goes on the connection's one stream to the broker
    // (cluster-connection.ts, produce-stream.ts), which keeps send order, so this no longer guards the order: it
    // keeps the next request's batches filling while this one waits for flow-control window (fewer, fuller requests)
    // and bounds what waits in the stream's queue to one request per broker.
    this.#writing.add(brokerId)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#writing.delete(brokerId)
      this.#wake()
    }
    try {
      const response = await this.#deps.connection.produce(address, request, { leaders, onWritten: release })
      outcomes = produceOutcomes(response, batches)
    } catch (error) {
      const failure = error instanceof GregorError ? error : new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, String(error), { cause: error })
      outcomes = batches.map((batch) => ({ batch, ok: false, error: failure }))
    }
    // The gate opens after the outcomes unmuted their partitions, so the wake it gives can send them at once.
    for (const outcome of outcomes) {
      if (outcome.ok) {
        this.#awaitingLeader.delete(topicPartitionKey(outcome.batch.topic, outcome.batch.partition))
        this.accumulator.complete(outcome.batch, { baseOffset: outcome.baseOffset, logAppendTimeMs: outcome.logAppendTimeMs })
      } else {
        const sentTo = leaders.find((leader) => leader.topic === outcome.batch.topic && leader.partition === outcome.batch.partition)
        this.#retryOrFail(outcome.batch, outcome.error, sentTo)
      }
    }
    release()
  }

  #retryOrFail (batch: ProducerBatch, error: GregorError, sentTo?: { readonly brokerId: number; readonly leaderEpoch: number }): void {
    // Closed, or already failed by its delivery timeout while this attempt was out: nothing to retry.
    if (this.#closed || batch.state === 'done') {
      this.accumulator.fail(batch, error)
      return
    }
    const decision = this.#retryPolicy.decide({
      error: outOfOrderBehindAnother(batch, error), attempts: this.#attemptsAtLeader(batch, sentTo), createdMs: batch.createdMs, nowMs: this.#deps.clock.nowMs(),
    })
    if (!decision.retry) {
      // A given-up batch may be in the log or leave a gap in its partition's sequence: the accumulator drops the
      // producer id, and the next drain waits for a new one (Kafka bumps the epoch, KIP-360).
      this.accumulator.fail(batch, decision.error)
      return
    }
    // Abandoned by the stall watch because fresh metadata names another leader: the metadata needs no refresh and
    // the new leader no backoff (as Kafka's KIP-951), so the batch goes there in the next drain.
    const leaderMoved = error.details.leaderMoved === true
    const stale = !leaderMoved && (decision.refreshMetadata || isStaleMetadataError(error))
    if (stale && sentTo !== undefined) {
      this.#awaitingLeader.set(topicPartitionKey(batch.topic, batch.partition), {
        topic: batch.topic, partition: batch.partition, brokerId: sentTo.brokerId, leaderEpoch: sentTo.leaderEpoch,
        untilMs: batch.createdMs + this.#config.deliveryTimeoutMs,
      })
    }
    if (stale) this.#refreshMetadata([batch.topic])
    // A pipelined batch that arrived before its predecessor waits for that one anyway: no backoff on top.
    const overtook = error.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    this.accumulator.reenqueue(batch, { delayMs: leaderMoved || overtook ? 0 : decision.delayMs })
  }

  /** The batch's failed attempts at `sentTo`, counted since its attempts went there (all of them when unknown). */
  #attemptsAtLeader (batch: ProducerBatch, sentTo: { readonly brokerId: number; readonly leaderEpoch: number } | undefined): number {
    if (sentTo === undefined) return batch.attempts
    let last = this.#failedAt.get(batch)
    if (last === undefined || last.brokerId !== sentTo.brokerId || last.leaderEpoch !== sentTo.leaderEpoch) {
      last = { brokerId: sentTo.brokerId, leaderEpoch: sentTo.leaderEpoch, attemptsBefore: batch.attempts - 1 }
      this.#failedAt.set(batch, last)
    }
    return batch.attempts - last.attemptsBefore
  }

  /** Asks any broker for a producer id (Kafka InitProducerId): one request at a time, `retryBackoffMs` apart on failure. */
  #initProducerId (): void {
    if (this.#initInFlight || this.#initRetryTimer !== undefined || this.#closed) return
    this.#initInFlight = true
    this.#deps.connection.callAny(clientMethods.initProducerId, {}).then((response) => {
      const error = responseError(response.errorCode, response.errorMessage)
      if (error !== undefined) throw error
      this.accumulator.setProducerIdentity({ producerId: response.producerId, producerEpoch: response.producerEpoch })
    }).catch(() => {
      // Batches wait (bounded by their delivery timeout) until a broker can answer.
      this.#initRetryTimer = this.#deps.scheduler.setTimer(this.#config.retryBackoffMs, () => {
        this.#initRetryTimer = undefined
        this.#wake()
      })
    }).finally(() => {
      this.#initInFlight = false
      this.#wake()
    })
  }

  /** Refreshes the metadata of `topics`: one refresh at a time, none sooner than `retryBackoffMs` after the last. */
  #refreshMetadata (topics: readonly string[]): void {
    for (const topic of topics) this.#staleTopics.add(topic)
    if (this.#refreshInFlight || this.#refreshTimer !== undefined || this.#closed) return
    const waitMs = this.#lastRefreshMs + this.#config.retryBackoffMs - this.#deps.clock.nowMs()
    if (waitMs > 0) {
      this.#refreshTimer = this.#deps.scheduler.setTimer(waitMs, () => {
        this.#refreshTimer = undefined
        this.#refreshMetadata([])
      })
      return
    }
    const stale = [...this.#staleTopics]
    this.#staleTopics.clear()
    // An empty Metadata request means every topic: never send one by accident.
    if (stale.length === 0) return
    this.#refreshInFlight = true
    this.#lastRefreshMs = this.#deps.clock.nowMs()
    // A failed refresh is not an error of any record: the batches wait and expire by their delivery timeout.
    this.#deps.connection.metadata(stale).catch(() => undefined).finally(() => {
      this.#refreshInFlight = false
      this.#checkNewLeaders()
      this.#wake()
    })
  }

  /**
   * After a refresh: a partition waiting for a new leader that has one now retries at once; one still without asks
   * for metadata again (no sooner than `retryBackoffMs` after this refresh, see `#refreshMetadata`).
   */
  #checkNewLeaders (): void {
    if (this.#closed) return
    const nowMs = this.#deps.clock.nowMs()
    const waiting = new Set<string>()
    for (const [key, sent] of this.#awaitingLeader) {
      const leader = this.#deps.connection.leaderFor(sent)
      if (leader !== undefined && (leader.brokerId !== sent.brokerId || leader.leaderEpoch > sent.leaderEpoch)) {
        this.#awaitingLeader.delete(key)
        this.accumulator.expediteRetries(sent.topic, sent.partition)
      } else if (nowMs >= sent.untilMs) {
        this.#awaitingLeader.delete(key)
      } else {
        waiting.add(sent.topic)
      }
    }
    if (waiting.size > 0) this.#refreshMetadata([...waiting])
  }
}

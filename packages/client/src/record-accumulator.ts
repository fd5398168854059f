/**
 * Collects records into per topic-partition batches until they are worth sending (Kafka `RecordAccumulator`).
 *
 * Owns: the queue of batches of every partition, their readiness, the memory bound (through `BufferPool`), and the
 * delivery timeout of batches that wait in it. Does not own the network: a sender (producer-sender.ts) learns from
 * `onReady` that something may be ready, takes batches with `drain`, and reports each attempt back with `complete`,
 * `fail` or `reenqueue` (after asking `RetryPolicy`).
 *
 * Readiness (Kafka's rules): the head batch of a partition is ready when it is full (closed, or followed by another
 * batch), when it has waited `lingerMs` since its creation, when a retried batch's backoff is over, or at once
 * while a flush or close is under way or someone waits for buffer space (holding batches back would only make
 * the wait longer).
 *
 * Invariants:
 * - Order per partition: records are batched in append order (FIFO waits keep it when the buffer is full), and
 *   batches are sent in that order. With `maxInFlightPerPartition` 1 (the default) a partition with a batch in flight
 *   is muted: Kafka's ordering with `max.in.flight.requests = 1`. An idempotent sender passes up to 5 (Kafka's
 *   `max.in.flight.requests.per.connection` with idempotence): a partition's next batch may then be drained while
 *   earlier ones are in flight, only behind first attempts numbered under the current producer id, and only once
 *   the broker acknowledged a batch of the partition under that id: from then on it knows the producer, and its
 *   sequence check keeps the order (a batch that arrives before its predecessor is refused with
 *   OUT_OF_ORDER_SEQUENCE_NUMBER and retried; a broker takes any sequence from a producer it does not know). A retried batch goes back in drain order, ahead of every batch drained
 *   after it, and is resent alone: nothing else of its partition is in flight while a retry is, so retries keep
 *   their order and a batch behind a failed one is never appended before it.
 * - Memory: the estimated bytes of every batch not yet settled are held in the pool; they are released exactly once,
 *   when the batch is settled (sent, failed or expired).
 * - Every delivery promise settles: success, failure, or REQUEST_TIMED_OUT once `deliveryTimeoutMs` has passed since
 *   its batch was created (Kafka KIP-91), wherever the batch is. A batch never sent fails as "expired before it was
 *   sent"; one sent at least once (in flight, or waiting to be retried) fails as "may have been committed"
 *   (`details.maybeCommitted`). A batch that expires in flight keeps its partition muted and its bytes held until
 *   the sender reports the attempt, so nothing is sent to the partition while its fate is still being decided.
 * - Sequence numbers are never reused: a batch numbered under the current producer id that fails after it was sent
 *   (given up, refused, or expired) may or may not be in the log, so no later batch of its partition can be numbered
 *   after it. The identity is then dropped and the sender takes a new producer id, under which every partition starts
 *   at sequence 0 (Kafka resets the id or bumps the epoch of an idempotent producer, KIP-360). A batch that expired
 *   in flight does this when its attempt is answered, and not at all if the answer is a success.
 * - Time only comes from the injected clocks and scheduler; `onReady` is called asynchronously (coalesced in a
 *   microtask), never from inside an accumulator method, so a sender may call back in without re-entrancy.
 */
import assert from 'node:assert/strict'
import { type Clock, ErrorCode, GregorError } from '@gregor/common'
import { BATCH_HEADER_BYTES, recordsLimits } from '@gregor/records'
import { type AllocationPlan, BatchBufferPool, BufferPool } from './buffer-pool.js'
import { type BatchSettlement, ProducerBatch, type RecordMetadata } from './producer-batch.js'
import type { ProducerConfig } from './producer-config.js'
import { type RecordFields, checkRecordTimestamp, recordBytes } from './record-bytes.js'
import { deliveryTimeoutError } from './retry-policy.js'
import type { Scheduler } from './scheduler.js'

export type RecordAccumulatorConfig =
  Pick<ProducerConfig, 'lingerMs' | 'batchBytesMax' | 'bufferBytesMax' | 'maxBlockMs' | 'compression' | 'deliveryTimeoutMs'> & {
    /** Batches of one partition in flight at once (default 1; more only for an idempotent producer: see the header). */
    readonly maxInFlightPerPartition?: number
  }

export interface RecordAccumulatorDeps {
  /** Monotonic: linger, backoff, timeouts. */
  readonly clock: Clock
  /** Epoch milliseconds: the timestamp of records appended without one. */
  readonly wallClock: Clock
  readonly scheduler: Scheduler
  /** The sender's cue that a batch may have become ready: call `drain`. */
  readonly onReady?: () => void
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface AppendInput extends TopicPartition {
  /** Keys, values and header values as Buffers, strings (UTF-8) or null; no timestamp: now, by the wall clock. */
  readonly record: RecordFields & { readonly timestamp?: number | undefined }
  /**
   * Append only to an open batch that has room; if the record would start a new batch, append nothing and answer
   * 'abortedForNewBatch' (Kafka's `abortOnNewBatch`, so a sticky partitioner can move on first, KIP-480).
   */
  readonly abortOnNewBatch?: boolean
}

/** A record in its batch: its metadata is `batch.metadataAt(index, await batch.result)`. */
export class Appended {
  readonly status = 'appended'
  constructor (readonly batch: ProducerBatch, readonly index: number) {}

  get partition (): number {
    return this.batch.partition
  }

  /** The record's own delivery promise (a new promise per call; the batch's `result` is the cheap path). */
  get delivery (): Promise<RecordMetadata> {
    return this.batch.delivery(this.index)
  }
}

/** The answer of an append with `abortOnNewBatch` that would have started a new batch: nothing was appended. */
export const abortedForNewBatch: { readonly status: 'abortedForNewBatch' } = Object.freeze({ status: 'abortedForNewBatch' })

export type AppendResult = Appended | typeof abortedForNewBatch

/** Where a record went, for callers that keep no handle per record: its batch, or `abortedForNewBatch`. */
export type RecordAppend = ProducerBatch | typeof abortedForNewBatch

export interface ReadyCheck {
  /** Partitions whose head batch is ready and not muted. */
  readonly partitions: TopicPartition[]
  /** When the next not-yet-ready batch becomes ready, if any does by time alone. */
  readonly nextReadyCheckDelayMs: number | undefined
}

export interface DrainOptions {
  /** Stop before the batches taken pass this many (estimated) bytes; the first batch is always taken. */
  readonly bytesMax?: number
  /** Only partitions for which this holds (e.g. those led by the broker a request is for). */
  readonly filter?: (topicPartition: TopicPartition) => boolean
}

/** The batches of one partition: queued in order, and those in flight, in the order they were drained. */
interface PartitionQueue extends TopicPartition {
  readonly batches: ProducerBatch[]
  readonly inFlight: ProducerBatch[]
  /** The sequence number the next batch encoded for this partition starts at (idempotent producers). */
  nextSequence: number
  /**
   * The producer id of the last batch of this partition the broker acknowledged (-1: none yet). Until the broker
   * has acknowledged one of the current id, it does not know the producer and would take any sequence: nothing is
   * pipelined then, so a second batch cannot be stored before the first.
   */
  acknowledgedProducerId: number
  /** When that acknowledgement came (monotonic ms). */
  acknowledgedAtMs: number
  /** Bytes of the partition's last drained batch: the first buffer of its next one, so a steady stream never grows one. */
  lastBatchBytes: number
}

/** An idempotent producer's id and epoch (Kafka InitProducerId). */
export interface ProducerIdentity {
  readonly producerId: number
  readonly producerEpoch: number
}

const INT32_MAX = 2 ** 31 - 1
/** How long a partition's last acknowledgement vouches that its leader knows the producer (see `drain`). */
const ACKNOWLEDGEMENT_TRUSTED_MS = 60_000

/** The cancel functions of a batch's timers. */
interface BatchTimers {
  wake: (() => void) | undefined
  expiry: () => void
}

export class RecordAccumulator {
  readonly #config: RecordAccumulatorConfig
  readonly #clock: Clock
  readonly #wallClock: Clock
  readonly #scheduler: Scheduler
  readonly #onReady: (() => void) | undefined
  readonly #pool: BufferPool
  readonly #buffers: BatchBufferPool
  readonly #maxInFlight: number
  /** Counts first drains: a batch's `drainOrder`, which orders retries. */
  #drainCount = 0
  readonly #queues = new Map<string, PartitionQueue>()
  /** The same queues by topic, then partition: the per-record lookup allocates nothing. */
  readonly #queuesByTopic = new Map<string, PartitionQueue[]>()
  readonly #timers = new Map<ProducerBatch, BatchTimers>()
  /** Batches failed by their delivery timeout while in flight, whose attempt the sender has not reported yet. */
  readonly #expiredInFlight = new Set<ProducerBatch>()
  #drainStart = 0
  #identity: ProducerIdentity | undefined
  #flushesInProgress = 0
  #closed = false
  #notifyPending = false

  /** `config` must have passed `validateProducerConfig`. */
  constructor (config: RecordAccumulatorConfig, deps: RecordAccumulatorDeps) {
    this.#config = config
    this.#clock = deps.clock
    this.#wallClock = deps.wallClock
    this.#scheduler = deps.scheduler
    this.#onReady = deps.onReady
    this.#pool = new BufferPool(config.bufferBytesMax, { clock: deps.clock, scheduler: deps.scheduler })
    // Enough free buffers for a few full batches per partition of a busy producer, never more than its memory bound.
    this.#buffers = new BatchBufferPool(Math.min(config.bufferBytesMax, 16 * 1024 * 1024))
    this.#maxInFlight = config.maxInFlightPerPartition ?? 1
    assert(Number.isSafeInteger(this.#maxInFlight) && this.#maxInFlight >= 1, 'maxInFlightPerPartition is a positive integer')
  }

  /** Estimated bytes held by batches not yet settled (queued or in flight). */
  get bufferedBytes (): number {
    return this.#pool.usedBytes
  }

  /** Batches not yet settled, queued or in flight. */
  get batchCount (): number {
    return this.#timers.size
  }

  /**
   * Adds a record to the open batch of its partition, or to a new one, waiting up to `maxBlockMs` for buffer space.
   * Resolves once the record is in a batch; its `delivery` settles when the batch does. Fails with INVALID_REQUEST
   * (bad record), MESSAGE_TOO_LARGE (a record that fits no batch or no buffer), REQUEST_TIMED_OUT (buffer still
   * full after `maxBlockMs`) or SHUTTING_DOWN (after `close`).
   */
  async append (input: AppendInput): Promise<AppendResult> {
    if (this.#closed) throw shuttingDown()
    const { topic, partition, record } = input
    checkTopicPartition(topic, partition)
    const stamp = record?.timestamp ?? Math.floor(this.#wallClock.nowMs())
    const queue = this.#queueFor(topic, partition)
    // The record's index is taken when it is appended: other appends may follow before this resumes.
    const plan = (): AllocationPlan<AppendResult> => {
      const step = this.#planAppend(queue, record, stamp, input.abortOnNewBatch === true)
      return 'result' in step ? { result: abortedForNewBatch } : { bytes: step.bytes, commit: () => appendResult(step.commit()) }
    }
    return await this.#pool.allocate(plan, this.#config.maxBlockMs)
  }

  /**
   * `append` when it need not wait: the result, or undefined when the record would have to wait for buffer space
   * (nothing was appended; call `append`). Throws what `append` rejects with.
   */
  tryAppend (input: AppendInput): AppendResult | undefined {
    const appended = this.tryAppendRecord(input.topic, input.partition, input.record, input.record?.timestamp, input.abortOnNewBatch === true)
    return appended === undefined ? undefined : appendResult(appended)
  }

  /**
   * `tryAppend` for callers that keep no handle per record (the producer's bulk path): the fields are written into the
   * batch at once and not kept, so `record` may be reused afterwards. Answers the batch the record went into (its
   * index is the batch's `recordCount - 1` until the next append), `abortedForNewBatch`, or undefined when it would
   * have to wait for buffer space (nothing appended). `timestamp` undefined: now, by the wall clock.
   */
  tryAppendRecord (
    topic: string, partition: number, record: RecordFields, timestamp: number | undefined, abortOnNewBatch: boolean,
  ): RecordAppend | undefined {
    if (this.#closed) throw shuttingDown()
    checkTopicPartition(topic, partition)
    const stamp = timestamp ?? Math.floor(this.#wallClock.nowMs())
    const queue = this.#queueFor(topic, partition)
    // The common case, without a plan object or closure: the open batch has room and so has the buffer.
    const last = queue.batches[queue.batches.length - 1]
    if (last !== undefined && last.state === 'open') {
      const bytes = last.appendBytes(record, stamp)
      if (last.sizeBytes + bytes <= this.#config.batchBytesMax && this.#pool.tryTake(bytes)) return this.#appendTo(last, record, stamp, bytes)
    }
    return this.#tryAppendPlanned(queue, record, stamp, abortOnNewBatch)
  }

  /**
   * `tryAppendRecord`'s other cases (a new batch, a full buffer) through an allocation plan. A method of its own: a
   * closure over the arguments in `tryAppendRecord` itself would make V8 allocate their context on every call.
   */
  #tryAppendPlanned (queue: PartitionQueue, record: RecordFields, stamp: number, abortOnNewBatch: boolean): RecordAppend | undefined {
    return this.#pool.tryAllocate(() => this.#planAppend(queue, record, stamp, abortOnNewBatch))
  }

  /**
   * `tryAppendRecord`, waiting up to `maxBlockMs` for buffer space (FIFO). The record is written only once it is
   * its turn, so `record` must not change until this settles.
   */
  async appendRecord (
    topic: string, partition: number, record: RecordFields, timestamp: number | undefined, abortOnNewBatch: boolean,
  ): Promise<RecordAppend> {
    if (this.#closed) throw shuttingDown()
    checkTopicPartition(topic, partition)
    const stamp = timestamp ?? Math.floor(this.#wallClock.nowMs())
    const queue = this.#queueFor(topic, partition)
    return await this.#pool.allocate(() => this.#planAppend(queue, record, stamp, abortOnNewBatch), this.#config.maxBlockMs)
  }

  /**
   * From now on, batches are numbered for `identity` when first encoded: per partition, from sequence 0 (KIP-98). A new
   * identity (after a batch was given up, which leaves a gap the broker would refuse) starts every partition at 0
   * again; batches already encoded keep their old numbers, which the broker tracks as another producer.
   */
  setProducerIdentity (identity: ProducerIdentity | undefined): void {
    this.#identity = identity
    for (const queue of this.#queues.values()) queue.nextSequence = 0
  }

  get producerIdentity (): ProducerIdentity | undefined { return this.#identity }

  /** Which partitions have a batch to send now, and when to look again. */
  ready (): ReadyCheck {
    const nowMs = this.#clock.nowMs()
    const partitions: TopicPartition[] = []
    let nextReadyCheckDelayMs: number | undefined
    for (const queue of this.#queues.values()) {
      const waitMs = this.#readyInMs(queue, nowMs)
      if (waitMs === 0) partitions.push({ topic: queue.topic, partition: queue.partition })
      else if (waitMs !== undefined) nextReadyCheckDelayMs = Math.min(nextReadyCheckDelayMs ?? waitMs, waitMs)
    }
    return { partitions, nextReadyCheckDelayMs }
  }

  /**
   * Takes the head batch of every ready partition (one per partition: a request carries one batch of a partition),
   * encodes it and marks it in flight; the partition takes no other batch while it is at `maxInFlightPerPartition`
   * (or a retry is in flight) until a batch is completed, failed or re-enqueued. Partitions are visited
   * from where the last drain stopped, so a `bytesMax` cannot starve the ones at the end. A batch that cannot be
   * encoded is failed here and not returned.
   */
  drain (options: DrainOptions = {}): ProducerBatch[] {
    const bytesMax = options.bytesMax ?? Number.POSITIVE_INFINITY
    const nowMs = this.#clock.nowMs()
    const queues = [...this.#queues.values()]
    const drained: ProducerBatch[] = []
    let drainedBytes = 0
    for (let visited = 0; visited < queues.length; visited++) {
      const index = (this.#drainStart + visited) % queues.length
      const queue = queues[index] as PartitionQueue
      if (this.#readyInMs(queue, nowMs) !== 0 || options.filter?.(queue) === false) continue
      const batch = queue.batches[0] as ProducerBatch
      if (drained.length > 0 && drainedBytes + batch.sizeBytes > bytesMax) {
        this.#drainStart = index
        return drained
      }
      if (!this.#encode(batch, queue)) continue
      queue.batches.shift()
      const pipelined = queue.inFlight.length > 0
      // A broker forgets an idle producer (producerIdExpirationMs): after a long pause, the first batch goes alone again.
      if (!pipelined && nowMs - queue.acknowledgedAtMs > ACKNOWLEDGEMENT_TRUSTED_MS) queue.acknowledgedProducerId = -1
      queue.inFlight.push(batch)
      batch.markInFlight({ drainOrder: batch.drainOrder >= 0 ? batch.drainOrder : this.#drainCount++, pipelined })
      this.#cancelWake(batch)
      drainedBytes += batch.sizeBytes
      drained.push(batch)
    }
    return drained
  }

  /**
   * The broker wrote `batch` at `baseOffset`: resolves its records and unmutes its partition. For a batch that expired
   * in flight the records stay failed (they were told so already); its partition is unmuted.
   */
  complete (batch: ProducerBatch, result: { readonly baseOffset: number; readonly logAppendTimeMs?: number }): void {
    if (!batch.complete(result) && !this.#expiredInFlight.delete(batch)) return
    if (batch.producerId >= 0) {
      const queue = this.#queueFor(batch.topic, batch.partition)
      queue.acknowledgedProducerId = batch.producerId
      queue.acknowledgedAtMs = this.#clock.nowMs()
    }
    this.#settled(batch, 'acknowledged')
  }

  /**
   * `batch` will not be delivered: rejects its records with `error` and unmutes its partition. If it was sent under
   * the current producer id, the id is dropped (see the header).
   */
  fail (batch: ProducerBatch, error: unknown): void {
    if (!batch.fail(error) && !this.#expiredInFlight.delete(batch)) return
    this.#distrustSequences(batch)
    this.#settled(batch)
  }

  /**
   * `batch` (in flight) failed and will be resent after `delayMs`: it goes back into its partition's queue in drain
   * order, ahead of everything drained after it and everything never sent, and is resent alone (see the header). A
   * batch that expired in flight is not resent: this settles it as `fail` does.
   */
  reenqueue (batch: ProducerBatch, options: { readonly delayMs: number }): void {
    if (this.#expiredInFlight.delete(batch)) {
      this.#distrustSequences(batch)
      this.#settled(batch)
      return
    }
    const queue = this.#queueFor(batch.topic, batch.partition)
    const inFlightAt = queue.inFlight.indexOf(batch)
    assert(inFlightAt >= 0, 'only a batch in flight is re-enqueued')
    const nowMs = this.#clock.nowMs()
    batch.markRetry(nowMs + options.delayMs)
    queue.inFlight.splice(inFlightAt, 1)
    // Back in drain order: after the retries drained before it, ahead of everything drained after it or never.
    let at = 0
    while (at < queue.batches.length) {
      const queued = queue.batches[at] as ProducerBatch
      if (queued.drainOrder < 0 || queued.drainOrder > batch.drainOrder) break
      at++
    }
    queue.batches.splice(at, 0, batch)
    const timers = this.#timers.get(batch) as BatchTimers
    timers.wake = this.#scheduler.setTimer(options.delayMs, () => this.#notify())
  }

  /**
   * Fresh metadata names a new leader for `topic`/`partition`: its batches waiting out a retry backoff are ready now
   * (Kafka KIP-951: the backoff was for the old leader to recover or be replaced, and it was replaced).
   */
  expediteRetries (topic: string, partition: number): void {
    const queue = this.#queuesByTopic.get(topic)?.[partition]
    if (queue === undefined) return
    const nowMs = this.#clock.nowMs()
    let expedited = false
    for (const batch of queue.batches) if (batch.expediteRetry(nowMs)) expedited = true
    if (expedited) this.#notify()
  }

  /**
   * Makes every batch ready at once and resolves when every batch that exists now is settled (Kafka `flush`). Appends
   * made during the flush are sent without lingering too, but not waited for.
   */
  async flush (): Promise<void> {
    this.#flushesInProgress++
    this.#notify()
    try {
      await Promise.all([...this.#timers.keys()].map((batch) => batch.done))
    } finally {
      this.#flushesInProgress--
    }
  }

  /**
   * Stops taking records: later appends, and those waiting for buffer space, fail with SHUTTING_DOWN. What is queued
   * becomes ready at once, so a sender can still deliver it (`flush` waits for that); `abortQueued` gives it up.
   */
  close (): void {
    this.#closed = true
    this.#pool.close(shuttingDown())
    this.#notify()
  }

  /** Fails every batch not in flight with `error` (a producer closed without waiting). */
  abortQueued (error: unknown): void {
    for (const queue of this.#queues.values()) {
      for (const batch of [...queue.batches]) this.fail(batch, error)
    }
  }

  #planAppend (queue: PartitionQueue, record: RecordFields, timestamp: number, abortOnNewBatch: boolean): AllocationPlan<RecordAppend> {
    const last = queue.batches.at(-1)
    if (last?.state === 'open') {
      const bytes = last.appendBytes(record, timestamp)
      if (last.sizeBytes + bytes <= this.#config.batchBytesMax) {
        return { bytes, commit: () => this.#appendTo(last, record, timestamp, bytes) }
      }
      // Full for this record: it takes no more, whatever happens to this one (Kafka closes it the same way).
      last.close()
      this.#notify()
    }
    if (abortOnNewBatch) return { result: abortedForNewBatch }
    checkRecordTimestamp(timestamp)
    const recordBytesInNewBatch = recordBytes(record, { timestampDeltaMs: 0, offsetDelta: 0 })
    const bytes = BATCH_HEADER_BYTES + recordBytesInNewBatch
    if (bytes > recordsLimits.batchBytesMax) {
      // Kafka's max.request.size check: no batch could carry this record.
      const details = { sizeBytes: bytes, batchBytesMax: recordsLimits.batchBytesMax }
      throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'record larger than the batch limit', { details })
    }
    return { bytes, commit: () => this.#appendToNewBatch(queue, record, timestamp, recordBytesInNewBatch) }
  }

  #appendTo (batch: ProducerBatch, record: RecordFields, timestamp: number, bytes: number): ProducerBatch {
    batch.append(record, timestamp, bytes)
    this.#maybeCloseFull(batch)
    return batch
  }

  #appendToNewBatch (queue: PartitionQueue, record: RecordFields, timestamp: number, bytes: number): ProducerBatch {
    const batch = new ProducerBatch({
      topic: queue.topic, partition: queue.partition, createdMs: this.#clock.nowMs(), buffers: this.#buffers,
      capacityBytes: Math.min(queue.lastBatchBytes, this.#config.batchBytesMax),
    })
    queue.batches.push(batch)
    const { lingerMs, deliveryTimeoutMs } = this.#config
    this.#timers.set(batch, {
      wake: lingerMs > 0 ? this.#scheduler.setTimer(lingerMs, () => this.#notify()) : undefined,
      expiry: this.#armExpiry(batch, deliveryTimeoutMs),
    })
    if (lingerMs === 0) this.#notify()
    return this.#appendTo(batch, record, timestamp, bytes)
  }

  #maybeCloseFull (batch: ProducerBatch): void {
    if (batch.sizeBytes >= this.#config.batchBytesMax) {
      batch.close()
      this.#notify()
    }
  }

  /** 0: the partition's head batch is ready now; n: in n ms by time alone; undefined: nothing to send or muted. */
  #readyInMs (queue: PartitionQueue, nowMs: number): number | undefined {
    const head = queue.batches[0]
    if (head === undefined || !this.#mayJoinInFlight(queue, head)) return undefined
    if (head.retryAtMs > nowMs) return head.retryAtMs - nowMs
    const urgent = this.#flushesInProgress > 0 || this.#closed || this.#pool.hasWaiters
    if (urgent || head.state === 'closed' || queue.batches.length > 1) return 0
    return Math.max(0, head.createdMs + this.#config.lingerMs - nowMs)
  }

  /**
   * Whether `head` may be sent now, given what of its partition is in flight: anything when nothing is; otherwise
   * only a first attempt, below `maxInFlightPerPartition`, once the broker acknowledged a batch of the partition
   * under the current producer id, behind first attempts still in flight numbered under that id (a retry, an expired
   * batch or an older id in flight means the partition is recovering: its batches then go one at a time, in order).
   */
  #mayJoinInFlight (queue: PartitionQueue, head: ProducerBatch): boolean {
    const { inFlight } = queue
    if (inFlight.length === 0) return true
    if (head.attempts > 0 || inFlight.length >= this.#maxInFlight) return false
    const producerId = this.#identity?.producerId
    if (producerId === undefined || queue.acknowledgedProducerId !== producerId) return false
    for (const batch of inFlight) {
      if (batch.attempts > 1 || batch.state !== 'inFlight' || batch.producerId < 0 || batch.producerId !== producerId) return false
    }
    return true
  }

  /** Closes and encodes `batch` (numbered if idempotent); if that fails, fails the batch and returns false. */
  #encode (batch: ProducerBatch, queue: PartitionQueue): boolean {
    batch.close()
    if (batch.attempts === 0) queue.lastBatchBytes = batch.sizeBytes
    try {
      if (batch.isEncoded || this.#identity === undefined) {
        batch.encode(this.#config.compression)
      } else {
        batch.encode(this.#config.compression, { ...this.#identity, baseSequence: queue.nextSequence })
        const next = queue.nextSequence + batch.recordCount
        queue.nextSequence = next > INT32_MAX ? next - INT32_MAX - 1 : next
      }
      return true
    } catch (error) {
      this.fail(batch, error)
      return false
    }
  }

  #armExpiry (batch: ProducerBatch, delayMs: number): () => void {
    return this.#scheduler.setTimer(delayMs, () => { this.#expire(batch) })
  }

  /** The delivery timeout of `batch` is over (Kafka's `expiredBatches` and `getExpiredInflightBatches`). */
  #expire (batch: ProducerBatch): void {
    if (batch.state === 'done') return
    const { topic, partition, recordCount, attempts } = batch
    const details = { topic, partition, recordCount, attempts, deliveryTimeoutMs: this.#config.deliveryTimeoutMs }
    if (attempts === 0) {
      this.fail(batch, new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'record batch expired before it was sent', { details }))
      return
    }
    const error = deliveryTimeoutError(details)
    if (batch.state !== 'inFlight') {
      this.fail(batch, error)
      return
    }
    // Its records fail now, but the request is still out: the partition stays muted (nothing is numbered after a
    // batch whose fate is unknown) until the sender reports the attempt, which settles it (`complete`/`fail`/`reenqueue`).
    batch.fail(error)
    this.#expiredInFlight.add(batch)
  }

  /**
   * `batch` was sent and will not be acknowledged: if it was numbered under the current producer id, the broker may
   * or may not hold its sequence numbers, and a later batch numbered after them could be refused or leave a gap, so
   * the identity is dropped (the sender asks for a new one). A batch of an older id, or never numbered, changes nothing.
   */
  #distrustSequences (batch: ProducerBatch): void {
    if (batch.producerId >= 0 && batch.producerId === this.#identity?.producerId) this.setProducerIdentity(undefined)
  }

  #settled (batch: ProducerBatch, settlement: BatchSettlement = 'other'): void {
    const queue = this.#queueFor(batch.topic, batch.partition)
    const inFlightAt = queue.inFlight.indexOf(batch)
    if (inFlightAt >= 0) queue.inFlight.splice(inFlightAt, 1)
    const index = queue.batches.indexOf(batch)
    if (index >= 0) queue.batches.splice(index, 1)
    // Settled and no longer in flight: no attempt of it can be sent again. Its buffer serves another batch only if no
    // request that carries it can still be read by the transport (producer-batch.ts), else the GC takes it.
    batch.releaseBuffer(settlement)
    const timers = this.#timers.get(batch)
    assert(timers !== undefined, 'a batch is settled once')
    timers.wake?.()
    timers.expiry()
    this.#timers.delete(batch)
    this.#pool.release(batch.sizeBytes)
    this.#notify()
  }

  #cancelWake (batch: ProducerBatch): void {
    const timers = this.#timers.get(batch)
    timers?.wake?.()
    if (timers !== undefined) timers.wake = undefined
  }

  #queueFor (topic: string, partition: number): PartitionQueue {
    let byPartition = this.#queuesByTopic.get(topic)
    if (byPartition === undefined) {
      byPartition = []
      this.#queuesByTopic.set(topic, byPartition)
    }
    let queue = byPartition[partition]
    if (queue === undefined) {
      queue = { topic, partition, batches: [], inFlight: [], nextSequence: 0, acknowledgedProducerId: -1, acknowledgedAtMs: 0, lastBatchBytes: 0 }
      byPartition[partition] = queue
      this.#queues.set(`${partition}:${topic}`, queue)
    }
    return queue
  }

  #notify (): void {
    if (this.#onReady === undefined || this.#notifyPending) return
    this.#notifyPending = true
    queueMicrotask(() => {
      this.#notifyPending = false
      this.#onReady?.()
    })
  }
}

/** A record's append as the per-record API answers it: a handle on the record, or the abort. */
function appendResult (appended: RecordAppend): AppendResult {
  return appended instanceof ProducerBatch ? new Appended(appended, appended.recordCount - 1) : abortedForNewBatch
}

function checkTopicPartition (topic: string, partition: number): void {
  if (typeof topic !== 'string' || topic.length === 0 || !Number.isSafeInteger(partition) || partition < 0) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, 'invalid topic-partition', { details: { topic, partition } })
  }
}

function shuttingDown (): GregorError {
  return new GregorError(ErrorCode.SHUTTING_DOWN, 'producer is closing')
}

/**
 * Idempotent-producer state of one partition replica (Kafka's `ProducerStateManager`, without transactions): for
 * each producer id, its epoch and the sequence numbers and offsets of its last five batches in the log.
 *
 * Owns: the sequence rules of KIP-98 as Kafka's `ProducerAppendInfo.checkSequence` applies them. For a batch of a
 * known producer in its current epoch, a batch equal to one of the last five (same first and last sequence) is a
 * duplicate: the leader answers it with the original offsets and appends nothing; otherwise its first sequence
 * must follow the last one (int32 wrap-around), or it is OUT_OF_ORDER_SEQUENCE_NUMBER. A newer epoch must start at
 * sequence 0; an older one is INVALID_PRODUCER_EPOCH. A producer with no state here (new, expired, or older than the
 * last two segments when no snapshot was usable) is accepted at any sequence.
 *
 * Invariants: every replica builds the same state from the same log — the leader as it appends, followers as they
 * append what they fetch, and any replica, when it opens or truncates its log, from its newest usable snapshot
 * (producer-snapshots.ts) plus the batch headers (never records) after it, or without one by scanning the headers of
 * its last two segments — so a new leader dedupes a retry of a batch its predecessor appended. A snapshot at offset S
 * holds the table as it was once every batch below S had been recorded, minus the batches at or past S, so restoring
 * it and replaying the headers from S gives back the table the replica had (the same last five batches per producer,
 * the same least-recently-written order, the same last timestamps).
 *
 * Bounded by time and by refusal, never by forgetting a live producer (Kafka's `producer.id.expiration.ms`): a producer
 * is forgotten only by `removeExpired`, once the timestamp of its last batch (the batch's maxTimestamp, so every
 * replica agrees) is `producerIdExpirationMs` or more before the `nowMs` its caller passes; until then a retry of any
 * of its last five batches is a duplicate. A producer whose last timestamp is unknown (a version 1 snapshot, a batch
 * without timestamps) has its clock started by the first `removeExpired` that sees it instead. Memory is bounded on
 * the leader: once `producersMax` producers are known, `check` refuses the batches of a NEW producer id with
 * POLICY_VIOLATION (not retriable) until some expire. Followers and loads record whatever the log holds: the log is
 * already written, so the leader's bound is theirs.
 */
import { ErrorCode } from '@gregor/common'
import { type BatchHeader, walkBatches } from '@gregor/records'

/** Batches remembered per producer (Kafka `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`). */
export const batchesRetainedPerProducer = 5
/** Producers a partition knows at most before it refuses new ones (the leader's bound on the table's memory). */
export const producersMaxDefault = 10_000
/** Kafka's `producer.id.expiration.ms` default (one day): how long an idle producer's state is kept. */
export const producerIdExpirationMsDefault = 86_400_000
/** A last timestamp not known (Kafka's RecordBatch.NO_TIMESTAMP): its expiry clock starts at the next removeExpired. */
export const NO_TIMESTAMP = -1
const INT32_MAX = 2 ** 31 - 1

export interface BatchOffsets {
  readonly baseOffset: number
  readonly lastOffset: number
}

interface RetainedBatch {
  readonly firstSequence: number
  readonly lastSequence: number
  /** Known for a batch in the log; a promise while it is a leader's reservation with its append still in flight. */
  readonly offsets: BatchOffsets | Promise<BatchOffsets>
  /** The batch's maxTimestamp; for the last batch, when its producer was last active (NO_TIMESTAMP: not known). */
  timestampMs: number
}

interface ProducerEntry {
  epoch: number
  batches: RetainedBatch[]
}

/** One producer as a snapshot holds it: its epoch and its retained batches (oldest first), all in the log. */
export interface SnapshotProducer {
  readonly producerId: number
  readonly epoch: number
  /** The timestamp of its last batch below the snapshot offset; absent when not known (version 1 snapshots). */
  readonly lastTimestampMs?: number
  readonly batches: ReadonlyArray<{
    readonly firstSequence: number
    readonly lastSequence: number
    readonly baseOffset: number
    readonly lastOffset: number
  }>
}

/** The table as the log below `offset` implies it: producers least recently written first. */
export interface ProducerSnapshot {
  readonly offset: number
  readonly producers: readonly SnapshotProducer[]
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly offsets: BatchOffsets | Promise<BatchOffsets> }
  | { readonly kind: 'refused'; readonly code: ErrorCode; readonly message: string }

/** The last sequence of a batch: its first plus its offset span, wrapping past int32 max as Kafka does. */
export function lastSequenceOf (header: Pick<BatchHeader, 'baseSequence' | 'lastOffsetDelta'>): number {
  const last = header.baseSequence + header.lastOffsetDelta
  return last > INT32_MAX ? last - INT32_MAX - 1 : last
}

function nextSequence (sequence: number): number {
  return sequence === INT32_MAX ? 0 : sequence + 1
}

/** Whether the batch takes part in idempotence at all (Kafka: producerId >= 0). */
export function isIdempotent (header: Pick<BatchHeader, 'producerId' | 'baseSequence'>): boolean {
  return header.producerId >= 0 && header.baseSequence >= 0
}

export interface ProducerStateOptions {
  /** Known producers beyond which the leader refuses new producer ids (default `producersMaxDefault`). */
  readonly producersMax?: number
}

export class ProducerStateTable {
  readonly #producers = new Map<number, ProducerEntry>()
  readonly #producersMax: number

  constructor (options: ProducerStateOptions = {}) {
    this.#producersMax = options.producersMax ?? producersMaxDefault
  }

  get size (): number { return this.#producers.size }

  /** What to do with an idempotent batch the leader is about to append. */
  check (header: BatchHeader): SequenceCheck {
    const entry = this.#producers.get(header.producerId)
    if (entry === undefined) {
      // Refusing the newcomer keeps every live producer's dedupe state; forgetting one would store its retry twice.
      if (this.#producers.size >= this.#producersMax) {
        return refused(ErrorCode.POLICY_VIOLATION,
          `producer ${header.producerId} is new and this partition already tracks ${this.#producers.size} producers ` +
          `(producersMax ${this.#producersMax}); producers idle longer than producerIdExpirationMs are forgotten to make room`)
      }
      return { kind: 'append' }
    }
    if (header.producerEpoch < entry.epoch) {
      return refused(ErrorCode.INVALID_PRODUCER_EPOCH, `producer epoch ${header.producerEpoch} is older than ${entry.epoch}`)
    }
    if (header.producerEpoch > entry.epoch) {
      return header.baseSequence === 0
        ? { kind: 'append' }
        : refused(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `a new producer epoch must start at sequence 0, not ${header.baseSequence}`)
    }
    const lastSequence = lastSequenceOf(header)
    const duplicate = entry.batches.find((batch) => batch.firstSequence === header.baseSequence && batch.lastSequence === lastSequence)
    if (duplicate !== undefined) return { kind: 'duplicate', offsets: duplicate.offsets }
    const last = entry.batches[entry.batches.length - 1]
    if (last !== undefined && header.baseSequence !== nextSequence(last.lastSequence)) {
      return refused(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `sequence ${header.baseSequence} of producer ${header.producerId} does not follow ${last.lastSequence}`)
    }
    return { kind: 'append' }
  }

  /**
   * Remembers an idempotent batch: on the leader before its append completes (so the next batch of the same
   * producer already checks against it), on followers and scans with known offsets.
   */
  record (header: BatchHeader, offsets: BatchOffsets | Promise<BatchOffsets>): void {
    let entry = this.#producers.get(header.producerId)
    if (entry !== undefined) this.#producers.delete(header.producerId) // re-inserted last: least recently written first
    if (entry === undefined || header.producerEpoch > entry.epoch) entry = { epoch: header.producerEpoch, batches: [] }
    entry.batches.push({ firstSequence: header.baseSequence, lastSequence: lastSequenceOf(header), offsets, timestampMs: timestampOf(header) })
    if (entry.batches.length > batchesRetainedPerProducer) entry.batches.shift()
    // Never evicts: the leader's `check` refuses new producers at the bound, and a follower keeps what the log holds.
    this.#producers.set(header.producerId, entry)
  }

  /**
   * Forgets every producer whose last batch's timestamp is `producerIdExpirationMs` or more before `nowMs` (Kafka's
   * `removeExpiredProducers`); one whose last timestamp is not known gets `nowMs` as its start instead. Returns how
   * many were forgotten. Time is the caller's: nothing here reads a clock.
   */
  removeExpired (nowMs: number, producerIdExpirationMs: number): number {
    let removed = 0
    for (const [producerId, entry] of this.#producers) {
      const last = entry.batches[entry.batches.length - 1]
      if (last === undefined) continue
      if (last.timestampMs === NO_TIMESTAMP) {
        last.timestampMs = nowMs
      } else if (nowMs - last.timestampMs >= producerIdExpirationMs) {
        this.#producers.delete(producerId) // deleting the current key is safe while iterating a Map
        removed++
      }
    }
    return removed
  }

  /** Takes back a leader's reservation whose append failed, so a retry of the batch is appended, not "duplicate". */
  forget (header: BatchHeader, offsets: BatchOffsets | Promise<BatchOffsets>): void {
    const entry = this.#producers.get(header.producerId)
    if (entry === undefined) return
    entry.batches = entry.batches.filter((batch) => batch.offsets !== offsets)
    if (entry.batches.length === 0) this.#producers.delete(header.producerId)
  }

  /** Feeds every idempotent batch of a log range (stamped bytes: header offsets are the log's). */
  observe (headers: Iterable<BatchHeader>): void {
    for (const header of headers) {
      if (!isIdempotent(header)) continue
      this.record(header, { baseOffset: header.baseOffset, lastOffset: header.baseOffset + header.lastOffsetDelta })
    }
  }

  clear (): void {
    this.#producers.clear()
  }

  /**
   * The table as of `offset` (only batches whose last offset is below it), for a snapshot. It copies the table now,
   * so call it once every batch below `offset` has been recorded (as the log rolls, or after it closed); the promise
   * then waits for the leader's reservations in that copy to settle and leaves out those that failed or landed at or
   * past `offset`, so a snapshot never holds an in-flight reservation. Later changes to the table do not affect it.
   */
  snapshotAt (offset: number): Promise<ProducerSnapshot> {
    const copy = [...this.#producers].map(([producerId, entry]) => ({
      producerId, epoch: entry.epoch, batches: entry.batches.map((batch) => ({ ...batch })),
    }))
    return settleSnapshot(copy, offset)
  }

  /**
   * Replaces the table with a snapshot's producers, keeping their order (least recently written first), all of them:
   * the snapshot holds live producers, and only `removeExpired` forgets one. Only the last batch's timestamp counts
   * for expiry, so every batch takes the producer's last timestamp.
   */
  restore (producers: readonly SnapshotProducer[]): void {
    this.#producers.clear()
    for (const producer of producers) {
      this.#producers.set(producer.producerId, {
        epoch: producer.epoch,
        batches: producer.batches.slice(-batchesRetainedPerProducer).map((batch) => ({
          firstSequence: batch.firstSequence,
          lastSequence: batch.lastSequence,
          offsets: { baseOffset: batch.baseOffset, lastOffset: batch.lastOffset },
          timestampMs: producer.lastTimestampMs ?? NO_TIMESTAMP,
        })),
      })
    }
  }
}

async function settleSnapshot (copy: ReadonlyArray<{ producerId: number; epoch: number; batches: readonly RetainedBatch[] }>, offset: number): Promise<ProducerSnapshot> {
  // One wait for all reservations (a leader keeps a promise per batch, most long settled), not one await per batch.
  const pending: Array<Promise<BatchOffsets | undefined>> = []
  for (const producer of copy) {
    for (const batch of producer.batches) {
      if (batch.offsets instanceof Promise) pending.push(batch.offsets.catch(() => undefined))
    }
  }
  const settled = await Promise.all(pending)
  let next = 0
  const producers: SnapshotProducer[] = []
  for (const producer of copy) {
    const batches: Array<SnapshotProducer['batches'][number]> = []
    let lastTimestampMs = NO_TIMESTAMP
    for (const batch of producer.batches) {
      const offsets = batch.offsets instanceof Promise ? settled[next++] : batch.offsets
      // A failed append is not in the log; one at or past `offset` is replayed after the snapshot, not part of it.
      if (offsets === undefined || offsets.lastOffset >= offset) continue
      batches.push({ firstSequence: batch.firstSequence, lastSequence: batch.lastSequence, ...offsets })
      lastTimestampMs = batch.timestampMs
    }
    // A producer with no batch below `offset` is left out: replay from `offset` re-creates it with its epoch.
    if (batches.length > 0) {
      producers.push({
        producerId: producer.producerId, epoch: producer.epoch, ...(lastTimestampMs === NO_TIMESTAMP ? {} : { lastTimestampMs }), batches,
      })
    }
  }
  return { offset, producers }
}

/** A batch's activity time for expiry: its maxTimestamp, the same on every replica; NO_TIMESTAMP if it has none. */
function timestampOf (header: Pick<BatchHeader, 'maxTimestamp'>): number {
  return header.maxTimestamp >= 0 ? header.maxTimestamp : NO_TIMESTAMP
}

function refused (code: ErrorCode, message: string): SequenceCheck {
  return { kind: 'refused', code, message }
}

/** What `loadProducerState` reads: the partition log's read API. */
export interface ProducerStateSource {
  readonly logStartOffset: number
  readonly logEndOffset: number
  readonly segmentBaseOffsets: readonly number[]
  read (options: { offset: number; bytesMax: number }): Promise<{ readonly bytes: Buffer; readonly nextOffset: number }>
}

/** Where `loadProducerState` finds a snapshot to start from (producer-snapshots.ts keeps them on disk). */
export interface ProducerSnapshotSource {
  /**
   * The newest intact snapshot at an offset within [logStartOffset, logEndOffset], if any. Snapshots outside that
   * range describe a log that is gone (truncated or deleted) and are discarded.
   */
  newestUsable (logStartOffset: number, logEndOffset: number): Promise<ProducerSnapshot | undefined>
}

export interface ProducerStateLoad {
  /** The snapshot the table started from, if one was usable. */
  readonly snapshotOffset: number | undefined
  /** Where the replay of batch headers started (it ran to the log end). */
  readonly replayedFromOffset: number
}

/**
 * Rebuilds `table` for a replica opening or truncating its log, so it ends with the state its log implies: from the
 * newest usable snapshot plus the batch headers after it; without one, from the batch headers of the log's last two
 * segments, older producers then counting as unknown. Headers are read in 4 MiB reads from the page cache.
 */
export async function loadProducerState (
  log: ProducerStateSource, table: ProducerStateTable, snapshots?: ProducerSnapshotSource, readBytesMax = 4 * 1024 * 1024,
): Promise<ProducerStateLoad> {
  table.clear()
  const snapshot = await snapshots?.newestUsable(log.logStartOffset, log.logEndOffset)
  const bases = log.segmentBaseOffsets
  let position = Math.max(log.logStartOffset, bases[Math.max(0, bases.length - 2)] ?? 0)
  if (snapshot !== undefined) {
    table.restore(snapshot.producers)
    position = snapshot.offset
  }
  const replayedFromOffset = position
  while (position < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read({ offset: position, bytesMax: readBytesMax })
    const headers: BatchHeader[] = []
    for (const { header } of walkBatches(bytes)) headers.push(header)
    table.observe(headers)
    if (nextOffset <= position) break // nothing more to read (defensive: a read always makes progress)
    position = nextOffset
  }
  return { snapshotOffset: snapshot?.offset, replayedFromOffset }
}

export type SequenceReservation =
  | { readonly kind: 'none' }
  | { readonly kind: 'duplicate'; readonly offsets: BatchOffsets | Promise<BatchOffsets> }
  | { readonly kind: 'refused'; readonly code: ErrorCode; readonly message: string }
  /** Call `settle` with the append's base offset once it is in the log, or with undefined if it failed. */
  | { readonly kind: 'reserved'; readonly settle: (baseOffset: number | undefined) => void }

/**
 * The leader's check of one produce request's batches (headers in log order), reserving their sequences at once:
 * the caller queues the append with no await in between, so batches of one producer are checked in the order the
 * log writes them. A duplicate is recognised only as a request of that one batch (what producers resend).
 */
export function reserveSequences (table: ProducerStateTable, headers: readonly BatchHeader[]): SequenceReservation {
  if (!headers.some(isIdempotent)) return { kind: 'none' }
  const reserved: Array<{ header: BatchHeader; index: number; offsets: Promise<BatchOffsets>; resolve: (offsets: BatchOffsets) => void; reject: (error: Error) => void }> = []
  const rollBack = (): void => { for (const item of reserved) table.forget(item.header, item.offsets) }
  for (const [index, header] of headers.entries()) {
    if (!isIdempotent(header)) continue
    const check = table.check(header)
    if (check.kind === 'duplicate' && headers.length === 1) return check
    if (check.kind !== 'append') {
      rollBack()
      return check.kind === 'refused'
        ? check
        : { kind: 'refused', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: 'a resent batch must be sent alone' }
    }
    let resolve: (offsets: BatchOffsets) => void = () => {}
    let reject: (error: Error) => void = () => {}
    const offsets = new Promise<BatchOffsets>((res, rej) => { resolve = res; reject = rej })
    offsets.catch(() => {}) // a failed reservation is answered to its own request; a duplicate waiting on it retries
    table.record(header, offsets)
    reserved.push({ header, index, offsets, resolve, reject })
  }
  return {
    kind: 'reserved',
    settle: (baseOffset) => {
      if (baseOffset === undefined) {
        rollBack()
        for (const item of reserved) item.reject(new Error('the append of the original batch failed'))
        return
      }
      // The log assigns dense offsets in request order: batch i starts after the spans of the batches before it.
      const starts: number[] = []
      let next = baseOffset
      for (const header of headers) { starts.push(next); next += header.lastOffsetDelta + 1 }
      for (const item of reserved) {
        const start = starts[item.index] as number
        item.resolve({ baseOffset: start, lastOffset: start + item.header.lastOffsetDelta })
      }
    },
  }
}

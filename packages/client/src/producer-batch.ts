/**
 * One batch of records for one topic-partition on its way from `append` to the broker: the records, written as
 * they come into the batch's buffer, one result for all of them, and the RecordBatch v2 header once it is drained.
 *
 * Lifecycle (one direction only, except a retry): open (takes records) → closed (full or drained: takes none) →
 * inFlight (sent, awaiting a response) → done (the result settled). A failed attempt that will be retried goes
 * from inFlight back to closed with a `retryAtMs`, and is resent as the same bytes.
 *
 * Records straight into the buffer (Kafka's `MemoryRecordsBuilder` over a pooled ByteBuffer): `append` writes the
 * record's bytes at once, after the 61-byte header space, into a buffer taken from the accumulator's `BatchBuffers`
 * and grown by doubling; nothing of the record is kept, so a batch holds no object per record while it lingers and
 * waits a round trip for its acknowledgement. `encode` then writes the header (producer id, sequence, timestamps,
 * CRC) in front; only a compressed batch is copied (its records section compressed into a new buffer). The first
 * buffer is sized from `capacityBytes` (the accumulator passes what the partition's previous batch came to), so a
 * steady producer's batches never grow by copying.
 *
 * Buffer lifetime: the buffer goes back to the pool when the batch is settled (`releaseBuffer`), never before (every
 * attempt sends it), and only when no request that carries it can still be read: the transport may hold a request
 * object unserialized (a stream's write queue) after its call was given up locally (deadline, cancel), and would then
 * send whatever the next batch wrote there. So the pool gets it back only from a batch never sent, or one whose only
 * attempt the broker acknowledged (it read that request, so it was serialized); any other batch leaves its buffer to
 * the garbage collector, which frees it only once nothing references it. Those are the rare failed or retried batches.
 *
 * Invariants: `sizeBytes` is exactly the uncompressed encoded size (header + records written so far); the bytes are
 * those `buildBatch` (@gregor/records) writes for the same records, producer fields and compression (tested); the
 * header is written once, so every attempt sends identical bytes; records keep append order, the i-th record's
 * offset is `baseOffset + i`; `result` settles exactly once, and `done` resolves after it.
 *
 * One result per batch, not a promise per record (Kafka's `ProduceRequestResult` behind every `FutureRecordMetadata`):
 * a record's metadata is derived from the batch result and its index when someone asks.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type Offset, offset as toOffset } from '@gregor/common'
import {
  ATTRIBUTE_COMPRESSION_MASK, BATCH_HEADER_BYTES, type CompressionName, compressionCodecByName, recordsLimits, writeBatchHeader,
} from '@gregor/records'
import { type RecordFields, bodyBytesOf, checkRecordTimestamp, recordBytesAt, writeRecordFields } from './record-bytes.js'

/** A record whose timestamp is fixed: stamped when it was appended, if the caller gave none. */
export type StampedRecord = RecordFields & { readonly timestamp: number }

/** Where a record ended up: what a successful send resolves with. */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: Offset
  /** The record's timestamp: its create time, or the broker's append time for LOG_APPEND_TIME topics. */
  readonly timestamp: number
}

export type ProducerBatchState = 'open' | 'closed' | 'inFlight' | 'done'

/** An idempotent producer's numbering of a batch (RecordBatch v2 header fields). */
export interface BatchSequence {
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
}

/** What the broker answered for the whole batch. */
export interface BatchResult {
  readonly baseOffset: number
  readonly logAppendTimeMs?: number | undefined
}

/** Where batches get their buffers and give them back (buffer-pool.ts `BatchBufferPool`). */
export interface BatchBuffers {
  /** A buffer of at least `bytes` bytes, contents undefined. */
  acquire: (bytes: number) => Buffer
  /** `buffer` (from `acquire`) is no longer used by anyone. */
  release: (buffer: Buffer) => void
}

/** How a batch was settled, for `releaseBuffer`: acknowledged by the broker, or anything else (failed, expired, aborted). */
export type BatchSettlement = 'acknowledged' | 'other'

/** Without a pool: a fresh buffer each time, left to the garbage collector. */
const unpooled: BatchBuffers = { acquire: (bytes) => Buffer.allocUnsafe(bytes), release: () => {} }

/** The first buffer of a batch, unless its first record needs more; the buffer doubles from there. */
const INITIAL_BUFFER_BYTES = 4096
const INT16_MAX = 0x7fff
const INT32_MAX = 0x7fff_ffff

export class ProducerBatch {
  readonly topic: string
  readonly partition: number
  /** Monotonic time the batch was created: linger and the delivery timeout count from here. */
  readonly createdMs: number
  /** Resolves once the batch is settled; never rejects. */
  readonly done: Promise<void>
  /** The broker's answer for every record of the batch; rejects when the batch fails (handled: never unhandled). */
  readonly result: Promise<BatchResult>
  readonly #buffers: BatchBuffers
  /** Header space, then the records written so far (`#sizeBytes` bytes in all); undefined before the first record. */
  #buffer: Buffer | undefined
  #baseTimestamp = 0
  #maxTimestamp = -1
  /** The timestamp of the last record appended: a record stamped otherwise starts a new run. */
  #lastTimestamp = 0
  /**
   * Runs of equal timestamps, once a record's differs from the one before it: the index each run starts at (the first
   * is 0) and its timestamp. A bulk send stamps its records with one clock reading, so a batch holds a few runs (one
   * per call it took records from), not a timestamp per record; records with their own timestamps make one run each.
   */
  #runStarts: number[] | undefined
  #runTimestamps: number[] | undefined
  #recordCount = 0
  #resolve: (result: BatchResult) => void = () => {}
  #reject: (error: unknown) => void = () => {}
  #sizeBytes = BATCH_HEADER_BYTES
  #state: ProducerBatchState = 'open'
  #encoded: Buffer | undefined
  #producerId = -1
  #attempts = 0
  #retryAtMs = 0
  #drainOrder = -1
  #pipelined = false
  readonly #capacityBytes: number

  /**
   * `capacityBytes`: the size of the first buffer to take (header included; rounded up by the pool), e.g. what the
   * partition's last batch came to; by default 4 KiB. The buffer still doubles if the records need more.
   */
  constructor (fields: {
    readonly topic: string; readonly partition: number; readonly createdMs: number; readonly buffers?: BatchBuffers; readonly capacityBytes?: number
  }) {
    this.topic = fields.topic
    this.partition = fields.partition
    this.createdMs = fields.createdMs
    this.#buffers = fields.buffers ?? unpooled
    this.#capacityBytes = Math.max(INITIAL_BUFFER_BYTES, fields.capacityBytes ?? 0)
    this.result = new Promise<BatchResult>((resolve, reject) => { this.#resolve = resolve; this.#reject = reject })
    this.done = this.result.then(() => {}, () => {})
  }

  get state (): ProducerBatchState { return this.#state }
  get sizeBytes (): number { return this.#sizeBytes }
  get recordCount (): number { return this.#recordCount }
  /** Attempts made to send the batch, the one in flight included. */
  get attempts (): number { return this.#attempts }
  /** Monotonic time before which a retried batch must not be sent again (0 for a batch never retried). */
  get retryAtMs (): number { return this.#retryAtMs }

  /** The encoded RecordBatch v2 (baseOffset 0: the broker assigns it). Only after `encode`. */
  get buffer (): Buffer {
    assert(this.#encoded !== undefined, 'a batch is encoded when drained')
    return this.#encoded
  }

  /** Where the `index`-th record ended up; only once `result` resolved with `result`. */
  metadataAt (index: number, result: BatchResult): RecordMetadata {
    assert(Number.isInteger(index) && index >= 0 && index < this.#recordCount, 'a record of this batch')
    return {
      topic: this.topic,
      partition: this.partition,
      offset: toOffset(result.baseOffset + index),
      timestamp: result.logAppendTimeMs ?? this.#timestampAt(index),
    }
  }

  /** The delivery of the `index`-th record as its own promise (for callers that want one per record). */
  delivery (index: number): Promise<RecordMetadata> {
    return this.result.then((result) => this.metadataAt(index, result))
  }

  /** Bytes `record`, stamped `timestamp`, would add to this batch as its next record. Throws INVALID_REQUEST. */
  appendBytes (record: RecordFields, timestamp: number): number {
    checkRecordTimestamp(timestamp)
    const count = this.#recordCount
    return recordBytesAt(record, count === 0 ? 0 : timestamp - this.#baseTimestamp, count)
  }

  /**
   * Writes `record` (stamped `timestamp`) into the batch; `bytes` is what `appendBytes` answered for it just before,
   * with no append in between. Returns the record's index in the batch.
   */
  append (record: RecordFields, timestamp: number, bytes: number): number {
    if (this.#state !== 'open') assert.fail('only an open batch takes records') // per record: no assert call on the way
    const index = this.#recordCount
    if (index === 0) {
      this.#baseTimestamp = timestamp
      this.#lastTimestamp = timestamp
    } else if (timestamp !== this.#lastTimestamp) this.#startRun(index, timestamp)
    if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp
    const buffer = this.#room(this.#sizeBytes + bytes)
    const end = writeRecordFields(buffer, this.#sizeBytes, record, bodyBytesOf(bytes), timestamp - this.#baseTimestamp, index)
    if (end !== this.#sizeBytes + bytes) assert.fail('a record fills exactly the bytes it was sized at')
    this.#sizeBytes = end
    this.#recordCount = index + 1
    return index
  }

  /** Takes no more records: it is full, or about to be sent. */
  close (): void {
    if (this.#state === 'open') this.#state = 'closed'
  }

  /** Whether `encode` ran: the bytes (and the sequence numbers in them) are fixed from then on. */
  get isEncoded (): boolean { return this.#encoded !== undefined }

  /**
   * Writes the header in front of the records, once; later calls return the same bytes (so every attempt resends
   * the same sequence numbers). Throws MESSAGE_TOO_LARGE (compressed beyond the batch limit) or INVALID_REQUEST
   * (an empty batch, producer fields out of range).
   */
  encode (compression: CompressionName, sequence?: BatchSequence): Buffer {
    if (this.#encoded !== undefined) return this.#encoded
    if (this.#recordCount === 0 || this.#buffer === undefined) throw invalid('a record batch needs at least one record', {})
    const producerId = sequence?.producerId ?? -1
    const producerEpoch = sequence?.producerEpoch ?? -1
    const baseSequence = sequence?.baseSequence ?? -1
    checkRange('producerId', producerId, Number.MAX_SAFE_INTEGER)
    checkRange('producerEpoch', producerEpoch, INT16_MAX)
    checkRange('baseSequence', baseSequence, INT32_MAX)
    const codec = compressionCodecByName(compression)
    let bytes = this.#buffer.subarray(0, this.#sizeBytes)
    if ((codec.id & ATTRIBUTE_COMPRESSION_MASK) !== 0) {
      const compressed = codec.compress(bytes.subarray(BATCH_HEADER_BYTES))
      const sizeBytes = BATCH_HEADER_BYTES + compressed.length
      if (sizeBytes > recordsLimits.batchBytesMax) {
        const details = { sizeBytes, sizeBytesMax: recordsLimits.batchBytesMax }
        throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'record batch larger than the limit', { details })
      }
      bytes = Buffer.allocUnsafe(sizeBytes)
      compressed.copy(bytes, BATCH_HEADER_BYTES)
      this.releaseBuffer() // the records now live in the compressed copy
    }
    writeBatchHeader(bytes, 0, bytes.length, {
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      attributes: codec.id,
      lastOffsetDelta: this.#recordCount - 1,
      baseTimestamp: this.#baseTimestamp,
      maxTimestamp: this.#maxTimestamp,
      producerId,
      producerEpoch,
      baseSequence,
      recordCount: this.#recordCount,
    })
    this.#encoded = bytes
    this.#producerId = producerId
    return bytes
  }

  /** The producer id the batch was numbered for, or -1 (not idempotent, or not encoded yet). */
  get producerId (): number { return this.#producerId }

  /**
   * The batch was handed to the network. `drainOrder` (kept from the first attempt) orders the batches of its
   * partition; `pipelined`: sent while an earlier batch of its partition was still in flight.
   */
  markInFlight (options: { readonly drainOrder?: number; readonly pipelined?: boolean } = {}): void {
    assert.equal(this.#state, 'closed', 'only a closed batch is sent')
    assert(this.#encoded !== undefined, 'a batch is encoded before it is sent')
    this.#state = 'inFlight'
    this.#attempts++
    if (this.#drainOrder < 0) this.#drainOrder = options.drainOrder ?? 0
    this.#pipelined = options.pipelined === true
  }

  /** The order of the batch's first drain among its partition's batches (-1: never drained). */
  get drainOrder (): number { return this.#drainOrder }

  /**
   * Whether the last attempt was sent while an earlier batch of the partition was in flight: the broker may then
   * have seen it first and refused it as out of order, which a resend alone answers (producer-sender.ts).
   */
  get pipelined (): boolean { return this.#pipelined }

  /** The attempt failed and will be retried no earlier than `retryAtMs`. */
  markRetry (retryAtMs: number): void {
    assert.equal(this.#state, 'inFlight', 'only a batch in flight is retried')
    this.#state = 'closed'
    this.#retryAtMs = retryAtMs
  }

  /** A retry waiting out its backoff may go at `nowMs` after all (fresh metadata named a new leader, KIP-951). */
  expediteRetry (nowMs: number): boolean {
    if (this.#state !== 'closed' || this.#retryAtMs <= nowMs) return false
    this.#retryAtMs = nowMs
    return true
  }

  /** Resolves every record: the i-th was written at `baseOffset + i`. Returns false if the batch was already done. */
  complete (result: BatchResult): boolean {
    if (this.#state === 'done') return false
    this.#state = 'done'
    this.#resolve(result)
    return true
  }

  /** Rejects every record with `error`. Returns false if the batch was already done. */
  fail (error: unknown): boolean {
    if (this.#state === 'done') return false
    this.#state = 'done'
    this.#reject(error)
    return true
  }

  /**
   * Lets go of the batch's buffer once it is settled and no attempt of it can be sent again (`buffer` must not be read
   * after): back to the pool if no request carrying it can still be read (see the header: never sent, or its only
   * attempt `acknowledged`), else to the garbage collector. Idempotent.
   */
  releaseBuffer (settlement: BatchSettlement = 'other'): void {
    const buffer = this.#buffer
    this.#buffer = undefined
    if (buffer !== undefined && this.mayReuseBuffer(settlement)) this.#buffers.release(buffer)
  }

  /** Whether a batch settled by `settlement` may give its buffer to another batch (see the header). */
  mayReuseBuffer (settlement: BatchSettlement): boolean {
    return this.#attempts === 0 || (this.#attempts === 1 && settlement === 'acknowledged')
  }

  /** The buffer, with room for `bytes` in all (header included): the current one, or a copy twice as large. */
  #room (bytes: number): Buffer {
    const current = this.#buffer
    if (current !== undefined && current.length >= bytes) return current
    const next = this.#buffers.acquire(Math.max(bytes, current === undefined ? this.#capacityBytes : 2 * current.length))
    if (current !== undefined) {
      current.copy(next, BATCH_HEADER_BYTES, BATCH_HEADER_BYTES, this.#sizeBytes)
      this.#buffers.release(current)
    }
    this.#buffer = next
    return next
  }

  /** The timestamp of the `index`-th record: that of the last run starting at or before it. */
  #timestampAt (index: number): number {
    const starts = this.#runStarts
    const timestamps = this.#runTimestamps
    if (starts === undefined || timestamps === undefined) return this.#baseTimestamp
    let low = 0
    let high = starts.length - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if ((starts[middle] as number) <= index) low = middle
      else high = middle - 1
    }
    return timestamps[low] as number
  }

  /** Record `index` is stamped `timestamp`, unlike the one before it. */
  #startRun (index: number, timestamp: number): void {
    if (this.#runStarts === undefined || this.#runTimestamps === undefined) {
      this.#runStarts = [0]
      this.#runTimestamps = [this.#baseTimestamp]
    }
    this.#runStarts.push(index)
    this.#runTimestamps.push(timestamp)
    this.#lastTimestamp = timestamp
  }
}

function checkRange (name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < -1 || value > max) throw invalid(`${name} out of range`, { [name]: value, min: -1, max })
}

function invalid (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message, { details })
}

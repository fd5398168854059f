/**
 * One batch of records for one topic-partition on its way from `append` to the broker: the records, their delivery
 * promises, and the encoded RecordBatch v2 once it is drained.
 *
 * Lifecycle (one direction only, except a retry): open (takes records) → closed (full or drained: takes none) →
 * inFlight (sent, awaiting a response) → done (every record's promise settled). A failed attempt that will be
 * retried goes from inFlight back to closed with a `retryAtMs`, and is resent as the same bytes.
 *
 * Invariants: `sizeBytes` is exactly the uncompressed encoded size (header + records), as `buildBatch` writes it;
 * the encoding happens once, so every attempt sends identical bytes; records keep append order, the i-th record's
 * offset is `baseOffset + i`; `result` settles exactly once, and `done` resolves after it.
 *
 * One result per batch, not a promise per record (Kafka's `ProduceRequestResult` behind every `FutureRecordMetadata`):
 * a record's metadata is derived from the batch result and its index when someone asks, so the per-record cost of
 * the send path is an array slot, not a promise and two closures.
 */
import assert from 'node:assert/strict'
import { type Offset, offset as toOffset } from '@gregor/common'
import { BATCH_HEADER_BYTES, type CompressionName, type RecordInput, buildBatch, recordsLimits } from '@gregor/records'
import { recordBytes } from './record-bytes.js'

/** A record whose timestamp is fixed: stamped when it was appended, if the caller gave none. */
export type StampedRecord = RecordInput & { readonly timestamp: number }

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

export class ProducerBatch {
  readonly topic: string
  readonly partition: number
  /** Monotonic time the batch was created: linger and the delivery timeout count from here. */
  readonly createdMs: number
  /** Resolves once the batch is settled; never rejects. */
  readonly done: Promise<void>
  /** The broker's answer for every record of the batch; rejects when the batch fails (handled: never unhandled). */
  readonly result: Promise<BatchResult>
  #records: StampedRecord[] = []
  /**
   * Once encoded, only the records' timestamps are kept (for their metadata): the records themselves, keys, values
   * and headers, are garbage while the batch waits a round trip for its acknowledgement.
   */
  #timestamps: Float64Array | undefined
  #recordCount = 0
  #resolve: (result: BatchResult) => void = () => {}
  #reject: (error: unknown) => void = () => {}
  #sizeBytes = BATCH_HEADER_BYTES
  #state: ProducerBatchState = 'open'
  #encoded: Buffer | undefined
  #producerId = -1
  #attempts = 0
  #retryAtMs = 0

  constructor (fields: { readonly topic: string; readonly partition: number; readonly createdMs: number }) {
    this.topic = fields.topic
    this.partition = fields.partition
    this.createdMs = fields.createdMs
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
      timestamp: result.logAppendTimeMs ?? (this.#timestamps?.[index] ?? (this.#records[index] as StampedRecord).timestamp),
    }
  }

  /** The delivery of the `index`-th record as its own promise (for callers that want one per record). */
  delivery (index: number): Promise<RecordMetadata> {
    return this.result.then((result) => this.metadataAt(index, result))
  }

  /** Bytes `record` would add to this batch as its next record. */
  appendBytes (record: StampedRecord): number {
    const first = this.#records[0]
    const timestampDeltaMs = first === undefined ? 0 : record.timestamp - first.timestamp
    return recordBytes(record, { timestampDeltaMs, offsetDelta: this.#records.length })
  }

  /** Adds `record`, whose size the caller got from `appendBytes`; returns its index in the batch. */
  append (record: StampedRecord, bytes: number): number {
    assert.equal(this.#state, 'open', 'only an open batch takes records')
    this.#sizeBytes += bytes
    this.#recordCount++
    return this.#records.push(record) - 1
  }

  /** Takes no more records: it is full, or about to be sent. */
  close (): void {
    if (this.#state === 'open') this.#state = 'closed'
  }

  /** Whether `encode` ran: the bytes (and the sequence numbers in them) are fixed from then on. */
  get isEncoded (): boolean { return this.#encoded !== undefined }

  /**
   * Encodes the batch, once; later calls return the same bytes (so every attempt resends the same sequence numbers).
   * Throws what `buildBatch` throws.
   */
  encode (compression: CompressionName, sequence?: BatchSequence): Buffer {
    if (this.#encoded === undefined) {
      this.#encoded = buildBatch(this.#records, { compression, batchBytesMax: recordsLimits.batchBytesMax, ...sequence })
      this.#producerId = sequence?.producerId ?? -1
      this.#timestamps = Float64Array.from(this.#records, (record) => record.timestamp)
      this.#records = []
    }
    return this.#encoded
  }

  /** The producer id the batch was numbered for, or -1 (not idempotent, or not encoded yet). */
  get producerId (): number { return this.#producerId }

  /** The batch was handed to the network. */
  markInFlight (): void {
    assert.equal(this.#state, 'closed', 'only a closed batch is sent')
    assert(this.#encoded !== undefined, 'a batch is encoded before it is sent')
    this.#state = 'inFlight'
    this.#attempts++
  }

  /** The attempt failed and will be retried no earlier than `retryAtMs`. */
  markRetry (retryAtMs: number): void {
    assert.equal(this.#state, 'inFlight', 'only a batch in flight is retried')
    this.#state = 'closed'
    this.#retryAtMs = retryAtMs
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
}

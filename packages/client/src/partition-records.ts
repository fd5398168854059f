/**
 * `PartitionRecords`: what one fetch returned for one partition, decoded lazily (the consumer's batch-level path, as
 * KafkaJS's `eachBatch` batch or a partition's part of Java's `ConsumerRecords`). Built from the partition's
 * `records` bytes, it CRC-checks every complete batch at or above the fetch offset at once (CORRUPT_MESSAGE before
 * anything is handed out) and knows `nextOffset`; its records are decoded only while a `PartitionRecordCursor`
 * walks them: varints read in place, the key, value and headers handed out only when asked for.
 *
 * Records below `fetchOffset` are skipped (a fetch returns whole batches, the first may start before the offset asked
 * for); an incomplete last batch (cut by the partition byte limit) is left out and `nextOffset` points at it, so the
 * next fetch asks for it again. Compressed batches are decompressed when the cursor reaches them. Pure.
 *
 * Memory: `key()`/`value()` of a cursor are views of the fetched bytes and keep the whole fetch response alive;
 * `message()` (the per-record `ConsumerMessage`) copies them, so a message kept long does not.
 */
import { offset as toOffset } from '@gregor/common'
import { type CheckedBatches, RecordReader, checkBatches } from '@gregor/records'
import type { ConsumerMessage } from './fetch-records.js'

export interface PartitionFetchPosition {
  readonly topic: string
  readonly partition: number
  /** The offset the fetch asked for: records below it are skipped. */
  readonly fetchOffset: number
}

export class PartitionRecords {
  readonly topic: string
  readonly partition: number
  /** The first offset handed out: records below it are skipped. */
  readonly fetchOffset: number
  /** Where the next fetch of this partition starts: after the last whole batch, never before `fetchOffset`. */
  readonly nextOffset: number
  readonly #buffer: Buffer
  readonly #batches: CheckedBatches

  /** CRC-checks the batches of `records` (CORRUPT_MESSAGE otherwise); decodes nothing yet. */
  constructor (records: Buffer, position: PartitionFetchPosition, batches?: CheckedBatches) {
    this.topic = position.topic
    this.partition = position.partition
    this.fetchOffset = position.fetchOffset
    this.#buffer = records
    this.#batches = batches ?? checkBatches(records, position.fetchOffset)
    this.nextOffset = this.#batches.nextOffset
  }

  /** No complete batch at or above the fetch offset (it may still yield no record: compaction leaves gaps). */
  get empty (): boolean {
    return this.#batches.positions.length === 0
  }

  /** A new cursor over the records, from `fetchOffset`. */
  records (): PartitionRecordCursor {
    return new PartitionRecordCursor(this.topic, this.partition, this.#buffer, this.#batches, this.fetchOffset)
  }

  /** The same fetched records from `offset` on (the rest of a partly consumed chunk); no second CRC check. */
  from (offset: number): PartitionRecords {
    if (offset <= this.fetchOffset) return this
    return new PartitionRecords(this.#buffer, { topic: this.topic, partition: this.partition, fetchOffset: Math.min(offset, this.nextOffset) }, this.#batches)
  }

  /** Every record as a `ConsumerMessage` (copies), decoded now. */
  messages (): ConsumerMessage[] {
    const messages: ConsumerMessage[] = []
    const cursor = this.records()
    while (cursor.next()) messages.push(cursor.message())
    return messages
  }
}

/**
 * A cursor over a `PartitionRecords`: `while (cursor.next()) { cursor.offset; cursor.valueLength; cursor.value() }`.
 * The fields describe the current record until the next `next()`; `message()` makes it a `ConsumerMessage`.
 */
export class PartitionRecordCursor extends RecordReader {
  readonly topic: string
  readonly partition: number

  constructor (topic: string, partition: number, records: Buffer, batches: CheckedBatches, fetchOffset: number) {
    super(records, batches, fetchOffset)
    this.topic = topic
    this.partition = partition
  }

  /** The current record as a `ConsumerMessage`: key, value and header values copied out of the fetched bytes. */
  message (): ConsumerMessage {
    const key = this.key()
    const value = this.value()
    return {
      topic: this.topic,
      partition: this.partition,
      offset: toOffset(this.offset),
      timestamp: this.timestamp,
      // Copies: the views point into the gRPC response buffer, which the caller should be free to drop.
      key: key === null ? null : Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      headers: this.headerCount === 0 ? [] : this.headers().map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
    }
  }
}

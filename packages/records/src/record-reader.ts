/**
 * Lazy reading of the records of fetched batches (the consumer's hot path): `checkBatches` CRC-checks every complete
 * batch of a fetched buffer that reaches a given offset and says where the next fetch starts, without decoding a
 * record; a `RecordReader` then walks those batches one record at a time, reading the varints in place, and hands
 * out keys, values and headers only when asked. Nothing is allocated per record unless the caller asks for a field
 * that is a Buffer or a string.
 *
 * Invariants: a batch is CRC-checked (`validateBatch`) before any of its records is read, and the reader reads only
 * checked batches (it is built from `checkBatches`' answer). The reader validates each record with the same
 * `scanRecord` (record-codec.ts) as `parseBatch`, and checks that no bytes follow the last record, so what it yields
 * equals `parseBatch`'s records, and malformed bytes are CORRUPT_MESSAGE as there.
 * Records below `fromOffset` are skipped (a fetch serves the batch that contains the offset asked for). Keys, values
 * and header values are views of the fetched buffer (or of a batch's decompressed records): they keep it alive.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import {
  ATTRIBUTE_COMPRESSION_MASK, ATTRIBUTE_LOG_APPEND_TIME, BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, readBatchHeader, validateBatch, walkBatches,
} from './batch-header.js'
import { COMPRESSION_CODEC_IDS, compressionCodecById } from './compression.js'
import type { ParseBatchOptions } from './parse-batch.js'
import { type RecordContext, type RecordHeader, type RecordSpan, bytesAt, emptyRecordSpan, headersAt, scanRecord } from './record-codec.js'
import { recordsLimits } from './records-limits.js'
import type { Cursor } from './varint.js'

/** The checked batches of a fetched buffer, from `checkBatches`. */
export interface CheckedBatches {
  /** Byte positions of the complete batches that hold offsets ≥ fromOffset, each CRC-checked. */
  readonly positions: readonly number[]
  /** After the last complete batch (its offset span, not its last record's), never below fromOffset. */
  readonly nextOffset: number
}

/**
 * CRC-checks (and validates the header of) every complete batch of `buffer` whose offset span reaches `fromOffset`;
 * batches wholly below it are skipped unread, and an incomplete last batch (cut by a fetch byte limit) is left for
 * the next fetch. Throws CORRUPT_MESSAGE (or MESSAGE_TOO_LARGE) for a batch that fails.
 */
export function checkBatches (buffer: Buffer, fromOffset: number, options: ParseBatchOptions = {}): CheckedBatches {
  const validateOptions = { batchBytesMax: options.batchBytesMax ?? recordsLimits.batchBytesMax, denseOffsets: false }
  const positions: number[] = []
  let nextOffset = fromOffset
  for (const { position, header } of walkBatches(buffer)) {
    const batchNextOffset = header.baseOffset + header.lastOffsetDelta + 1
    if (batchNextOffset <= fromOffset) continue
    validateBatch(buffer, position, validateOptions)
    positions.push(position)
    // Compaction may leave gaps at the end of a batch: the next fetch starts after its span.
    nextOffset = Math.max(nextOffset, batchNextOffset)
  }
  return { positions, nextOffset }
}

/**
 * A cursor over the records of checked batches: `next()` moves to the next record at or above `fromOffset` and
 * returns false after the last; the fields describe the current record until the next call. The reader is its own
 * varint cursor (`position`/`end`), so reading a record allocates nothing.
 */
export class RecordReader implements Cursor {
  /** Offset of the current record (-1 before the first `next()`). */
  offset = -1
  /** Create time, or the batch's maxTimestamp for LOG_APPEND_TIME batches (epoch ms). */
  timestamp = 0
  /** Bytes of the current key, or -1 when it is null. */
  keyLength = -1
  /** Bytes of the current value, or -1 when it is null. */
  valueLength = -1
  /** Headers of the current record. */
  headerCount = 0

  /** Read position in `#section` (the Cursor the varint readers advance). */
  position = 0
  /** End of the current record, or of the section between records. */
  end = 0

  readonly #buffer: Buffer
  readonly #positions: readonly number[]
  readonly #fromOffset: number
  readonly #decompressedBytesMax: number
  #batchIndex = -1
  #section: Buffer = Buffer.alloc(0)
  #sectionEnd = 0
  #recordsLeft = 0
  #recordIndex = 0
  #context: RecordContext = { baseOffset: 0, baseTimestamp: 0, logAppendTime: undefined, lastOffsetDelta: 0 }
  #minOffsetDelta = 0
  /** Where the current record's fields are (`scanRecord` fills it in place). */
  readonly #span: RecordSpan = emptyRecordSpan()

  constructor (buffer: Buffer, batches: CheckedBatches, fromOffset: number, options: ParseBatchOptions = {}) {
    this.#buffer = buffer
    this.#positions = batches.positions
    this.#fromOffset = fromOffset
    this.#decompressedBytesMax = options.decompressedBytesMax ?? recordsLimits.decompressedBytesMax
  }

  /** Moves to the next record at or above `fromOffset`; false when there is none left. */
  next (): boolean {
    for (;;) {
      if (this.#recordsLeft === 0) {
        if (this.#batchIndex >= 0 && this.position !== this.#sectionEnd) {
          throw corrupt('bytes left after the last record', { remainingBytes: this.#sectionEnd - this.position })
        }
        if (this.#batchIndex + 1 >= this.#positions.length) return false
        this.#startBatch(this.#positions[++this.#batchIndex] as number)
        continue
      }
      this.#readRecord()
      if (this.offset >= this.#fromOffset) return true
    }
  }

  /** The current key: a view of the fetched bytes, or null. */
  key (): Buffer | null {
    return bytesAt(this.#section, this.#span.keyStart, this.#span.keyLength)
  }

  /** The current value: a view of the fetched bytes, or null. */
  value (): Buffer | null {
    return bytesAt(this.#section, this.#span.valueStart, this.#span.valueLength)
  }

  /** The current record's headers, decoded now (keys as strings, values as views). */
  headers (): RecordHeader[] {
    return headersAt(this.#section, this.#span.headersStart, this.#span.headerCount)
  }

  #startBatch (position: number): void {
    const header = readBatchHeader(this.#buffer, position)
    const codec = compressionCodecById(header.attributes & ATTRIBUTE_COMPRESSION_MASK)
    const stored = this.#buffer.subarray(position + BATCH_HEADER_BYTES, position + BATCH_LOG_OVERHEAD_BYTES + header.batchLength)
    this.#section = codec.id === COMPRESSION_CODEC_IDS.none ? stored : codec.decompress(stored, this.#decompressedBytesMax)
    this.position = 0
    this.#sectionEnd = this.#section.length
    this.end = this.#sectionEnd
    this.#recordsLeft = header.recordCount
    this.#recordIndex = 0
    this.#context = {
      baseOffset: header.baseOffset,
      baseTimestamp: header.baseTimestamp,
      logAppendTime: (header.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0 ? header.maxTimestamp : undefined,
      lastOffsetDelta: header.lastOffsetDelta,
    }
    this.#minOffsetDelta = 0
  }

  /** Reads and validates the record at `position` (record-codec.ts `scanRecord`), leaving `position` after it. */
  #readRecord (): void {
    const span = this.#span
    this.end = this.#sectionEnd
    scanRecord(this.#section, this, this.#recordIndex, this.#context, this.#minOffsetDelta, span)
    this.offset = this.#context.baseOffset + span.offsetDelta
    this.timestamp = span.timestamp
    this.keyLength = span.keyLength
    this.valueLength = span.valueLength
    this.headerCount = span.headerCount
    this.#minOffsetDelta = span.offsetDelta + 1
    this.#recordIndex++
    this.#recordsLeft--
  }
}

function corrupt (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details })
}

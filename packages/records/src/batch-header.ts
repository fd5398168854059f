/**
 * Broker-side view of a Kafka RecordBatch v2: read the fixed 61-byte header, validate, stamp, walk — never decode
 * the records themselves. This is all the hot path (produce, replicate, fetch, recovery) needs. `writeBatchHeader`
 * is here too so that the one description of the layout serves both the reader and the builder.
 *
 * Layout (big-endian), byte offsets from the batch start:
 *   0 baseOffset int64 | 8 batchLength int32 (bytes after this field) | 12 partitionLeaderEpoch int32 | 16 magic int8
 *   17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
 *   35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32 | 57 recordCount int32
 *   61 records...
 * baseOffset and partitionLeaderEpoch sit before the CRC'd range, so the broker stamps them without recomputing it.
 *
 * int64 fields are JS numbers: exact below 2^53, which offsets, timestamps and producer ids stay under in practice
 * (ARCHITECTURE.md §2 asks for bigint only where a value can pass 2^53). They are read as two int32 halves rather
 * than through bigint because walking a segment reads thousands of headers.
 */
import assert from 'node:assert/strict'
import { crc32c } from '@node-rs/crc32'
import { ErrorCode, GregorError } from '@gregor/common'
import { recordsLimits } from './records-limits.js'

export const BATCH_HEADER_BYTES = 61
/** baseOffset + batchLength: the part of the header not counted by batchLength. */
export const BATCH_LOG_OVERHEAD_BYTES = 12
export const BATCH_MAGIC = 2
const CRC_START = 21

/** Attribute bits (Kafka DefaultRecordBatch): 0..2 compression codec, 3 timestamp type, 4 transactional, 5 control. */
export const ATTRIBUTE_COMPRESSION_MASK = 0x07
export const ATTRIBUTE_LOG_APPEND_TIME = 0x08
export const ATTRIBUTE_TRANSACTIONAL = 0x10
export const ATTRIBUTE_CONTROL = 0x20
/** Highest codec id Kafka defines (zstd); ids 5..7 are invalid in any Kafka version. */
const CODEC_ID_MAX = 4
const TWO_POW_32 = 0x1_0000_0000

export interface BatchHeader {
  readonly baseOffset: number
  readonly batchLength: number
  readonly partitionLeaderEpoch: number
  readonly magic: number
  readonly crc: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
}

/** Reads the header of the batch at `position`. The caller has checked that 61 bytes are there. */
export function readBatchHeader (buffer: Buffer, position = 0): BatchHeader {
  return {
    baseOffset: readInt64(buffer, position),
    batchLength: buffer.readInt32BE(position + 8),
    partitionLeaderEpoch: buffer.readInt32BE(position + 12),
    magic: buffer.readInt8(position + 16),
    crc: buffer.readUInt32BE(position + 17),
    attributes: buffer.readInt16BE(position + 21),
    lastOffsetDelta: buffer.readInt32BE(position + 23),
    baseTimestamp: readInt64(buffer, position + 27),
    maxTimestamp: readInt64(buffer, position + 35),
    producerId: readInt64(buffer, position + 43),
    producerEpoch: buffer.readInt16BE(position + 51),
    baseSequence: buffer.readInt32BE(position + 53),
    recordCount: buffer.readInt32BE(position + 57),
  }
}

/** Total bytes of the batch starting at `position` (header included), as its length field claims. */
export function batchSizeBytes (buffer: Buffer, position = 0): number {
  return BATCH_LOG_OVERHEAD_BYTES + buffer.readInt32BE(position + 8)
}

/**
 * The header fields a writer chooses. batchLength is derived from the buffer, magic is always 2 and the CRC is
 * computed, so none of them can disagree with the bytes.
 */
export type BatchHeaderFields = Omit<BatchHeader, 'batchLength' | 'magic' | 'crc'>

/**
 * Writes the header of a batch occupying `buffer[position, position + sizeBytes)` whose records section (from
 * byte 61) is already in place, then its CRC, which covers those records.
 */
export function writeBatchHeader (buffer: Buffer, position: number, sizeBytes: number, fields: BatchHeaderFields): void {
  assert(sizeBytes >= BATCH_HEADER_BYTES && position + sizeBytes <= buffer.length, 'batch must fit the buffer')
  writeInt64(buffer, position, fields.baseOffset)
  buffer.writeInt32BE(sizeBytes - BATCH_LOG_OVERHEAD_BYTES, position + 8)
  buffer.writeInt32BE(fields.partitionLeaderEpoch, position + 12)
  buffer.writeInt8(BATCH_MAGIC, position + 16)
  buffer.writeInt16BE(fields.attributes, position + 21)
  buffer.writeInt32BE(fields.lastOffsetDelta, position + 23)
  writeInt64(buffer, position + 27, fields.baseTimestamp)
  writeInt64(buffer, position + 35, fields.maxTimestamp)
  writeInt64(buffer, position + 43, fields.producerId)
  buffer.writeInt16BE(fields.producerEpoch, position + 51)
  buffer.writeInt32BE(fields.baseSequence, position + 53)
  buffer.writeInt32BE(fields.recordCount, position + 57)
  buffer.writeUInt32BE(computeBatchCrc(buffer, position), position + 17)
}

export interface ValidateBatchOptions {
  /** Largest batch accepted, header included. */
  readonly batchBytesMax: number
  /**
   * true (default): count = lastOffsetDelta + 1, Kafka's rule for produced batches. false: 1 ≤ count ≤
   * lastOffsetDelta + 1, for batches a log compaction has thinned (they keep their offset span; records are gone).
   */
  readonly denseOffsets?: boolean
}

/**
 * Checks the batch at `position`: complete, within `batchBytesMax`, magic 2, CRC-32C, a codec id Kafka defines,
 * and a record count that agrees with lastOffsetDelta (Kafka's LogValidator rule for produced batches: offsets
 * are contiguous, so count = lastOffsetDelta + 1; with `denseOffsets: false`, only count ≤ lastOffsetDelta + 1, as a
 * compacted batch has gaps). Throws CORRUPT_MESSAGE or MESSAGE_TOO_LARGE; returns the batch
 * size in bytes. It reads the header only, so it costs one CRC pass and never decompresses.
 */
export function validateBatch (buffer: Buffer, position: number, options: ValidateBatchOptions = recordsLimits): number {
  const available = buffer.length - position
  if (available < BATCH_HEADER_BYTES) throw corrupt('batch shorter than its header', { available })
  const sizeBytes = batchSizeBytes(buffer, position)
  if (sizeBytes > options.batchBytesMax) {
    throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'record batch larger than the limit', {
      details: { sizeBytes, batchBytesMax: options.batchBytesMax },
    })
  }
  if (sizeBytes < BATCH_HEADER_BYTES) throw corrupt('batch length smaller than the header', { sizeBytes })
  if (sizeBytes > available) throw corrupt('batch truncated', { sizeBytes, available })
  const magic = buffer.readInt8(position + 16)
  if (magic !== BATCH_MAGIC) throw corrupt('unsupported batch magic', { magic })
  const expectedCrc = buffer.readUInt32BE(position + 17)
  const actualCrc = crc32c(buffer.subarray(position + CRC_START, position + sizeBytes))
  if (expectedCrc !== actualCrc) throw corrupt('batch crc mismatch', { expectedCrc, actualCrc })
  // Kafka reads attributes as a short but defines bits of the low byte only.
  const codecId = buffer.readInt16BE(position + 21) & ATTRIBUTE_COMPRESSION_MASK
  if (codecId > CODEC_ID_MAX) throw corrupt('unknown compression codec id', { codecId })
  const recordCount = buffer.readInt32BE(position + 57)
  const lastOffsetDelta = buffer.readInt32BE(position + 23)
  const countMatches = options.denseOffsets === false
    ? lastOffsetDelta >= 0 && recordCount <= lastOffsetDelta + 1
    : lastOffsetDelta === recordCount - 1
  if (recordCount < 1 || !countMatches) {
    throw corrupt('record count does not match lastOffsetDelta', { recordCount, lastOffsetDelta })
  }
  return sizeBytes
}

/** Writes the broker-assigned fields in place. Both lie outside the CRC, so the batch stays valid. */
export function stampBatch (buffer: Buffer, position: number, fields: { baseOffset: number; partitionLeaderEpoch: number }): void {
  assert(Number.isSafeInteger(fields.baseOffset) && fields.baseOffset >= 0, 'baseOffset must be a non-negative safe integer')
  writeInt64(buffer, position, fields.baseOffset)
  buffer.writeInt32BE(fields.partitionLeaderEpoch, position + 12)
}

/** Computes the CRC field for a batch whose bytes 21..end are final (used by the batch builder). */
export function computeBatchCrc (buffer: Buffer, position = 0): number {
  return crc32c(buffer.subarray(position + CRC_START, position + batchSizeBytes(buffer, position)))
}

/**
 * Yields the position and header of each complete batch in `buffer`; stops silently at an incomplete tail (a fetch
 * response may end mid-batch). It does not validate CRCs: callers that need that call `validateBatch`.
 */
export function * walkBatches (buffer: Buffer): Generator<{ position: number; header: BatchHeader }> {
  let position = 0
  while (buffer.length - position >= BATCH_HEADER_BYTES) {
    const sizeBytes = batchSizeBytes(buffer, position)
    if (sizeBytes < BATCH_HEADER_BYTES || position + sizeBytes > buffer.length) return
    yield { position, header: readBatchHeader(buffer, position) }
    position += sizeBytes
  }
}

/** Big-endian int64 as a number: one rounding of an exact sum, so it equals Number(readBigInt64BE()). */
function readInt64 (buffer: Buffer, position: number): number {
  return buffer.readInt32BE(position) * TWO_POW_32 + buffer.readUInt32BE(position + 4)
}

/** Big-endian int64 from a safe integer (two's complement for negatives, e.g. producerId -1). */
function writeInt64 (buffer: Buffer, position: number, value: number): void {
  assert(Number.isSafeInteger(value), 'int64 field must be a safe integer')
  buffer.writeInt32BE(Math.floor(value / TWO_POW_32), position)
  buffer.writeUInt32BE(value >>> 0, position + 4)
}

function corrupt (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details })
}

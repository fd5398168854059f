/**
 * Builds a Kafka RecordBatch v2 (layout in batch-header.ts and record-codec.ts) from producer records: the
 * client-side half of the codec. The broker never re-encodes what this produces; it stamps and stores the bytes.
 *
 * Choices that follow Kafka's producer (MemoryRecordsBuilder): baseTimestamp is the *first* record's timestamp, not
 * the smallest, so deltas may be negative; maxTimestamp is the largest record timestamp, or `nowMs` for a
 * LOG_APPEND_TIME batch; offsetDeltas are 0..n-1; producerId, producerEpoch, baseSequence and partitionLeaderEpoch
 * default to -1 (no idempotence, no epoch yet); baseOffset defaults to 0 and is the broker's to assign.
 *
 * Invariants: records are sized first and written once into one preallocated buffer (an uncompressed batch is
 * written in place after its header; a compressed one costs one extra copy of the compressed bytes). Every byte of
 * the returned buffer is written. A batch that would exceed `batchBytesMax`, or whose records section would
 * exceed `decompressedBytesMax` (so that no parser with the same limits could read it back), is refused with
 * MESSAGE_TOO_LARGE; malformed input is INVALID_REQUEST. Pure: time comes from the caller's `nowMs`.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError } from '@gregor/common'
import { ATTRIBUTE_LOG_APPEND_TIME, BATCH_HEADER_BYTES, type BatchHeaderFields, writeBatchHeader } from './batch-header.js'
import { COMPRESSION_CODEC_IDS, type CompressionCodec, type CompressionName, compressionCodecByName } from './compression.js'
import { type RecordInput, recordBodyBytes, writeRecord } from './record-codec.js'
import { recordsLimits } from './records-limits.js'
import { sizeOfVarint } from './varint.js'

export interface BuildBatchOptions {
  readonly compression?: CompressionName
  readonly baseOffset?: number
  readonly partitionLeaderEpoch?: number
  readonly producerId?: number
  readonly producerEpoch?: number
  readonly baseSequence?: number
  /** 'create' (default): records carry their producer timestamps. 'logAppend': every record reads as `nowMs`. */
  readonly timestampType?: 'create' | 'logAppend'
  /** The timestamp of records that have none, and the append time of a 'logAppend' batch. */
  readonly nowMs?: number
  readonly batchBytesMax?: number
  readonly decompressedBytesMax?: number
}

/** Sizes and timestamps of the records, computed before a byte is written. */
interface RecordsPlan {
  readonly timestamps: Float64Array
  readonly bodyBytes: Int32Array
  readonly recordsBytes: number
  readonly maxTimestamp: number
}

const INT32_MAX = 0x7fff_ffff

/** The options, checked and with defaults applied, before any record is looked at. */
interface BatchSettings {
  readonly codec: CompressionCodec
  readonly batchBytesMax: number
  /** The records section limit: what fits the batch when uncompressed, the decompression limit otherwise. */
  readonly recordsBytesMax: number
  readonly logAppendTime: number | undefined
  readonly header: Pick<BatchHeaderFields, 'baseOffset' | 'partitionLeaderEpoch' | 'producerId' | 'producerEpoch' | 'baseSequence'>
}

/** Encodes `records` as one RecordBatch v2 and returns its bytes (61-byte header, then the records section). */
export function buildBatch (records: readonly RecordInput[], options: BuildBatchOptions = {}): Buffer {
  const settings = resolveSettings(options)
  const plan = planRecords(records, options.nowMs, settings.recordsBytesMax)
  let batch: Buffer
  if (settings.codec.id === COMPRESSION_CODEC_IDS.none) {
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + plan.recordsBytes)
    writeRecords(batch, BATCH_HEADER_BYTES, records, plan)
  } else {
    const section = Buffer.allocUnsafe(plan.recordsBytes)
    writeRecords(section, 0, records, plan)
    const compressed = settings.codec.compress(section)
    const sizeBytes = BATCH_HEADER_BYTES + compressed.length
    if (sizeBytes > settings.batchBytesMax) {
      throw tooLarge('record batch larger than the limit', sizeBytes, settings.batchBytesMax)
    }
    batch = Buffer.allocUnsafe(sizeBytes)
    compressed.copy(batch, BATCH_HEADER_BYTES)
  }
  writeBatchHeader(batch, 0, batch.length, {
    ...settings.header,
    attributes: settings.codec.id | (settings.logAppendTime === undefined ? 0 : ATTRIBUTE_LOG_APPEND_TIME),
    lastOffsetDelta: records.length - 1,
    baseTimestamp: plan.timestamps[0] as number,
    maxTimestamp: settings.logAppendTime ?? plan.maxTimestamp,
    recordCount: records.length,
  })
  return batch
}

function resolveSettings (options: BuildBatchOptions): BatchSettings {
  const codec = compressionCodecByName(options.compression ?? 'none')
  const batchBytesMax = checkInteger('batchBytesMax', options.batchBytesMax ?? recordsLimits.batchBytesMax,
    BATCH_HEADER_BYTES, INT32_MAX)
  const decompressedBytesMax = checkInteger('decompressedBytesMax',
    options.decompressedBytesMax ?? recordsLimits.decompressedBytesMax, 1, INT32_MAX)
  if (options.nowMs !== undefined) checkInteger('nowMs', options.nowMs, 0, Number.MAX_SAFE_INTEGER)
  const logAppend = options.timestampType === 'logAppend'
  if (logAppend && options.nowMs === undefined) throw invalid('a logAppend batch needs nowMs', {})
  return {
    codec,
    batchBytesMax,
    recordsBytesMax: codec.id === COMPRESSION_CODEC_IDS.none ? batchBytesMax - BATCH_HEADER_BYTES : decompressedBytesMax,
    logAppendTime: logAppend ? options.nowMs : undefined,
    header: {
      baseOffset: checkInteger('baseOffset', options.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER),
      partitionLeaderEpoch: checkInteger('partitionLeaderEpoch', options.partitionLeaderEpoch ?? -1, -1, INT32_MAX),
      producerId: checkInteger('producerId', options.producerId ?? -1, -1, Number.MAX_SAFE_INTEGER),
      producerEpoch: checkInteger('producerEpoch', options.producerEpoch ?? -1, -1, 0x7fff),
      baseSequence: checkInteger('baseSequence', options.baseSequence ?? -1, -1, INT32_MAX),
    },
  }
}

/** Resolves timestamps and sizes every record, refusing the batch as soon as its records pass `recordsBytesMax`. */
function planRecords (records: readonly RecordInput[], nowMs: number | undefined, recordsBytesMax: number): RecordsPlan {
  if (records.length === 0) throw invalid('a record batch needs at least one record', {})
  const timestamps = new Float64Array(records.length)
  let maxTimestamp = -1
  for (let index = 0; index < records.length; index++) {
    const timestamp = (records[index] as RecordInput).timestamp ?? nowMs
    if (timestamp === undefined || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      const message = 'record timestamp must be a non-negative integer (pass nowMs for records without one)'
      throw invalid(message, { index, timestamp })
    }
    timestamps[index] = timestamp
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
  }
  const baseTimestamp = timestamps[0] as number
  const bodyBytes = new Int32Array(records.length)
  let recordsBytes = 0
  for (let index = 0; index < records.length; index++) {
    const body = recordBodyBytes(records[index] as RecordInput, (timestamps[index] as number) - baseTimestamp, index)
    // Checked before sizeOfVarint(body): within the limit, body is an int32 and the total cannot overflow.
    if (body > recordsBytesMax - recordsBytes) {
      throw tooLarge('records larger than the limit', recordsBytes + body, recordsBytesMax)
    }
    bodyBytes[index] = body
    recordsBytes += sizeOfVarint(body) + body
    if (recordsBytes > recordsBytesMax) throw tooLarge('records larger than the limit', recordsBytes, recordsBytesMax)
  }
  return { timestamps, bodyBytes, recordsBytes, maxTimestamp }
}

function writeRecords (target: Buffer, start: number, records: readonly RecordInput[], plan: RecordsPlan): void {
  const baseTimestamp = plan.timestamps[0] as number
  let position = start
  for (let index = 0; index < records.length; index++) {
    position = writeRecord(target, position, records[index] as RecordInput, {
      bodyBytes: plan.bodyBytes[index] as number,
      timestampDelta: (plan.timestamps[index] as number) - baseTimestamp,
      offsetDelta: index,
    })
  }
  assert.equal(position - start, plan.recordsBytes, 'records must fill exactly the bytes they were sized at')
}

function checkInteger (name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${name} out of range`, { [name]: value, min, max })
  }
  return value
}

function invalid (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message, { details })
}

function tooLarge (message: string, sizeBytes: number, sizeBytesMax: number): GregorError {
  return new GregorError(ErrorCode.MESSAGE_TOO_LARGE, message, { details: { sizeBytes, sizeBytesMax } })
}

/**
 * Decodes a Kafka RecordBatch v2 into its header and records: the consumer-side half of the codec (the broker
 * needs only batch-header.ts).
 *
 * Invariants: nothing is decoded before `validateBatch` has accepted the bytes (size, magic, CRC, codec id, record
 * count), so record decoding only meets corruption the CRC cannot see: a buggy or hostile producer. Decompression
 * is bounded by `decompressedBytesMax`. Every malformed length or varint is CORRUPT_MESSAGE, including records
 * that do not add up to their declared lengths and bytes left over after the last record (Kafka's "Incorrect
 * declared batch size"). Keys, values and header values are views of `buffer` (uncompressed batches) or of the
 * decompressed records: copy them to keep them past a reuse of `buffer`.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError } from '@gregor/common'
import {
  ATTRIBUTE_COMPRESSION_MASK, ATTRIBUTE_LOG_APPEND_TIME, BATCH_HEADER_BYTES, type BatchHeader, readBatchHeader, validateBatch,
} from './batch-header.js'
import { COMPRESSION_CODEC_IDS, compressionCodecById } from './compression.js'
import { type ParsedRecord, type RecordContext, readRecord } from './record-codec.js'
import { recordsLimits } from './records-limits.js'
import type { Cursor } from './varint.js'

export interface ParseBatchOptions {
  /** Largest batch accepted, header included (default recordsLimits.batchBytesMax). */
  readonly batchBytesMax?: number
  /** Largest records section a compressed batch may expand to (default recordsLimits.decompressedBytesMax). */
  readonly decompressedBytesMax?: number
}

export interface ParsedBatch {
  readonly header: BatchHeader
  readonly records: ParsedRecord[]
}

/** Validates and decodes the batch at `position` of `buffer`. Bytes after the batch are not looked at. */
export function parseBatch (buffer: Buffer, position = 0, options: ParseBatchOptions = {}): ParsedBatch {
  const { header, records } = decodeBatch(buffer, position, options)
  return { header, records }
}

/**
 * `parseBatch` plus what it decoded the records from, for filter-batch.ts (which rebuilds a batch from some of the
 * records' bytes without decompressing or walking the section a second time): the records section (decompressed
 * when the batch is compressed) and the end of each record in it (record i spans [recordEnds[i-1] ?? 0,
 * recordEnds[i])). Internal to the package.
 */
export function decodeBatch (
  buffer: Buffer, position: number, options: ParseBatchOptions,
): ParsedBatch & { readonly section: Buffer; readonly recordEnds: readonly number[] } {
  const { batchBytesMax = recordsLimits.batchBytesMax, decompressedBytesMax = recordsLimits.decompressedBytesMax } = options
  // Limits come from configuration, not from the bytes: a bad one is a bug.
  assert(Number.isSafeInteger(batchBytesMax) && batchBytesMax > 0, 'batchBytesMax must be a positive integer')
  assert(Number.isSafeInteger(decompressedBytesMax) && decompressedBytesMax > 0, 'decompressedBytesMax must be a positive integer')
  // Consumers read compacted logs: a batch may hold fewer records than its offset span (gaps, never reordering).
  const sizeBytes = validateBatch(buffer, position, { batchBytesMax, denseOffsets: false })
  const header = readBatchHeader(buffer, position)
  const codec = compressionCodecById(header.attributes & ATTRIBUTE_COMPRESSION_MASK)
  const stored = buffer.subarray(position + BATCH_HEADER_BYTES, position + sizeBytes)
  const section = codec.id === COMPRESSION_CODEC_IDS.none ? stored : codec.decompress(stored, decompressedBytesMax)
  const context: RecordContext = {
    baseOffset: header.baseOffset,
    baseTimestamp: header.baseTimestamp,
    logAppendTime: (header.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0 ? header.maxTimestamp : undefined,
    lastOffsetDelta: header.lastOffsetDelta,
  }
  const cursor: Cursor = { position: 0, end: section.length }
  // Not preallocated from recordCount: the count is the producer's claim, the bytes are what bound the loop.
  const records: ParsedRecord[] = []
  const recordEnds: number[] = []
  let minOffsetDelta = 0
  for (let index = 0; index < header.recordCount; index++) {
    const record = readRecord(section, cursor, index, context, minOffsetDelta)
    records.push(record)
    recordEnds.push(cursor.position)
    minOffsetDelta = record.offset - header.baseOffset + 1
  }
  if (cursor.position !== cursor.end) {
    throw new GregorError(ErrorCode.CORRUPT_MESSAGE, 'bytes left after the last record', {
      details: { recordCount: header.recordCount, remainingBytes: cursor.end - cursor.position },
    })
  }
  return { header, records, section, recordEnds }
}

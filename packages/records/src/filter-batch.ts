/**
 * Rebuilds a RecordBatch v2 with only some of its records: the log cleaner's half of the codec (Kafka's
 * `MemoryRecords.filterTo` for magic 2).
 *
 * What stays exactly as it was: baseOffset, partitionLeaderEpoch, attributes (codec, timestamp type, transactional and
 * control bits), lastOffsetDelta (so the batch still spans the same offsets and the next offset after it stays
 * defined, as Kafka's `overrideLastOffset`), baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence,
 * and the bytes of every kept record (its offsetDelta and timestampDelta are relative to the unchanged bases, so they
 * are copied verbatim, never re-encoded). What changes: recordCount, batchLength, the records section (recompressed
 * with the same codec when the batch was compressed) and the CRC. maxTimestamp is kept even when the record that
 * carried it goes: the segment's time index and retention then stay as they were (Kafka recomputes it; keeping it
 * only makes time-based lookups conservative).
 *
 * Pure and synchronous. The input must be one whole, valid batch (it is validated and decoded once, as by
 * `parseBatch`, gaps allowed, so a batch cleaned before can be cleaned again); the kept records' bytes are cut from
 * that same decoded section, so a compressed batch is decompressed once.
 */
import { ATTRIBUTE_COMPRESSION_MASK, BATCH_HEADER_BYTES, writeBatchHeader } from './batch-header.js'
import { COMPRESSION_CODEC_IDS, compressionCodecById } from './compression.js'
import { type ParseBatchOptions, type ParsedBatch, decodeBatch } from './parse-batch.js'
import type { ParsedRecord } from './record-codec.js'

export interface FilteredBatch {
  /** The rebuilt batch; the input buffer itself when every record is kept; undefined when none is. */
  readonly batch: Buffer | undefined
  readonly keptRecords: number
  readonly removedRecords: number
}

/**
 * Keeps the records of the batch at `buffer[position..]` for which `keep` returns true. `keep` sees the records in
 * offset order with the batch's parsed header.
 */
export function filterBatch (
  buffer: Buffer,
  position: number,
  keep: (record: ParsedRecord, batch: ParsedBatch) => boolean,
  options: ParseBatchOptions = {},
): FilteredBatch {
  const decoded = decodeBatch(buffer, position, options)
  const { header, records: parsed, section, recordEnds } = decoded
  const kept: number[] = []
  for (let index = 0; index < parsed.length; index++) {
    if (keep(parsed[index] as ParsedRecord, decoded)) kept.push(index)
  }
  const total = parsed.length
  const sizeBytes = 12 + header.batchLength
  if (kept.length === total) return { batch: buffer.subarray(position, position + sizeBytes), keptRecords: total, removedRecords: 0 }
  if (kept.length === 0) return { batch: undefined, keptRecords: 0, removedRecords: total }

  const codec = compressionCodecById(header.attributes & ATTRIBUTE_COMPRESSION_MASK)
  // Each kept record's bytes (`length varint | body`) verbatim: its deltas are relative to the unchanged bases.
  const keptSection = Buffer.concat(kept.map((index) => section.subarray(recordEnds[index - 1] ?? 0, recordEnds[index])))
  const records = codec.id === COMPRESSION_CODEC_IDS.none ? keptSection : codec.compress(keptSection)
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length)
  records.copy(batch, BATCH_HEADER_BYTES)
  writeBatchHeader(batch, 0, batch.length, {
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    attributes: header.attributes,
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: kept.length,
  })
  return { batch, keptRecords: kept.length, removedRecords: total - kept.length }
}

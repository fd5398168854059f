/**
 * @gregor/records: the Kafka RecordBatch v2 codec. Broker-side header access (read, validate, stamp, walk) in
 * batch-header.ts; client-side build and parse over record-codec.ts, varint.ts and the compression registry.
 */
export * from './batch-header.js'
/** CRC-32C (Castagnoli), the batch checksum; other checksummed files (producer-state snapshots) reuse it. */
export { crc32c } from '@node-rs/crc32'
export { buildBatch, type BuildBatchOptions } from './build-batch.js'
export { filterBatch, type FilteredBatch } from './filter-batch.js'
export { parseBatch, type ParseBatchOptions, type ParsedBatch } from './parse-batch.js'
export type { ParsedRecord, RecordHeader, RecordInput } from './record-codec.js'
export { type CheckedBatches, RecordReader, checkBatches } from './record-reader.js'
export {
  COMPRESSION_CODEC_IDS,
  COMPRESSION_NAMES,
  type CompressionCodec,
  type CompressionName,
  compressionCodecById,
  compressionCodecByName,
} from './compression.js'
export { LZ4_FRAME_MAGIC } from './lz4-frame.js'
export { recordsLimits, type RecordsLimits } from './records-limits.js'
export { type Cursor, readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js'

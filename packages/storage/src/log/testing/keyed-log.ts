/**
 * Keyed records for the cleaner's tests and its kill -9 child: record i of a workload has key `k<i % keys>` and value
 * `<key>@<offset>` (or null for a tombstone), so any record read back tells its key and the offset it was written at.
 */
import { type CompressionName, buildBatch, parseBatch, walkBatches } from '@gregor/records'
import { offset } from '@gregor/common'
import type { PartitionLog } from '../partition-log.js'

export interface KeyedRecord {
  readonly offset: number
  readonly key: string
  readonly value: string | null
}

/** One batch of `count` records starting at `first` (their future offsets), keys cycling over `keys`. */
export function keyedBatch (first: number, count: number, keys: number, options: { timestamp?: number; compression?: CompressionName; tombstone?: (i: number) => boolean } = {}): Buffer {
  return buildBatch(Array.from({ length: count }, (_, j) => {
    const i = first + j
    const key = `k${i % keys}`
    return { key: Buffer.from(key), value: options.tombstone?.(i) === true ? null : Buffer.from(`${key}@${i}`), timestamp: options.timestamp ?? 1_000 }
  }), { compression: options.compression ?? 'none' })
}

/** Every record of the log, in offset order, read the way a consumer does (next offset = batch end). */
export async function readAllRecords (log: PartitionLog): Promise<KeyedRecord[]> {
  const records: KeyedRecord[] = []
  let next = log.logStartOffset as number
  while (next < log.logEndOffset) {
    const read = await log.read({ offset: offset(next), bytesMax: 1 << 20 })
    if (read.bytes.length === 0) break
    for (const { position, header } of walkBatches(read.bytes)) {
      for (const record of parseBatch(read.bytes, position).records) {
        if (record.offset < next) continue
        records.push({ offset: record.offset, key: String(record.key), value: record.value === null ? null : String(record.value) })
      }
      next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1)
    }
  }
  return records
}

/**
 * The consume benchmark's reader: it takes the consumer's lazy batch-level path (`consumer.records()`, one
 * `PartitionRecords` per fetch answer and partition) and still touches every record as a real consumer would — its
 * offset (checked to increase within a partition) and its value's length — without copying keys or values, so the
 * figure is the client's decode path, not a byte counter.
 *
 * Latency per record, in the shape of the per-record bench: the first record of a chunk waited for the chunk (from
 * asking the iterator to getting it: p99/max show the fetch round trips), the others their share of the walk over
 * the chunk (the in-memory path). Timing per chunk, not per record, so the clock is not the cost measured, and one
 * histogram entry per chunk (the walk's share with its count), so nothing is kept per record.
 */
import type { PartitionRecords } from '@gregor/client'
import { LatencyHistogram } from './latency-histogram.js'

/** What the readers of one benchmark share: every record up to `limit`, and each one's wait. */
export interface ConsumeTally {
  readonly limit: number
  readonly latency: LatencyHistogram
  count: number
  /** Value bytes seen (null values count 0). */
  valueBytes: number
}

export function consumeTally (limit: number): ConsumeTally {
  return { limit, latency: new LatencyHistogram(), count: 0, valueBytes: 0 }
}

/**
 * Walks the records of `chunk` up to the tally's limit, touching each one's offset and value length; returns how
 * many it counted. Throws if offsets do not increase (a consumer bug the benchmark must not hide).
 */
export function tallyChunk (chunk: PartitionRecords, tally: ConsumeTally, waitedMs: number): number {
  const startMs = performance.now()
  const first = tally.count
  const cursor = chunk.records()
  let previousOffset = -1
  while (tally.count < tally.limit && cursor.next()) {
    if (cursor.offset <= previousOffset) throw new Error(`offset ${cursor.offset} after ${previousOffset} in ${chunk.topic}/${chunk.partition}`)
    previousOffset = cursor.offset
    if (cursor.valueLength > 0) tally.valueBytes += cursor.valueLength
    tally.count++
  }
  const counted = tally.count - first
  if (counted > 0) {
    tally.latency.record(waitedMs)
    tally.latency.record((performance.now() - startMs) / Math.max(1, counted - 1), counted - 1)
  }
  return counted
}

/**
 * Reads chunks from `chunks` until the tally is full or the iteration ends; `onRecords` after each chunk with
 * the records it added (to refresh an idle timer, count per consumer).
 */
export async function consumeChunks (
  chunks: AsyncIterator<PartitionRecords, void, undefined>, tally: ConsumeTally, onRecords: (count: number) => void,
): Promise<void> {
  while (tally.count < tally.limit) {
    const askedMs = performance.now()
    const next = await chunks.next()
    if (next.done === true || tally.count >= tally.limit) return
    const counted = tallyChunk(next.value, tally, performance.now() - askedMs)
    if (counted > 0) onRecords(counted)
  }
}

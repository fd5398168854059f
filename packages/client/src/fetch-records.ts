/**
 * Decodes the `records` of one FetchPartitionResult into consumer messages, from the fetch offset on.
 *
 * A fetch returns whole batches, so the first batch may start before the offset asked for (the broker serves from
 * the batch that contains it, as Kafka does): records below `fetchOffset` are skipped here. The last batch may be
 * cut short by the partition byte limit; `walkBatches` stops before it, and `nextOffset` points at its first record
 * so the next fetch asks for it again. Every batch is CRC-checked and decoded by `parseBatch` (CORRUPT_MESSAGE
 * otherwise). Pure.
 */
import { type Offset, offset as toOffset } from '@gregor/common'
import { type RecordHeader, parseBatch, walkBatches } from '@gregor/records'

/** One record as the consumer yields it. */
export interface ConsumerMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: Offset
  /** Create time, or the broker's append time for LOG_APPEND_TIME topics (epoch ms). */
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
}

export interface FetchedRecords {
  readonly messages: ConsumerMessage[]
  /** Where the next fetch of this partition starts: after the last whole batch, never before `fetchOffset`. */
  readonly nextOffset: number
}

export function fetchedRecords (
  records: Buffer,
  position: { readonly topic: string; readonly partition: number; readonly fetchOffset: number },
): FetchedRecords {
  const { topic, partition, fetchOffset } = position
  const messages: ConsumerMessage[] = []
  let nextOffset = fetchOffset
  for (const { position: bytePosition, header } of walkBatches(records)) {
    const batchNextOffset = header.baseOffset + header.lastOffsetDelta + 1
    if (batchNextOffset <= fetchOffset) continue
    const batch = parseBatch(records, bytePosition)
    for (const record of batch.records) {
      if (record.offset < fetchOffset) continue
      messages.push({
        topic, partition, offset: toOffset(record.offset), timestamp: record.timestamp,
        // Copies: the parsed views point into the gRPC response buffer, which the caller should be free to drop.
        key: record.key === null ? null : Buffer.from(record.key),
        value: record.value === null ? null : Buffer.from(record.value),
        headers: record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
      })
    }
    // The batch's last offset, not its last record's: compaction may leave gaps at the end of a batch.
    nextOffset = Math.max(nextOffset, batchNextOffset)
  }
  return { messages, nextOffset }
}

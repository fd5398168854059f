/**
 * The per-record consumer API: `ConsumerMessage`, and `fetchedRecords`, which decodes the `records` of one
 * FetchPartitionResult into messages from the fetch offset on, on top of the lazy path (partition-records.ts: every
 * batch CRC-checked first, records below `fetchOffset` skipped, an incomplete last batch left for the next fetch
 * with `nextOffset` pointing at it). Pure.
 */
import type { Offset } from '@gregor/common'
import type { RecordHeader } from '@gregor/records'
import { PartitionRecords } from './partition-records.js'

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
  const chunk = new PartitionRecords(records, position)
  return { messages: chunk.messages(), nextOffset: chunk.nextOffset }
}

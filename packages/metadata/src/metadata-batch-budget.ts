/**
 * Keeping a decision's records within one Raft entry.
 *
 * Why: followers refuse a Raft entry above the transport's limit (`entryDataBytesMax`, owned by @gregor/raft), so an
 * entry above it never commits, and every later decision (fencing, ISR changes, registrations) queues behind it. The
 * limit is the caller's to pass in (the controller reads it from @gregor/raft; this package imports no Raft), and
 * `Number.POSITIVE_INFINITY` means unbounded, as every decision defaults to.
 *
 * Owns: `MetadataBatchBudget`, which counts a batch's bytes as `metadataBatchBytes` does while it is built, and
 * `splitIndependentRecords`, for decisions whose records are each correct on their own (RemoveTopic, preferred-leader
 * elections). Decisions whose records depend on each other split themselves (see `boundedBrokerRemoval`,
 * `decideCreateTopics`): a split is only sound when every prefix of the batches leaves a valid image.
 */
import assert from 'node:assert/strict'
import { metadataBatchOverheadBytes, metadataRecordBytes } from './metadata-record-codec.js'
import type { MetadataRecord } from './metadata-record.js'

export class MetadataBatchBudget {
  readonly bytesMax: number
  #bytes = metadataBatchOverheadBytes
  #count = 0

  constructor (bytesMax: number) {
    assert(bytesMax > metadataBatchOverheadBytes, `a metadata batch limit of ${bytesMax} bytes cannot hold any record`)
    this.bytesMax = bytesMax
  }

  /** The encoded size of the records added so far, as one batch. */
  get bytes (): number { return this.#bytes }

  get count (): number { return this.#count }

  /** The batch's size were `recordBytes` more bytes of record added. */
  bytesWith (recordBytes: number): number {
    return this.#bytes + (this.#count > 0 ? 1 : 0) + recordBytes
  }

  /** Counts `record` in when it fits and says so; a record that does not fit is not counted. */
  tryAdd (record: MetadataRecord): boolean {
    return this.tryAddBytes(metadataRecordBytes(record))
  }

  /** As `tryAdd`, for a run of records measured by the caller (`metadataBatchBytes` minus the overhead). */
  tryAddBytes (recordBytes: number, records = 1): boolean {
    const next = this.#bytes + (this.#count > 0 ? 1 : 0) + recordBytes
    if (next > this.bytesMax) return false
    this.#bytes = next
    this.#count += records
    return true
  }
}

/**
 * `records` cut into consecutive batches of at most `bytesMax` bytes each, for records that are each correct on their
 * own: any prefix of them, applied, leaves a valid image.
 */
export function splitIndependentRecords (records: readonly MetadataRecord[], bytesMax: number): readonly (readonly MetadataRecord[])[] {
  const batches: MetadataRecord[][] = []
  let batch: MetadataRecord[] = []
  let budget = new MetadataBatchBudget(bytesMax)
  for (const record of records) {
    if (!budget.tryAdd(record)) {
      assert(batch.length > 0, `one ${record.type} record alone is above the ${bytesMax}-byte metadata batch limit`)
      batches.push(batch)
      batch = []
      budget = new MetadataBatchBudget(bytesMax)
      assert(budget.tryAdd(record), `one ${record.type} record alone is above the ${bytesMax}-byte metadata batch limit`)
    }
    batch.push(record)
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

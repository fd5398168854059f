/**
 * The sparse time index of one segment: answers "from which batch on can a timestamp ≥ T appear?" for
 * `offsetForTimestamp`, and its last entry is the segment's largest timestamp, which time-based retention uses.
 *
 * On-disk format (`<baseOffset>.timeindex`, Kafka's TimeIndex): 12-byte big-endian entries, an 8-byte timestamp and
 * the 4-byte offset, relative to the segment's base offset, of the batch where that timestamp was seen. No header;
 * the file size is a multiple of 12.
 *
 * Meaning of an entry (T, O): T is the largest batch maxTimestamp among the batches up to and including the batch
 * at O, so every batch before O has maxTimestamp ≤ T. Entries are added next to offset-index entries when the
 * segment's maximum has grown, plus a final one when the segment stops being active. Timestamps and offsets are
 * strictly increasing. Held in memory and written out with the offset index.
 */
import assert from 'node:assert/strict'
import { IndexEntries } from './index-entries.js'

export interface TimeIndexEntry {
  readonly timestamp: number
  readonly offset: number
}

const ENTRY_BYTES = 12
const INT32_MAX = 2 ** 31 - 1

export class TimeIndex {
  static readonly ENTRY_BYTES = ENTRY_BYTES
  readonly baseOffset: number
  readonly #entries: IndexEntries

  /** An index over `bytes` (the file contents, used as they are); empty by default. */
  constructor (baseOffset: number, bytes: Buffer = Buffer.alloc(0)) {
    this.baseOffset = baseOffset
    this.#entries = new IndexEntries(ENTRY_BYTES, bytes)
  }

  get entryCount (): number {
    return this.#entries.count
  }

  get lastEntry (): TimeIndexEntry | undefined {
    return this.#entries.count === 0 ? undefined : this.entry(this.#entries.count - 1)
  }

  entry (n: number): TimeIndexEntry {
    return {
      timestamp: Number(this.#entries.bytes.readBigInt64BE(n * ENTRY_BYTES)),
      offset: this.baseOffset + this.#entries.bytes.readInt32BE(n * ENTRY_BYTES + 8),
    }
  }

  /** Appends (timestamp, offset) when `timestamp` is larger than the last entry's; returns whether it did. */
  maybeAppend (timestamp: number, offset: number): boolean {
    const last = this.lastEntry
    if (last !== undefined && timestamp <= last.timestamp) return false
    const relative = offset - this.baseOffset
    assert.ok(relative >= 0 && relative <= INT32_MAX, 'time index offset out of range')
    assert.ok(last === undefined || offset >= last.offset, 'time index offsets must not decrease')
    const at = this.#entries.reserveAppend()
    this.#entries.bytes.writeBigInt64BE(BigInt(timestamp), at)
    this.#entries.bytes.writeInt32BE(relative, at + 8)
    this.#entries.commitAppend()
    return true
  }

  /** The entry with the largest timestamp strictly below `timestamp`: every batch up to its offset is older. */
  lookupBefore (timestamp: number): TimeIndexEntry | undefined {
    let low = 0
    let high = this.#entries.count - 1
    let found: TimeIndexEntry | undefined
    while (low <= high) {
      const mid = (low + high) >>> 1
      const entry = this.entry(mid)
      if (entry.timestamp < timestamp) {
        found = entry
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    return found
  }

  /** Drops the entries for offsets ≥ `offset`. */
  truncateToOffset (offset: number): void {
    let count = this.#entries.count
    while (count > 0 && this.entry(count - 1).offset >= offset) count -= 1
    this.#entries.truncateTo(count)
  }

  clear (): void {
    this.#entries.truncateTo(0)
  }

  toBytes (): Buffer {
    return this.#entries.toBytes()
  }

  /** A description of what is wrong with this index for a segment ending before `nextOffset`. */
  sanityCheck (segment: { nextOffset: number }): string | undefined {
    if (this.#entries.trailingBytes !== 0) return 'size is not a multiple of 12'
    let previous: TimeIndexEntry | undefined
    for (let n = 0; n < this.#entries.count; n++) {
      const entry = this.entry(n)
      if (entry.offset < this.baseOffset) return 'entry below the base offset'
      if (entry.offset >= segment.nextOffset) return 'entry offset past the end of the segment'
      if (previous !== undefined && (entry.timestamp <= previous.timestamp || entry.offset < previous.offset)) {
        return 'entries are not increasing'
      }
      previous = entry
    }
    return undefined
  }
}

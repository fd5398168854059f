/**
 * The sparse offset index of one segment: maps a batch's offset to its byte position in the `.log` file, with an
 * entry every `indexIntervalBytes` of batches, so a read finds its batch with a binary search and a short scan.
 *
 * On-disk format (`<baseOffset>.index`, Kafka's OffsetIndex): 8-byte big-endian entries, a 4-byte offset relative to
 * the segment's base offset (the baseOffset of an indexed batch) and the 4-byte file position where that batch
 * starts. No header; the file size is a multiple of 8.
 *
 * Invariants: offsets and positions are strictly increasing; every entry points at a batch boundary inside the
 * segment. The index is held in memory (the file bytes, verbatim) and written out whole by `LogSegment` when the
 * segment is rolled or the log closed; recovery rebuilds it whenever `sanityCheck` finds it inconsistent.
 */
import assert from 'node:assert/strict'
import { IndexEntries } from './index-entries.js'

export interface IndexEntry {
  readonly offset: number
  readonly position: number
}

const ENTRY_BYTES = 8
const INT32_MAX = 2 ** 31 - 1

export class OffsetIndex {
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

  get lastEntry (): IndexEntry | undefined {
    return this.#entries.count === 0 ? undefined : this.entry(this.#entries.count - 1)
  }

  entry (n: number): IndexEntry {
    return {
      offset: this.baseOffset + this.#entries.bytes.readInt32BE(n * ENTRY_BYTES),
      position: this.#entries.bytes.readInt32BE(n * ENTRY_BYTES + 4),
    }
  }

  append (offset: number, position: number): void {
    const relative = offset - this.baseOffset
    assert.ok(relative >= 0 && relative <= INT32_MAX && position >= 0 && position <= INT32_MAX, 'index entry out of range')
    const last = this.lastEntry
    assert.ok(last === undefined || (offset > last.offset && position > last.position), 'index entries must increase')
    const at = this.#entries.reserveAppend()
    this.#entries.bytes.writeInt32BE(relative, at)
    this.#entries.bytes.writeInt32BE(position, at + 4)
    this.#entries.commitAppend()
  }

  /** The entry with the largest offset ≤ `offset`, or the segment start when there is none. */
  lookup (offset: number): IndexEntry {
    const slot = this.#floorSlot(offset)
    return slot < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(slot)
  }

  /** Drops the entries for offsets ≥ `offset`. */
  truncateToOffset (offset: number): void {
    this.#entries.truncateTo(this.#floorSlot(offset - 1) + 1)
  }

  clear (): void {
    this.#entries.truncateTo(0)
  }

  /** The file contents: the used entries, verbatim. */
  toBytes (): Buffer {
    return this.#entries.toBytes()
  }

  /** A description of what is wrong with this index for a segment of `sizeBytes` ending before `nextOffset`. */
  sanityCheck (segment: { sizeBytes: number; nextOffset: number }): string | undefined {
    if (this.#entries.trailingBytes !== 0) return 'size is not a multiple of 8'
    let previous: IndexEntry | undefined
    for (let n = 0; n < this.#entries.count; n++) {
      const entry = this.entry(n)
      if (entry.position >= segment.sizeBytes) return 'entry points past the end of the segment'
      if (entry.offset >= segment.nextOffset) return 'entry offset past the end of the segment'
      if (previous !== undefined && (entry.offset <= previous.offset || entry.position <= previous.position)) {
        return 'entries are not increasing'
      }
      if (entry.offset < this.baseOffset) return 'entry below the base offset'
      previous = entry
    }
    return undefined
  }

  /** Index of the last slot whose offset is ≤ `offset`, or -1. */
  #floorSlot (offset: number): number {
    const relative = offset - this.baseOffset
    let low = 0
    let high = this.#entries.count - 1
    let found = -1
    while (low <= high) {
      const mid = (low + high) >>> 1
      if (this.#entries.bytes.readInt32BE(mid * ENTRY_BYTES) <= relative) {
        found = mid
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    return found
  }
}

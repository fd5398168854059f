/**
 * The tail of the log the application has not persisted yet (etcd's `unstable`): new entries and a snapshot received
 * from the leader. The core never writes storage itself; what is here leaves through `Ready` and is dropped by
 * `stableTo` / `stableSnapTo` once the application reports it durable (`advance`).
 *
 * Invariants: `entries[i].index === offset + i`; with a snapshot, `offset === snapshot.index + 1` until entries are
 * appended after it. Entries are immutable and may be shared with messages and `Ready`s.
 */
import assert from 'node:assert/strict'
import { type RaftIndex, raftIndex, type Term } from '@gregor/common'
import type { Entry, Snapshot } from './types.js'

export class UnstableLog {
  snapshot: Snapshot | undefined = undefined
  entries: Entry[] = []
  /** Index of `entries[0]`, or where the next entry goes. */
  offset: RaftIndex

  constructor (offset: RaftIndex) {
    this.offset = offset
  }

  /** The first index, if a pending snapshot decides it. */
  maybeFirstIndex (): RaftIndex | undefined {
    return this.snapshot === undefined ? undefined : raftIndex(this.snapshot.metadata.index + 1)
  }

  /** The last index, if entries or a pending snapshot decide it. */
  maybeLastIndex (): RaftIndex | undefined {
    if (this.entries.length > 0) return raftIndex(this.offset + this.entries.length - 1)
    return this.snapshot?.metadata.index
  }

  maybeTerm (index: RaftIndex): Term | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined
    }
    return this.entries[index - this.offset]?.term
  }

  /** The application persisted entries up to `index`; the term check ignores a report about entries since replaced. */
  stableTo (index: RaftIndex, term: Term): void {
    if (index < this.offset || this.maybeTerm(index) !== term) return
    this.entries = this.entries.slice(index + 1 - this.offset)
    this.offset = raftIndex(index + 1)
  }

  stableSnapTo (index: RaftIndex): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined
  }

  restore (snapshot: Snapshot): void {
    this.offset = raftIndex(snapshot.metadata.index + 1)
    this.entries = []
    this.snapshot = snapshot
  }

  /** Appends `entries`, first dropping every unstable entry at or after `entries[0].index` (a conflicting tail). */
  truncateAndAppend (entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    if (first.index === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry)
    } else if (first.index <= this.offset) {
      // The whole unstable tail is replaced; the storage part beyond `first.index` is replaced when this persists.
      this.offset = first.index
      this.entries = entries.slice()
    } else {
      this.entries = this.entries.slice(0, first.index - this.offset).concat(entries)
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable tail. */
  slice (lo: RaftIndex, hi: RaftIndex): Entry[] {
    assert(this.offset <= lo && lo <= hi && hi <= this.offset + this.entries.length, `unstable slice [${lo}, ${hi}) out of bounds`)
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}

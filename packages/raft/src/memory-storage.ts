/**
 * An in-memory `RaftStorage` (etcd's MemoryStorage): the durable log as the application last persisted it.
 *
 * Owns: the hard state, the latest snapshot, and the entries after the compaction point. The application writes it
 * after each `Ready` was persisted (setHardState, append, applySnapshot) and when it snapshots (createSnapshot,
 * compact); the Raft core only reads it.
 *
 * Invariants: `compactedIndex <= snapshot.metadata.index <= lastIndex()`, so every entry that was dropped is covered by
 * the snapshot a lagging follower will be sent; `log[i]` has index `compactedIndex + 1 + i` (no gaps); the term of
 * `compactedIndex` is remembered, so the entry before `firstIndex()` still has a term (the append consistency check).
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type NodeId, type RaftIndex, raftIndex, type Term, term } from '@gregor/common'
import { limitBytes } from './entry-size.js'
import { type Entry, type HardState, NO_NODE, type RaftStorage, type Snapshot } from './types.js'

export class MemoryStorage implements RaftStorage {
  private hard: HardState = { term: term(0), vote: NO_NODE, commitIndex: raftIndex(0) }
  private snap: Snapshot
  private compactedIndex: RaftIndex = raftIndex(0)
  private compactedTerm: Term = term(0)
  /** Entries after `compactedIndex`, contiguous. */
  private log: Entry[] = []

  constructor (options: { voters: readonly NodeId[] }) {
    this.snap = {
      metadata: { index: raftIndex(0), term: term(0), voters: Object.freeze([...options.voters]) },
      data: new Uint8Array(0),
    }
  }

  initialState (): { readonly hardState: HardState; readonly voters: readonly NodeId[] } {
    return { hardState: this.hard, voters: this.snap.metadata.voters }
  }

  hardState (): HardState {
    return this.hard
  }

  setHardState (hardState: HardState): void {
    this.hard = { term: hardState.term, vote: hardState.vote, commitIndex: hardState.commitIndex }
  }

  entries (lo: RaftIndex, hi: RaftIndex, bytesMax: number): readonly Entry[] {
    assert(lo > this.compactedIndex, `entries from ${lo} are compacted (first index ${this.compactedIndex + 1})`)
    assert(lo <= hi && hi <= this.lastIndex() + 1, `entries [${lo}, ${hi}) beyond last index ${this.lastIndex()}`)
    const start = lo - this.compactedIndex - 1
    return limitBytes(this.log.slice(start, start + (hi - lo)), bytesMax)
  }

  term (index: RaftIndex): Term {
    if (index === this.compactedIndex) return this.compactedTerm
    assert(index > this.compactedIndex && index <= this.lastIndex(), `term of ${index} is not in storage`)
    return (this.log[index - this.compactedIndex - 1] as Entry).term
  }

  firstIndex (): RaftIndex {
    return raftIndex(this.compactedIndex + 1)
  }

  lastIndex (): RaftIndex {
    return raftIndex(this.compactedIndex + this.log.length)
  }

  snapshot (): Snapshot {
    return this.snap
  }

  /**
   * Appends `entries` (contiguous), replacing any existing entries from `entries[0].index` on: a follower that
   * accepted a new leader's entries overwrites its conflicting, uncommitted tail (Raft §5.3). Entries at or below
   * the compaction point are already covered by the snapshot and are skipped.
   */
  append (entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    entries.forEach((entry, i) => assert.equal(entry.index, first.index + i, 'appended entries must be contiguous'))
    assert(first.index <= this.lastIndex() + 1, `append at ${first.index} would leave a gap after ${this.lastIndex()}`)
    const skip = Math.max(0, this.compactedIndex + 1 - first.index)
    if (skip >= entries.length) return
    this.log.length = first.index + skip - this.compactedIndex - 1
    for (let i = skip; i < entries.length; i++) this.log.push(entries[i] as Entry)
  }

  /** Replaces the whole log with `snapshot` (a follower installing the leader's snapshot, Raft §7). */
  applySnapshot (snapshot: Snapshot): void {
    const { index } = snapshot.metadata
    if (index < this.snap.metadata.index) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'snapshot is older than the current one', {
        details: { index, snapshotIndex: this.snap.metadata.index },
      })
    }
    this.snap = snapshot
    this.compactedIndex = index
    this.compactedTerm = snapshot.metadata.term
    this.log = []
  }

  /** Records the application's state machine image at `index` (which it has applied) as the latest snapshot. */
  createSnapshot (index: RaftIndex, data: Uint8Array): Snapshot {
    if (!Number.isSafeInteger(index) || index < this.snap.metadata.index || index > this.lastIndex()) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'snapshot index out of range', {
        details: { index, snapshotIndex: this.snap.metadata.index, lastIndex: this.lastIndex() },
      })
    }
    this.snap = { metadata: { index, term: this.term(index), voters: this.snap.metadata.voters }, data }
    return this.snap
  }

  /**
   * Drops the entries up to and including `index`. The snapshot must already cover them (`index` at most the
   * snapshot index), otherwise a follower that needs them could never catch up. Compacting an already compacted
   * index is a no-op.
   */
  compact (index: RaftIndex): void {
    if (index <= this.compactedIndex) return
    if (!Number.isSafeInteger(index) || index > this.lastIndex() || index > this.snap.metadata.index) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'compaction index out of range', {
        details: { index, snapshotIndex: this.snap.metadata.index, lastIndex: this.lastIndex() },
      })
    }
    this.compactedTerm = this.term(index)
    this.log = this.log.slice(index - this.compactedIndex)
    this.compactedIndex = index
  }

  /** An independent copy (entries are immutable and shared): what a crashed process would reload from disk. */
  clone (): MemoryStorage {
    const copy = new MemoryStorage({ voters: this.snap.metadata.voters })
    copy.hard = this.hard
    copy.snap = this.snap
    copy.compactedIndex = this.compactedIndex
    copy.compactedTerm = this.compactedTerm
    copy.log = this.log.slice()
    return copy
  }
}

/**
 * The log as the core sees it (etcd's `raftLog`): the persisted part in `RaftStorage` plus the `UnstableLog` tail,
 * with the commit and applied cursors.
 *
 * Invariants (asserted): `firstIndex() - 1 <= appliedIndex <= commitIndex <= lastIndex()`; the commit index never
 * decreases; an append never truncates a committed entry (Raft §5.3 / Leader Append-Only, Fig. 3).
 * A `term()` of `undefined` means the index is compacted (below `firstIndex() - 1`) or beyond the last index.
 */
import assert from 'node:assert/strict'
import { type Logger, type RaftIndex, raftIndex, type Term, term as toTerm } from '@gregor/common'
import { limitBytes } from './entry-size.js'
import type { Entry, RaftStorage, Snapshot } from './types.js'
import { UnstableLog } from './unstable-log.js'

export class RaftLog {
  readonly unstable: UnstableLog
  /** The highest index known to be committed (Raft Fig. 2 `commitIndex`). */
  commitIndex: RaftIndex
  /** The highest index handed to the application to apply and acknowledged by `advance`. */
  appliedIndex: RaftIndex

  constructor (private readonly storage: RaftStorage, private readonly logger: Logger) {
    const firstIndex = storage.firstIndex()
    this.unstable = new UnstableLog(raftIndex(storage.lastIndex() + 1))
    // Everything a snapshot covers was committed and applied by whoever took it.
    this.commitIndex = raftIndex(firstIndex - 1)
    this.appliedIndex = raftIndex(firstIndex - 1)
  }

  firstIndex (): RaftIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex()
  }

  lastIndex (): RaftIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex()
  }

  term (index: RaftIndex): Term | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined
    const unstableTerm = this.unstable.maybeTerm(index)
    if (unstableTerm !== undefined) return unstableTerm
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined
    return this.storage.term(index)
  }

  lastTerm (): Term {
    const lastTerm = this.term(this.lastIndex())
    assert(lastTerm !== undefined, 'the last entry always has a term')
    return lastTerm
  }

  matchTerm (index: RaftIndex, term: Term): boolean {
    return this.term(index) === term
  }

  /** Raft §5.4.1: a log is at least as up-to-date if its last term is higher, or equal with an index at least as long. */
  isUpToDate (lastIndex: RaftIndex, lastTerm: Term): boolean {
    const ourLastTerm = this.lastTerm()
    return lastTerm > ourLastTerm || (lastTerm === ourLastTerm && lastIndex >= this.lastIndex())
  }

  /**
   * The first of `entries` whose term differs from ours at its index (a conflict) or that is beyond our log, or
   * `undefined` when we already have all of them.
   */
  findConflict (entries: readonly Entry[]): RaftIndex | undefined {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index
    }
    return undefined
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, with that term (etcd `findConflictByTerm`).
   * A rejecting follower returns it as a hint, so the leader skips a whole term of mismatching entries per round trip
   * instead of one entry (Raft §5.3, the optimization the paper sketches). Stops at the compaction point.
   */
  findConflictByTerm (index: RaftIndex, term: Term): { index: RaftIndex; term: Term } {
    for (let i = index; i > 0; i--) {
      const ourTerm = this.term(raftIndex(i))
      if (ourTerm === undefined) return { index: raftIndex(i), term: toTerm(0) }
      if (ourTerm <= term) return { index: raftIndex(i), term: ourTerm }
    }
    return { index: raftIndex(0), term: toTerm(0) }
  }

  /**
   * The append consistency check and append of Raft §5.3: if our entry at `index` has `logTerm`, appends what of
   * `entries` we lack (truncating a conflicting uncommitted tail), advances the commit index to
   * min(`commitIndex`, last new index) and returns the last new index; otherwise returns `undefined`.
   */
  maybeAppend (index: RaftIndex, logTerm: Term, commitIndex: RaftIndex, entries: readonly Entry[]): RaftIndex | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNewIndex = raftIndex(index + entries.length)
    const conflict = this.findConflict(entries)
    if (conflict !== undefined) {
      assert(conflict > this.commitIndex, `entry ${conflict} conflicts with a committed entry (commit ${this.commitIndex})`)
      this.append(entries.slice(conflict - index - 1))
    }
    this.commitTo(raftIndex(Math.min(commitIndex, lastNewIndex)))
    return lastNewIndex
  }

  append (entries: readonly Entry[]): void {
    const first = entries[0]
    if (first === undefined) return
    assert(first.index > this.commitIndex, `append at ${first.index} would truncate committed entries (commit ${this.commitIndex})`)
    this.unstable.truncateAndAppend(entries)
  }

  commitTo (index: RaftIndex): void {
    if (index <= this.commitIndex) return
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`)
    this.logger.trace({ commitIndex: index }, 'commit index advanced')
    this.commitIndex = index
  }

  /** Commits up to `index` if that entry is from `term` (the §5.4.2 rule is the caller's `term`). */
  maybeCommit (index: RaftIndex, term: Term): boolean {
    if (index > this.commitIndex && this.term(index) === term) {
      this.commitTo(index)
      return true
    }
    return false
  }

  appliedTo (index: RaftIndex): void {
    assert(index >= this.appliedIndex && index <= this.commitIndex, `applied ${index} outside [${this.appliedIndex}, ${this.commitIndex}]`)
    this.appliedIndex = index
  }

  /** Installs a snapshot received from the leader: the log becomes the snapshot, committed at its index. */
  restore (snapshot: Snapshot): void {
    this.commitIndex = snapshot.metadata.index
    this.unstable.restore(snapshot)
  }

  snapshot (): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot()
  }

  unstableEntries (): readonly Entry[] {
    return this.unstable.entries
  }

  /** Entries in [lo, hi) up to `bytesMax` (at least one), or `undefined` when `lo` is compacted. */
  slice (lo: RaftIndex, hi: RaftIndex, bytesMax: number): readonly Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined
    assert(lo <= hi && hi <= this.lastIndex() + 1, `slice [${lo}, ${hi}) beyond last index ${this.lastIndex()}`)
    if (lo === hi) return []
    const offset = this.unstable.offset
    let stored: readonly Entry[] = []
    if (lo < offset) {
      stored = this.storage.entries(lo, raftIndex(Math.min(hi, offset)), bytesMax)
      // Storage stopped early because of the byte limit: the unstable part would not fit either.
      if (stored.length < Math.min(hi, offset) - lo) return stored
    }
    if (hi <= offset) return stored
    const tail = this.unstable.slice(raftIndex(Math.max(lo, offset)), hi)
    return stored.length === 0 ? limitBytes(tail, bytesMax) : limitBytes([...stored, ...tail], bytesMax)
  }

  /** Entries from `lo` to the end of the log, up to `bytesMax`; `undefined` when `lo` is compacted. */
  entriesFrom (lo: RaftIndex, bytesMax: number): readonly Entry[] | undefined {
    return this.slice(lo, raftIndex(this.lastIndex() + 1), bytesMax)
  }

  /**
   * Committed entries the application has not applied yet. None while a snapshot is pending: it must be applied
   * first, and the entries after it are then read from the log it installs.
   */
  nextCommittedEntries (bytesMax: number): readonly Entry[] {
    if (!this.hasNextCommittedEntries()) return []
    const lo = raftIndex(Math.max(this.appliedIndex + 1, this.firstIndex()))
    const entries = this.slice(lo, raftIndex(this.commitIndex + 1), bytesMax)
    assert(entries !== undefined, `committed entries from ${lo} are compacted before being applied`)
    return entries
  }

  hasNextCommittedEntries (): boolean {
    if (this.unstable.snapshot !== undefined) return false
    return this.commitIndex >= Math.max(this.appliedIndex + 1, this.firstIndex())
  }
}

/**
 * A broker's raft store on the simulated machine: the same contract as the level-backed `RaftStore` (persist a
 * Ready's durable parts atomically, then show them to the core through the `MemoryStorage` mirror; save and compact
 * snapshots), kept in memory across incarnations. Raft persists with a sync before it sends, so everything persisted
 * survives a crash, as the level store's synced batches do.
 *
 * A new incarnation gets `reopen()`: a fresh mirror holding exactly what was persisted, so nothing an old incarnation
 * had only in memory (its unstable log) leaks into the next.
 */
import type { NodeId, RaftIndex } from '@gregor/common'
import { type Entry, MemoryStorage, type Ready, type Snapshot } from '@gregor/raft'

export class SimRaftStore {
  #storage: MemoryStorage
  readonly #voters: readonly NodeId[]

  constructor (voters: readonly NodeId[]) {
    this.#voters = voters
    this.#storage = new MemoryStorage({ voters })
  }

  get storage (): MemoryStorage { return this.#storage }

  async persist (ready: Ready): Promise<void> {
    const mirror = this.#storage
    if (ready.snapshot !== undefined) mirror.applySnapshot(ready.snapshot)
    if (ready.entries.length > 0) mirror.append(ready.entries)
    if (ready.hardState !== undefined) mirror.setHardState(ready.hardState)
  }

  async saveSnapshot (index: RaftIndex, data: Uint8Array): Promise<Snapshot> {
    const snapshot = this.#storage.createSnapshot(index, data)
    this.#storage.compact(index)
    return snapshot
  }

  /** A restart: a new mirror with the persisted snapshot, entries and hard state. */
  reopen (): void {
    const old = this.#storage
    const fresh = new MemoryStorage({ voters: this.#voters })
    const snapshot = old.snapshot()
    if (snapshot.metadata.index > 0) fresh.applySnapshot(snapshot)
    const first = old.firstIndex()
    const last = old.lastIndex()
    if (last >= first) fresh.append(old.entries(first, (last + 1) as RaftIndex, Number.MAX_SAFE_INTEGER))
    fresh.setHardState(old.hardState())
    this.#storage = fresh
  }

  /** Committed entries in [from, commitIndex], for the invariant that committed metadata never changes. */
  committedEntries (from: number, commitIndex: number): readonly Entry[] {
    const first = Math.max(from, this.#storage.firstIndex())
    if (commitIndex < first) return []
    return this.#storage.entries(first as RaftIndex, (commitIndex + 1) as RaftIndex, Number.MAX_SAFE_INTEGER)
  }
}

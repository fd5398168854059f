/**
 * A raft store in memory for the whole-cluster simulation and tests: the `RaftLogStore` contract of the level-backed
 * `RaftStore` (each Ready's hard state, entries and snapshot persisted as one atomic write, synced iff `mustSync`,
 * and only then shown to the core through the `MemoryStorage` mirror; snapshots always synced), over the raft
 * simulation's `SimDisk`, so the two simulations lose writes the same way.
 *
 * Crash semantics (one store per simulated machine, outliving process incarnations):
 * - `crash()`: the process died (kill -9). Everything persisted survives, synced or not, as a level write reaches
 *   the OS before its batch resolves. The next incarnation reads a fresh mirror of it.
 * - `powerLoss(rng?)`: the whole host died. What was synced survives, plus, with an `rng`, a random prefix of the
 *   unsynced writes (a write-ahead log persists in order); without one, every unsynced write is lost.
 * The caller makes sure nothing of a dead incarnation writes again (the simulation's process guard does).
 */
import type { NodeId, RaftIndex, Rng } from '@gregor/common'
import type { MemoryStorage, Ready, Snapshot } from '@gregor/raft'
import { type DiskWrite, SimDisk, applyWrite } from '@gregor/raft/testing'
import type { RaftLogStore } from '../raft-driver.js'

/** Keeps none of the unsynced writes (a power loss without torn luck). */
const keepNothing: Rng = { next: () => 0, int: (minInclusive) => minInclusive }

export class MemoryRaftStore implements RaftLogStore {
  readonly #disk: SimDisk
  #storage: MemoryStorage

  constructor (voters: readonly NodeId[]) {
    this.#disk = new SimDisk(voters)
    this.#storage = this.#disk.load()
  }

  /** The mirror the core reads: everything persisted so far (replaced by a fresh one at each crash). */
  get storage (): MemoryStorage { return this.#storage }

  async persist (ready: Ready): Promise<void> {
    if (ready.hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) return
    const write: DiskWrite = {
      kind: 'ready',
      entries: ready.entries,
      ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
      ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
    }
    this.#disk.write(write, ready.mustSync)
    applyWrite(this.#storage, write)
  }

  async saveSnapshot (index: RaftIndex, data: Uint8Array): Promise<Snapshot> {
    const snapshot = this.#storage.createSnapshot(index, data)
    // A real store fsyncs its snapshot before it drops the log the snapshot covers.
    this.#disk.write({ kind: 'snapshot', index, data, compactIndex: index }, true)
    this.#storage.compact(index)
    return snapshot
  }

  /** A process crash: the next incarnation sees everything persisted. */
  crash (): void {
    this.#storage = this.#storage.clone()
  }

  /** A whole-host crash: only synced writes survive (and, with `rng`, a random prefix of the unsynced ones). */
  powerLoss (rng: Rng = keepNothing): void {
    this.#storage = this.#disk.crash(rng)
  }

  /** Writes a power loss could still take (for tests and traces). */
  unsyncedWrites (): number {
    return this.#disk.unsyncedCount()
  }
}

/**
 * A node's stable storage as a crash sees it: the state as of the last synced write, plus the unsynced writes since,
 * of which a crash keeps a random prefix (a write-ahead log persists in order; FoundationDB's AsyncFileNonDurable,
 * TigerBeetle's crash faults, without torn writes: each write is one atomic batch, as a `level` batch is).
 *
 * A synced write makes everything before it durable too. Writes are a persisted `Ready` (synced iff `mustSync`) or the
 * application's snapshot plus compaction (always synced: a real application fsyncs its snapshot before it drops log).
 */
import type { NodeId, RaftIndex, Rng } from '@gregor/common'
import { MemoryStorage } from '../memory-storage.js'
import type { Entry, HardState, Snapshot } from '../types.js'

export type DiskWrite =
  | { readonly kind: 'ready'; readonly hardState?: HardState; readonly entries: readonly Entry[]; readonly snapshot?: Snapshot }
  | { readonly kind: 'snapshot'; readonly index: RaftIndex; readonly data: Uint8Array; readonly compactIndex: RaftIndex }

export function applyWrite (storage: MemoryStorage, write: DiskWrite): void {
  if (write.kind === 'ready') {
    if (write.snapshot !== undefined) storage.applySnapshot(write.snapshot)
    storage.append(write.entries)
    if (write.hardState !== undefined) storage.setHardState(write.hardState)
  } else {
    storage.createSnapshot(write.index, write.data)
    storage.compact(write.compactIndex)
  }
}

export class SimDisk {
  private readonly durable: MemoryStorage
  private pending: DiskWrite[] = []
  lostWrites = 0

  constructor (voters: readonly NodeId[]) {
    this.durable = new MemoryStorage({ voters })
  }

  write (write: DiskWrite, synced: boolean): void {
    this.pending.push(write)
    if (!synced) return
    for (const pending of this.pending) applyWrite(this.durable, pending)
    this.pending = []
  }

  /** The process died: a random prefix of the unsynced writes made it to disk, the rest is gone. Returns what remains. */
  crash (rng: Rng): MemoryStorage {
    const kept = rng.int(0, this.pending.length + 1)
    for (const pending of this.pending.slice(0, kept)) applyWrite(this.durable, pending)
    this.lostWrites += this.pending.length - kept
    this.pending = []
    return this.durable.clone()
  }

  /** What a process starting now would read (used at first start). */
  load (): MemoryStorage {
    return this.durable.clone()
  }

  unsyncedCount (): number {
    return this.pending.length
  }
}

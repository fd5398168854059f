/**
 * The leader-epoch cache of one partition: for every leader epoch that wrote to the log, the offset where its first
 * batch starts. Followers ask the leader for `endOffsetFor(theirLastEpoch)` and truncate to it when the logs have
 * diverged (Kafka KIP-101, KIP-279, KIP-595): never to the high watermark alone.
 *
 * Owns: the entries and the `leader-epoch-checkpoint` file. Mutations are synchronous and in memory; `flush()`
 * writes the file (atomically, through `CheckpointFile`) when something changed. `PartitionLog` flushes before it
 * writes data of a new epoch, so the file never lags durable data; data past the recovery point re-derives its
 * epochs during recovery anyway.
 *
 * On-disk format (Kafka's): `0\n<count>\n` then `<epoch> <startOffset>\n` per entry.
 * Invariants: epochs strictly increase and start offsets strictly increase along the list (Kafka's `assign` removes
 * entries that would break this).
 */
import { type LeaderEpoch, type Offset, isGregorError, leaderEpoch, offset } from '@gregor/common'
import type { FileSystem } from '../fs/file-system.js'
import { CheckpointFile, type CheckpointFormat } from './checkpoint-file.js'

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint'

export interface EpochEntry {
  readonly epoch: LeaderEpoch
  readonly startOffset: Offset
}

/** What `LeaderEpochCache.load` found on disk. */
export type EpochCheckpointState = 'loaded' | 'missing' | 'malformed'

const format: CheckpointFormat<EpochEntry> = {
  version: 0,
  format: (entry) => `${entry.epoch} ${entry.startOffset}`,
  parse: (line) => {
    const match = /^(\d+) (\d+)$/.exec(line)
    if (match === null) return undefined
    const epoch = Number(match[1])
    const startOffset = Number(match[2])
    if (epoch > 2 ** 31 - 1 || !Number.isSafeInteger(startOffset)) return undefined
    return { epoch: leaderEpoch(epoch), startOffset: offset(startOffset) }
  },
}

export class LeaderEpochCache {
  #entries: EpochEntry[]
  readonly #file: CheckpointFile<EpochEntry>
  #dirty = false

  private constructor (file: CheckpointFile<EpochEntry>, entries: EpochEntry[]) {
    this.#file = file
    this.#entries = entries
  }

  /** Reads `path`; a missing or malformed file gives an empty cache and says so, so the caller can rebuild it. */
  static async load (fs: FileSystem, path: string): Promise<{ cache: LeaderEpochCache; state: EpochCheckpointState }> {
    const file = new CheckpointFile(fs, path, format)
    let entries: EpochEntry[] | undefined
    try {
      entries = await file.read()
    } catch (error) {
      if (!isGregorError(error)) throw error
      return { cache: new LeaderEpochCache(file, []), state: 'malformed' }
    }
    if (entries === undefined) return { cache: new LeaderEpochCache(file, []), state: 'missing' }
    const increasing = entries.every((e, i) => i === 0 ||
      (e.epoch > (entries[i - 1] as EpochEntry).epoch && e.startOffset > (entries[i - 1] as EpochEntry).startOffset))
    if (!increasing) return { cache: new LeaderEpochCache(file, []), state: 'malformed' }
    return { cache: new LeaderEpochCache(file, entries), state: 'loaded' }
  }

  get entries (): readonly EpochEntry[] {
    return this.#entries
  }

  get latestEpoch (): LeaderEpoch | undefined {
    return this.#entries.at(-1)?.epoch
  }

  /** Whether there are changes `flush` has not written yet. */
  get dirty (): boolean {
    return this.#dirty
  }

  /**
   * Records that `epoch` starts at `startOffset` (Kafka's `assign`): a no-op for the latest epoch at or after its
   * known start; otherwise entries with an epoch > `epoch` or a start ≥ `startOffset` are dropped first, and an entry
   * of `epoch` itself that starts before `startOffset` is kept (it is where the epoch really starts).
   *
   * Kafka drops the entry of `epoch` too. That loses the epoch of the batches before `startOffset` when a later epoch
   * that wrote nothing here ends the list (a leadership taken at the log end, then a follower append of the older
   * epoch's next batches): issue 10, seed 8616 of the disk-fault simulation, where [1@0, 2@2] became [1@2], the leader
   * then told a follower that epoch 0 ended at 2 instead of 0, and the follower was stuck behind a batch it could not
   * append.
   */
  assign (epoch: LeaderEpoch, startOffset: Offset): boolean {
    if (epoch < 0) return false
    const latest = this.#entries.at(-1)
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return false
    const kept = this.#entries.filter((e) => e.epoch <= epoch && e.startOffset < startOffset)
    const same = kept.at(-1)?.epoch === epoch
    this.#entries = same ? kept : [...kept, { epoch, startOffset }]
    this.#dirty = true
    return true
  }

  /**
   * For a follower whose last epoch is `epoch`: the largest epoch ≤ `epoch` this log knows and the offset where the
   * next epoch starts (`logEndOffset` for the latest epoch). Undefined when `epoch` is newer than every known epoch.
   * An epoch older than every known one answers with the start of the first known epoch (Kafka's behaviour: the
   * data before it is gone from this log anyway).
   */
  endOffsetFor (epoch: LeaderEpoch, logEndOffset: Offset): { epoch: LeaderEpoch; endOffset: Offset } | undefined {
    const latest = this.#entries.at(-1)
    if (latest === undefined) return undefined
    if (epoch === latest.epoch) return { epoch, endOffset: logEndOffset }
    const higher = this.#entries.findIndex((e) => e.epoch > epoch)
    if (higher < 0) return undefined
    const endOffset = (this.#entries[higher] as EpochEntry).startOffset
    const floor = this.#entries[higher - 1]
    return { epoch: floor === undefined ? epoch : floor.epoch, endOffset }
  }

  /**
   * The epoch that wrote `offset` (the entry with the largest start ≤ `offset`), if known. Binary search: every read
   * asks it for each batch it serves (log-segment.ts `readBatches`).
   */
  epochForOffset (target: Offset): LeaderEpoch | undefined {
    let low = 0
    let high = this.#entries.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if ((this.#entries[mid] as EpochEntry).startOffset <= target) low = mid + 1
      else high = mid
    }
    return this.#entries[low - 1]?.epoch
  }

  /** Drops epochs that start at or after `endOffset` (the log was truncated to end there). */
  truncateFromEnd (endOffset: Offset): void {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset)
    if (kept.length === this.#entries.length) return
    this.#entries = kept
    this.#dirty = true
  }

  /** The log now starts at `startOffset`: drop older epochs, keeping the one in force there, moved to start at it. */
  truncateFromStart (startOffset: Offset): void {
    const removed = this.#entries.filter((e) => e.startOffset <= startOffset)
    if (removed.length === 0) return
    const inForce = removed.at(-1) as EpochEntry
    if (removed.length === 1 && inForce.startOffset === startOffset) return
    this.#entries = [{ epoch: inForce.epoch, startOffset }, ...this.#entries.slice(removed.length)]
    this.#dirty = true
  }

  clear (): void {
    if (this.#entries.length === 0) return
    this.#entries = []
    this.#dirty = true
  }

  /** Writes the checkpoint file if anything changed since the last flush (or always, with `force`). */
  async flush (options: { force?: boolean } = {}): Promise<void> {
    if (!this.#dirty && options.force !== true) return
    this.#dirty = false
    try {
      await this.#file.write(this.#entries)
    } catch (error) {
      this.#dirty = true
      throw error
    }
  }
}

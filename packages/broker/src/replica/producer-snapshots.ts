/**
 * The producer-state snapshots of one partition directory (Kafka's ProducerStateManager snapshot files): taken when
 * the log rolls and when the replica closes cleanly, read when it opens or truncates its log, so the producer table is
 * rebuilt from one snapshot plus the batch headers after it instead of a scan of segments (producer-state.ts).
 *
 * Owns: the `<20-digit offset>.snapshot` files of the directory (format in producer-snapshot-codec.ts). The log's
 * files are the log's; it leaves these alone. Every file operation runs on one queue in call order, so a snapshot
 * taken before a truncation is written before the truncation's deletion looks for it.
 *
 * Invariants:
 * - A snapshot at S holds the state of the log below S (`ProducerStateTable.snapshotAt`) and is trusted only while
 *   that part of the log is unchanged. The log below its end changes only by truncation, so the replica deletes the
 *   snapshots above the target before it truncates (`deleteAbove`; the truncation does not happen if that fails),
 *   and `newestUsable` deletes every snapshot outside [logStartOffset, logEndOffset] before it picks one, which
 *   also covers recovery truncating the log tail after a crash.
 * - Files are written with `replaceFile` (temp file, fdatasync, rename, directory fsync) and checksummed; a corrupt
 *   one is logged and deleted, an unreadable one logged and skipped: the load then uses an older one or the scan.
 * - Bounded: after each write at most `retainedMax` snapshots remain, none below the log start offset (no replay can
 *   start there). Retention that deletes segments calls `prune` with the new log start offset.
 * - A failed write is logged, not thrown: snapshots only save work, the scan fallback works without them. Failed
 *   deletions are thrown, since a snapshot that should be gone could later be trusted.
 * Every file operation goes through the injected `FileSystem` (the simulated disk in the whole-cluster simulation).
 */
import { join } from 'node:path'
import type { Logger } from '@gregor/common'
import { type FileSystem, fsyncDirectory, hasErrno, replaceFile } from '@gregor/storage'
import { decodeProducerSnapshot, encodeProducerSnapshot, parseSnapshotFileName, snapshotFileName } from './producer-snapshot-codec.js'
import type { ProducerSnapshot, ProducerSnapshotSource, ProducerStateTable } from './producer-state.js'

/** Snapshots kept per partition: the newest serves restarts, older ones serve truncations below it. */
export const snapshotsRetainedMax = 3

export class ProducerSnapshots implements ProducerSnapshotSource {
  /** The partition directory. */
  readonly dir: string
  readonly #logger: Logger
  readonly #fs: FileSystem
  readonly #retainedMax: number
  #tail: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor (init: { dir: string; fs: FileSystem; logger: Logger; retainedMax?: number }) {
    this.dir = init.dir
    this.#fs = init.fs
    this.#logger = init.logger
    this.#retainedMax = init.retainedMax ?? snapshotsRetainedMax
  }

  /**
   * Snapshots `table` as of `offset`, copying it now (call it when every batch below `offset` has been recorded: as
   * the log rolls, or once it is closed), then writes it and prunes. Resolves once written or the failure is logged.
   */
  take (table: ProducerStateTable, offset: number, logStartOffset: number): Promise<void> {
    if (this.#closed) return Promise.resolve()
    const snapshot = table.snapshotAt(offset)
    return this.#enqueue(async () => {
      const bytes = encodeProducerSnapshot(await snapshot)
      await replaceFile(this.#fs, join(this.dir, snapshotFileName(offset)), bytes)
      this.#logger.debug({ offset, sizeBytes: bytes.length }, 'producer state snapshot written')
      await this.#prune(logStartOffset)
    }).catch((error: unknown) => {
      this.#logger.warn({ offset, err: error }, 'producer state snapshot failed')
    })
  }

  /** The newest intact snapshot within [logStartOffset, logEndOffset]; deletes those outside it, and corrupt ones. */
  newestUsable (logStartOffset: number, logEndOffset: number): Promise<ProducerSnapshot | undefined> {
    return this.#enqueue(async () => {
      const offsets = await this.#list()
      await this.#delete(offsets.filter((o) => o < logStartOffset || o > logEndOffset))
      const usable = offsets.filter((o) => o >= logStartOffset && o <= logEndOffset)
      for (const offset of usable.reverse()) {
        const path = join(this.dir, snapshotFileName(offset))
        let bytes: Buffer
        try {
          bytes = await this.#fs.readFile(path)
        } catch (error) {
          // Kept: the file may read fine next time, and it is only ever used after this check again.
          this.#logger.warn({ offset, path, err: error }, 'producer state snapshot unreadable')
          continue
        }
        try {
          return decodeProducerSnapshot(bytes, offset)
        } catch (error) {
          this.#logger.warn({ offset, path, err: error }, 'producer state snapshot corrupt')
          await this.#delete([offset])
        }
      }
      return undefined
    })
  }

  /** Deletes the snapshots above `offset`, durably (before the log is truncated to it). */
  deleteAbove (offset: number): Promise<void> {
    return this.#enqueue(async () => { await this.#delete((await this.#list()).filter((o) => o > offset)) })
  }

  /** Deletes every snapshot (the log restarts empty elsewhere). */
  deleteAll (): Promise<void> {
    return this.#enqueue(async () => { await this.#delete(await this.#list()) })
  }

  /** Deletes the snapshots below `logStartOffset` and all but the newest `retainedMax` of the rest. */
  prune (logStartOffset: number): Promise<void> {
    return this.#enqueue(async () => { await this.#prune(logStartOffset) })
  }

  /** The offsets of the snapshots on disk, ascending. */
  offsets (): Promise<number[]> {
    return this.#enqueue(async () => await this.#list())
  }

  /** Waits for queued work; later `take` calls do nothing (the replica is stopping or its directory is going away). */
  async close (): Promise<void> {
    this.#closed = true
    await this.#tail
  }

  #enqueue<T> (task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task)
    this.#tail = run.catch(() => {})
    return run
  }

  async #prune (logStartOffset: number): Promise<void> {
    const offsets = await this.#list()
    const kept = offsets.filter((o) => o >= logStartOffset).slice(-this.#retainedMax)
    await this.#delete(offsets.filter((o) => !kept.includes(o)))
  }

  async #list (): Promise<number[]> {
    let names: string[]
    try {
      names = await this.#fs.readdir(this.dir)
    } catch (error) {
      if (hasErrno(error, 'ENOENT')) return [] // the partition directory is gone (topic deleted)
      throw error
    }
    return names.flatMap((name) => {
      const offset = parseSnapshotFileName(name)
      return offset === undefined ? [] : [offset]
    }).sort((a, b) => a - b)
  }

  async #delete (offsets: readonly number[]): Promise<void> {
    if (offsets.length === 0) return
    for (const offset of offsets) {
      try {
        await this.#fs.unlink(join(this.dir, snapshotFileName(offset)))
      } catch (error) {
        if (!hasErrno(error, 'ENOENT')) throw error
      }
    }
    await fsyncDirectory(this.#fs, this.dir)
    this.#logger.debug({ offsets }, 'producer state snapshots deleted')
  }
}

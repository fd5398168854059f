/**
 * Group commit: decides when written log data is durable, sharing one round of fdatasync among every append that was
 * written while the previous round was in flight.
 *
 * Owns: the two watermarks of a log, `writtenEnd` (offset after the last batch whose write completed) and
 * `syncedEnd` (offset after the last batch covered by a completed fdatasync), the set of files with unsynced data,
 * and the appends waiting for durability.
 *
 * How a round works: when someone waits for an offset that is written but not synced and no round is in flight, a
 * round starts at once: it captures `writtenEnd` as its target and the dirty files, fdatasyncs them in parallel,
 * then sets `syncedEnd` to the target and resolves every waiter at or below it. Writes that complete meanwhile only
 * mark their file dirty and queue their waiter; the round after covers all of them. So with N appends in flight there
 * is at most one fdatasync in progress and one pending, never N. A round never waits on purpose (no timer): batching
 * comes from the time the previous round takes.
 *
 * Failure: an fdatasync error is final (fsyncgate: the kernel may have dropped the dirty pages, so a retry that
 * succeeds proves nothing). Every waiter, present and future, is rejected and `onFailure` tells the owner, which takes
 * the log offline.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { errnoDetails, storageError } from './storage-error.js'

/** Something with data to make durable (a segment). */
export interface Syncable {
  sync (): Promise<void>
}

interface Waiter {
  readonly end: number
  /** A flush resolves when the data it waited for is truncated away; an append is rejected. */
  readonly kind: 'append' | 'flush'
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

export interface GroupCommitOptions {
  /** Offset up to which the log is already durable (its recovery point after opening). */
  readonly syncedEnd: number
  /** Called after each round with the new `syncedEnd`. */
  readonly onSynced: (syncedEnd: number) => void
  readonly onFailure: (error: Error) => void
}

export class GroupCommit {
  #writtenEnd: number
  #syncedEnd: number
  readonly #dirty = new Set<Syncable>()
  #waiters: Waiter[] = []
  #inFlight: Promise<void> | undefined
  #failure: Error | undefined
  #rounds = 0
  /** Bumped by truncation: a round that started before it must not move `syncedEnd` (its target is stale). */
  #generation = 0
  readonly #options: GroupCommitOptions

  constructor (options: GroupCommitOptions) {
    this.#writtenEnd = options.syncedEnd
    this.#syncedEnd = options.syncedEnd
    this.#options = options
  }

  get writtenEnd (): number {
    return this.#writtenEnd
  }

  get syncedEnd (): number {
    return this.#syncedEnd
  }

  /** Number of completed fdatasync rounds (for tests and metrics). */
  get rounds (): number {
    return this.#rounds
  }

  /** Records a completed write that ends the log at `end`, in `file`. */
  markWritten (end: number, file: Syncable): void {
    this.#writtenEnd = end
    this.#dirty.add(file)
  }

  /** Resolves once everything below `end` is synced. */
  waitDurable (end: number): Promise<void> {
    return this.#wait(end, 'append')
  }

  /** `waitDurable` with callbacks, one promise hop shorter (the append path calls it for every append). */
  whenDurable (end: number, resolve: () => void, reject: (error: Error) => void): void {
    if (this.#failure !== undefined) {
      reject(this.#failure)
    } else if (end <= this.#syncedEnd) {
      resolve()
    } else {
      this.#waiters.push({ end, kind: 'append', resolve, reject })
      this.#kick()
    }
  }

  /** Resolves once everything written so far is synced. */
  syncAll (): Promise<void> {
    if (this.#dirty.size === 0 && this.#writtenEnd <= this.#syncedEnd) return this.idle()
    return this.#wait(this.#writtenEnd, 'flush')
  }

  /** Resolves when no round is in flight. */
  async idle (): Promise<void> {
    while (this.#inFlight !== undefined) await this.#inFlight
  }

  /**
   * The log was truncated to end at `end`: both watermarks come down to it; waiters above it are settled (their data
   * is gone: appends are rejected, flushes resolve). A round in flight keeps running but no longer counts.
   */
  truncateTo (end: number): void {
    this.#generation += 1
    this.#writtenEnd = Math.min(this.#writtenEnd, end)
    this.#syncedEnd = Math.min(this.#syncedEnd, end)
    this.#settleAbove(end)
  }

  /** The log was emptied and restarts, durably, at `end` (which may be above the old end). */
  restartAt (end: number): void {
    this.#generation += 1
    this.#dirty.clear()
    this.#settleAbove(-1)
    this.#writtenEnd = end
    this.#syncedEnd = end
  }

  #settleAbove (end: number): void {
    const gone = this.#waiters.filter((w) => w.end > end)
    if (gone.length === 0) return
    this.#waiters = this.#waiters.filter((w) => w.end <= end)
    const truncated = new GregorError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'appended records were truncated before they became durable')
    for (const waiter of gone) {
      if (waiter.kind === 'flush') waiter.resolve()
      else waiter.reject(truncated)
    }
  }

  #wait (end: number, kind: Waiter['kind']): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (end <= this.#syncedEnd && (kind === 'append' || this.#dirty.size === 0)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ end, kind, resolve, reject })
      this.#kick()
    })
  }

  #kick (): void {
    if (this.#inFlight !== undefined || this.#failure !== undefined || this.#waiters.length === 0) return
    this.#inFlight = this.#round().finally(() => {
      this.#inFlight = undefined
      this.#kick()
    })
  }

  async #round (): Promise<void> {
    const generation = this.#generation
    const target = this.#writtenEnd
    const files = [...this.#dirty]
    this.#dirty.clear()
    try {
      if (files.length === 1) await (files[0] as Syncable).sync()
      else await Promise.all(files.map(async (file) => await file.sync()))
    } catch (error) {
      this.#fail(storageError('fdatasync failed', { cause: error, details: errnoDetails(error) }))
      return
    }
    this.#rounds += 1
    if (generation !== this.#generation) return
    if (target > this.#syncedEnd) {
      this.#syncedEnd = target
      this.#options.onSynced(target)
    }
    const done = this.#waiters.filter((w) => w.end <= this.#syncedEnd)
    if (done.length === 0) return
    this.#waiters = this.#waiters.filter((w) => w.end > this.#syncedEnd)
    for (const waiter of done) waiter.resolve()
  }

  #fail (error: Error): void {
    this.#failure = error
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.reject(error)
    this.#options.onFailure(error)
  }
}

/**
 * The producer's memory bound (Kafka `BufferPool`, `buffer.memory` + `max.block.ms`): bytes of records held, queued
 * or in flight, never exceed `bufferBytesMax`; a caller that needs more waits, first come first served, up to
 * `maxBlockMs`, then fails.
 *
 * Accounting, not allocation: JavaScript manages the memory, so the pool counts the estimated bytes of records
 * (what `recordBytes` says, headers of batches included) and releases them when their batch is settled.
 *
 * Invariants: `usedBytes ≤ bytesMax` at all times. Waiters are served in arrival order, and nobody overtakes a
 * waiter: while anyone waits, new requests queue too, so a large request cannot be starved by a stream of small ones.
 * An allocation decision and its commit run in one synchronous step, so what was measured is what is taken.
 * Errors: a request larger than `bytesMax` can never be served and is MESSAGE_TOO_LARGE at once; a wait that passes
 * `maxBlockMs` is REQUEST_TIMED_OUT with `details.reason = 'bufferExhausted'` (Kafka's BufferExhaustedException;
 * @gregor/common has no dedicated code, and REQUEST_TIMED_OUT is the Kafka class it derives from).
 */
import assert from 'node:assert/strict'
import { type Clock, ErrorCode, GregorError } from '@gregor/common'
import type { Scheduler } from './scheduler.js'

/** What an allocation attempt found: bytes to take and what to do once they are taken, or an answer with no bytes. */
export type AllocationPlan<T> =
  | { readonly bytes: number; readonly commit: () => T }
  | { readonly result: T }

interface Waiter {
  bytes: number
  wake: () => void
}

export class BufferPool {
  readonly bytesMax: number
  readonly #clock: Clock
  readonly #scheduler: Scheduler
  #usedBytes = 0
  readonly #waiters: Waiter[] = []
  #closedError: GregorError | undefined

  constructor (bytesMax: number, deps: { readonly clock: Clock; readonly scheduler: Scheduler }) {
    this.bytesMax = bytesMax
    this.#clock = deps.clock
    this.#scheduler = deps.scheduler
  }

  get usedBytes (): number {
    return this.#usedBytes
  }

  /** Whether someone is waiting for bytes: the accumulator then sends what it has (Kafka's "exhausted"). */
  get hasWaiters (): boolean {
    return this.#waiters.length > 0
  }

  /**
   * Runs `plan()`; if it needs bytes, takes them and runs its `commit` as soon as they are free and it is this
   * caller's turn, re-planning after every wait (what is needed may change while waiting).
   */
  async allocate<T> (plan: () => AllocationPlan<T>, maxBlockMs: number): Promise<T> {
    let step = this.#check(plan())
    if ('result' in step) return step.result
    if (this.#waiters.length === 0 && this.#fits(step.bytes)) return this.#take(step.bytes, step.commit)
    return await this.#allocateWaiting(plan, step, maxBlockMs)
  }

  /** Takes `bytes` now if nobody waits and they fit; false otherwise (nothing taken). The per-record fast path. */
  tryTake (bytes: number): boolean {
    if (this.#closedError !== undefined || this.#waiters.length > 0 || !this.#fits(bytes)) return false
    this.#usedBytes += bytes
    return true
  }

  /**
   * `allocate` without waiting: the plan's answer, or undefined when it would have to wait for bytes (then nothing
   * was taken and `commit` did not run). The common case of a producer with buffer space to spare costs no promise.
   */
  tryAllocate<T extends object> (plan: () => AllocationPlan<T>): T | undefined {
    const step = this.#check(plan())
    if ('result' in step) return step.result
    if (this.#waiters.length === 0 && this.#fits(step.bytes)) return this.#take(step.bytes, step.commit)
    return undefined
  }

  async #allocateWaiting<T> (plan: () => AllocationPlan<T>, first: { readonly bytes: number }, maxBlockMs: number): Promise<T> {
    if (maxBlockMs === 0) throw this.#exhausted(first.bytes, 0)
    let step: AllocationPlan<T>
    const waiter: Waiter = { bytes: first.bytes, wake: () => {} }
    this.#waiters.push(waiter)
    const startMs = this.#clock.nowMs()
    try {
      for (;;) {
        await this.#sleep(waiter, startMs + maxBlockMs, maxBlockMs)
        step = this.#check(plan())
        if ('result' in step) return step.result
        waiter.bytes = step.bytes
        if (this.#waiters[0] === waiter && this.#fits(step.bytes)) {
          this.#remove(waiter)
          return this.#take(step.bytes, step.commit)
        }
      }
    } finally {
      // On success, timeout or error alike: leave the queue and let the next waiter try.
      this.#remove(waiter)
      this.#wakeHead()
    }
  }

  /** Returns `bytes` taken earlier and wakes the first waiter if it now fits. */
  release (bytes: number): void {
    assert(bytes >= 0 && bytes <= this.#usedBytes, 'the buffer pool releases only bytes it handed out')
    this.#usedBytes -= bytes
    this.#wakeHead()
  }

  /** Fails every current and future wait with `error` (the producer is closing). Released bytes are still counted. */
  close (error: GregorError): void {
    this.#closedError = error
    for (const waiter of this.#waiters) waiter.wake()
  }

  #check<T> (step: AllocationPlan<T>): AllocationPlan<T> {
    if (this.#closedError !== undefined) throw this.#closedError
    if ('bytes' in step && step.bytes > this.bytesMax) {
      const details = { sizeBytes: step.bytes, bufferBytesMax: this.bytesMax }
      throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'record larger than the producer buffer', { details })
    }
    return step
  }

  #fits (bytes: number): boolean {
    return this.#usedBytes + bytes <= this.bytesMax
  }

  #take<T> (bytes: number, commit: () => T): T {
    const result = commit()
    this.#usedBytes += bytes
    return result
  }

  #sleep (waiter: Waiter, deadlineMs: number, maxBlockMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = this.#scheduler.setTimer(deadlineMs - this.#clock.nowMs(), () => {
        reject(this.#exhausted(waiter.bytes, maxBlockMs))
      })
      waiter.wake = () => {
        cancel()
        resolve()
      }
    })
  }

  #wakeHead (): void {
    const head = this.#waiters[0]
    if (head !== undefined && (this.#fits(head.bytes) || this.#closedError !== undefined)) head.wake()
  }

  #remove (waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter)
    if (index >= 0) this.#waiters.splice(index, 1)
  }

  #exhausted (bytes: number, waitedMs: number): GregorError {
    const details = {
      reason: 'bufferExhausted', requestedBytes: bytes, usedBytes: this.#usedBytes, bufferBytesMax: this.bytesMax, waitedMs,
    }
    return new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'producer buffer exhausted', { details })
  }
}

/**
 * The buffers batches write their records into (Kafka's `BufferPool` free list), so a steady producer reuses the same
 * few buffers instead of allocating one per batch: capacities are powers of two (a batch grows by doubling,
 * producer-batch.ts), and a released buffer waits in the free list of its size for the next batch.
 *
 * Invariants: a buffer is handed out to one batch at a time (it is released once, after its batch settled); the
 * free lists hold at most `retainBytesMax` bytes in all, and a buffer released beyond that is left to the garbage
 * collector, so the pool's own memory is bounded whatever the traffic. Nothing is ever zeroed: a batch writes every
 * byte it sends.
 */
export class BatchBufferPool {
  readonly retainBytesMax: number
  /** Free buffers by log2 of their capacity. */
  readonly #free = new Map<number, Buffer[]>()
  #retainedBytes = 0

  constructor (retainBytesMax: number) {
    this.retainBytesMax = retainBytesMax
  }

  /** Bytes held in the free lists. */
  get retainedBytes (): number {
    return this.#retainedBytes
  }

  /** A buffer of at least `bytes` (a power of two in size), from the free list when one is there. */
  acquire (bytes: number): Buffer {
    const sizeClass = Math.max(0, Math.ceil(Math.log2(bytes)))
    const buffer = this.#free.get(sizeClass)?.pop()
    if (buffer !== undefined) {
      this.#retainedBytes -= buffer.length
      return buffer
    }
    return Buffer.allocUnsafeSlow(2 ** sizeClass)
  }

  /** Takes back a buffer from `acquire` that nobody uses any more. */
  release (buffer: Buffer): void {
    const sizeClass = Math.log2(buffer.length)
    if (!Number.isInteger(sizeClass) || this.#retainedBytes + buffer.length > this.retainBytesMax) return
    let free = this.#free.get(sizeClass)
    if (free === undefined) {
      free = []
      this.#free.set(sizeClass, free)
    }
    free.push(buffer)
    this.#retainedBytes += buffer.length
  }
}

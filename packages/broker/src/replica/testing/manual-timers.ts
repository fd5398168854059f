/**
 * Hand-driven time for the replica manager's unit tests: a `Clock` and `Timers` that move only when the test calls
 * `advance`, so backoffs, deadlines and periodic checks are exercised without sleeping. Not exported from the package.
 *
 * Invariants: callbacks run in due order (ties in scheduling order), each at its due time on the clock; a cancelled
 * callback never runs; an interval reschedules itself before its callback runs.
 */
import type { Clock, TimerHandle, Timers } from '@gregor/common'

interface Scheduled { readonly id: number; dueMs: number; readonly callback: () => void; readonly intervalMs: number | undefined }

export class ManualTimers implements Timers, Clock {
  #nowMs: number
  #nextId = 0
  readonly #scheduled = new Map<number, Scheduled>()

  constructor (startMs = 1_000_000) {
    this.#nowMs = startMs
  }

  nowMs (): number {
    return this.#nowMs
  }

  /** Callbacks waiting to run. */
  get pending (): number {
    return this.#scheduled.size
  }

  setTimeout (callback: () => void, delayMs: number): TimerHandle {
    return this.#schedule(callback, delayMs, undefined)
  }

  setInterval (callback: () => void, intervalMs: number): TimerHandle {
    return this.#schedule(callback, intervalMs, Math.max(1, intervalMs))
  }

  sleep (delayMs: number): Promise<void> {
    return new Promise((resolve) => { this.setTimeout(resolve, delayMs) })
  }

  /**
   * Moves the clock forward by `ms`, running every callback that comes due on the way, and lets the promise jobs
   * each one starts settle (`settle` is awaited after each callback) before the next runs.
   */
  async advance (ms: number, settle: () => Promise<void> = flushPromises): Promise<void> {
    const endMs = this.#nowMs + ms
    for (;;) {
      const next = this.#nextDue(endMs)
      if (next === undefined) break
      this.#nowMs = Math.max(this.#nowMs, next.dueMs)
      if (next.intervalMs === undefined) this.#scheduled.delete(next.id)
      else next.dueMs += next.intervalMs
      next.callback()
      await settle()
    }
    this.#nowMs = endMs
    await settle()
  }

  #nextDue (endMs: number): Scheduled | undefined {
    let next: Scheduled | undefined
    for (const item of this.#scheduled.values()) {
      if (item.dueMs > endMs) continue
      if (next === undefined || item.dueMs < next.dueMs || (item.dueMs === next.dueMs && item.id < next.id)) next = item
    }
    return next
  }

  #schedule (callback: () => void, delayMs: number, intervalMs: number | undefined): TimerHandle {
    const id = this.#nextId++
    this.#scheduled.set(id, { id, dueMs: this.#nowMs + Math.max(0, delayMs), callback, intervalMs })
    return { cancel: () => { this.#scheduled.delete(id) } }
  }
}

/** Lets queued promise jobs run (several turns: awaited chains take one turn per step). */
export async function flushPromises (turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve()
}

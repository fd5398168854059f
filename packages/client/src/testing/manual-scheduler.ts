/**
 * A virtual clock with timers, for deterministic producer tests: time moves only when the test calls `advance`, and
 * due timers run in (due time, scheduling order) order. It serves as both the monotonic and the wall clock.
 *
 * Invariant: `nowMs()` never decreases; a timer never runs before its due time nor twice; a cancelled one never runs.
 */
import type { Clock } from '@gregor/common'
import type { Scheduler } from '../scheduler.js'

interface ManualTimer {
  readonly dueMs: number
  readonly seq: number
  readonly fn: () => void
  cancelled: boolean
}

export class ManualScheduler implements Clock, Scheduler {
  #nowMs: number
  #seq = 0
  #timers: ManualTimer[] = []

  /** `startMs` defaults to a plausible epoch time so that records stamped from this clock look real. */
  constructor (startMs = 1_700_000_000_000) {
    this.#nowMs = startMs
  }

  nowMs (): number {
    return this.#nowMs
  }

  setTimer (delayMs: number, fn: () => void): () => void {
    const timer: ManualTimer = { dueMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false }
    this.#timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  /** Timers scheduled and neither run nor cancelled. */
  get pendingTimerCount (): number {
    return this.#timers.filter((timer) => !timer.cancelled).length
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, at its due time. */
  advance (ms: number): void {
    const targetMs = this.#nowMs + ms
    for (;;) {
      const next = this.#nextDue(targetMs)
      if (next === undefined) break
      this.#timers.splice(this.#timers.indexOf(next), 1)
      this.#nowMs = next.dueMs
      next.fn()
    }
    this.#nowMs = targetMs
  }

  #nextDue (untilMs: number): ManualTimer | undefined {
    let next: ManualTimer | undefined
    this.#timers = this.#timers.filter((timer) => !timer.cancelled)
    for (const timer of this.#timers) {
      if (timer.dueMs > untilMs) continue
      if (next === undefined || timer.dueMs < next.dueMs || (timer.dueMs === next.dueMs && timer.seq < next.seq)) next = timer
    }
    return next
  }
}

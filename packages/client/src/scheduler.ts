/**
 * Time as a dependency of the producer: when to run something later (`Scheduler`) and what time it is (`Clock`s).
 *
 * Owns: the `Scheduler` contract and the real implementations. Everything in the producer that waits (linger, retry
 * backoff, buffer waits, delivery timeouts) goes through an injected `Scheduler` and reads an injected `Clock`, so
 * tests drive it with `testing/manual-scheduler.ts` and never sleep.
 *
 * Two clocks, because they answer different questions: `systemClock` is monotonic and measures intervals (linger,
 * timeouts; it never jumps when the wall clock is set), `systemWallClock` is Unix epoch time and only stamps records.
 */
import type { Clock } from '@gregor/common'

/** Runs callbacks later. */
export interface Scheduler {
  /** Runs `fn` once after `delayMs` (≥ 0); returns a function that cancels it if it has not run yet. */
  setTimer (delayMs: number, fn: () => void): () => void
}

/** `setTimeout`. Timers are not unref'd: a producer with records waiting to be sent keeps the process alive. */
export const systemScheduler: Scheduler = Object.freeze({
  setTimer (delayMs: number, fn: () => void): () => void {
    const timer = setTimeout(fn, delayMs)
    return () => clearTimeout(timer)
  },
})

/** Monotonic milliseconds (`performance.now()`): for intervals only. */
export const systemClock: Clock = Object.freeze({ nowMs: () => performance.now() })

/** Unix epoch milliseconds (`Date.now()`): record timestamps, which consumers read as wall time. */
export const systemWallClock: Clock = Object.freeze({ nowMs: () => Date.now() })

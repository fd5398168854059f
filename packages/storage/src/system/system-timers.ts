/**
 * Production `Timers` and `Clock`: Node's timers (unref'ed, so housekeeping never keeps a stopping broker alive) and
 * the wall and monotonic clocks. The one implementation: it lives here, the lowest package that may touch real time
 * (`@gregor/common` is pure, ARCHITECTURE.md §3), so storage's own tests and test processes use it as `realTimers`
 * and the broker re-exports it from `broker/src/system/system-timers.ts`. Only composition roots (`broker.ts`, the
 * CLI, test harnesses) pass these in; the logic takes the interfaces.
 */
import type { Clock, Timers } from '@gregor/common'

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs)
    handle.unref()
    return { cancel: () => { clearTimeout(handle) } }
  },
  setInterval: (callback, intervalMs) => {
    const handle = setInterval(callback, intervalMs)
    handle.unref()
    return { cancel: () => { clearInterval(handle) } }
  },
  sleep: async (delayMs) => { await new Promise((resolve) => setTimeout(resolve, delayMs)) },
}

export const systemClock: Clock = { nowMs: (): number => Date.now() }

/** A clock that never jumps (for deadlines that must not move with the wall clock). */
export const systemMonotonicClock: Clock = { nowMs: (): number => performance.now() }

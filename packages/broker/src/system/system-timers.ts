/**
 * Production `Timers` and `Clock`: Node's timers (unref'ed, so housekeeping never keeps a stopping broker alive) and
 * the wall clock. Only the composition root (`broker.ts`, the CLI) passes these in; the logic takes the interfaces.
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

/**
 * Real time for the storage package's own tests and test processes (the broker wires its `systemTimers` and
 * `systemClock`; storage cannot import the broker). Monotonic clock, timers that do not keep the process alive.
 * Not exported from the package index.
 */
import type { Clock, Timers } from '@gregor/common'

export const realClock: Clock = { nowMs: (): number => performance.now() }

export const realTimers: Timers = {
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

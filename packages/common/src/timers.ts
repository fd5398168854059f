/**
 * Timers as a dependency, the partner of `Clock`: the broker's logic (replica manager, fetcher, delayed operations,
 * controller, coordinator runtime) schedules through this, so production wires real timers and the whole-cluster
 * simulation wires its virtual scheduler. Pure packages never create timers themselves.
 *
 * Contract: a callback never runs after its handle was cancelled; `cancel` is idempotent. Production timers do not
 * keep the process alive (they are unref'ed), like every housekeeping timer of a broker.
 */
export interface TimerHandle {
  cancel (): void
}

export interface Timers {
  /** Runs `callback` once, `delayMs` from now. */
  setTimeout (callback: () => void, delayMs: number): TimerHandle
  /** Runs `callback` every `intervalMs` until cancelled. */
  setInterval (callback: () => void, intervalMs: number): TimerHandle
  /** Resolves `delayMs` from now (a cancellable wait is `setTimeout` with a promise around it). */
  sleep (delayMs: number): Promise<void>
}

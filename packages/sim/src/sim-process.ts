/**
 * One incarnation of a simulated process (a broker or a client): its timers, clock and every asynchronous answer it
 * waits for run through here, so the simulation can crash it, pause it and jump its clock without the process's code
 * knowing.
 *
 * - Crash (`kill`): nothing of this incarnation runs again. Timers are dropped, and every promise it awaits through
 *   `guard` (disk, network) never settles, so its async chains stop where they are, as a killed process's would.
 *   A restart is a new `SimProcess` over the same disk.
 * - Pause (SIGSTOP): callbacks that come due are held and run, in order, on `resume`.
 * - Clock: the virtual time of the scheduler plus this process's skew; a clock jump moves the skew forward. Timers
 *   stay on the scheduler's time, as Node's timers use a monotonic clock that a wall-clock jump does not move.
 *
 * Invariant: while `alive` is false no callback of this incarnation runs.
 */
import type { Clock, TimerHandle, Timers } from '@gregor/common'
import type { SimScheduler } from '@gregor/raft/testing'

export class SimProcess {
  readonly id: number
  readonly incarnation: number
  readonly #scheduler: SimScheduler
  #alive = true
  #paused = false
  #held: Array<() => void> = []
  #skewMs = 0
  readonly timers: Timers
  readonly clock: Clock

  constructor (scheduler: SimScheduler, id: number, incarnation: number) {
    this.#scheduler = scheduler
    this.id = id
    this.incarnation = incarnation
    // Whole milliseconds, as Date.now: record timestamps and deadlines are integers.
    this.clock = { nowMs: () => Math.floor(this.#scheduler.nowMs + this.#skewMs) }
    const schedule = (callback: () => void, delayMs: number, repeatMs: number | undefined): TimerHandle => {
      let cancelled = false
      const fire = (): void => {
        if (cancelled) return
        if (repeatMs !== undefined) this.#scheduler.after(Math.max(1, repeatMs), fire)
        this.run(() => { if (!cancelled) callback() })
      }
      this.#scheduler.after(Math.max(0, delayMs), fire)
      return { cancel: () => { cancelled = true } }
    }
    this.timers = {
      setTimeout: (callback, delayMs) => schedule(callback, delayMs, undefined),
      setInterval: (callback, intervalMs) => schedule(callback, intervalMs, intervalMs),
      sleep: async (delayMs) => { await new Promise<void>((resolve) => { schedule(resolve, delayMs, undefined) }) },
    }
  }

  get alive (): boolean { return this.#alive }
  get paused (): boolean { return this.#paused }

  /** Runs `fn` as this process: at once, held while paused, never once dead. */
  run (fn: () => void): void {
    if (!this.#alive) return
    if (this.#paused) this.#held.push(fn)
    else fn()
  }

  /** The answer of `work`, delivered to this process (see `run`); a dead process never sees it. */
  async guard<T> (work: Promise<T>): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      work.then((value) => { this.run(() => { resolve(value) }) }, (error: unknown) => { this.run(() => { reject(error) }) })
    })
  }

  /** Starts `work` as this process (never, once dead) and delivers its answer as `guard` does. */
  async io<T> (work: () => Promise<T>): Promise<T> {
    if (!this.#alive) return await new Promise<T>(() => {})
    return await this.guard(work())
  }

  kill (): void {
    this.#alive = false
    this.#held = []
  }

  pause (): void {
    this.#paused = true
  }

  resume (): void {
    if (!this.#paused) return
    this.#paused = false
    const held = this.#held
    this.#held = []
    for (const fn of held) this.run(fn)
  }

  /** A wall-clock jump forward (NTP step, VM migration): only `clock` readings move. */
  jumpClock (deltaMs: number): void {
    this.#skewMs += Math.max(0, deltaMs)
  }
}

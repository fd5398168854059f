/**
 * The purgatory: requests that wait for a condition on one or more partitions (acks=all waits for the high
 * watermark, long-poll fetches wait for data), each with a deadline (Kafka's `DelayedOperationPurgatory`).
 *
 * Owns: the waiters, their timers and the key → waiters index. A waiter is woken by `notify(key)` on any of its
 * keys; its `ready` check runs synchronously there, so no event can slip in between the check and the wake-up.
 *
 * Invariants: at most `waitersMax` waiters at once; a waiter that would exceed it expires at once (the caller answers
 * as on timeout: fewer bytes, or REQUEST_TIMED_OUT) rather than the broker queueing without bound. Every waiter
 * settles exactly once: ready, deadline, or `expireAll` at shutdown or leadership loss.
 */

interface Waiter {
  readonly keys: readonly string[]
  readonly ready: () => boolean
  readonly settle: (ready: boolean) => void
  timer: NodeJS.Timeout | undefined
}

export class DelayedOperations {
  readonly #waitersMax: number
  readonly #byKey = new Map<string, Set<Waiter>>()
  #count = 0

  constructor (options: { waitersMax: number }) {
    this.#waitersMax = options.waitersMax
  }

  /** Waiters now. */
  get size (): number {
    return this.#count
  }

  /**
   * Resolves true once `ready()` holds (checked now and on every `notify` of one of `keys`), false at the deadline,
   * when the purgatory is full, or on `expireAll`.
   */
  wait (options: { keys: readonly string[]; timeoutMs: number; ready: () => boolean }): Promise<boolean> {
    if (options.ready()) return Promise.resolve(true)
    if (options.timeoutMs <= 0 || this.#count >= this.#waitersMax) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        keys: options.keys,
        ready: options.ready,
        timer: undefined,
        settle: (ready) => {
          this.#remove(waiter)
          resolve(ready)
        },
      }
      waiter.timer = setTimeout(() => { waiter.settle(false) }, options.timeoutMs)
      this.#count += 1
      for (const key of options.keys) {
        let set = this.#byKey.get(key)
        if (set === undefined) { set = new Set(); this.#byKey.set(key, set) }
        set.add(waiter)
      }
    })
  }

  /** Something changed on `key`: wakes every waiter of it whose condition now holds. */
  notify (key: string): void {
    const set = this.#byKey.get(key)
    if (set === undefined) return
    for (const waiter of [...set]) {
      if (waiter.ready()) waiter.settle(true)
    }
  }

  /** Settles every waiter on `key` (or every waiter at all) as not ready: leadership moved, or shutdown. */
  expireAll (key?: string): void {
    const waiters = key === undefined ? [...this.#byKey.values()].flatMap((s) => [...s]) : [...(this.#byKey.get(key) ?? [])]
    for (const waiter of new Set(waiters)) waiter.settle(false)
  }

  #remove (waiter: Waiter): void {
    if (waiter.timer === undefined) return
    clearTimeout(waiter.timer)
    waiter.timer = undefined
    this.#count -= 1
    for (const key of waiter.keys) {
      const set = this.#byKey.get(key)
      set?.delete(waiter)
      if (set?.size === 0) this.#byKey.delete(key)
    }
  }
}

/**
 * The purgatory: requests that wait for a condition on one or more partitions (acks=all waits for the high
 * watermark, long-poll fetches wait for data), each with a deadline (Kafka's `DelayedOperationPurgatory`).
 *
 * Owns: the waiters, their timers and the key → waiters index, and one bounded queue per kind of waiter:
 * `produce` (acks=all), `consumerFetch` and `followerFetch` long polls. A waiter is woken by `notify(key)` on any of
 * its keys; its `ready` check runs synchronously there, so no event can slip in between the check and the wake-up.
 *
 * Invariants:
 * - At most `waitersMax[kind]` waiters of each kind at once, so one kind can never crowd out another (consumer long
 *   polls once filled a shared queue and made every acks=all produce time out after appending; issue 10, defect 7).
 *   A long poll that would exceed its limit expires at once (the caller answers as on timeout: fewer bytes). A
 *   produce must not be refused after it appended, so it takes its place up front with `reserve` (refused before
 *   appending when there is none) and waits in it.
 * - Every waiter settles exactly once: ready, deadline, or `expireAll` at shutdown or leadership loss. Deadlines run on
 *   the injected `Timers` (the simulation's virtual time in the whole-cluster simulation).
 */
import type { TimerHandle, Timers } from '@gregor/common'

export type WaiterKind = 'produce' | 'consumerFetch' | 'followerFetch'

/** A place in one kind's queue, taken ahead of the wait; `release` is idempotent. */
export interface WaiterSlot {
  readonly kind: WaiterKind
  release (): void
}

interface Waiter {
  readonly keys: readonly string[]
  readonly ready: () => boolean
  readonly settle: (ready: boolean) => void
  timer: TimerHandle | undefined
}

export class DelayedOperations {
  readonly #waitersMax: Readonly<Record<WaiterKind, number>>
  readonly #timers: Timers
  readonly #byKey = new Map<string, Set<Waiter>>()
  /** Places taken per kind: waiting waiters plus reserved slots. */
  readonly #taken: Record<WaiterKind, number> = { produce: 0, consumerFetch: 0, followerFetch: 0 }
  #count = 0

  constructor (options: { waitersMax: Readonly<Record<WaiterKind, number>>; timers: Timers }) {
    this.#waitersMax = options.waitersMax
    this.#timers = options.timers
  }

  /** Waiters now, all kinds together. */
  get size (): number {
    return this.#count
  }

  /** Places taken now per kind (waiters, and reserved slots not waiting yet). */
  taken (): Readonly<Record<WaiterKind, number>> {
    return { ...this.#taken }
  }

  /** Takes a place in `kind`'s queue now, for a wait that must not be refused later; undefined when it is full. */
  reserve (kind: WaiterKind): WaiterSlot | undefined {
    if (this.#taken[kind] >= this.#waitersMax[kind]) return undefined
    this.#taken[kind] += 1
    let held = true
    return {
      kind,
      release: () => {
        if (!held) return
        held = false
        this.#taken[kind] -= 1
      },
    }
  }

  /**
   * Resolves true once `ready()` holds (checked now and on every `notify` of one of `keys`), false at the deadline,
   * when `kind`'s queue is full, or on `expireAll`. With `slot`, the wait uses that place (the caller releases it
   * once this resolves) and is never refused.
   */
  wait (options: { kind: WaiterKind; slot?: WaiterSlot; keys: readonly string[]; timeoutMs: number; ready: () => boolean }): Promise<boolean> {
    if (options.ready()) return Promise.resolve(true)
    if (options.timeoutMs <= 0) return Promise.resolve(false)
    const slot = options.slot ?? this.reserve(options.kind)
    if (slot === undefined) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        keys: options.keys,
        ready: options.ready,
        timer: undefined,
        settle: (ready) => {
          if (!this.#remove(waiter)) return
          if (options.slot === undefined) slot.release()
          resolve(ready)
        },
      }
      waiter.timer = this.#timers.setTimeout(() => { waiter.settle(false) }, options.timeoutMs)
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

  /** Removes `waiter`; false when it was already settled. */
  #remove (waiter: Waiter): boolean {
    if (waiter.timer === undefined) return false
    waiter.timer.cancel()
    waiter.timer = undefined
    this.#count -= 1
    for (const key of waiter.keys) {
      const set = this.#byKey.get(key)
      set?.delete(waiter)
      if (set?.size === 0) this.#byKey.delete(key)
    }
    return true
  }
}

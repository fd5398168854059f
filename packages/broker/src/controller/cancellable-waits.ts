/**
 * Callers waiting on results that one event must fail at once (the controller's deactivation: every caller gets
 * NOT_CONTROLLER while the work itself runs on).
 *
 * Why not `Promise.race([result, deactivated])` on one long-lived `deactivated` promise: each race attaches a reaction
 * to that promise, and a pending promise keeps every reaction (with the caller's closures) until it settles. The
 * controller stays active for days and races on every heartbeat, so that list grew without bound: ~1 KB per
 * decision, 7 MB of heap on the active controller of `npm run bench:memory` (issue 12) after ten minutes.
 *
 * Invariant: a caller is held only while its result is pending; `size` is the number of callers waiting now.
 */
export class CancellableWaits {
  readonly #rejects = new Set<(error: Error) => void>()

  /** Callers waiting now. */
  get size (): number {
    return this.#rejects.size
  }

  /** `result`'s outcome, or the error of a `cancelAll` that comes first. */
  async wait<T> (result: Promise<T>): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      this.#rejects.add(reject)
      result.then(resolve, reject).finally(() => { this.#rejects.delete(reject) })
    })
  }

  /** Fails every caller waiting now with `error` (their results still settle; nobody hears of them). */
  cancelAll (error: Error): void {
    const rejects = [...this.#rejects]
    this.#rejects.clear()
    for (const reject of rejects) reject(error)
  }
}

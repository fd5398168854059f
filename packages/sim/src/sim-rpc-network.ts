/**
 * The simulated network between processes (brokers and clients): one-way messages (raft) and request/response calls
 * (controller, replication, produce, fetch, groups). Every message is independently dropped, duplicated and delayed
 * (minimum + exponential tail, which also reorders), and directed links can be cut: both ways, one way, or a
 * "bridge" (A sees B and C, B and C do not see each other) is just a set of directed cuts.
 *
 * A cut is checked when a message is sent and again when it would arrive, so a partition also swallows what was in
 * flight. A message is delivered to the destination's CURRENT incarnation, through its `SimProcess` (held while it
 * is paused, dropped while it is down); an answer reaches the caller through the caller's process the same way.
 * A call whose request or answer is lost fails after its deadline with NETWORK_EXCEPTION, as a gRPC deadline would.
 *
 * All choices come from the seeded Rng, so a seed replays exactly.
 */
import { ErrorCode, GregorError, type Rng } from '@gregor/common'
import type { SimScheduler } from '@gregor/raft/testing'
import type { SimProcess } from './sim-process.js'

export interface LinkFaults {
  dropProbability: number
  duplicateProbability: number
  delayMinMs: number
  delayMeanMs: number
}

export class SimRpcNetwork {
  faults: LinkFaults
  sent = 0
  dropped = 0
  readonly #scheduler: SimScheduler
  readonly #rng: Rng
  readonly #processOf: (id: number) => SimProcess | undefined
  /** Directed link → how many active faults cut it (faults overlap and heal independently). */
  readonly #cuts = new Map<number, number>()
  #generation = 0

  constructor (scheduler: SimScheduler, rng: Rng, faults: LinkFaults, processOf: (id: number) => SimProcess | undefined) {
    this.#scheduler = scheduler
    this.#rng = rng
    this.faults = { ...faults }
    this.#processOf = processOf
  }

  static #link (from: number, to: number): number {
    return from * 4096 + to
  }

  isCut (from: number, to: number): boolean {
    return this.#cuts.has(SimRpcNetwork.#link(from, to))
  }

  hasCuts (): boolean {
    return this.#cuts.size > 0
  }

  /** Cuts the directed `links` until the returned heal function runs (a no-op after `healAll`). */
  cut (links: ReadonlyArray<readonly [number, number]>): () => void {
    const keys = links.map(([from, to]) => SimRpcNetwork.#link(from, to))
    for (const key of keys) this.#cuts.set(key, (this.#cuts.get(key) ?? 0) + 1)
    const generation = this.#generation
    return () => {
      if (generation !== this.#generation) return
      for (const key of keys) {
        const count = (this.#cuts.get(key) ?? 0) - 1
        if (count <= 0) this.#cuts.delete(key)
        else this.#cuts.set(key, count)
      }
    }
  }

  healAll (): void {
    this.#cuts.clear()
    this.#generation++
  }

  /** A one-way message: `deliver` runs as `to`'s current incarnation after a delay, unless lost. */
  send (from: number, to: number, deliver: () => void, options: { duplicates?: boolean } = {}): void {
    this.sent++
    if (this.isCut(from, to) || this.#rng.next() < this.faults.dropProbability) {
      this.dropped++
      return
    }
    const copies = options.duplicates !== false && this.#rng.next() < this.faults.duplicateProbability ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.#scheduler.after(this.#delayMs(), () => {
        const process = this.#processOf(to)
        if (this.isCut(from, to) || process === undefined || !process.alive) { this.dropped++; return }
        process.run(deliver)
      })
    }
  }

  /**
   * A request/response call from `caller` to node `to`: `handle` runs as `to`'s incarnation at delivery; its answer
   * (or error) travels back and settles in `caller`. Lost either way: NETWORK_EXCEPTION after `deadlineMs`.
   * Requests are not duplicated (a stream does not duplicate; retries are the caller's business).
   */
  async call<T> (caller: SimProcess, to: number, handle: () => Promise<T>, deadlineMs: number): Promise<T> {
    return await caller.guard(new Promise<T>((resolve, reject) => {
      let settled = false
      const settle = (fn: () => void): void => {
        if (settled) return
        settled = true
        fn()
      }
      const timer = caller.timers.setTimeout(() => {
        settle(() => { reject(new GregorError(ErrorCode.NETWORK_EXCEPTION, `no answer from node ${to} within ${deadlineMs} ms`)) })
      }, deadlineMs)
      this.send(caller.id, to, () => {
        let answer: Promise<T>
        try { answer = handle() } catch (error) { answer = Promise.reject(error) }
        answer.then(
          (value) => { this.send(to, caller.id, () => { timer.cancel(); settle(() => { resolve(value) }) }, { duplicates: false }) },
          (error: unknown) => { this.send(to, caller.id, () => { timer.cancel(); settle(() => { reject(error) }) }, { duplicates: false }) },
        )
      }, { duplicates: false })
    }))
  }

  #delayMs (): number {
    const { delayMinMs, delayMeanMs } = this.faults
    // Exponential tail, capped so a single message cannot sleep through the whole run.
    const tail = Math.min(-Math.log(1 - this.#rng.next()) * delayMeanMs, 20 * delayMeanMs)
    return delayMinMs + Math.round(tail * 10) / 10
  }
}

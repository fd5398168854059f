/**
 * A simulated network between nodes: every message is independently dropped, duplicated and delayed (min +
 * exponential, which also reorders), and links can be cut in one direction or both (TigerBeetle's PacketSimulator,
 * FoundationDB's clogging, in miniature).
 *
 * A cut is checked when a message is sent and again when it would arrive, so a partition also swallows what was in
 * flight across it. All choices come from the seeded Rng.
 */
import type { NodeId, Rng } from '@gregor/common'
import type { Message } from '../types.js'
import type { SimScheduler } from './sim-scheduler.js'

export interface NetworkFaults {
  dropProbability: number
  duplicateProbability: number
  delayMinMs: number
  delayMeanMs: number
}

export class SimNetwork {
  faults: NetworkFaults
  sent = 0
  dropped = 0
  /** Directed link -> how many active faults cut it (faults overlap and heal independently). */
  private readonly cuts = new Map<number, number>()
  private generation = 0

  constructor (
    private readonly scheduler: SimScheduler,
    private readonly rng: Rng,
    faults: NetworkFaults,
    private readonly deliver: (m: Message) => void,
  ) {
    this.faults = { ...faults }
  }

  private static link (from: NodeId, to: NodeId): number {
    return from * 1024 + to
  }

  isCut (from: NodeId, to: NodeId): boolean {
    return this.cuts.has(SimNetwork.link(from, to))
  }

  /** Cuts the directed `links` until the returned heal function runs (a no-op after `healAll`). */
  cut (links: ReadonlyArray<readonly [NodeId, NodeId]>): () => void {
    const keys = links.map(([from, to]) => SimNetwork.link(from, to))
    for (const key of keys) this.cuts.set(key, (this.cuts.get(key) ?? 0) + 1)
    const generation = this.generation
    return () => {
      if (generation !== this.generation) return
      for (const key of keys) {
        const count = (this.cuts.get(key) ?? 0) - 1
        if (count <= 0) this.cuts.delete(key)
        else this.cuts.set(key, count)
      }
    }
  }

  healAll (): void {
    this.cuts.clear()
    this.generation++
  }

  hasCuts (): boolean {
    return this.cuts.size > 0
  }

  send (m: Message): void {
    this.sent++
    if (this.isCut(m.from, m.to) || this.rng.next() < this.faults.dropProbability) {
      this.dropped++
      return
    }
    const copies = this.rng.next() < this.faults.duplicateProbability ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.scheduler.after(this.delayMs(), () => {
        if (this.isCut(m.from, m.to)) this.dropped++
        else this.deliver(m)
      })
    }
  }

  private delayMs (): number {
    const { delayMinMs, delayMeanMs } = this.faults
    // Exponential tail, capped so a single message cannot sleep through the whole run.
    const tail = Math.min(-Math.log(1 - this.rng.next()) * delayMeanMs, 20 * delayMeanMs)
    return delayMinMs + Math.round(tail * 10) / 10
  }
}

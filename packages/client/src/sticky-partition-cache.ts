/**
 * The sticky choice for keyless records (Kafka KIP-480, `StickyPartitionCache`): one partition per topic that every
 * keyless record goes to until the batch there is sent or full, then a new random one.
 *
 * Why: spreading keyless records round-robin starts a new batch per record per partition, so with a small linger
 * every batch holds one record. Sticking fills one batch at a time and sends fewer, larger batches with the same
 * even spread over time.
 *
 * Invariants: the sticky partition of a topic changes only through `nextPartition` naming it as the previous one,
 * so two callers that both saw the same full batch move it once, not twice. A new choice is among the partitions
 * with a leader when any is known, and differs from the previous one when there is another to choose.
 */
import type { Rng } from '@gregor/common'

/** The partition layout a choice is made over. */
export interface PartitionLayout {
  readonly topic: string
  readonly partitionCount: number
  /** Partitions with a leader; empty means "unknown", and every partition is a candidate. */
  readonly availablePartitions: readonly number[]
}

export class StickyPartitionCache {
  readonly #rng: Rng
  readonly #stickyByTopic = new Map<string, number>()

  constructor (deps: { readonly rng: Rng }) {
    this.#rng = deps.rng
  }

  /** The current sticky partition of `layout.topic`, choosing one if there is none yet. */
  partition (layout: PartitionLayout): number {
    const sticky = this.#stickyByTopic.get(layout.topic)
    // A partition count that shrank under us (topic recreated) makes the old choice invalid.
    if (sticky !== undefined && sticky < layout.partitionCount) return sticky
    return this.#choose(layout, sticky)
  }

  /**
   * Moves the topic's sticky partition away from `previousPartition`, unless someone already did (the sticky partition
   * is no longer `previousPartition`), and returns the sticky partition.
   */
  nextPartition (layout: PartitionLayout & { readonly previousPartition: number }): number {
    const sticky = this.#stickyByTopic.get(layout.topic)
    if (sticky !== undefined && sticky !== layout.previousPartition && sticky < layout.partitionCount) return sticky
    return this.#choose(layout, sticky)
  }

  #choose (layout: PartitionLayout, previous: number | undefined): number {
    const candidates = layout.availablePartitions.length > 0 ? layout.availablePartitions : undefined
    const count = candidates?.length ?? layout.partitionCount
    let chosen = this.#candidate(candidates, this.#rng.int(0, count))
    if (count > 1 && chosen === previous) {
      // Redraw among the others in one step (Kafka loops until it differs; same distribution, bounded time).
      const index = (candidates?.indexOf(chosen) ?? chosen) + 1 + this.#rng.int(0, count - 1)
      chosen = this.#candidate(candidates, index % count)
    }
    this.#stickyByTopic.set(layout.topic, chosen)
    return chosen
  }

  #candidate (candidates: readonly number[] | undefined, index: number): number {
    return candidates === undefined ? index : candidates[index] as number
  }
}

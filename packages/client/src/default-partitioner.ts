/**
 * The default partitioner: Kafka's (Java client ≥ 2.4, KafkaJS ≥ 2 `DefaultPartitioner`) for keyed records, sticky
 * (KIP-480) for keyless ones.
 *
 * Keyed: `toPositive(murmur2(key)) % partitionCount`, over all partitions whether or not they have a leader, so a key
 * always maps to the same partition as with Kafka for the same partition count (a record for a partition without a
 * leader waits or fails rather than moving: moving it would break per-key order). Keyless: the topic's sticky
 * partition, which moves when `onNewBatch` reports that its batch was sent or filled.
 *
 * Not Kafka ≥ 3.3's "uniform sticky" (KIP-794), which switches after `batch.size` bytes and weighs partitions by
 * queue length: KIP-480 is what KafkaJS and most clients do, and is simpler to reason about.
 */
import { randomInt } from 'node:crypto'
import { type Rng, seededRng } from '@gregor/common'
import { murmur2, toPositive } from './murmur2.js'
import type { Partitioner } from './partitioner.js'
import { StickyPartitionCache } from './sticky-partition-cache.js'

/** The partition Kafka's default partitioner gives a keyed record: `toPositive(murmur2(key)) % partitionCount`. */
export function partitionForKey (key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount
}

/**
 * Creates the default partitioner. Each instance has its own sticky state; `rng` makes the sticky choices
 * reproducible in tests (default: a generator seeded from the OS).
 */
export function createDefaultPartitioner (deps: { readonly rng?: Rng } = {}): Partitioner {
  const cache = new StickyPartitionCache({ rng: deps.rng ?? seededRng(randomInt(2 ** 31)) })
  // The input is a layout already (topic, partitionCount, availablePartitions): no object per record.
  const partitioner: Partitioner = (input) => {
    const key = input.key
    if (key !== null && key !== undefined) return partitionForKey(key, input.partitionCount)
    return cache.partition(input)
  }
  partitioner.onNewBatch = (event) => {
    cache.nextPartition(event)
  }
  return partitioner
}

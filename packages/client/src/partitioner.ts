/**
 * The seam between a record and its partition: what a partitioner is told and what it may be told back.
 *
 * Owns: the `Partitioner` contract. A partitioner is a function (KafkaJS's shape) from a record and the topic's
 * partition layout to a partition number in [0, partitionCount). It may carry an `onNewBatch` hook, Kafka's
 * `Partitioner.onNewBatch` (KIP-480): the producer calls it when a keyless record would have to start a new batch on
 * the partition the partitioner chose, which is the moment a sticky partitioner moves on. A plain function without
 * the hook is a valid partitioner; it is then simply never told.
 */

/** What a partitioner decides from. */
export interface PartitionerInput {
  readonly topic: string
  /** The record key; null or absent for a keyless record. */
  readonly key: Buffer | null
  /** The value as the caller gave it (a string is encoded only when the record is written). */
  readonly value: Buffer | string | null
  /** Partitions of the topic, all of them: keyed records hash over this count whether or not a partition is up. */
  readonly partitionCount: number
  /** The partitions that currently have a leader, ascending. Empty when the producer does not know. */
  readonly availablePartitions: readonly number[]
}

/** Told to a partitioner when the partition it chose for a keyless record needs a new batch (KIP-480). */
export interface NewBatchEvent {
  readonly topic: string
  /** The partition whose batch was sent or filled up: the one to move away from. */
  readonly previousPartition: number
  readonly partitionCount: number
  readonly availablePartitions: readonly number[]
}

/** Chooses a partition in [0, partitionCount) for a record. */
export interface Partitioner {
  (input: PartitionerInput): number
  /** Optional: called before the record is partitioned again, so a sticky partitioner can switch. */
  onNewBatch?: (event: NewBatchEvent) => void
}

/**
 * Routes one record to its partition and into the accumulator: the producer's `send` path up to the network, with
 * KIP-480's handshake between a sticky partitioner and the accumulator.
 *
 * The handshake (Kafka `KafkaProducer.doSend`): a keyless record is first appended with `abortOnNewBatch`; if its
 * partition has no open batch with room (the last one was sent or is full), nothing is appended, the partitioner is
 * told through `onNewBatch` and asked again, and the record goes where it now points. So a sticky partitioner moves
 * on exactly when its batch is done, and the record that would have started a new batch starts it on the new
 * partition. Keyed records and records with an explicit partition skip the handshake: their partition is fixed.
 *
 * Invariant: the partition used is an integer in [0, partitionCount); a partitioner that answers otherwise is a
 * bug in it, reported as INVALID_REQUEST rather than sending to a partition that does not exist.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError } from '@gregor/common'
import type { RecordInput } from '@gregor/records'
import type { Partitioner, PartitionerInput } from './partitioner.js'
import { type AppendResult, Appended, type RecordAccumulator } from './record-accumulator.js'

export interface PartitionAndAppendInput {
  readonly topic: string
  readonly record: RecordInput
  /** A partition chosen by the caller; the partitioner is then not consulted (KafkaJS `message.partition`). */
  readonly partition?: number
  readonly partitionCount: number
  /** Partitions with a leader, ascending; empty if unknown. */
  readonly availablePartitions: readonly number[]
}

/** The record in its batch: `partition`, and `delivery` or (cheaper) `batch.result` with `index`. */
export type PartitionAndAppendResult = Appended

/**
 * `partitionAndAppend` without waiting for buffer space: the appended record, or undefined when it would have to
 * wait (nothing appended). The producer's hot path: no promise per record while the buffer has room.
 */
export function tryPartitionAndAppend (deps: PartitionAndAppendDeps, input: PartitionAndAppendInput): PartitionAndAppendResult | undefined {
  const { accumulator, partitioner } = deps
  const { topic, record } = input
  const partition = firstPartition(partitioner, input)
  const first = accumulator.tryAppend({ topic, partition, record, abortOnNewBatch: isSticky(partitioner, input) })
  if (first === undefined || first.status === 'appended') return first
  const next = nextPartition(partitioner, input, partition)
  const result = accumulator.tryAppend({ topic, partition: next, record })
  return result === undefined ? undefined : appended(next, result)
}

/** Chooses the record's partition and appends it; resolves once it is in a batch (see `RecordAccumulator.append`). */
export async function partitionAndAppend (deps: PartitionAndAppendDeps, input: PartitionAndAppendInput): Promise<PartitionAndAppendResult> {
  const { accumulator, partitioner } = deps
  const { topic, record } = input
  const partition = firstPartition(partitioner, input)
  const first = await accumulator.append({ topic, partition, record, abortOnNewBatch: isSticky(partitioner, input) })
  if (first.status === 'appended') return first
  const next = nextPartition(partitioner, input, partition)
  return appended(next, await accumulator.append({ topic, partition: next, record }))
}

export interface PartitionAndAppendDeps {
  readonly accumulator: RecordAccumulator
  readonly partitioner: Partitioner
}

/** The caller's partition, or the partitioner's choice. */
function firstPartition (partitioner: Partitioner, input: PartitionAndAppendInput): number {
  checkPartitionCount(input.topic, input.partitionCount)
  if (input.partition !== undefined) return checkPartition(input.partition, input.partitionCount, 'record partition out of range')
  return checkPartition(partitioner(partitionerInput(input)), input.partitionCount, 'partitioner returned an invalid partition')
}

/** Whether the first append is KIP-480's tentative one: a keyless record under a partitioner that moves on. */
function isSticky (partitioner: Partitioner, input: PartitionAndAppendInput): boolean {
  return input.partition === undefined && (input.record.key ?? null) === null && partitioner.onNewBatch !== undefined
}

/** The sticky partitioner's batch is done: tell it, and ask again. */
function nextPartition (partitioner: Partitioner, input: PartitionAndAppendInput, previousPartition: number): number {
  const { topic, partitionCount, availablePartitions } = input
  partitioner.onNewBatch?.({ topic, previousPartition, partitionCount, availablePartitions })
  return checkPartition(partitioner(partitionerInput(input)), partitionCount, 'partitioner returned an invalid partition')
}

function partitionerInput ({ topic, record, partitionCount, availablePartitions }: PartitionAndAppendInput): PartitionerInput {
  return { topic, key: record.key ?? null, value: record.value, partitionCount, availablePartitions }
}

function appended (partition: number, result: AppendResult): PartitionAndAppendResult {
  assert(result instanceof Appended && result.partition === partition, 'an append without abortOnNewBatch always appends')
  return result
}

function checkPartitionCount (topic: string, partitionCount: number): void {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    const details = { topic, partitionCount }
    throw new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'topic has no partitions', { details })
  }
}

function checkPartition (partition: number, partitionCount: number, message: string): number {
  if (!Number.isSafeInteger(partition) || partition < 0 || partition >= partitionCount) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, message, { details: { partition, partitionCount } })
  }
  return partition
}

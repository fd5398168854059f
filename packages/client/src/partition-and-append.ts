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
import { ProducerBatch } from './producer-batch.js'
import { type AppendResult, Appended, type RecordAccumulator, type RecordAppend } from './record-accumulator.js'
import type { RecordFields } from './record-bytes.js'

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

/** A message as the bulk path takes it: the fields, and optionally its partition and create time. */
export interface RoutedMessage extends RecordFields {
  readonly partition?: number | undefined
  readonly timestamp?: number | undefined
}

/**
 * Routes many records of one topic into the accumulator with nothing allocated per record (the producer's
 * `sendMany`): one partitioner input object is refilled for each record (a partitioner must not keep it), and
 * each record's fields are written into its batch at once. Same partition choice and KIP-480 handshake as
 * `partitionAndAppend`. A string key is encoded once, for the partitioner (murmur2 hashes bytes) and the batch.
 */
export class RecordRouter {
  readonly #accumulator: RecordAccumulator
  readonly #partitioner: Partitioner
  readonly #sticky: boolean
  readonly #layout: { readonly topic: string; readonly partitionCount: number; readonly availablePartitions: readonly number[] }
  /** The partitioner's input, refilled per record. */
  readonly #input: { topic: string; key: Buffer | null; value: Buffer | string | null; partitionCount: number; availablePartitions: readonly number[] }

  constructor (deps: PartitionAndAppendDeps, layout: { readonly topic: string; readonly partitionCount: number; readonly availablePartitions: readonly number[] }) {
    const { topic, partitionCount, availablePartitions } = layout
    checkPartitionCount(topic, partitionCount)
    this.#accumulator = deps.accumulator
    this.#partitioner = deps.partitioner
    this.#sticky = deps.partitioner.onNewBatch !== undefined
    this.#layout = { topic, partitionCount, availablePartitions }
    this.#input = { topic, key: null, value: null, partitionCount, availablePartitions }
  }

  /** Appends `message` (stamped `timestamp` unless it has its own): its batch, or undefined if it must wait for buffer space. */
  tryAppend (message: RoutedMessage, timestamp: number): ProducerBatch | undefined {
    const record = encodedKey(message)
    const key = record.key ?? null
    const stamp = message.timestamp ?? timestamp
    const partition = this.#first(message, key as Buffer | null)
    const abort = this.#sticky && message.partition === undefined && key === null
    const first = this.#accumulator.tryAppendRecord(this.#layout.topic, partition, record, stamp, abort)
    if (first === undefined || first instanceof ProducerBatch) return first
    const next = this.#next(message, partition)
    const again = this.#accumulator.tryAppendRecord(this.#layout.topic, next, record, stamp, false)
    return again === undefined ? undefined : appendedBatch(again)
  }

  /** `tryAppend`, waiting for buffer space (see `RecordAccumulator.appendRecord`). */
  async append (message: RoutedMessage, timestamp: number): Promise<ProducerBatch> {
    const record = encodedKey(message)
    const key = record.key ?? null
    const stamp = message.timestamp ?? timestamp
    const partition = this.#first(message, key as Buffer | null)
    const abort = this.#sticky && message.partition === undefined && key === null
    const first = await this.#accumulator.appendRecord(this.#layout.topic, partition, record, stamp, abort)
    if (first instanceof ProducerBatch) return first
    const next = this.#next(message, partition)
    return appendedBatch(await this.#accumulator.appendRecord(this.#layout.topic, next, record, stamp, false))
  }

  #first (message: RoutedMessage, key: Buffer | null): number {
    const { partitionCount } = this.#layout
    if (message.partition !== undefined) return checkPartition(message.partition, partitionCount, 'record partition out of range')
    const input = this.#input
    input.key = key
    input.value = message.value as Buffer | string | null
    const partition = this.#partitioner(input)
    input.key = null
    input.value = null
    return checkPartition(partition, partitionCount, 'partitioner returned an invalid partition')
  }

  #next (message: RoutedMessage, previousPartition: number): number {
    const { topic, partitionCount, availablePartitions } = this.#layout
    this.#partitioner.onNewBatch?.({ topic, previousPartition, partitionCount, availablePartitions })
    return this.#first(message, null)
  }
}

/** The message itself, or (for a string key only) a copy whose key is its UTF-8 bytes. */
function encodedKey (message: RoutedMessage): RecordFields {
  if (typeof message !== 'object' || message === null) throw new GregorError(ErrorCode.INVALID_REQUEST, 'record must be an object')
  const key = message.key
  if (key === undefined || key === null || key instanceof Uint8Array) return message
  if (typeof key !== 'string') throw new GregorError(ErrorCode.INVALID_REQUEST, 'record key must be a Buffer, a string or null')
  return { key: Buffer.from(key, 'utf8'), value: message.value, headers: message.headers }
}

function appendedBatch (result: RecordAppend): ProducerBatch {
  assert(result instanceof ProducerBatch, 'an append without abortOnNewBatch always appends')
  return result
}

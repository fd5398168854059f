import { ErrorCode, seededRng } from '@gregor/common'
import { BATCH_HEADER_BYTES, type RecordInput } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { createDefaultPartitioner, partitionForKey } from './default-partitioner.js'
import { partitionAndAppend } from './partition-and-append.js'
import type { Partitioner } from './partitioner.js'
import type { ProducerBatch } from './producer-batch.js'
import { defaultProducerConfig } from './producer-config.js'
import { RecordAccumulator } from './record-accumulator.js'
import { recordBytes } from './record-bytes.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

const value = (text: string): RecordInput => ({ value: Buffer.from(text) })
const RECORD_BYTES = recordBytes(value('v'.repeat(20)), { timestampDeltaMs: 0, offsetDelta: 1 })

function setup (partitioner: Partitioner = createDefaultPartitioner({ rng: seededRng(21) })) {
  const time = new ManualScheduler()
  const accumulator = new RecordAccumulator(
    { ...defaultProducerConfig, lingerMs: 60_000, batchBytesMax: BATCH_HEADER_BYTES + 5 * RECORD_BYTES },
    { clock: time, wallClock: time, scheduler: time },
  )
  const send = async (record: RecordInput, options: { partition?: number; availablePartitions?: number[] } = {}) =>
    partitionAndAppend({ accumulator, partitioner }, {
      topic: 't', record, partitionCount: 6, availablePartitions: options.availablePartitions ?? [0, 1, 2, 3, 4, 5],
      ...(options.partition === undefined ? {} : { partition: options.partition }),
    })
  return { accumulator, send }
}

describe('partitionAndAppend (KIP-480 sticky partitioning)', () => {
  test('keyless records fill one batch, then the next batch starts on another partition', async () => {
    const { send } = setup()
    const partitions: number[] = []
    for (let i = 0; i < 15; i++) partitions.push((await send(value('v'.repeat(20)))).partition)
    // Batches hold 5 records: three runs of 5, each on one partition, consecutive runs on different partitions.
    const runs = [partitions.slice(0, 5), partitions.slice(5, 10), partitions.slice(10, 15)]
    for (const run of runs) expect(new Set(run).size).toBe(1)
    expect(runs[0]?.[0]).not.toBe(runs[1]?.[0])
    expect(runs[1]?.[0]).not.toBe(runs[2]?.[0])
  })

  test('once the sticky batch is sent, the next keyless record moves to another partition', async () => {
    const { accumulator, send } = setup()
    const first = (await send(value('a'))).partition
    expect((await send(value('b'))).partition).toBe(first)
    const flushing = accumulator.flush() // makes the batch ready now; resolves once it is settled
    const drained = accumulator.drain()
    expect(drained.map((batch) => batch.partition)).toEqual([first])
    const next = (await send(value('c'))).partition
    expect(next).not.toBe(first)
    expect((await send(value('d'))).partition).toBe(next)
    accumulator.complete(drained[0] as ProducerBatch, { baseOffset: 0 })
    await flushing
  })

  test('keyless records go only to partitions with a leader', async () => {
    const { send } = setup()
    for (let i = 0; i < 60; i++) expect([1, 4]).toContain((await send(value('v'.repeat(20)), { availablePartitions: [1, 4] })).partition)
  })

  test('keyed records land on the murmur2 partition, and an explicit partition wins over everything', async () => {
    const { send } = setup()
    for (let i = 0; i < 30; i++) {
      const key = Buffer.from(`key-${i}`)
      expect((await send({ key, value: null })).partition).toBe(partitionForKey(key, 6))
    }
    expect((await send({ key: Buffer.from('key-1'), value: null }, { partition: 5 })).partition).toBe(5)
  })

  test('a plain function partitioner (no onNewBatch) is used as is', async () => {
    const { send } = setup(() => 3)
    for (let i = 0; i < 12; i++) expect((await send(value('v'.repeat(20)))).partition).toBe(3)
  })

  test('an out-of-range partition is INVALID_REQUEST; a topic without partitions UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await expect(setup(() => 6).send(value('a'))).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    await expect(setup(() => 1.5).send(value('a'))).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    await expect(setup().send(value('a'), { partition: -1 })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    const { accumulator } = setup()
    await expect(partitionAndAppend({ accumulator, partitioner: () => 0 }, {
      topic: 't', record: value('a'), partitionCount: 0, availablePartitions: [],
    })).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
  })
})

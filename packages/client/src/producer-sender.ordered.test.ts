import { seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import type { ClusterConnection, ProduceOptions } from './cluster-connection.js'
import { defaultProducerConfig, validateProducerConfig } from './producer-config.js'
import { ProducerSender } from './producer-sender.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

interface HeldCall {
  readonly partitions: number[]
  readonly options: ProduceOptions
  readonly answer: () => void
}

/** A connection where every partition is led by broker 1 and each Produce waits until the test answers it. */
function heldConnection (): { connection: ClusterConnection; calls: HeldCall[] } {
  const calls: HeldCall[] = []
  const connection = {
    snapshot: { topics: new Map() },
    leaderFor: () => ({ brokerId: 1, address: 'b1:9092', leaderEpoch: 0 }),
    callAny: async () => ({ errorCode: '', producerId: 7, producerEpoch: 0 }),
    metadata: async () => undefined,
    produce: async (_address: string, request: { partitions: Array<{ partition: number }> }, options: ProduceOptions) =>
      await new Promise((resolve) => {
        const partitions = request.partitions.map((p) => p.partition)
        calls.push({
          partitions, options,
          answer: () => { resolve({ partitions: partitions.map((partition) => ({ topic: 't', partition, errorCode: '', baseOffset: 0 })) }) },
        })
      }),
  }
  return { connection: connection as unknown as ClusterConnection, calls }
}

describe('ProducerSender: one Produce being written per broker', () => {
  test('the next request to a broker starts only once the previous one is written, then pipelines', async () => {
    const { connection, calls } = heldConnection()
    const scheduler = new ManualScheduler(0)
    const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0, maxInFlightPerPartition: 5 })
    const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
    const append = async (value: string): Promise<void> => {
      await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from(value), headers: [] } })
    }
    await append('a')
    await flushMicrotasks()
    expect(calls).toHaveLength(1)
    // The first batch is acknowledged: from then on the broker knows the producer and batches may be pipelined.
    calls[0]?.options.onWritten?.()
    calls[0]?.answer()
    await flushMicrotasks()
    await append('b')
    await flushMicrotasks()
    expect(calls).toHaveLength(2)
    await append('c')
    await flushMicrotasks()
    // 'c' is ready and its partition may have more in flight, but the request with 'b' is still being written.
    expect(calls).toHaveLength(2)
    calls[1]?.options.onWritten?.()
    await flushMicrotasks()
    // Written: 'c' goes now, while 'b' is still unanswered (pipelined behind it).
    expect(calls).toHaveLength(3)
    calls[2]?.options.onWritten?.()
    calls[1]?.answer()
    calls[2]?.answer()
    await flushMicrotasks()
    expect(sender.accumulator.batchCount).toBe(0)
    sender.close()
  })

  test('a request that fails before it was written opens the gate too', async () => {
    const { connection, calls } = heldConnection()
    const scheduler = new ManualScheduler(0)
    const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0, maxInFlightPerPartition: 5 })
    const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
    await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from('a'), headers: [] } })
    await sender.accumulator.append({ topic: 't', partition: 1, record: { key: null, value: Buffer.from('b'), headers: [] } })
    await flushMicrotasks()
    // Both partitions lead to broker 1: one request carries both.
    expect(calls.map((call) => call.partitions)).toEqual([[0, 1]])
    calls[0]?.answer() // answered without onWritten: the sender opens the gate itself
    await flushMicrotasks()
    await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from('c'), headers: [] } })
    await flushMicrotasks()
    expect(calls).toHaveLength(2)
    sender.close()
  })
})

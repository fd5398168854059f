import { ErrorCode, seededRng } from '@gregor/common'
import { buildBatch, parseBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { createDefaultPartitioner } from './default-partitioner.js'
import { Producer } from './producer.js'
import type { ProducerConfig } from './producer-config.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { type ScriptedCall, knownLeader, metadata, scriptedConnection } from './testing/scripted-brokers.js'

const T0 = 1_700_000_000_000

/** A producer on scripted brokers (t-0 led by broker 1) whose InitProducerId is answered with producer id 7. */
async function scriptedProducer (config: Partial<ProducerConfig> = {}) {
  const scripted = scriptedConnection()
  const { brokers, scheduler, connection } = scripted
  await knownLeader(brokers, connection)
  const producer = new Producer({ bootstrapServers: ['b1:9092'], ...config }, {
    connection, clock: scheduler, wallClock: { nowMs: () => T0 }, scheduler, rng: seededRng(3), partitioner: createDefaultPartitioner({ rng: seededRng(4) }),
  })
  const initProducerId = async (): Promise<void> => {
    await flushMicrotasks()
    brokers.of('InitProducerId').at(-1)?.respond({ producerId: 7, producerEpoch: 0 })
    await flushMicrotasks()
  }
  return { ...scripted, producer, initProducerId }
}

const recordsOf = (call: ScriptedCall | undefined): Buffer => Buffer.from(call?.request.partitions[0].records)

describe('Producer.sendMany', () => {
  test('one promise for a thousand records, settled once their batch is acknowledged; the batch is what buildBatch writes', async () => {
    const { brokers, producer, initProducerId } = await scriptedProducer({ lingerMs: 0 })
    const messages = Array.from({ length: 1000 }, (_, index) => ({ value: `value-${index}`, ...(index % 2 === 0 ? { key: `key-${index}` } : {}) }))
    let settled = 0
    const sent = producer.sendMany('t', messages).then(() => { settled++ })
    await initProducerId()
    const [produce] = brokers.of('Produce')
    expect(brokers.of('Produce')).toHaveLength(1)
    const expected = buildBatch(messages.map((message) => ({
      key: message.key === undefined ? null : Buffer.from(message.key), value: Buffer.from(message.value), headers: [], timestamp: T0,
    })), { producerId: 7, producerEpoch: 0, baseSequence: 0 })
    expect(recordsOf(produce).equals(expected)).toBe(true)
    await flushMicrotasks()
    expect(settled).toBe(0)
    produce?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 40 }] })
    await sent
    expect(settled).toBe(1)
    await producer.close()
  })

  test('the same records through send() and sendMany() make the same bytes', async () => {
    const messages = [
      { key: 'k', value: 'a', headers: { h: 'x' } },
      { value: Buffer.from('b'), headers: [{ key: 'h', value: null }] },
      { key: Buffer.from('k2'), value: null, timestamp: T0 - 5 },
    ]
    const bytes: Buffer[] = []
    for (const bulk of [false, true]) {
      const { brokers, scheduler, producer, initProducerId } = await scriptedProducer({ lingerMs: 10 })
      const sent = bulk ? producer.sendMany('t', messages) : producer.send({ topic: 't', messages })
      // Nothing leaves before the linger is over: all three records are in one batch.
      await flushMicrotasks()
      expect(brokers.of('Produce')).toHaveLength(0)
      scheduler.advance(10)
      await initProducerId()
      expect(brokers.of('Produce')).toHaveLength(1)
      const [produce] = brokers.of('Produce')
      bytes.push(recordsOf(produce))
      produce?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 0 }] })
      await sent
      await producer.close()
    }
    expect(bytes[0]?.equals(bytes[1] as Buffer)).toBe(true)
  })

  test('errors reach the caller: a refused message at once, a refused batch when it is answered', async () => {
    const { brokers, producer, initProducerId } = await scriptedProducer({ lingerMs: 0 })
    await expect(producer.sendMany('t', [{ value: 42 } as unknown as { value: string }])).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    await expect(producer.sendMany('t', [{ value: 'a', key: 1 } as unknown as { value: string }])).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    const sent = producer.sendMany('t', [{ value: 'a' }, { value: 'b' }])
    await initProducerId()
    brokers.of('Produce')[0]?.respond({ partitions: [{ topic: 't', partition: 0, errorCode: 'CORRUPT_MESSAGE', errorMessage: 'bad crc' }] })
    await expect(sent).rejects.toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE })
    await producer.close()
    await expect(producer.sendMany('t', [{ value: 'late' }])).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN })
  })
})

/**
 * A leader's log of t-0 with Kafka's idempotence rules (the broker's producer-state.ts, reduced to one producer): a
 * producer it does not know may start at any sequence; then a batch equal to one of the last five is a duplicate
 * (answered with its first offset, nothing appended), and any other must follow the last one.
 */
class SequencedLog {
  readonly values: string[] = []
  readonly #retained: Array<{ first: number, last: number, baseOffset: number }> = []

  answer (call: ScriptedCall): { errorCode?: string, baseOffset?: number } {
    const { header, records } = parseBatch(recordsOf(call))
    const first = header.baseSequence
    const last = first + header.lastOffsetDelta
    const duplicate = this.#retained.find((batch) => batch.first === first && batch.last === last)
    if (duplicate !== undefined) return { baseOffset: duplicate.baseOffset }
    const previous = this.#retained.at(-1)
    if (previous !== undefined && first !== previous.last + 1) return { errorCode: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }
    const baseOffset = this.values.length
    this.values.push(...records.map((record) => record.value?.toString() ?? ''))
    this.#retained.push({ first, last, baseOffset })
    if (this.#retained.length > 5) this.#retained.shift()
    return { baseOffset }
  }
}

describe('Producer with five batches in flight per partition', () => {
  test('a failure in the middle of a pipeline is retried in order: every record stored once, in order', async () => {
    // Batches of 4 records; 6 sends of 4 records each make 6 batches of t-0.
    const recordBytes = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 4 // length, attributes, deltas, key, value length, value, headers
    const { brokers, scheduler, producer, initProducerId } = await scriptedProducer({ lingerMs: 0, batchBytesMax: 61 + 4 * recordBytes, maxInFlightPerPartition: 5 })
    const expected: string[] = []
    const sends: Array<Promise<void>> = []
    for (let send = 0; send < 6; send++) {
      const messages = Array.from({ length: 4 }, (_, index) => ({ value: `v${send}${index}a`.slice(0, 4), partition: 0 }))
      expected.push(...messages.map((message) => message.value))
      sends.push(producer.sendMany('t', messages))
    }
    const log = new SequencedLog()
    const answered = new Set<ScriptedCall>()
    const answer = (call: ScriptedCall): void => {
      answered.add(call)
      call.respond({ partitions: [{ topic: 't', partition: 0, errorCode: '', ...log.answer(call) }] })
    }
    const pending = (): ScriptedCall[] => brokers.of('Produce').filter((call) => !answered.has(call))
    await initProducerId()

    // The first batch goes alone: the broker does not know producer 7 yet.
    expect(pending()).toHaveLength(1)
    answer(pending()[0] as ScriptedCall)
    await flushMicrotasks()
    // Then the other five at once, each in its own request.
    const pipeline = pending()
    expect(pipeline.map((call) => parseBatch(recordsOf(call)).header.baseSequence)).toEqual([4, 8, 12, 16, 20])
    const [second, third, fourth, fifth, sixth] = pipeline as [ScriptedCall, ScriptedCall, ScriptedCall, ScriptedCall, ScriptedCall]
    // The second is appended but its answer is lost; the third follows it; the fourth's leader moved (not
    // appended); the fifth and the sixth no longer follow anything the log has.
    log.answer(second)
    answered.add(second)
    second.fail(Object.assign(new Error('connection reset'), { code: 14 }))
    answer(third)
    answered.add(fourth)
    fourth.respond({ partitions: [{ topic: 't', partition: 0, errorCode: 'NOT_LEADER_OR_FOLLOWER' }] })
    answer(fifth)
    answer(sixth)
    expect(log.values).toHaveLength(12)

    // From here every request is answered by the log as it comes, and metadata names the same leader.
    const resent: number[] = []
    for (let round = 0; round < 40 && sends.length > 0; round++) {
      await flushMicrotasks()
      for (const refresh of brokers.of('Metadata').filter((call) => !answered.has(call))) {
        answered.add(refresh)
        refresh.respond(metadata(1, 5))
      }
      const now = pending()
      // Retries go one at a time, in sequence order.
      expect(now.length).toBeLessThanOrEqual(1)
      for (const call of now) {
        resent.push(parseBatch(recordsOf(call)).header.baseSequence)
        answer(call)
      }
      scheduler.advance(50)
      if ((await Promise.race([Promise.all(sends).then(() => true), flushMicrotasks().then(() => false)]))) break
    }
    await Promise.all(sends)
    expect(resent).toEqual([4, 12, 16, 20]) // the second (a duplicate now), then the three not stored
    expect(log.values).toEqual(expected)
    await producer.close()
  })

  test('after a minute without an acknowledgement, a partition sends its first batch alone again (the broker may have forgotten the producer)', async () => {
    const { brokers, scheduler, producer, initProducerId } = await scriptedProducer({ lingerMs: 0, batchBytesMax: 61 + 2 * 12, maxInFlightPerPartition: 5 })
    /** Sends three batches of t-0 and answers every request as it comes: how many requests were out in each round. */
    const rounds = async (): Promise<number[]> => {
      let done = false
      const sent = producer.sendMany('t', Array.from({ length: 6 }, (_, index) => ({ value: `v${index}`, partition: 0 }))).then(() => { done = true })
      await initProducerId()
      const counts: number[] = []
      let answered = 0
      for (let round = 0; round < 5 && !done; round++) {
        const pending = brokers.of('Produce').slice(answered)
        answered += pending.length
        counts.push(pending.length)
        for (const call of pending) call.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 0 }] })
        await flushMicrotasks()
      }
      await sent
      brokers.calls.splice(0) // the next rounds count from zero
      return counts
    }
    expect(await rounds()).toEqual([1, 2])
    scheduler.advance(30_000)
    expect(await rounds()).toEqual([3]) // acknowledged within the minute: all three at once
    scheduler.advance(61_000)
    expect(await rounds()).toEqual([1, 2])
    await producer.close()
  })

  test('without idempotence (acks=leader), or with maxInFlightPerPartition 1, a partition has one batch in flight', async () => {
    for (const config of [{ acks: 'leader' as const, maxInFlightPerPartition: 5 }, { maxInFlightPerPartition: 1 }]) {
      const { brokers, producer, initProducerId } = await scriptedProducer({ ...config, lingerMs: 0, batchBytesMax: 61 + 2 * 12 })
      const sent = producer.sendMany('t', Array.from({ length: 8 }, (_, index) => ({ value: `v${index}`, partition: 0 })))
      await initProducerId()
      for (let batch = 0; batch < 4; batch++) {
        const pending = brokers.of('Produce').slice(batch)
        expect(pending).toHaveLength(1)
        pending[0]?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 2 * batch }] })
        await flushMicrotasks()
      }
      await sent
      await producer.close()
    }
  })
})

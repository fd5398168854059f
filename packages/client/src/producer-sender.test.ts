import { ErrorCode, seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { ProducerBatch } from './producer-batch.js'
import { defaultProducerConfig, validateProducerConfig } from './producer-config.js'
import { recordInput } from './producer.js'
import { ProducerSender, produceOutcomes, produceRequest } from './producer-sender.js'
import type { Appended } from './record-accumulator.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { knownLeader, metadata, scriptedConnection } from './testing/scripted-brokers.js'

function batch (topic: string, partition: number): ProducerBatch {
  const created = new ProducerBatch({ topic, partition, createdMs: 0 })
  const record = { key: null, value: Buffer.from('v'), timestamp: 1 }
  void created.append(record, created.appendBytes(record))
  created.close()
  created.encode('none')
  return created
}

describe('produceRequest', () => {
  test('one entry per batch with its bytes, acks on the wire as -1/1/0', () => {
    const batches = [batch('a', 0), batch('b', 3)]
    const request = produceRequest(batches, { acks: 'all', timeoutMs: 1000 })
    expect(request).toEqual({
      acks: -1, timeoutMs: 1000,
      partitions: [{ topic: 'a', partition: 0, records: batches[0]?.buffer }, { topic: 'b', partition: 3, records: batches[1]?.buffer }],
    })
    expect(produceRequest(batches, { acks: 'leader', timeoutMs: 1 }).acks).toBe(1)
    expect(produceRequest(batches, { acks: 'none', timeoutMs: 1 }).acks).toBe(0)
  })
})

describe('produceOutcomes', () => {
  const batches = [batch('a', 0), batch('a', 1), batch('b', 0), batch('c', 0)]
  const outcomes = produceOutcomes({
    partitions: [
      { topic: 'b', partition: 0, errorCode: 'NOT_LEADER_OR_FOLLOWER', errorMessage: 'leader is 2' },
      { topic: 'a', partition: 1, baseOffset: 7, logAppendTimeMs: 1234 },
      { topic: 'a', partition: 0, errorCode: '', baseOffset: 40, logAppendTimeMs: -1 },
    ],
  }, batches)

  test('matches results to batches by topic and partition, whatever their order', () => {
    expect(outcomes[0]).toMatchObject({ ok: true, baseOffset: 40, logAppendTimeMs: undefined })
    expect(outcomes[1]).toMatchObject({ ok: true, baseOffset: 7, logAppendTimeMs: 1234 })
    expect(outcomes.map((outcome) => outcome.batch)).toEqual(batches)
  })

  test('maps error codes to retriable GregorErrors with the partition in details', () => {
    expect(outcomes[2]).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, retriable: true, details: { topic: 'b', partition: 0 } } })
  })

  test('a partition missing from the response fails, not retriable', () => {
    expect(outcomes[3]).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_SERVER_ERROR, retriable: false } })
  })
})

describe('recordInput', () => {
  test('encodes strings as UTF-8 and headers from a record or a list', () => {
    expect(recordInput({ key: 'k', value: 'é', headers: { a: 'x', b: null }, timestamp: 5 })).toEqual({
      key: Buffer.from('k'), value: Buffer.from('é'), timestamp: 5,
      headers: [{ key: 'a', value: Buffer.from('x') }, { key: 'b', value: null }],
    })
    const headers = [{ key: 'a', value: null }, { key: 'a', value: Buffer.from('y') }]
    expect(recordInput({ value: null, headers })).toEqual({ key: null, value: null, headers })
  })
})

describe('ProducerSender and a black-holed leader', () => {
  test('a batch stalled at a leader that stopped answering is resent, with the same producer id and sequence, to the leader another broker names', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection)
    const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0 })
    const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
    const appended = await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from('a'), headers: [] } }) as Appended
    let delivered: number | undefined
    void appended.delivery.then((metadata) => { delivered = metadata.offset })
    await flushMicrotasks()
    brokers.of('InitProducerId')[0]?.respond({ producerId: 42, producerEpoch: 0 })
    await flushMicrotasks()
    const first = brokers.of('Produce')[0]
    expect(first?.address).toBe('b1:9092')

    // b1 never answers; 300 ms on, b2 (not b1) is asked where t-0 is led, and names broker 3.
    scheduler.advance(300)
    await flushMicrotasks()
    const refresh = brokers.of('Metadata').at(-1)
    expect(refresh?.address).not.toBe('b1:9092')
    refresh?.respond(metadata(3, 6))
    await flushMicrotasks()
    expect(first?.cancelled).toBe(true)
    // Resent at once (a zero-delay wake): no backoff, and no second metadata request (the stall watch's is fresh).
    scheduler.advance(0)
    await flushMicrotasks()
    expect(brokers.of('Metadata')).toHaveLength(2)
    const resent = brokers.of('Produce')[1]
    expect(resent?.address).toBe('b3:9092')
    expect(Buffer.from(resent?.request.partitions[0].records)).toEqual(Buffer.from(first?.request.partitions[0].records))
    resent?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 11 }] })
    await flushMicrotasks()
    expect(delivered).toBe(11)
    // Long before the 5 s request timeout.
    expect(scheduler.nowMs()).toBeLessThan(1_000)
    sender.close()
  })
})

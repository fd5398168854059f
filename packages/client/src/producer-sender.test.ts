import { ErrorCode, type GregorError, seededRng } from '@gregor/common'
import { type BatchHeader, parseBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { ProducerBatch } from './producer-batch.js'
import { defaultProducerConfig, validateProducerConfig } from './producer-config.js'
import { recordInput } from './producer.js'
import { ProducerSender, produceOutcomes, produceRequest } from './producer-sender.js'
import type { Appended } from './record-accumulator.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { type ScriptedCall, advanceToStall, knownLeader, metadata, refuseStaleTopicId, scriptedConnection } from './testing/scripted-brokers.js'

function batch (topic: string, partition: number): ProducerBatch {
  const created = new ProducerBatch({ topic, partition, createdMs: 0 })
  const record = { key: null, value: Buffer.from('v') }
  void created.append(record, 1, created.appendBytes(record, 1))
  created.close()
  created.encode('none')
  return created
}

describe('produceRequest', () => {
  test('one entry per batch with its bytes and topic id, acks on the wire as -1/1/0', () => {
    const batches = [batch('a', 0), batch('b', 3)]
    const request = produceRequest(batches, { acks: 'all', timeoutMs: 1000, topicIdOf: (topic) => topic === 'a' ? 'id-a' : '' })
    expect(request).toEqual({
      acks: -1, timeoutMs: 1000,
      partitions: [
        { topic: 'a', partition: 0, records: batches[0]?.buffer, topicId: 'id-a' },
        { topic: 'b', partition: 3, records: batches[1]?.buffer, topicId: '' },
      ],
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

/**
 * An idempotent sender on scripted brokers (t-0 led by broker 1) that has appended one record to t-0 and got producer
 * id 42: its Produce is out. `delivered()` is the record's offset once acknowledged.
 */
async function oneRecordSent (overrides: Partial<typeof defaultProducerConfig>) {
  const { brokers, scheduler, connection } = scriptedConnection()
  await knownLeader(brokers, connection)
  const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0, ...overrides })
  const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
  const appended = await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from('a'), headers: [] } }) as Appended
  let offset: number | undefined
  void appended.delivery.then((metadata) => { offset = metadata.offset })
  await flushMicrotasks()
  brokers.of('InitProducerId')[0]?.respond({ producerId: 42, producerEpoch: 0 })
  await flushMicrotasks()
  return { brokers, scheduler, sender, delivered: (): number | undefined => offset }
}

describe('ProducerSender and a black-holed leader', () => {
  test('a batch stalled at a leader that stopped answering is resent, with the same producer id and sequence, to the leader another broker names', async () => {
    const { brokers, scheduler, sender, delivered } = await oneRecordSent({})
    const first = brokers.of('Produce')[0]
    expect(first?.address).toBe('b1:9092')

    // b1 never answers; 300 ms on, b2 (not b1) is asked where t-0 is led, and names broker 3.
    const { refresh } = await advanceToStall(brokers, scheduler, 300)
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
    expect(delivered()).toBe(11)
    // Long before the 5 s request timeout.
    expect(scheduler.nowMs()).toBeLessThan(1_000)
    sender.close()
  })
})

describe('ProducerSender and the delivery timeout of a batch that was sent (issue 10, defect 10b)', () => {
  /** An idempotent sender on scripted brokers (t-0 led by broker 1), delivery timeout 2 s, with producer id 42. */
  async function idempotentSender () {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection)
    const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0, requestTimeoutMs: 1_000, deliveryTimeoutMs: 2_000 })
    const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
    const send = async (value: string): Promise<{ error: GregorError | undefined }> => {
      const appended = await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from(value), headers: [] } }) as Appended
      const outcome: { error: GregorError | undefined } = { error: undefined }
      appended.delivery.catch((error: GregorError) => { outcome.error = error })
      await flushMicrotasks()
      return outcome
    }
    const first = await send('a')
    brokers.of('InitProducerId')[0]?.respond({ producerId: 42, producerEpoch: 0 })
    await flushMicrotasks()
    return { brokers, scheduler, connection, sender, send, first }
  }

  const header = (call: ScriptedCall | undefined): BatchHeader => parseBatch(Buffer.from(call?.request.partitions[0].records)).header
  const unavailable = (): Error => Object.assign(new Error('connection refused'), { code: 14 })
  const maybeCommitted = {
    code: ErrorCode.REQUEST_TIMED_OUT,
    message: 'delivery timeout expired after the batch was sent: it may have been committed',
    details: { maybeCommitted: true, topic: 't', partition: 0 },
  }

  test('a batch waiting to be retried when its delivery timeout passes fails as maybe committed, and the next batch goes under a new producer id', async () => {
    const { brokers, scheduler, sender, send, first } = await idempotentSender()
    expect(header(brokers.of('Produce')[0])).toMatchObject({ producerId: 42, baseSequence: 0 })
    // The leader is unreachable (the batch may have been written), and then the partition has no leader for a while.
    brokers.of('Produce')[0]?.fail(unavailable())
    await flushMicrotasks()
    brokers.of('Metadata').at(-1)?.respond(metadata(-1, 6))
    await flushMicrotasks()
    scheduler.advance(1_999)
    await flushMicrotasks()
    expect(first.error).toBeUndefined()
    scheduler.advance(1)
    await flushMicrotasks()
    expect(first.error).toMatchObject({ ...maybeCommitted, details: { ...maybeCommitted.details, attempts: 1 } })
    expect(brokers.of('Produce')).toHaveLength(1)

    // Whether sequence 0 of producer 42 is in the log is unknown: the next batch is numbered under a new producer id.
    brokers.of('Metadata').at(-1)?.respond(metadata(1, 6))
    const second = await send('b')
    expect(brokers.of('InitProducerId')).toHaveLength(2)
    expect(brokers.of('Produce')).toHaveLength(1)
    brokers.of('InitProducerId')[1]?.respond({ producerId: 43, producerEpoch: 0 })
    await flushMicrotasks()
    expect(header(brokers.of('Produce')[1])).toMatchObject({ producerId: 43, baseSequence: 0 })
    brokers.of('Produce')[1]?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 1 }] })
    await flushMicrotasks()
    expect(second.error).toBeUndefined()
    sender.close()
  })

  test('a batch in flight when its delivery timeout passes fails then; nothing more is sent to its partition until the attempt is answered, and then under a new producer id', async () => {
    const { brokers, scheduler, sender, send, first } = await idempotentSender()
    const inFlight = brokers.of('Produce')[0]
    // The connection's own deadline (5 s) is later than the delivery timeout: the attempt is still out at 2 s.
    scheduler.advance(2_000)
    await flushMicrotasks()
    expect(first.error).toMatchObject({ ...maybeCommitted, details: { ...maybeCommitted.details, attempts: 1 } })
    const second = await send('b')
    scheduler.advance(1_000)
    await flushMicrotasks()
    expect(inFlight?.cancelled).toBe(false)
    expect(brokers.of('Produce')).toHaveLength(1)
    expect(brokers.of('InitProducerId')).toHaveLength(1)

    inFlight?.fail(unavailable())
    await flushMicrotasks()
    expect(brokers.of('Produce')).toHaveLength(1)
    expect(brokers.of('InitProducerId')).toHaveLength(2)
    brokers.of('InitProducerId')[1]?.respond({ producerId: 43, producerEpoch: 0 })
    await flushMicrotasks()
    expect(brokers.of('Produce')).toHaveLength(2)
    expect(header(brokers.of('Produce')[1])).toMatchObject({ producerId: 43, baseSequence: 0, recordCount: 1 })
    brokers.of('Produce')[1]?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 1 }] })
    await flushMicrotasks()
    expect(second.error).toBeUndefined()
    sender.close()
  })

  test('a batch that expires before it was ever sent fails as such and keeps the producer id', async () => {
    const { brokers, scheduler, connection, sender, send, first } = await idempotentSender()
    brokers.of('Produce')[0]?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 0 }] })
    await flushMicrotasks()
    expect(first.error).toBeUndefined()
    // The partition loses its leader before the next batch can go.
    const refresh = connection.metadata(['t'])
    await flushMicrotasks()
    brokers.of('Metadata').at(-1)?.respond(metadata(-1, 6))
    await refresh
    const second = await send('b')
    scheduler.advance(2_000)
    await flushMicrotasks()
    expect(second.error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, message: 'record batch expired before it was sent', details: { attempts: 0 } })
    brokers.of('Metadata').at(-1)?.respond(metadata(1, 6))
    await send('c')
    expect(brokers.of('InitProducerId')).toHaveLength(1)
    expect(header(brokers.of('Produce')[1])).toMatchObject({ producerId: 42, baseSequence: 1 })
    sender.close()
  })
})

describe('ProducerSender and topic ids (KIP-516)', () => {
  test('a batch carries the topic id of the metadata; refused for a stale one, it is resent with the refreshed id, as the same bytes', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection, 'old')
    const config = validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0, idempotent: false })
    const sender = new ProducerSender(config, { connection, clock: scheduler, wallClock: scheduler, scheduler, rng: seededRng(1) })
    const appended = await sender.accumulator.append({ topic: 't', partition: 0, record: { key: null, value: Buffer.from('a'), headers: [] } }) as Appended
    let delivered: number | undefined
    void appended.delivery.then((metadata) => { delivered = metadata.offset })
    await flushMicrotasks()
    const first = brokers.of('Produce')[0]
    expect(first?.request.partitions[0].topicId).toBe('old')
    await refuseStaleTopicId(brokers, scheduler, first, 'new')
    const resent = brokers.of('Produce')[1]
    expect(resent?.request.partitions[0].topicId).toBe('new')
    expect(Buffer.from(resent?.request.partitions[0].records)).toEqual(Buffer.from(first?.request.partitions[0].records))
    resent?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 0 }] })
    await flushMicrotasks()
    expect(delivered).toBe(0)
    sender.close()
  })
})

describe('ProducerSender after its leader died (issue 12, failover)', () => {
  test('a batch waiting out its backoff goes to the new leader as soon as a metadata refresh names it, not after the doubled backoff', async () => {
    const { brokers, scheduler, sender, delivered } = await oneRecordSent({ retryBackoffMs: 50, retryBackoffMaxMs: 1_000 })
    const refused = (): Error => Object.assign(new Error('connection refused'), { code: 14 })
    // Broker 1 died: every attempt at it is refused, and the metadata still names it until the controller fences it.
    let metadataAnswered = 0
    const answerMetadata = async (leader: number, leaderEpoch: number): Promise<void> => {
      const pending = brokers.of('Metadata').slice(metadataAnswered)
      metadataAnswered += pending.length
      for (const call of pending) call.respond(metadata(leader, leaderEpoch))
      await flushMicrotasks()
    }
    const failProduces = async (): Promise<void> => {
      for (const call of brokers.of('Produce')) if (call.address === 'b1:9092' && !call.cancelled) call.fail(refused())
      await flushMicrotasks()
    }
    let failed = 0
    while (scheduler.nowMs() < 400) {
      const produces = brokers.of('Produce').length
      if (produces > failed) { failed = produces; await failProduces() }
      await answerMetadata(1, 5)
      scheduler.advance(10)
      await flushMicrotasks()
    }
    // Three attempts at the dead broker by now: the batch's backoff has grown to 400 ms (50, 100, 200, 400).
    expect(brokers.of('Produce').every((call) => call.address === 'b1:9092')).toBe(true)
    await failProduces()
    // The metadata is asked again every retryBackoffMs while the batch waits, not only after each failed attempt.
    expect(brokers.of('Metadata').length).toBeGreaterThanOrEqual(8)
    // The controller elected broker 2: the next refresh names it, and the batch goes there at once.
    const electedAtMs = scheduler.nowMs()
    while (brokers.of('Produce').at(-1)?.address !== 'b2:9092' && scheduler.nowMs() < electedAtMs + 1_000) {
      await answerMetadata(2, 6)
      scheduler.advance(10)
      await flushMicrotasks()
    }
    const resent = brokers.of('Produce').at(-1)
    expect(resent?.address).toBe('b2:9092')
    // At most one refresh interval (plus a 10 ms step) after the election, where the backoff alone would wait up to 400 ms.
    expect(scheduler.nowMs() - electedAtMs).toBeLessThanOrEqual(70)
    // The new leader has not applied its election yet: refused once, the batch is back after the base backoff
    // (attempts at this leader count, not the ones at the dead broker).
    resent?.respond({ partitions: [{ topic: 't', partition: 0, errorCode: 'NOT_LEADER_OR_FOLLOWER' }] })
    await flushMicrotasks()
    const refusedAtMs = scheduler.nowMs()
    while (brokers.of('Produce').at(-1) === resent && scheduler.nowMs() < refusedAtMs + 1_000) {
      await answerMetadata(2, 6)
      scheduler.advance(5)
      await flushMicrotasks()
    }
    expect(scheduler.nowMs() - refusedAtMs).toBeLessThanOrEqual(65)
    const again = brokers.of('Produce').at(-1)
    expect(again?.address).toBe('b2:9092')
    again?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 3 }] })
    await flushMicrotasks()
    expect(delivered()).toBe(3)
    // Acknowledged: the metadata is no longer polled.
    for (let step = 0; step < 10; step++) { await answerMetadata(2, 6); scheduler.advance(50); await flushMicrotasks() }
    const asked = brokers.of('Metadata').length
    for (let step = 0; step < 20; step++) { await answerMetadata(2, 6); scheduler.advance(50); await flushMicrotasks() }
    expect(brokers.of('Metadata')).toHaveLength(asked)
    sender.close()
  })
})

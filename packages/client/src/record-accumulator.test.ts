import { ErrorCode, GregorError, seededRng } from '@gregor/common'
import { BATCH_HEADER_BYTES, COMPRESSION_CODEC_IDS, COMPRESSION_NAMES, type RecordInput, parseBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import type { ProducerBatch, RecordMetadata } from './producer-batch.js'
import { defaultProducerConfig } from './producer-config.js'
import { type AppendResult, RecordAccumulator, type RecordAccumulatorConfig } from './record-accumulator.js'
import { recordBytes } from './record-bytes.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

function setup (overrides: Partial<RecordAccumulatorConfig> = {}) {
  const time = new ManualScheduler()
  let readyCalls = 0
  const config = { ...defaultProducerConfig, ...overrides }
  const accumulator = new RecordAccumulator(config, {
    clock: time, wallClock: time, scheduler: time, onReady: () => { readyCalls++ },
  })
  return { time, accumulator, readyCalls: () => readyCalls }
}

const record = (value: string, key?: string): RecordInput =>
  ({ key: key === undefined ? null : Buffer.from(key), value: Buffer.from(value) })

function delivery (result: AppendResult): Promise<RecordMetadata> {
  if (result.status !== 'appended') throw new Error('expected an append')
  return result.delivery
}

const identity = { producerId: 7, producerEpoch: 0 }

/** What a batch that was sent and then timed out is rejected with. */
const maybeCommitted = {
  code: ErrorCode.REQUEST_TIMED_OUT,
  message: 'delivery timeout expired after the batch was sent: it may have been committed',
  details: { maybeCommitted: true, attempts: 1, topic: 't', partition: 0 },
}

/** An accumulator (delivery timeout 1 s) numbering for `identity`, whose first batch of t-0 was drained: sent. */
async function sentBatch () {
  const { time, accumulator } = setup({ lingerMs: 0, deliveryTimeoutMs: 1000 })
  accumulator.setProducerIdentity(identity)
  const pending = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') }))
  const [batch] = accumulator.drain() as [ProducerBatch]
  return { time, accumulator, pending, batch }
}

/** Bytes of a 40-byte-value keyless record at offsetDelta < 64 and timestamp delta 0: 47. */
const RECORD_40_BYTES = recordBytes(record('x'.repeat(40)), { timestampDeltaMs: 0, offsetDelta: 1 })

describe('RecordAccumulator linger and size', () => {
  test('a batch that is not full becomes ready once its first record has waited lingerMs', async () => {
    const { time, accumulator, readyCalls } = setup({ lingerMs: 5 })
    await accumulator.append({ topic: 't', partition: 0, record: record('a') })
    time.advance(3)
    await accumulator.append({ topic: 't', partition: 0, record: record('b') })
    expect(accumulator.ready()).toEqual({ partitions: [], nextReadyCheckDelayMs: 2 })
    expect(accumulator.drain()).toEqual([])
    const callsBefore = readyCalls()
    time.advance(1)
    expect(accumulator.ready().partitions).toEqual([])
    time.advance(1)
    await flushMicrotasks()
    expect(readyCalls()).toBeGreaterThan(callsBefore)
    expect(accumulator.ready()).toEqual({ partitions: [{ topic: 't', partition: 0 }], nextReadyCheckDelayMs: undefined })
    const [batch] = accumulator.drain()
    expect(batch?.recordCount).toBe(2)
  })

  test('with lingerMs 0 a batch is ready at once', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    await accumulator.append({ topic: 't', partition: 3, record: record('a') })
    expect(accumulator.ready().partitions).toEqual([{ topic: 't', partition: 3 }])
  })

  test('a full batch is ready before lingerMs, and batches never pass batchBytesMax', async () => {
    const batchBytesMax = BATCH_HEADER_BYTES + 3 * RECORD_40_BYTES
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax })
    for (let i = 0; i < 3; i++) await accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(40)) })
    // Exactly full: closed at once, ready without waiting.
    expect(accumulator.ready().partitions).toHaveLength(1)
    await accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(40)) })
    const [first, ...rest] = accumulator.drain()
    expect(rest).toEqual([])
    expect(first?.recordCount).toBe(3)
    expect(first?.buffer.length).toBe(batchBytesMax)
    expect(first?.sizeBytes).toBe(batchBytesMax)
  })

  test('a record that does not fit closes the open batch and starts the next one', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax: BATCH_HEADER_BYTES + 2 * RECORD_40_BYTES + 10 })
    for (let i = 0; i < 3; i++) await accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(40)) })
    expect(accumulator.batchCount).toBe(2)
    expect(accumulator.ready().partitions).toEqual([{ topic: 't', partition: 0 }])
  })

  test('a record larger than batchBytesMax gets a batch of its own', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax: 100 })
    await accumulator.append({ topic: 't', partition: 0, record: record('small') })
    await accumulator.append({ topic: 't', partition: 0, record: record('y'.repeat(500)) })
    await accumulator.append({ topic: 't', partition: 0, record: record('small again') })
    const sizes: number[] = []
    for (const batch of accumulator.drain()) {
      sizes.push(batch.recordCount)
      accumulator.complete(batch, { baseOffset: 0 })
    }
    for (const batch of accumulator.drain()) sizes.push(batch.recordCount)
    expect(sizes).toEqual([1, 1])
    expect(accumulator.batchCount).toBe(2) // the large one in flight, the last small one queued
  })
})

describe('RecordAccumulator delivery and order', () => {
  test('resolves each record with its partition, offset baseOffset + i and its timestamp', async () => {
    const { time, accumulator } = setup({ lingerMs: 0 })
    const first = delivery(await accumulator.append({ topic: 't', partition: 2, record: record('a') }))
    const second = delivery(await accumulator.append({ topic: 't', partition: 2, record: { value: null, timestamp: 1234 } }))
    const [batch] = accumulator.drain()
    accumulator.complete(batch as ProducerBatch, { baseOffset: 500 })
    await expect(first).resolves.toEqual({ topic: 't', partition: 2, offset: 500, timestamp: time.nowMs() })
    await expect(second).resolves.toEqual({ topic: 't', partition: 2, offset: 501, timestamp: 1234 })
    expect(accumulator.bufferedBytes).toBe(0)
  })

  test('a LOG_APPEND_TIME answer gives every record the broker time', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    const pending = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') }))
    accumulator.complete(accumulator.drain()[0] as ProducerBatch, { baseOffset: 7, logAppendTimeMs: 99 })
    await expect(pending).resolves.toMatchObject({ offset: 7, timestamp: 99 })
  })

  test('fail rejects every record of the batch and frees its bytes', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    const deliveries = [
      delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') })),
      delivery(await accumulator.append({ topic: 't', partition: 0, record: record('b') })),
    ]
    const error = new GregorError(ErrorCode.NOT_ENOUGH_REPLICAS, 'isr too small')
    accumulator.fail(accumulator.drain()[0] as ProducerBatch, error)
    for (const pending of deliveries) await expect(pending).rejects.toBe(error)
    expect(accumulator.bufferedBytes).toBe(0)
    expect(accumulator.batchCount).toBe(0)
  })

  test('keeps append order per partition: one batch in flight per partition, offsets in order', async () => {
    const { accumulator } = setup({ lingerMs: 0, batchBytesMax: BATCH_HEADER_BYTES + 4 * RECORD_40_BYTES })
    const sent = new Map<number, string[]>()
    const deliveries: Array<Promise<RecordMetadata>> = []
    for (let i = 0; i < 90; i++) {
      const value = `${i % 3}-${String(i).padStart(38, '0')}`
      deliveries.push(delivery(await accumulator.append({ topic: 't', partition: i % 3, record: record(value) })))
    }
    const nextOffset = new Map<number, number>()
    for (let round = 0; accumulator.batchCount > 0; round++) {
      const batches = accumulator.drain()
      // One batch per partition per drain: the others of the partition wait until this one is settled.
      expect(new Set(batches.map((batch) => batch.partition)).size).toBe(batches.length)
      for (const batch of batches) {
        const values = parseBatch(batch.buffer).records.map((parsed) => parsed.value?.toString() ?? '')
        sent.set(batch.partition, [...(sent.get(batch.partition) ?? []), ...values])
        const baseOffset = nextOffset.get(batch.partition) ?? 0
        nextOffset.set(batch.partition, baseOffset + batch.recordCount)
        accumulator.complete(batch, { baseOffset })
      }
    }
    for (const partition of [0, 1, 2]) {
      const values = sent.get(partition) ?? []
      expect(values).toHaveLength(30)
      expect(values).toEqual([...values].sort())
    }
    const results = await Promise.all(deliveries)
    for (const [i, result] of results.entries()) expect(result).toMatchObject({ partition: i % 3, offset: Math.floor(i / 3) })
  })

  test('a re-enqueued batch waits out its backoff, goes first, and is resent as the same bytes', async () => {
    const { time, accumulator } = setup({ lingerMs: 0 })
    await accumulator.append({ topic: 't', partition: 0, record: record('first') })
    const [batch] = accumulator.drain() as [ProducerBatch]
    const bytes = Buffer.from(batch.buffer)
    const later = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('second') }))
    expect(accumulator.drain()).toEqual([]) // muted while `batch` is in flight
    accumulator.reenqueue(batch, { delayMs: 100 })
    expect(accumulator.ready()).toEqual({ partitions: [], nextReadyCheckDelayMs: 100 })
    time.advance(100)
    const [again] = accumulator.drain()
    expect(again).toBe(batch)
    expect(again?.attempts).toBe(2)
    expect(again?.buffer.equals(bytes)).toBe(true)
    accumulator.complete(batch, { baseOffset: 0 })
    const [next] = accumulator.drain()
    accumulator.complete(next as ProducerBatch, { baseOffset: 1 })
    await expect(later).resolves.toMatchObject({ offset: 1 })
  })

  test('a batch still queued after deliveryTimeoutMs fails with REQUEST_TIMED_OUT', async () => {
    const { time, accumulator } = setup({ lingerMs: 0, deliveryTimeoutMs: 1000 })
    const pending = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') }))
    const rejected = expect(pending).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, details: { recordCount: 1 } })
    time.advance(999)
    expect(accumulator.batchCount).toBe(1)
    time.advance(1)
    await rejected
    expect(accumulator.batchCount).toBe(0)
    expect(accumulator.bufferedBytes).toBe(0)
  })

  test('a batch never sent fails as expired before it was sent, and keeps the producer id', async () => {
    const { time, accumulator } = setup({ lingerMs: 0, deliveryTimeoutMs: 1000 })
    accumulator.setProducerIdentity(identity)
    const pending = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') }))
    const rejected = expect(pending).rejects.toMatchObject({
      code: ErrorCode.REQUEST_TIMED_OUT, message: 'record batch expired before it was sent', details: { attempts: 0 },
    })
    time.advance(1000)
    await rejected
    expect(accumulator.producerIdentity).toEqual(identity)
  })

  test('a batch in flight at its delivery timeout fails then, as maybe committed; its partition stays muted until the attempt is answered', async () => {
    const { time, accumulator, pending, batch } = await sentBatch()
    time.advance(500)
    await accumulator.append({ topic: 't', partition: 0, record: record('b') })
    const rejected = expect(pending).rejects.toMatchObject(maybeCommitted)
    time.advance(500)
    await rejected
    // Its fate is unknown while the request is out: nothing is numbered after it yet.
    expect(accumulator.ready().partitions).toEqual([])
    expect(accumulator.producerIdentity).toEqual(identity)
    // The answer is a retriable failure: the batch is not resent, the partition is unmuted, the producer id dropped.
    accumulator.reenqueue(batch, { delayMs: 0 })
    expect(accumulator.producerIdentity).toBeUndefined()
    expect(accumulator.batchCount).toBe(1)
    accumulator.setProducerIdentity({ producerId: 8, producerEpoch: 0 })
    const [next] = accumulator.drain()
    expect(parseBatch((next as ProducerBatch).buffer).header).toMatchObject({ producerId: 8, baseSequence: 0, recordCount: 1 })
  })

  test('a batch that expired in flight and then succeeds keeps the producer id (its sequence is known after all)', async () => {
    const { time, accumulator, pending, batch } = await sentBatch()
    const rejected = expect(pending).rejects.toMatchObject(maybeCommitted)
    time.advance(5000)
    await rejected
    accumulator.complete(batch, { baseOffset: 3 })
    expect(accumulator.producerIdentity).toEqual(identity)
    expect(accumulator.batchCount).toBe(0)
    expect(accumulator.bufferedBytes).toBe(0)
  })

  test('a batch sent, then waiting to be retried at its delivery timeout fails as maybe committed and drops the producer id', async () => {
    const { time, accumulator, pending, batch } = await sentBatch()
    // Retried later (say, its partition has no leader for now): it waits in the queue, sent once.
    accumulator.reenqueue(batch, { delayMs: 10 })
    const rejected = expect(pending).rejects.toMatchObject(maybeCommitted)
    time.advance(1000)
    await rejected
    expect(accumulator.producerIdentity).toBeUndefined()
    expect(accumulator.batchCount).toBe(0)
  })

  test('a batch sent under an older producer id changes nothing when it fails', async () => {
    const { accumulator, pending, batch } = await sentBatch()
    const newer = { producerId: 8, producerEpoch: 0 }
    accumulator.setProducerIdentity(newer)
    accumulator.fail(batch, new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'too large'))
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE })
    expect(accumulator.producerIdentity).toEqual(newer)
  })

  test('a bad record fails its own append with INVALID_REQUEST and leaves the batch alone', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    const good = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('ok') }))
    // Strings are written as UTF-8; anything else that is not bytes or null is refused.
    const bad = { value: 42 } as unknown as RecordInput
    await expect(accumulator.append({ topic: 't', partition: 0, record: bad })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    await expect(accumulator.append({ topic: 't', partition: 0, record: { value: null, timestamp: -1 } }))
      .rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    await expect(accumulator.append({ topic: '', partition: 0, record: record('x') })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    accumulator.complete(accumulator.drain()[0] as ProducerBatch, { baseOffset: 0 })
    await expect(good).resolves.toMatchObject({ offset: 0 })
  })

  test('abortOnNewBatch appends only to an open batch with room', async () => {
    const { accumulator } = setup({ lingerMs: 60_000 })
    expect(await accumulator.append({ topic: 't', partition: 0, record: record('a'), abortOnNewBatch: true }))
      .toEqual({ status: 'abortedForNewBatch' })
    expect(accumulator.batchCount).toBe(0)
    await accumulator.append({ topic: 't', partition: 0, record: record('a') })
    expect((await accumulator.append({ topic: 't', partition: 0, record: record('b'), abortOnNewBatch: true })).status).toBe('appended')
  })
})

describe('RecordAccumulator buffer limit', () => {
  const batchBytesMax = BATCH_HEADER_BYTES + 2 * RECORD_40_BYTES
  const value = 'x'.repeat(40)

  test('an append past bufferBytesMax waits for a settled batch, and batches are sent at once meanwhile', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax, bufferBytesMax: 2 * batchBytesMax, maxBlockMs: 1000 })
    for (let i = 0; i < 4; i++) await accumulator.append({ topic: 't', partition: i % 2, record: record(value) })
    expect(accumulator.bufferedBytes).toBe(2 * batchBytesMax)
    let appended = false
    const waiting = accumulator.append({ topic: 't', partition: 0, record: record(value) }).then((result) => {
      appended = true
      return result
    })
    await flushMicrotasks()
    expect(appended).toBe(false)
    const drained = accumulator.drain()
    expect(drained).toHaveLength(2) // both full here, but an exhausted buffer would make them ready anyway
    accumulator.complete(drained[0] as ProducerBatch, { baseOffset: 0 })
    expect((await waiting).status).toBe('appended')
    expect(accumulator.bufferedBytes).toBe(batchBytesMax + BATCH_HEADER_BYTES + RECORD_40_BYTES)
  })

  test('while someone waits for buffer space, batches that are not full are ready at once', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax, bufferBytesMax: batchBytesMax, maxBlockMs: 1000 })
    await accumulator.append({ topic: 't', partition: 0, record: record(value) })
    expect(accumulator.ready().partitions).toEqual([])
    const waiting = accumulator.append({ topic: 't', partition: 1, record: record(value.repeat(2)) })
    await flushMicrotasks()
    expect(accumulator.ready().partitions).toEqual([{ topic: 't', partition: 0 }])
    accumulator.complete(accumulator.drain()[0] as ProducerBatch, { baseOffset: 0 })
    expect((await waiting).status).toBe('appended')
  })

  test('fails with REQUEST_TIMED_OUT (buffer exhausted) after exactly maxBlockMs', async () => {
    const { time, accumulator } = setup({ lingerMs: 60_000, batchBytesMax, bufferBytesMax: batchBytesMax, maxBlockMs: 1000 })
    await accumulator.append({ topic: 't', partition: 0, record: record(value) })
    await accumulator.append({ topic: 't', partition: 0, record: record(value) })
    let settled = false
    const waiting = accumulator.append({ topic: 't', partition: 0, record: record(value) })
    waiting.then(() => { settled = true }, () => { settled = true })
    time.advance(999)
    await flushMicrotasks()
    expect(settled).toBe(false)
    time.advance(1)
    await expect(waiting).rejects.toMatchObject({
      code: ErrorCode.REQUEST_TIMED_OUT,
      details: { reason: 'bufferExhausted', bufferBytesMax: batchBytesMax, waitedMs: 1000 },
    })
    expect(accumulator.bufferedBytes).toBe(batchBytesMax)
  })

  test('with maxBlockMs 0 an append fails at once instead of waiting', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax, bufferBytesMax: batchBytesMax, maxBlockMs: 0 })
    await accumulator.append({ topic: 't', partition: 0, record: record(value) })
    await accumulator.append({ topic: 't', partition: 0, record: record(value) })
    await expect(accumulator.append({ topic: 't', partition: 1, record: record('a') }))
      .rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, details: { reason: 'bufferExhausted' } })
  })

  test('waiters are served in arrival order: a small append does not overtake a large one', async () => {
    const { accumulator } = setup({ lingerMs: 0, batchBytesMax: 1000, bufferBytesMax: 1000, maxBlockMs: 1000 })
    await accumulator.append({ topic: 't', partition: 0, record: record('z'.repeat(800)) })
    const order: string[] = []
    const large = accumulator.append({ topic: 't', partition: 1, record: record('l'.repeat(700)) }).then(() => order.push('large'))
    const small = accumulator.append({ topic: 't', partition: 2, record: record('s') }).then(() => order.push('small'))
    await flushMicrotasks()
    expect(order).toEqual([]) // the small one would fit, but waits its turn
    accumulator.complete(accumulator.drain()[0] as ProducerBatch, { baseOffset: 0 })
    await Promise.all([large, small])
    expect(order).toEqual(['large', 'small'])
  })

  test('a record larger than the buffer, or than any batch may be, is MESSAGE_TOO_LARGE at once', async () => {
    const { accumulator } = setup({ bufferBytesMax: 70_000 })
    await expect(accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(80_000)) }))
      .rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE })
    const big = setup({ bufferBytesMax: 4 * 1024 * 1024 }).accumulator
    await expect(big.append({ topic: 't', partition: 0, record: record('x'.repeat(1024 * 1024)) }))
      .rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE, details: { batchBytesMax: 1_048_588 } })
  })
})

describe('RecordAccumulator encoding', () => {
  function randomRecord (rng: ReturnType<typeof seededRng>, index: number): RecordInput {
    const bytes = (length: number): Buffer => Buffer.from(Array.from({ length }, () => rng.int(0, 256)))
    return {
      key: rng.next() < 0.3 ? null : bytes(rng.int(0, 20)),
      value: rng.next() < 0.1 ? null : bytes(rng.int(0, 300)),
      headers: Array.from({ length: rng.int(0, 3) }, (_, h) => ({ key: `h${h}-ü`, value: rng.next() < 0.2 ? null : bytes(rng.int(0, 10)) })),
      ...(index % 4 === 0 ? { timestamp: 1_600_000_000_000 + rng.int(-5000, 5000) } : {}),
    }
  }

  test.each(COMPRESSION_NAMES)('drained batches (%s) decode to exactly the appended records', async (compression) => {
    const { time, accumulator } = setup({ compression, lingerMs: 5, batchBytesMax: 4096 })
    const rng = seededRng(77)
    const appended = new Map<number, RecordInput[]>()
    for (let i = 0; i < 400; i++) {
      const partition = rng.int(0, 4)
      const input = randomRecord(rng, i)
      await accumulator.append({ topic: 't', partition, record: input })
      appended.set(partition, [...(appended.get(partition) ?? []), input])
      if (i % 50 === 0) time.advance(1)
    }
    time.advance(5)
    const decoded = new Map<number, Array<{ key: Buffer | null; value: Buffer | null; timestamp: number; offset: number }>>()
    while (accumulator.batchCount > 0) {
      for (const batch of accumulator.drain()) {
        const parsed = parseBatch(batch.buffer)
        if (compression === 'none') expect(batch.buffer.length).toBe(batch.sizeBytes)
        else expect(parsed.header.attributes & 0x07).toBe(COMPRESSION_CODEC_IDS[compression])
        expect(batch.sizeBytes).toBeLessThanOrEqual(4096)
        const list = decoded.get(batch.partition) ?? []
        list.push(...parsed.records.map((r) => ({ ...r, offset: list.length + r.offset })))
        decoded.set(batch.partition, list)
        accumulator.complete(batch, { baseOffset: 0 })
      }
    }
    for (const [partition, inputs] of appended) {
      const records = decoded.get(partition) ?? []
      expect(records.map((r) => r.offset)).toEqual(inputs.map((_, i) => i))
      expect(records).toEqual(inputs.map((input, i) => expect.objectContaining({
        key: input.key ?? null,
        value: input.value,
        headers: input.headers ?? [],
        timestamp: input.timestamp ?? expect.any(Number),
        offset: i,
      })))
    }
  })

  test('records without a timestamp are stamped from the wall clock at append, not at drain', async () => {
    const { time, accumulator } = setup({ lingerMs: 100 })
    const appendedAtMs = time.nowMs()
    await accumulator.append({ topic: 't', partition: 0, record: record('a') })
    time.advance(100)
    const [batch] = accumulator.drain()
    expect(parseBatch((batch as ProducerBatch).buffer).records[0]?.timestamp).toBe(appendedAtMs)
  })
})

describe('RecordAccumulator drain, flush and close', () => {
  test('drain honours bytesMax and a filter, and starts the next drain where the last stopped', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    for (const partition of [0, 1, 2]) await accumulator.append({ topic: 't', partition, record: record('x'.repeat(100)) })
    expect(accumulator.drain({ filter: ({ partition }) => partition === 1 }).map((b) => b.partition)).toEqual([1])
    const [first] = accumulator.drain({ bytesMax: 10 }) // the first batch is always taken
    expect(first?.partition).toBe(0)
    expect(accumulator.drain({ bytesMax: 10 }).map((b) => b.partition)).toEqual([2])
  })

  test('flush makes every batch ready at once and resolves once they are settled', async () => {
    const { accumulator } = setup({ lingerMs: 60_000 })
    const first = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('a') }))
    const second = delivery(await accumulator.append({ topic: 't', partition: 1, record: record('b') }))
    let flushed = false
    const flush = accumulator.flush().then(() => { flushed = true })
    const batches = accumulator.drain()
    expect(batches).toHaveLength(2)
    accumulator.complete(batches[0] as ProducerBatch, { baseOffset: 0 })
    await flushMicrotasks()
    expect(flushed).toBe(false)
    const error = new GregorError(ErrorCode.NOT_ENOUGH_REPLICAS, 'isr too small')
    accumulator.fail(batches[1] as ProducerBatch, error)
    await flush
    await expect(first).resolves.toMatchObject({ offset: 0 })
    await expect(second).rejects.toBe(error)
    expect(accumulator.ready().partitions).toEqual([])
  })

  test('close refuses new appends and waiting ones with SHUTTING_DOWN; abortQueued fails what is queued', async () => {
    const { accumulator } = setup({ lingerMs: 60_000, batchBytesMax: 200, bufferBytesMax: 200, maxBlockMs: 1000 })
    const queued = delivery(await accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(100)) }))
    const waiting = accumulator.append({ topic: 't', partition: 1, record: record('y'.repeat(100)) })
    await flushMicrotasks()
    accumulator.close()
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN })
    await expect(accumulator.append({ topic: 't', partition: 0, record: record('z') })).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN })
    expect(accumulator.ready().partitions).toEqual([{ topic: 't', partition: 0 }])
    const error = new GregorError(ErrorCode.SHUTTING_DOWN, 'closed without flush')
    accumulator.abortQueued(error)
    await expect(queued).rejects.toBe(error)
    expect(accumulator.bufferedBytes).toBe(0)
  })

  test('onReady is called asynchronously and coalesced', async () => {
    const { accumulator, readyCalls } = setup({ lingerMs: 0 })
    const appends = [0, 1, 2].map((partition) => accumulator.append({ topic: 't', partition, record: record('a') }))
    expect(readyCalls()).toBe(0)
    await Promise.all(appends)
    await flushMicrotasks()
    expect(readyCalls()).toBe(1)
  })
})

describe('RecordAccumulator batch buffers', () => {
  /** The memory a drained batch's bytes live in (each pooled buffer has an ArrayBuffer of its own). */
  const memoryOf = (batch: ProducerBatch | undefined): ArrayBufferLike => {
    if (batch === undefined) throw new Error('expected a batch')
    return batch.buffer.buffer
  }

  test('a buffer is not reused while its batch is in flight; once acknowledged it serves a later batch', async () => {
    const { accumulator } = setup({ lingerMs: 0 })
    await accumulator.append({ topic: 't', partition: 0, record: record('a') })
    const [first] = accumulator.drain()
    const firstMemory = memoryOf(first)
    await accumulator.append({ topic: 't', partition: 0, record: record('b') }) // a new batch while `first` is in flight
    accumulator.complete(first as ProducerBatch, { baseOffset: 0 })
    const [second] = accumulator.drain()
    expect(memoryOf(second)).not.toBe(firstMemory)
    await accumulator.append({ topic: 't', partition: 0, record: record('c') })
    accumulator.complete(second as ProducerBatch, { baseOffset: 1 })
    const [third] = accumulator.drain()
    expect(memoryOf(third)).toBe(firstMemory)
    expect(parseBatch((third as ProducerBatch).buffer).records.map((parsed) => parsed.value?.toString())).toEqual(['c'])
  })

  test('a batch that failed after it was sent, or was resent, never hands its buffer to another batch', async () => {
    for (const ending of ['failed', 'retried'] as const) {
      const { time, accumulator } = setup({ lingerMs: 0 })
      const seen = new Set<ArrayBufferLike>()
      await accumulator.append({ topic: 't', partition: 0, record: record('a') })
      const [sent] = accumulator.drain() as [ProducerBatch]
      const sentMemory = memoryOf(sent)
      if (ending === 'failed') accumulator.fail(sent, new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'deadline'))
      else {
        accumulator.reenqueue(sent, { delayMs: 10 })
        time.advance(10)
        expect(accumulator.drain()).toEqual([sent])
        accumulator.complete(sent, { baseOffset: 0 })
      }
      for (let index = 0; index < 5; index++) {
        await accumulator.append({ topic: 't', partition: 0, record: record(`next-${index}`) })
        const [next] = accumulator.drain() as [ProducerBatch]
        seen.add(memoryOf(next))
        accumulator.complete(next, { baseOffset: index + 1 })
      }
      expect(seen.has(sentMemory)).toBe(false)
      expect(seen.size).toBe(1) // the later batches do reuse each other's
    }
  })

  test("a partition's next batch starts with a buffer the size its last batch came to", async () => {
    const { accumulator } = setup({ lingerMs: 0, batchBytesMax: 256 * 1024 })
    for (let index = 0; index < 300; index++) await accumulator.append({ topic: 't', partition: 0, record: record('x'.repeat(100)) })
    const [big] = accumulator.drain() as [ProducerBatch]
    expect(big.sizeBytes).toBeGreaterThan(32 * 1024)
    await accumulator.append({ topic: 't', partition: 0, record: record('y') })
    accumulator.complete(big, { baseOffset: 0 })
    const [next] = accumulator.drain() as [ProducerBatch]
    // 300 records of ~110 bytes: a 64 KiB buffer from the first record on, where a new batch used to start at 4 KiB.
    expect(memoryOf(next).byteLength).toBe(64 * 1024)
  })
})

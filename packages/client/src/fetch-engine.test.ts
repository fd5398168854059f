import { ErrorCode, type GregorError } from '@gregor/common'
import { buildBatch, computeBatchCrc } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { FetchEngine, type FetchEngineConfig } from './fetch-engine.js'
import type { ConsumerMessage } from './fetch-records.js'
import type { PartitionRecords } from './partition-records.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { advanceToStall, knownLeader, metadata, refuseStaleTopicId, scriptedConnection } from './testing/scripted-brokers.js'

const engineConfig = (autoOffsetReset: FetchEngineConfig['autoOffsetReset']): FetchEngineConfig => ({
  maxWaitMs: 500, minBytes: 1, fetchBytesMax: 1024 * 1024, partitionBytesMax: 1024 * 1024, retryBackoffMs: 100, autoOffsetReset,
})

describe('FetchEngine and a black-holed leader', () => {
  test('a fetch stalled past its long poll is abandoned once another broker names a new leader, which is fetched from at once', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection)
    const engine = new FetchEngine(engineConfig('none'), { connection, scheduler })
    engine.assign([{ topic: 't', partition: 0, offset: 0 }])
    let message: ConsumerMessage | undefined
    void engine.next().then((next) => { message = next })
    await flushMicrotasks()
    const first = brokers.of('Fetch')[0]
    expect(first?.address).toBe('b1:9092')
    expect(first?.request.partitions[0].currentLeaderEpoch).toBe(5)

    // Within its long poll the fetch is not stalled: nobody is asked.
    const { askedBeforeStall, refresh } = await advanceToStall(brokers, scheduler, 800)
    expect(askedBeforeStall).toBe(1)
    expect(refresh?.address).toBe('b2:9092')
    refresh?.respond(metadata(2, 6))
    await flushMicrotasks()
    expect(first?.cancelled).toBe(true)

    // No backoff, no second refresh: the metadata is fresh.
    const second = brokers.of('Fetch')[1]
    expect(second?.address).toBe('b2:9092')
    expect(second?.request.partitions[0].currentLeaderEpoch).toBe(6)
    second?.respond({
      partitions: [{ topic: 't', partition: 0, highWatermark: 1, records: buildBatch([{ key: null, value: Buffer.from('x'), headers: [], timestamp: 1 }], { baseOffset: 0 }) }],
    })
    await flushMicrotasks()
    expect(message?.offset).toBe(0)
    expect(message?.value?.toString()).toBe('x')
    expect(brokers.of('Metadata')).toHaveLength(2)
    engine.close()
  })
})

describe('FetchEngine and topic ids (KIP-516)', () => {
  const record = (value: string, baseOffset: number): Buffer =>
    buildBatch([{ key: null, value: Buffer.from(value), headers: [], timestamp: 1 }], { baseOffset })

  /** An engine on scripted brokers, t-0 led by broker 1 with topic id 'old', fetching t-0 from offset 5. */
  async function engineAt5 (autoOffsetReset: 'earliest' | 'none') {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection, 'old')
    const engine = new FetchEngine(engineConfig(autoOffsetReset), { connection, scheduler })
    engine.assign([{ topic: 't', partition: 0, offset: 5 }])
    const outcome: { message: ConsumerMessage | undefined, error: GregorError | undefined } = { message: undefined, error: undefined }
    engine.next().then((next) => { outcome.message = next }, (error: GregorError) => { outcome.error = error })
    await flushMicrotasks()
    const first = brokers.of('Fetch')[0]
    expect(first?.request.partitions[0]).toMatchObject({ topicId: 'old', fetchOffset: 5 })
    // The topic was deleted and re-created: the leader refuses the old id, and the refreshed metadata names a new one.
    await refuseStaleTopicId(brokers, scheduler, first, 'new')
    return { brokers, engine, outcome }
  }

  test('a position in a topic since re-created is reset by autoOffsetReset in the new topic, whose id the requests then carry', async () => {
    const { brokers, engine, outcome } = await engineAt5('earliest')
    const listOffsets = brokers.of('ListOffsets')[0]
    expect(listOffsets?.request.partitions[0]).toMatchObject({ topic: 't', partition: 0, timestamp: -2, topicId: 'new' })
    listOffsets?.respond({ partitions: [{ topic: 't', partition: 0, offset: 0 }] })
    await flushMicrotasks()
    const second = brokers.of('Fetch')[1]
    expect(second?.request.partitions[0]).toMatchObject({ topicId: 'new', fetchOffset: 0 })
    second?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 1, records: record('x', 0) }] })
    await flushMicrotasks()
    expect(outcome.error).toBeUndefined()
    expect(outcome.message).toMatchObject({ offset: 0 })
    expect(engine.committable('consumed')).toEqual([{ topic: 't', partition: 0, offset: 1 }])
    engine.close()
  })

  test("with autoOffsetReset 'none' the iteration ends with INCONSISTENT_TOPIC_ID (not retriable), until a seek", async () => {
    const { brokers, engine, outcome } = await engineAt5('none')
    expect(outcome.error).toMatchObject({
      code: ErrorCode.INCONSISTENT_TOPIC_ID, retriable: false, details: { topic: 't', partition: 0, topicId: 'old', currentTopicId: 'new' },
    })
    expect(brokers.of('Fetch')).toHaveLength(1)
    await expect(engine.next()).rejects.toMatchObject({ code: ErrorCode.INCONSISTENT_TOPIC_ID })
    engine.seek('t', 0, 2)
    void engine.next()
    await flushMicrotasks()
    expect(brokers.of('Fetch')[1]?.request.partitions[0]).toMatchObject({ topicId: 'new', fetchOffset: 2 })
    engine.close()
  })
})

const batch = (values: string[], baseOffset: number): Buffer =>
  buildBatch(values.map((value) => ({ key: null, value: Buffer.from(value), headers: [], timestamp: 1 })), { baseOffset })

async function engineAt0 (autoOffsetReset: FetchEngineConfig['autoOffsetReset'] = 'none') {
  const { brokers, scheduler, connection } = scriptedConnection()
  await knownLeader(brokers, connection)
  const engine = new FetchEngine(engineConfig(autoOffsetReset), { connection, scheduler })
  engine.assign([{ topic: 't', partition: 0, offset: 0 }])
  return { brokers, engine }
}

const values = (chunk: PartitionRecords | undefined): string[] => {
  const cursor = chunk?.records()
  const read: string[] = []
  while (cursor?.next() === true) read.push(`${cursor.offset}:${cursor.value()?.toString() ?? ''}`)
  return read
}

describe('FetchEngine: the batch-level path', () => {
  test('a chunk is handed out whole and lazily; the next fetch goes while it is read and asks for what is there (maxWaitMs 0)', async () => {
    const { brokers, engine } = await engineAt0()
    let chunk: PartitionRecords | undefined
    void engine.nextChunk().then((next) => { chunk = next })
    await flushMicrotasks()
    const poll = brokers.of('Fetch')[0]
    expect(poll?.request).toMatchObject({ maxWaitMs: 500 })
    // The answer ends below the high watermark (cut by the byte limit): more records are there now.
    poll?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 9, records: Buffer.concat([batch(['a', 'b'], 0), batch(['c'], 2)]) }] })
    await flushMicrotasks()
    expect(values(chunk)).toEqual(['0:a', '1:b', '2:c'])
    expect(chunk?.nextOffset).toBe(3)
    // Handed out: the position is past it; processed only once the application says so.
    expect(engine.committable('consumed')).toEqual([{ topic: 't', partition: 0, offset: 3 }])
    expect(engine.committable('processed')).toEqual([{ topic: 't', partition: 0, offset: 0 }])
    engine.processedUpTo('t', 0, 3)
    expect(engine.committable('processed')).toEqual([{ topic: 't', partition: 0, offset: 3 }])

    const prefetch = brokers.of('Fetch')[1]
    expect(prefetch?.request).toMatchObject({ maxWaitMs: 0 })
    expect(prefetch?.request.partitions[0]).toMatchObject({ fetchOffset: 3 })
    prefetch?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 4, records: batch(['d'], 3) }] })
    await flushMicrotasks()
    // That answer reached the high watermark: handing it out sends no prefetch (a caught-up consumer long-polls).
    expect(values(await engine.nextChunk())).toEqual(['3:d'])
    await flushMicrotasks()
    expect(brokers.of('Fetch')).toHaveLength(2)
    void engine.nextChunk()
    await flushMicrotasks()
    expect(brokers.of('Fetch')[2]?.request).toMatchObject({ maxWaitMs: 500, partitions: [expect.objectContaining({ fetchOffset: 4 })] })
    engine.close()
  })

  test('next() hands out one record at a time from the same chunks; a record that does not decode is thrown again, never skipped', async () => {
    const { brokers, engine } = await engineAt0()
    const bad = batch(['abc', 'def'], 0)
    // The second value's length (3, zigzag 6) claims 4 bytes, with a CRC to match: a bad producer, not the network.
    bad[bad.lastIndexOf(Buffer.from([6, 0x64, 0x65, 0x66]))] = 8
    bad.writeUInt32BE(computeBatchCrc(bad), 17)
    const first = engine.next()
    await flushMicrotasks()
    brokers.of('Fetch')[0]?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 5, records: bad }] })
    expect((await first)?.value?.toString()).toBe('abc')
    await expect(engine.next()).rejects.toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE })
    expect(engine.committable('consumed')).toEqual([{ topic: 't', partition: 0, offset: 1 }])
    // Asked again: fetched again from the record that failed, which fails again. The prefetch sent when the chunk
    // was started (from offset 2) answers for a position that moved, so it is discarded.
    const again = engine.next()
    await flushMicrotasks()
    const prefetch = brokers.of('Fetch')[1]
    expect(prefetch?.request).toMatchObject({ maxWaitMs: 0, partitions: [expect.objectContaining({ fetchOffset: 2 })] })
    prefetch?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 3, records: batch(['ghi'], 2) }] })
    await flushMicrotasks()
    const refetch = brokers.of('Fetch').find((call) => call.request.partitions[0].fetchOffset === 1 && call.request.maxWaitMs === 500)
    expect(refetch).toBeDefined()
    refetch?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 2, records: bad }] })
    await expect(again).rejects.toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE })
    engine.close()
  })

  test('a prefetch that finds the log truncated under the chunk being read drops the chunk\'s rest and resets the position', async () => {
    const { brokers, engine } = await engineAt0('earliest')
    const first = engine.next()
    await flushMicrotasks()
    brokers.of('Fetch')[0]?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 5, records: batch(['a', 'b', 'c'], 0) }] })
    expect((await first)?.value?.toString()).toBe('a')
    brokers.of('Fetch')[1]?.respond({ partitions: [{ topic: 't', partition: 0, errorCode: 'OFFSET_OUT_OF_RANGE' }] })
    await flushMicrotasks()
    let next: string | undefined
    void engine.next().then((message) => { next = message?.value?.toString() })
    await flushMicrotasks()
    // 'b' and 'c' are not handed out: the position is resolved again, from the earliest offset.
    expect(next).toBeUndefined()
    brokers.of('ListOffsets').at(-1)?.respond({ partitions: [{ topic: 't', partition: 0, offset: 7 }] })
    await flushMicrotasks()
    expect(brokers.of('Fetch').at(-1)?.request.partitions[0]).toMatchObject({ fetchOffset: 7 })
    brokers.of('Fetch').at(-1)?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 8, records: batch(['h'], 7) }] })
    await flushMicrotasks()
    expect(next).toBe('h')
    engine.close()
  })
})

describe('FetchEngine and its retry backoff', () => {
  const batchAt = (baseOffset: number): Buffer =>
    buildBatch([{ key: null, value: Buffer.from('x'), headers: [], timestamp: 1 }], { baseOffset })

  test('a new consumer fetches as soon as the metadata names the leader, with no backoff', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    const engine = new FetchEngine(engineConfig('none'), { connection, scheduler })
    engine.assign([{ topic: 't', partition: 0, offset: 0 }])
    let message: ConsumerMessage | undefined
    void engine.next().then((next) => { message = next })
    await flushMicrotasks()
    // The first round knows no leader: it asks for metadata, and fetches once the answer names one.
    brokers.of('Metadata')[0]?.respond(metadata(1, 5))
    await flushMicrotasks()
    expect(scheduler.nowMs()).toBe(0)
    const fetch = brokers.of('Fetch')[0]
    expect(fetch?.address).toBe('b1:9092')
    fetch?.respond({ partitions: [{ topic: 't', partition: 0, highWatermark: 1, records: batchAt(0) }] })
    await flushMicrotasks()
    expect(message?.offset).toBe(0)
    engine.close()
  })

  test('after a refusal (NOT_LEADER_OR_FOLLOWER) the refreshed partition is fetched again only after retryBackoffMs', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection)
    const engine = new FetchEngine(engineConfig('none'), { connection, scheduler })
    engine.assign([{ topic: 't', partition: 0, offset: 0 }])
    void engine.next()
    await flushMicrotasks()
    brokers.of('Fetch')[0]?.respond({ partitions: [{ topic: 't', partition: 0, errorCode: 'NOT_LEADER_OR_FOLLOWER' }] })
    await flushMicrotasks()
    brokers.of('Metadata').at(-1)?.respond(metadata(2, 6))
    await flushMicrotasks()
    expect(brokers.of('Fetch')).toHaveLength(1)
    scheduler.advance(99)
    await flushMicrotasks()
    expect(brokers.of('Fetch')).toHaveLength(1)
    scheduler.advance(1)
    await flushMicrotasks()
    expect(brokers.of('Fetch')[1]?.address).toBe('b2:9092')
    engine.close()
  })
})

import { ErrorCode, type GregorError } from '@gregor/common'
import { buildBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { FetchEngine } from './fetch-engine.js'
import type { ConsumerMessage } from './fetch-records.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { advanceToStall, knownLeader, metadata, refuseStaleTopicId, scriptedConnection } from './testing/scripted-brokers.js'

describe('FetchEngine and a black-holed leader', () => {
  test('a fetch stalled past its long poll is abandoned once another broker names a new leader, which is fetched from at once', async () => {
    const { brokers, scheduler, connection } = scriptedConnection()
    await knownLeader(brokers, connection)
    const engine = new FetchEngine({
      maxWaitMs: 500, minBytes: 1, fetchBytesMax: 1024 * 1024, partitionBytesMax: 1024 * 1024, retryBackoffMs: 100, autoOffsetReset: 'none',
    }, { connection, scheduler })
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
    const engine = new FetchEngine({
      maxWaitMs: 500, minBytes: 1, fetchBytesMax: 1024 * 1024, partitionBytesMax: 1024 * 1024, retryBackoffMs: 100, autoOffsetReset,
    }, { connection, scheduler })
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

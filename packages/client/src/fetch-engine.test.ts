import { buildBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { FetchEngine } from './fetch-engine.js'
import type { ConsumerMessage } from './fetch-records.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { knownLeader, metadata, scriptedConnection } from './testing/scripted-brokers.js'

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
    scheduler.advance(799)
    await flushMicrotasks()
    expect(brokers.of('Metadata')).toHaveLength(1)
    scheduler.advance(1)
    await flushMicrotasks()
    const refresh = brokers.of('Metadata')[1]
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

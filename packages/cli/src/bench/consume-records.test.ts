import { PartitionRecords } from '@gregor/client'
import { buildBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { consumeChunks, consumeTally, tallyChunk } from './consume-records.js'

const chunk = (values: Array<string | null>, baseOffset: number, fetchOffset = baseOffset): PartitionRecords =>
  new PartitionRecords(buildBatch(values.map((value) => ({ key: null, value: value === null ? null : Buffer.from(value), timestamp: 1 })), { baseOffset }),
    { topic: 't', partition: 0, fetchOffset })

describe('the consume benchmark reader', () => {
  test('touches every record from the fetch offset on, up to the limit, and gives each one a wait', () => {
    const tally = consumeTally(4)
    expect(tallyChunk(chunk(['aa', null, 'bbb'], 10, 11), tally, 7)).toBe(2)
    expect(tally).toMatchObject({ count: 2, valueBytes: 3 })
    expect(tally.latency.count).toBe(2)
    expect(tally.latency.maxMs).toBe(7)
    expect(tallyChunk(chunk(['c', 'dd', 'eee'], 13), tally, 9)).toBe(2)
    expect(tally).toMatchObject({ count: 4, valueBytes: 6 })
    expect(tally.latency.count).toBe(4)
    expect(tally.latency.maxMs).toBe(9)
  })

  test('reads chunks until the tally is full or the iteration ends', async () => {
    async function * chunks (): AsyncGenerator<PartitionRecords, void, undefined> {
      yield chunk(['a', 'b'], 0)
      yield chunk(['c'], 2)
    }
    const full = consumeTally(2)
    const seen: number[] = []
    await consumeChunks(chunks(), full, (count) => { seen.push(count) })
    expect(seen).toEqual([2])
    const ended = consumeTally(10)
    await consumeChunks(chunks(), ended, () => {})
    expect(ended.count).toBe(3)
  })
})

import { ErrorCode, GregorError } from '@gregor/common'
import { type RecordInput, buildBatch, filterBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { fetchedRecords } from './fetch-records.js'

const records = (values: string[]): RecordInput[] =>
  values.map((value, index) => ({ key: index === 0 ? Buffer.from('k') : null, value: Buffer.from(value), headers: [{ key: 'h', value: Buffer.from(value) }], timestamp: 1_700_000_000_000 + index }))

/** Two batches as a log would hold them: offsets 10..12 and 13..14. */
function logBytes (): Buffer {
  return Buffer.concat([
    buildBatch(records(['a', 'b', 'c']), { baseOffset: 10 }),
    buildBatch(records(['d', 'e']), { baseOffset: 13 }),
  ])
}

const position = { topic: 't', partition: 2 }

describe('fetchedRecords', () => {
  test('skips records below the fetch offset inside the first batch', () => {
    const { messages, nextOffset } = fetchedRecords(logBytes(), { ...position, fetchOffset: 11 })
    expect(messages.map((m) => [m.offset, m.value?.toString()])).toEqual([[11, 'b'], [12, 'c'], [13, 'd'], [14, 'e']])
    expect(nextOffset).toBe(15)
  })

  test('a compacted batch (records removed, its offset span kept) reads with gaps and the next offset after its span', () => {
    const thinned = filterBatch(buildBatch(records(['a', 'b', 'c', 'd']), { baseOffset: 20 }), 0, (r) => r.offset === 21).batch as Buffer
    const { messages, nextOffset } = fetchedRecords(thinned, { ...position, fetchOffset: 20 })
    expect(messages.map((m) => [m.offset, m.value?.toString()])).toEqual([[21, 'b']])
    expect(nextOffset).toBe(24)
  })

  test('a batch wholly below the fetch offset yields nothing', () => {
    const { messages, nextOffset } = fetchedRecords(logBytes(), { ...position, fetchOffset: 13 })
    expect(messages.map((m) => m.offset)).toEqual([13, 14])
    expect(nextOffset).toBe(15)
  })

  test('carries topic, partition, timestamp, key and headers', () => {
    const [first] = fetchedRecords(logBytes(), { ...position, fetchOffset: 10 }).messages
    expect(first).toEqual({
      topic: 't', partition: 2, offset: 10, timestamp: 1_700_000_000_000,
      key: Buffer.from('k'), value: Buffer.from('a'), headers: [{ key: 'h', value: Buffer.from('a') }],
    })
  })

  test('a batch cut short at the end is left for the next fetch', () => {
    const bytes = logBytes()
    const { messages, nextOffset } = fetchedRecords(bytes.subarray(0, bytes.length - 5), { ...position, fetchOffset: 10 })
    expect(messages.map((m) => m.offset)).toEqual([10, 11, 12])
    expect(nextOffset).toBe(13)
  })

  test('no records: the position stays', () => {
    expect(fetchedRecords(Buffer.alloc(0), { ...position, fetchOffset: 7 })).toEqual({ messages: [], nextOffset: 7 })
  })

  test('a corrupt batch is CORRUPT_MESSAGE', () => {
    const bytes = logBytes()
    bytes[bytes.length - 1] ^= 0xff
    let error: unknown
    try { fetchedRecords(bytes, { ...position, fetchOffset: 13 }) } catch (caught) { error = caught }
    expect(error).toBeInstanceOf(GregorError)
    expect((error as GregorError).code).toBe(ErrorCode.CORRUPT_MESSAGE)
  })
})

import { ErrorCode, GregorError } from '@gregor/common'
import {
  COMPRESSION_NAMES, type CompressionName, type RecordInput, buildBatch, computeBatchCrc, filterBatch, parseBatch, walkBatches,
} from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { PartitionRecords } from './partition-records.js'

const position = { topic: 't', partition: 2 }

/** Records with every shape a batch can carry: null and empty keys and values, none, one or two headers. */
function mixedRecords (count: number, first = 0): RecordInput[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i
    return {
      key: n % 3 === 0 ? null : n % 3 === 1 ? Buffer.alloc(0) : Buffer.from(`key-${n}`),
      value: n % 4 === 0 ? null : Buffer.from(`value-${n}-${'x'.repeat(n % 7)}`),
      headers: n % 2 === 0 ? [] : [{ key: 'h', value: Buffer.from(`hv-${n}`) }, { key: 'ü', value: null }],
      timestamp: 1_700_000_000_000 + n,
    }
  })
}

/** A log of three batches: offsets 10..14, 15..17, 18..21. */
function logBytes (compression: CompressionName = 'none'): Buffer {
  return Buffer.concat([
    buildBatch(mixedRecords(5, 0), { baseOffset: 10, compression }),
    buildBatch(mixedRecords(3, 5), { baseOffset: 15, compression }),
    buildBatch(mixedRecords(4, 8), { baseOffset: 18, compression }),
  ])
}

/** The reference: every complete batch decoded eagerly by parseBatch, records below fetchOffset dropped. */
function eager (bytes: Buffer, fetchOffset: number) {
  return [...walkBatches(bytes)].flatMap(({ position: at }) => parseBatch(bytes, at).records)
    .filter((record) => record.offset >= fetchOffset)
    .map((record) => ({ ...record, headers: record.headers.map((h) => ({ key: h.key, value: h.value })) }))
}

/** What the lazy cursor yields, through its views. */
function lazy (bytes: Buffer, fetchOffset: number) {
  const cursor = new PartitionRecords(bytes, { ...position, fetchOffset }).records()
  const records = []
  while (cursor.next()) {
    expect(cursor.keyLength).toBe(cursor.key()?.length ?? -1)
    expect(cursor.valueLength).toBe(cursor.value()?.length ?? -1)
    expect(cursor.headerCount).toBe(cursor.headers().length)
    records.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key(), value: cursor.value(), headers: cursor.headers() })
  }
  return records
}

function flip (bytes: Buffer, at: number): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at)
}

function corruptError (run: () => unknown): GregorError {
  let error: unknown
  try { run() } catch (caught) { error = caught }
  expect(error).toBeInstanceOf(GregorError)
  expect((error as GregorError).code).toBe(ErrorCode.CORRUPT_MESSAGE)
  return error as GregorError
}

describe('PartitionRecords: lazy iteration equals the eager decode', () => {
  test.each(COMPRESSION_NAMES)('%s batches, null and empty keys and values, headers', (compression) => {
    const bytes = logBytes(compression)
    const expected = eager(bytes, 10)
    expect(expected).toHaveLength(12)
    expect(lazy(bytes, 10)).toEqual(expected)
    expect(new PartitionRecords(bytes, { ...position, fetchOffset: 10 }).nextOffset).toBe(22)
  })

  test.each([11, 14, 15, 16, 21])('fetch offset %i: the records below it are skipped, the batches wholly below it unread', (fetchOffset) => {
    for (const compression of ['none', 'zstd'] as const) {
      const bytes = logBytes(compression)
      expect(lazy(bytes, fetchOffset)).toEqual(eager(bytes, fetchOffset))
      expect(lazy(bytes, fetchOffset)[0]?.offset).toBe(fetchOffset)
    }
  })

  test('a truncated last batch is left out and nextOffset points at it', () => {
    const bytes = logBytes()
    const cut = bytes.subarray(0, bytes.length - 7)
    const chunk = new PartitionRecords(cut, { ...position, fetchOffset: 12 })
    expect(chunk.nextOffset).toBe(18)
    expect(lazy(cut, 12).map((r) => r.offset)).toEqual([12, 13, 14, 15, 16, 17])
    expect(lazy(cut, 12)).toEqual(eager(cut, 12))
  })

  test('only a truncated batch: empty, the position stays', () => {
    const bytes = buildBatch(mixedRecords(3), { baseOffset: 4 })
    const chunk = new PartitionRecords(bytes.subarray(0, bytes.length - 1), { ...position, fetchOffset: 5 })
    expect(chunk.empty).toBe(true)
    expect(chunk.nextOffset).toBe(5)
    expect(chunk.messages()).toEqual([])
  })

  test('a compacted batch (gaps) yields its records and ends after its offset span', () => {
    const thinned = filterBatch(buildBatch(mixedRecords(5), { baseOffset: 20 }), 0, (r) => r.offset === 21 || r.offset === 22).batch as Buffer
    expect(lazy(thinned, 20).map((r) => r.offset)).toEqual([21, 22])
    expect(lazy(thinned, 20)).toEqual(eager(thinned, 20))
    expect(new PartitionRecords(thinned, { ...position, fetchOffset: 23 }).messages()).toEqual([])
    expect(new PartitionRecords(thinned, { ...position, fetchOffset: 20 }).nextOffset).toBe(25)
  })

  test('messages() copies what the cursor views, with topic and partition', () => {
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = logBytes(compression)
      const messages = new PartitionRecords(bytes, { ...position, fetchOffset: 13 }).messages()
      const copy = (b: Buffer | null): Buffer | null => b === null ? null : Buffer.from(b)
      const reference = eager(bytes, 13).map((r) => ({
        ...position, ...r, key: copy(r.key), value: copy(r.value), headers: r.headers.map((h) => ({ key: h.key, value: copy(h.value) })),
      }))
      expect(messages).toEqual(reference)
      bytes.fill(0) // the fetched bytes may go: the messages own their keys, values and header values
      expect(messages).toEqual(reference)
    }
  })

  test('from(offset) is the rest of a chunk, same nextOffset', () => {
    const chunk = new PartitionRecords(logBytes(), { ...position, fetchOffset: 10 })
    const rest = chunk.from(16)
    expect(rest.messages().map((m) => m.offset)).toEqual([16, 17, 18, 19, 20, 21])
    expect(rest.nextOffset).toBe(22)
    expect(chunk.from(5)).toBe(chunk)
  })
})

describe('PartitionRecords: corrupt bytes are CORRUPT_MESSAGE', () => {
  test('a CRC mismatch in any batch is found before a record is handed out', () => {
    const bytes = logBytes()
    flip(bytes, bytes.length - 1) // inside the third batch
    corruptError(() => new PartitionRecords(bytes, { ...position, fetchOffset: 10 }))
  })

  test('a batch wholly below the fetch offset is not read, so its CRC does not matter', () => {
    const bytes = logBytes()
    flip(bytes, 70) // inside the first batch's records
    expect(() => new PartitionRecords(bytes, { ...position, fetchOffset: 10 })).toThrow()
    expect(lazy(bytes, 15).map((r) => r.offset)).toEqual([15, 16, 17, 18, 19, 20, 21])
  })

  test('a record that does not add up inside a batch whose CRC is right (a bad producer)', () => {
    const batch = buildBatch([{ key: null, value: Buffer.from('abc') }, { key: null, value: Buffer.from('def') }], { baseOffset: 0, nowMs: 1 })
    // The second record's value length (3, zigzag 6) claims 4 bytes, then the CRC is made to match.
    const valueLength = batch.lastIndexOf(Buffer.from([6, 0x64, 0x65, 0x66]))
    batch[valueLength] = 8
    batch.writeUInt32BE(computeBatchCrc(batch), 17)
    const chunk = new PartitionRecords(batch, { ...position, fetchOffset: 0 })
    const cursor = chunk.records()
    expect(cursor.next()).toBe(true)
    expect(cursor.value()?.toString()).toBe('abc')
    corruptError(() => cursor.next())
    corruptError(() => parseBatch(batch))
  })

  test('bytes left after the last record', () => {
    const batch = buildBatch([{ key: null, value: Buffer.from('abc') }], { baseOffset: 0, nowMs: 1 })
    const padded = Buffer.concat([batch, Buffer.alloc(2)])
    padded.writeInt32BE(padded.readInt32BE(8) + 2, 8)
    padded.writeUInt32BE(computeBatchCrc(padded), 17)
    const cursor = new PartitionRecords(padded, { ...position, fetchOffset: 0 }).records()
    expect(cursor.next()).toBe(true)
    expect(corruptError(() => cursor.next()).message).toMatch(/left after the last record/)
  })
})

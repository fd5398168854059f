import { ErrorCode } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { readBatchHeader, validateBatch } from './batch-header.js'
import { type BuildBatchOptions, buildBatch } from './build-batch.js'
import { COMPRESSION_NAMES } from './compression.js'
import { parseBatch } from './parse-batch.js'
import type { RecordInput } from './record-codec.js'
import { recordsLimits } from './records-limits.js'

const nowMs = 1_700_000_000_000
const compressions = COMPRESSION_NAMES

const bytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 20_000 }) },
).map((array) => Buffer.from(array))
const nullableBytes = fc.option(bytes, { nil: null, freq: 4 })
const timestamp = fc.oneof(
  fc.integer({ min: nowMs - 86_400_000, max: nowMs + 86_400_000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), // deltas far beyond 2^31 in either direction
)
const record: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(bytes, { nil: undefined, freq: 3 }).chain((key) => key === undefined ? fc.constantFrom(undefined, null) : fc.constant(key)),
  value: nullableBytes,
  headers: fc.option(fc.array(fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: nullableBytes }), { maxLength: 5 }), { nil: undefined }),
  timestamp: fc.option(timestamp, { nil: undefined }),
}, { requiredKeys: ['value'] })

/** What parseBatch must return for `records` built with `options`: hex strings make Buffer views comparable. */
function expected (records: readonly RecordInput[], options: BuildBatchOptions): unknown[] {
  return records.map((input, index) => ({
    offset: (options.baseOffset ?? 0) + index,
    timestamp: options.timestampType === 'logAppend' ? options.nowMs : input.timestamp ?? options.nowMs,
    key: hex(input.key ?? null),
    value: hex(input.value),
    headers: (input.headers ?? []).map((header) => ({ key: header.key, value: hex(header.value) })),
  }))
}

function actual (batch: Buffer): unknown[] {
  return parseBatch(batch).records.map((parsed) => ({
    ...parsed,
    key: hex(parsed.key),
    value: hex(parsed.value),
    headers: parsed.headers.map((header) => ({ key: header.key, value: hex(header.value) })),
  }))
}

function hex (buffer: Buffer | null): string | null {
  return buffer === null ? null : buffer.toString('hex')
}

describe('buildBatch → parseBatch round trip', () => {
  test('random records, every compression, random header fields', () => {
    const options = fc.record({
      compression: fc.constantFrom(...compressions),
      baseOffset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1000 }),
      partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
      producerId: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
      producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
      baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
      timestampType: fc.constantFrom('create' as const, 'logAppend' as const),
      nowMs: timestamp,
    })
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), options, (records, batchOptions) => {
      const batch = buildBatch(records, batchOptions)
      expect(actual(batch)).toEqual(expected(records, batchOptions))
      const header = readBatchHeader(batch)
      const timestamps = records.map((input) => input.timestamp ?? batchOptions.nowMs)
      expect(header).toMatchObject({
        baseOffset: batchOptions.baseOffset,
        partitionLeaderEpoch: batchOptions.partitionLeaderEpoch,
        producerId: batchOptions.producerId,
        producerEpoch: batchOptions.producerEpoch,
        baseSequence: batchOptions.baseSequence,
        recordCount: records.length,
        lastOffsetDelta: records.length - 1,
        baseTimestamp: timestamps[0],
        maxTimestamp: batchOptions.timestampType === 'logAppend' ? batchOptions.nowMs : Math.max(...timestamps),
      })
    }), { numRuns: 150 })
  })

  test.each(compressions)('many records (10 000) with %s', (compression) => {
    const records = Array.from({ length: 10_000 }, (_, index) => ({
      key: index % 7 === 0 ? null : Buffer.from(`key-${index}`),
      value: Buffer.from(`value-${index}`.repeat(index % 5)),
      headers: index % 3 === 0 ? [{ key: 'trace', value: Buffer.from([index & 0xff]) }] : [],
      timestamp: nowMs + index * 1000,
    }))
    const batch = buildBatch(records, { compression, nowMs })
    expect(actual(batch)).toEqual(expected(records, { nowMs }))
  })

  test('empty keys, values and header values stay empty, distinct from null', () => {
    const empty = Buffer.alloc(0)
    const records = [{ key: empty, value: empty, headers: [{ key: '', value: empty }, { key: 'n', value: null }] }, { key: null, value: null }]
    for (const compression of compressions) {
      const parsed = parseBatch(buildBatch(records, { compression, nowMs })).records
      expect(parsed[0]).toMatchObject({ key: empty, value: empty, headers: [{ key: '', value: empty }, { key: 'n', value: null }] })
      expect(parsed[1]).toMatchObject({ key: null, value: null, headers: [] })
    }
  })

  test('a record of about 1 MiB fits the default limit when compressible, and round-trips', () => {
    const value = Buffer.alloc(1_000_000, 'a')
    for (const compression of compressions) {
      // Buffer.equals, not toEqual: a deep comparison of 1 MB takes seconds.
      expect(parseBatch(buildBatch([{ value }], { compression, nowMs })).records[0]!.value?.equals(value)).toBe(true)
    }
  })
})

describe('buildBatch layout', () => {
  test('matches a hand-assembled Kafka v2 record byte for byte', () => {
    const batch = buildBatch([
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: nowMs },
      { value: null, timestamp: nowMs - 1 },
    ], { nowMs })
    // record 0: length 12, attrs 0, tsDelta 0, offsetDelta 0, key len 1 'k', value len 1 'v', 1 header: len 1 'h', len 1 'x'
    // record 1: length 6, attrs 0, tsDelta -1 (01), offsetDelta 1 (02), key null (01), value null (01), 0 headers
    expect(batch.subarray(61).toString('hex')).toBe('18' + '00' + '00' + '00' + '026b' + '0276' + '02' + '0268' + '0278' +
      '0c' + '00' + '01' + '02' + '01' + '01' + '00')
    expect(readBatchHeader(batch)).toMatchObject({ baseTimestamp: nowMs, maxTimestamp: nowMs, attributes: 0 })
  })

  test('defaults follow a Kafka producer without idempotence', () => {
    expect(readBatchHeader(buildBatch([{ value: null }], { nowMs }))).toMatchObject({
      baseOffset: 0, partitionLeaderEpoch: -1, producerId: -1, producerEpoch: -1, baseSequence: -1, magic: 2,
    })
  })

  test('attributes carry the codec id and the timestamp type bit', () => {
    const attributes = (options: BuildBatchOptions): number => readBatchHeader(buildBatch([{ value: null }], { nowMs, ...options })).attributes
    expect(attributes({ compression: 'none' })).toBe(0)
    expect(attributes({ compression: 'gzip' })).toBe(1)
    expect(attributes({ compression: 'lz4' })).toBe(3)
    expect(attributes({ compression: 'lz4', timestampType: 'logAppend' })).toBe(3 | 0x08)
  })

  test('lz4 writes an LZ4 frame (magic 0x184D2204, version 01, independent blocks) after the header', () => {
    const batch = buildBatch([{ value: Buffer.alloc(5000, 'z') }], { compression: 'lz4', nowMs })
    expect(batch.readUInt32LE(61)).toBe(0x184d2204)
    const flags = batch[65] as number
    expect(flags >> 6).toBe(0b01)
    expect(flags & 0x20).toBe(0x20) // Kafka's KafkaLZ4BlockInputStream decodes each block on its own
  })

  test('gzip writes a gzip member (1f 8b, deflate) after the header', () => {
    const batch = buildBatch([{ value: Buffer.alloc(5000, 'z') }], { compression: 'gzip', nowMs })
    expect(batch.subarray(61, 64).toString('hex')).toBe('1f8b08')
  })

  test('is deterministic: same input, same bytes', () => {
    const records = [{ key: Buffer.from('a'), value: Buffer.from('b'), timestamp: 5 }]
    for (const compression of compressions) {
      expect(buildBatch(records, { compression, nowMs })).toEqual(buildBatch(records, { compression, nowMs }))
    }
  })
})

describe('buildBatch limits and invalid input', () => {
  test('an uncompressed batch over batchBytesMax is MESSAGE_TOO_LARGE; exactly at it is fine', () => {
    const batch = buildBatch([{ value: Buffer.alloc(1000) }], { nowMs })
    expect(buildBatch([{ value: Buffer.alloc(1000) }], { nowMs, batchBytesMax: batch.length })).toEqual(batch)
    expect(() => buildBatch([{ value: Buffer.alloc(1000) }], { nowMs, batchBytesMax: batch.length - 1 }))
      .toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
    expect(() => buildBatch([{ value: Buffer.alloc(recordsLimits.batchBytesMax) }], { nowMs }))
      .toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })

  test('a compressed batch is limited by its compressed size and by its records section', () => {
    const value = Buffer.alloc(100_000, 'q')
    expect(validateBatch(buildBatch([{ value }], { compression: 'gzip', nowMs, batchBytesMax: 1000 }), 0, { batchBytesMax: 1000 })).toBeGreaterThan(61)
    expect(() => buildBatch([{ value }], { compression: 'gzip', nowMs, decompressedBytesMax: 99_999 }))
      .toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
    const random = Buffer.from(Array.from({ length: 5000 }, (_, index) => (index * 2654435761) >>> 24))
    expect(() => buildBatch([{ value: random }], { compression: 'lz4', nowMs, batchBytesMax: 1000 }))
      .toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })

  test.each<[string, RecordInput[], BuildBatchOptions]>([
    ['no records', [], { nowMs }],
    ['no timestamp and no nowMs', [{ value: null }], {}],
    ['negative timestamp', [{ value: null, timestamp: -5 }], { nowMs }],
    ['fractional timestamp', [{ value: null, timestamp: 1.5 }], { nowMs }],
    ['logAppend without nowMs', [{ value: null, timestamp: 1 }], { timestampType: 'logAppend' }],
    ['negative baseOffset', [{ value: null }], { nowMs, baseOffset: -1 }],
    ['producerEpoch beyond int16', [{ value: null }], { nowMs, producerEpoch: 0x8000 }],
    ['partitionLeaderEpoch beyond int32', [{ value: null }], { nowMs, partitionLeaderEpoch: 2 ** 31 }],
    ['a string value', [{ value: 'text' as unknown as Buffer }], { nowMs }],
    ['a string key', [{ key: 'text' as unknown as Buffer, value: null }], { nowMs }],
    ['unknown compression', [{ value: null }], { nowMs, compression: 'brotli' as 'none' }],
  ])('%s is INVALID_REQUEST', (_name, records, options) => {
    expect(() => buildBatch(records, options)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
  })
})

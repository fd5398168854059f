import { gzipSync } from 'node:zlib'
import { ErrorCode, isGregorError } from '@gregor/common'
import fc from 'fast-check'
import { compressFrameSync } from 'lz4-napi'
import { describe, expect, test } from 'vitest'
import { BATCH_HEADER_BYTES, computeBatchCrc, readBatchHeader, writeBatchHeader } from './batch-header.js'
import { buildBatch } from './build-batch.js'
import { COMPRESSION_NAMES } from './compression.js'
import { parseBatch } from './parse-batch.js'
import { sizeOfVarint, writeVarint } from './varint.js'

const nowMs = 1_700_000_000_000

/** A batch around a hand-written records section, with a valid CRC, so parsing gets past validateBatch. */
function craft (section: Buffer, fields: { recordCount: number; attributes?: number; baseTimestamp?: number }): Buffer {
  const batch = Buffer.concat([Buffer.alloc(BATCH_HEADER_BYTES), section])
  writeBatchHeader(batch, 0, batch.length, {
    baseOffset: 100,
    partitionLeaderEpoch: 0,
    attributes: fields.attributes ?? 0,
    lastOffsetDelta: fields.recordCount - 1,
    baseTimestamp: fields.baseTimestamp ?? nowMs,
    maxTimestamp: fields.baseTimestamp ?? nowMs,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: fields.recordCount,
  })
  return batch
}

/** One record: its body bytes (hex) prefixed with their length as a varint. */
function record (bodyHex: string): string {
  const body = Buffer.from(bodyHex, 'hex')
  const length = Buffer.alloc(sizeOfVarint(body.length))
  writeVarint(length, 0, body.length)
  return length.toString('hex') + bodyHex
}

function expectCorrupt (batch: Buffer, message: RegExp): void {
  expect(() => parseBatch(batch)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE, message: expect.stringMatching(message) }))
}

// A well-formed minimal record body: attrs 0, tsDelta 0, offsetDelta 0, key null, value 'v', no headers.
const goodBody = '00' + '00' + '00' + '01' + '0276' + '00'

describe('parseBatch', () => {
  test('decodes a hand-written section (the crafting helper itself is right)', () => {
    const parsed = parseBatch(craft(Buffer.from(record(goodBody), 'hex'), { recordCount: 1 }))
    expect(parsed.records).toEqual([{ offset: 100, timestamp: nowMs, key: null, value: Buffer.from('v'), headers: [] }])
  })

  test('parses a batch at a position in a larger buffer and ignores what follows', () => {
    const batch = buildBatch([{ value: Buffer.from('x') }], { nowMs })
    const buffer = Buffer.concat([Buffer.from('garbage'), batch, Buffer.from('more')])
    expect(parseBatch(buffer, 7).records[0]!.value).toEqual(Buffer.from('x'))
  })

  test('logAppendTime batches report maxTimestamp for every record, as Kafka does', () => {
    const batch = buildBatch([{ value: null, timestamp: 5 }, { value: null, timestamp: 9 }], { nowMs })
    batch.writeInt16BE(0x08, 21)
    batch.writeBigInt64BE(123n, 35)
    batch.writeUInt32BE(computeBatchCrc(batch), 17)
    expect(parseBatch(batch).records.map((parsed) => parsed.timestamp)).toEqual([123, 123])
  })

  test('runs validateBatch first: a bad CRC is reported before any record is read', () => {
    const batch = craft(Buffer.from(record(goodBody), 'hex'), { recordCount: 1 })
    batch[batch.length - 1] = 0x01
    expectCorrupt(batch, /crc/)
  })
})

describe('parseBatch: malformed records behind a valid CRC → CORRUPT_MESSAGE', () => {
  test.each([
    ['record length varint too long', 'ffffffffff0f', 1, /varint/],
    ['record length negative', '01' + goodBody, 1, /record length/],
    ['record length past the section', '40' + goodBody, 1, /record length/],
    ['timestampDelta varlong cut by the record end', '06' + '00' + '8080' + '00', 1, /varlong/],
    ['offsetDelta out of sequence', record('00' + '00' + '02' + '01' + '01' + '00'), 1, /offsetDelta/],
    ['key length below -1', record('00' + '00' + '00' + '03' + '01' + '00'), 1, /length out of bounds/],
    ['key length past the record end (though inside the section)', record('00' + '00' + '00' + '08' + '01' + '00') + '0000000000', 1, /length out of bounds/],
    ['value length varint malformed', record('00' + '00' + '00' + '01' + 'ffffffffff7f'), 1, /varint/],
    ['negative header count', record('00' + '00' + '00' + '01' + '01' + '01'), 1, /header count/],
    ['header count beyond the record', record('00' + '00' + '00' + '01' + '01' + 'c801'), 1, /header count/],
    ['null header key', record('00' + '00' + '00' + '01' + '01' + '02' + '01' + '01' + '0001'), 1, /header key/],
    ['fields shorter than the record length', record(goodBody + 'aa'), 1, /fill its length/],
    ['fewer records than the count', record(goodBody), 2, /varint runs past/],
    ['bytes after the last record', record(goodBody) + '00', 1, /bytes left/],
    ['empty section', '', 1, /varint runs past/],
  ])('%s', (_name, sectionHex, recordCount, message) => {
    expectCorrupt(craft(Buffer.from(sectionHex, 'hex'), { recordCount }), message)
  })

  test('a timestamp that leaves the safe integer range', () => {
    // tsDelta = +2^52 (zigzag 2^53: seven 0x80 bytes, then 0x10) on a base near 2^53.
    const body = '00' + '8080808080808010' + '00' + '01' + '01' + '00'
    expectCorrupt(craft(Buffer.from(record(body), 'hex'), { recordCount: 1, baseTimestamp: Number.MAX_SAFE_INTEGER - 5 }), /timestamp/)
  })

  test.each([5, 6, 7])('codec id %d (no codec) is reported as unsupported', (attributes) => {
    const batch = craft(Buffer.from(record(goodBody), 'hex'), { recordCount: 1, attributes })
    expect(() => parseBatch(batch)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE, details: { codecId: attributes } }))
  })

  test.each([[1, 'gzip'], [2, 'snappy'], [3, 'lz4'], [4, 'zstd']])('garbage under codec %d (%s) does not decompress', (attributes) => {
    expectCorrupt(craft(Buffer.from('not compressed at all'), { recordCount: 1, attributes }), /decompress|lz4|zstd|snappy/)
  })

  test('a compressed section holding malformed records is caught after decompression', () => {
    const section = Buffer.from(record(goodBody) + 'ff', 'hex')
    expectCorrupt(craft(gzipSync(section), { recordCount: 1, attributes: 1 }), /bytes left/)
    expectCorrupt(craft(compressFrameSync(section), { recordCount: 1, attributes: 3 }), /bytes left/)
  })

  test('random damage behind a resealed CRC parses or fails with a GregorError, never anything else', () => {
    const records = fc.array(fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 20 }).map((array) => Buffer.from(array)), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 60 }).map((array) => Buffer.from(array)), { nil: null }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 5 }), value: fc.constant(Buffer.from('hv')) }), { maxLength: 2 }),
    }), { minLength: 1, maxLength: 8 })
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
    fc.assert(fc.property(records, fc.constantFrom(...COMPRESSION_NAMES), damage, (input, compression, edits) => {
      const batch = buildBatch(input, { compression, nowMs })
      for (const [at, byte] of edits) batch[BATCH_HEADER_BYTES + (at % (batch.length - BATCH_HEADER_BYTES))] = byte
      batch.writeUInt32BE(computeBatchCrc(batch), 17)
      try {
        expect(parseBatch(batch).records).toHaveLength(readBatchHeader(batch).recordCount)
      } catch (error) {
        expect(isGregorError(error) ? error.code : error).toMatch(/^(CORRUPT_MESSAGE|MESSAGE_TOO_LARGE)$/)
      }
    }), { numRuns: 500 })
  })
})

describe('parseBatch limits', () => {
  test('a batch over batchBytesMax is MESSAGE_TOO_LARGE', () => {
    const batch = buildBatch([{ value: Buffer.alloc(500) }], { nowMs })
    expect(() => parseBatch(batch, 0, { batchBytesMax: batch.length - 1 })).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })

  test.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)('a %s bomb is stopped at decompressedBytesMax', (compression) => {
    // 8 MiB of zeros compresses to a few KiB (snappy: ~ 1/21, its copies are at most 64 bytes): a small batch that would inflate to 8 MiB.
    const batch = buildBatch([{ value: Buffer.alloc(8 * 1024 * 1024) }], { compression, nowMs })
    expect(batch.length).toBeLessThan(compression === 'snappy' ? 512 * 1024 : 64 * 1024)
    expect(() => parseBatch(batch, 0, { decompressedBytesMax: 1024 * 1024 }))
      .toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
    expect(parseBatch(batch, 0, { decompressedBytesMax: 9 * 1024 * 1024 }).records).toHaveLength(1)
  })

  test('the decompression limit does not apply to uncompressed batches (batchBytesMax bounds them)', () => {
    const batch = buildBatch([{ value: Buffer.alloc(2000) }], { nowMs })
    expect(parseBatch(batch, 0, { decompressedBytesMax: 100 }).records).toHaveLength(1)
  })
})

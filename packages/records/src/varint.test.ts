import { createRequire } from 'node:module'
import { ErrorCode } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { type Cursor, readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js'

const require = createRequire(import.meta.url)
// KafkaJS's encoder is an independent implementation (Long-based) to compare our number-only varlong against.
const KafkaJsEncoder = require('kafkajs/src/protocol/encoder') as new () => {
  writeVarInt (value: number): unknown
  writeVarLong (value: number): unknown
  buffer: Buffer
}

function encodeVarint (value: number): Buffer {
  const buffer = Buffer.alloc(sizeOfVarint(value))
  expect(writeVarint(buffer, 0, value)).toBe(buffer.length)
  return buffer
}

function encodeVarlong (value: number): Buffer {
  const buffer = Buffer.alloc(sizeOfVarlong(value))
  expect(writeVarlong(buffer, 0, value)).toBe(buffer.length)
  return buffer
}

function cursorOver (buffer: Buffer): Cursor {
  return { position: 0, end: buffer.length }
}

describe('varint (zigzag int32)', () => {
  test.each([
    [0, '00'], [-1, '01'], [1, '02'], [63, '7e'], [-64, '7f'], [64, '8001'], [-65, '8101'],
    [300, 'd804'], [0x7fffffff, 'feffffff0f'], [-0x80000000, 'ffffffff0f'],
  ])('%d encodes as %s', (value, hex) => {
    expect(encodeVarint(value).toString('hex')).toBe(hex)
    expect(readVarint(Buffer.from(hex, 'hex'), cursorOver(Buffer.from(hex, 'hex')))).toBe(value)
  })

  test('every int32 round-trips and matches KafkaJS byte for byte', () => {
    fc.assert(fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (value) => {
      const encoded = encodeVarint(value)
      const kafkaJs = new KafkaJsEncoder()
      kafkaJs.writeVarInt(value)
      expect(encoded).toEqual(kafkaJs.buffer)
      const cursor = cursorOver(encoded)
      expect(readVarint(encoded, cursor)).toBe(value)
      expect(cursor.position).toBe(encoded.length)
    }))
  })

  test('reads at the cursor and stops before cursor.end', () => {
    const buffer = Buffer.from('ff0204', 'hex')
    const cursor = { position: 1, end: 2 }
    expect(readVarint(buffer, cursor)).toBe(1)
    expect(cursor.position).toBe(2)
    expect(() => readVarint(buffer, cursor)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })

  test.each([
    ['empty', ''],
    ['truncated after a continuation byte', '80'],
    ['longer than 5 bytes', '8080808080'],
    ['fifth byte wider than 32 bits', '8080808010'],
  ])('malformed: %s → CORRUPT_MESSAGE', (_name, hex) => {
    const buffer = Buffer.from(hex, 'hex')
    expect(() => readVarint(buffer, cursorOver(buffer))).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })

  test('writing a value outside int32 is a bug, not data', () => {
    expect(() => writeVarint(Buffer.alloc(8), 0, 2 ** 31)).toThrow(/int32/)
    expect(() => writeVarint(Buffer.alloc(8), 0, 1.5)).toThrow(/int32/)
  })
})

describe('varlong (zigzag int64 within the safe integer range)', () => {
  test.each([
    [0, '00'], [-1, '01'], [1, '02'], [2 ** 31, '8080808010'], [-(2 ** 31) - 1, '8180808010'],
    [2 ** 32, '8080808020'], [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'], [-Number.MAX_SAFE_INTEGER, 'fdffffffffffff1f'],
  ])('%d encodes as %s', (value, hex) => {
    expect(encodeVarlong(value).toString('hex')).toBe(hex)
    const buffer = Buffer.from(hex, 'hex')
    expect(readVarlong(buffer, cursorOver(buffer))).toBe(value)
  })

  test('every safe integer round-trips and matches KafkaJS byte for byte', () => {
    const safe = fc.oneof(
      fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    )
    fc.assert(fc.property(safe, (value) => {
      const encoded = encodeVarlong(value)
      const kafkaJs = new KafkaJsEncoder()
      kafkaJs.writeVarLong(value)
      expect(encoded).toEqual(kafkaJs.buffer)
      const cursor = cursorOver(encoded)
      expect(readVarlong(encoded, cursor)).toBe(value)
      expect(cursor.position).toBe(encoded.length)
    }))
  })

  test('decodes int64 extremes as corrupt rather than inexact numbers', () => {
    // 2^53 (zigzag 2^54) and int64 max (zigzag 2^64 - 2): valid Kafka varlongs that no JS number holds exactly.
    for (const hex of ['80808080808080808001', 'feffffffffffffffff01']) {
      const buffer = Buffer.from(hex, 'hex')
      expect(() => readVarlong(buffer, cursorOver(buffer))).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
    }
  })

  test.each([
    ['truncated', '8080'],
    ['longer than 10 bytes', '80808080808080808080'],
    ['tenth byte wider than 64 bits', '80808080808080808002'],
  ])('malformed: %s → CORRUPT_MESSAGE', (_name, hex) => {
    const buffer = Buffer.from(hex, 'hex')
    expect(() => readVarlong(buffer, cursorOver(buffer))).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })

  test('any bytes decode to a value or CORRUPT_MESSAGE, never another error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
      const buffer = Buffer.from(bytes)
      for (const read of [readVarint, readVarlong]) {
        try {
          read(buffer, cursorOver(buffer))
        } catch (error) {
          expect(error).toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE })
        }
      }
    }))
  })
})

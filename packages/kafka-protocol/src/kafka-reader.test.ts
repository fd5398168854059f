/**
 * The primitive reader and writer: values survive a round trip, and input that lies about its lengths or widths is
 * refused with the reader's code before anything is allocated or read out of bounds.
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { KafkaReader } from './kafka-reader.js'
import { KafkaWriter } from './kafka-writer.js'

function hex (text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex')
}

function expectMalformed (run: () => unknown, code: ErrorCode = ErrorCode.INVALID_REQUEST): void {
  let caught: unknown
  try {
    run()
  } catch (error) {
    caught = error
  }
  expect(isGregorError(caught), String(caught)).toBe(true)
  expect((caught as { code: unknown }).code).toBe(code)
}

describe('KafkaWriter → KafkaReader', () => {
  test('every primitive round-trips, classic and compact', () => {
    const w = new KafkaWriter(8) // small, so the writer has to grow several times
    w.writeBoolean(true)
    w.writeInt8(-128)
    w.writeInt16(-32768)
    w.writeUint16(65535)
    w.writeInt32(-2147483648)
    w.writeUint32(4294967295)
    w.writeInt64(Number.MAX_SAFE_INTEGER)
    w.writeInt64(-Number.MAX_SAFE_INTEGER)
    w.writeInt64(-1)
    w.writeFloat64(-0.25)
    w.writeUnsignedVarint(4294967295)
    w.writeVarint(-2147483648)
    w.writeUuid('0123abcd-4567-89ab-cdef-0123456789ab')
    for (const compact of [false, true]) {
      w.writeString('ünïcode', compact)
      w.writeNullableString(null, compact)
      w.writeBytes(Buffer.from([1, 2, 3]), compact)
      w.writeNullableBytes(null, compact)
      w.writeArrayLength(-1, compact)
      w.writeArrayLength(2, compact)
      w.writeInt8(5) // the two elements: a count above the bytes left would be refused
      w.writeInt8(6)
    }
    const r = new KafkaReader(w.toBuffer())
    expect(r.readBoolean()).toBe(true)
    expect(r.readInt8()).toBe(-128)
    expect(r.readInt16()).toBe(-32768)
    expect(r.readUint16()).toBe(65535)
    expect(r.readInt32()).toBe(-2147483648)
    expect(r.readUint32()).toBe(4294967295)
    expect(r.readInt64()).toBe(Number.MAX_SAFE_INTEGER)
    expect(r.readInt64()).toBe(-Number.MAX_SAFE_INTEGER)
    expect(r.readInt64()).toBe(-1)
    expect(r.readFloat64()).toBe(-0.25)
    expect(r.readUnsignedVarint()).toBe(4294967295)
    expect(r.readVarint()).toBe(-2147483648)
    expect(r.readUuid()).toBe('0123abcd-4567-89ab-cdef-0123456789ab')
    for (const compact of [false, true]) {
      expect(r.readString(compact)).toBe('ünïcode')
      expect(r.readNullableString(compact)).toBeNull()
      expect([...r.readBytes(compact)]).toEqual([1, 2, 3])
      expect(r.readNullableBytes(compact)).toBeNull()
      expect(r.readArrayLength(compact, true)).toBe(-1)
      expect(r.readArrayLength(compact, false)).toBe(2)
      expect([r.readInt8(), r.readInt8()]).toEqual([5, 6])
    }
    expect(r.remaining).toBe(0)
  })

  test('compact lengths are length + 1 as an unsigned varint, 0 meaning null', () => {
    const w = new KafkaWriter()
    w.writeString('abc', true)
    w.writeNullableString(null, true)
    w.writeArrayLength(200, true)
    expect(w.toBuffer().toString('hex')).toBe('04616263' + '00' + 'c901')
  })

  test('records of 1 KiB or more become their own chunk; smaller ones are copied', () => {
    const big = Buffer.alloc(1024, 1)
    const small = Buffer.alloc(1023, 2)
    const w = new KafkaWriter()
    w.writeInt32(7)
    w.writeRecords(big, false)
    w.writeRecords(small, false)
    w.writeRecords(null, false)
    const chunks = w.finish()
    expect(chunks.length).toBe(3)
    expect(chunks[1]).toBe(big)
    expect(chunks.some((chunk) => chunk === small)).toBe(false)
    const r = new KafkaReader(Buffer.concat(chunks))
    expect(r.readInt32()).toBe(7)
    expect(r.readRecords(false)?.equals(big)).toBe(true)
    expect(r.readRecords(false)?.equals(small)).toBe(true)
    expect(r.readRecords(false)).toBeNull()
  })

  test('values outside their type are caller bugs and fail loudly', () => {
    const w = new KafkaWriter()
    expect(() => w.writeInt64(2 ** 53)).toThrow(/safe integer/)
    expect(() => w.writeString(null, false)).toThrow(/non-nullable/)
    expect(() => w.writeUuid('not-a-uuid')).toThrow(/uuid/)
    expect(() => w.assertNullAllowed(false)).toThrow(/not nullable/)
    const long = 'x'.repeat(0x8000)
    expect(() => w.writeString(long, false)).toThrow(/32767/)
  })
})

describe('KafkaReader refuses lying input', () => {
  test('never reads at or past `end`, even when the buffer goes on', () => {
    const r = new KafkaReader(hex('00000001 00000002'), 0, 6)
    expect(r.readInt32()).toBe(1)
    expectMalformed(() => r.readInt32())
  })

  test('a huge array count over a few bytes is refused before anything is allocated', () => {
    expectMalformed(() => new KafkaReader(hex('7fffffff 000000')).readArrayLength(false, false))
    expectMalformed(() => new KafkaReader(hex('ffffffff0f 00')).readArrayLength(true, false))
  })

  test('null where the field is not nullable', () => {
    expectMalformed(() => new KafkaReader(hex('ffffffff')).readArrayLength(false, false))
    expectMalformed(() => new KafkaReader(hex('ffff')).readString(false))
    expectMalformed(() => new KafkaReader(hex('00')).readString(true))
    expectMalformed(() => new KafkaReader(hex('ffffffff')).readBytes(false))
  })

  test('negative lengths other than -1', () => {
    expectMalformed(() => new KafkaReader(hex('fffe')).readNullableString(false))
    expectMalformed(() => new KafkaReader(hex('fffffffe 00')).readNullableBytes(false))
  })

  test('string and bytes lengths beyond the bytes left', () => {
    expectMalformed(() => new KafkaReader(hex('0005 61626364')).readString(false))
    expectMalformed(() => new KafkaReader(hex('06 61626364')).readString(true))
    expectMalformed(() => new KafkaReader(hex('00000005 61626364')).readBytes(false))
  })

  test('varints that are too long or too wide', () => {
    expectMalformed(() => new KafkaReader(hex('ffffffffff01')).readUnsignedVarint())
    expectMalformed(() => new KafkaReader(hex('ffffffff1f')).readUnsignedVarint())
    expectMalformed(() => new KafkaReader(hex('8080')).readUnsignedVarint())
    expect(new KafkaReader(hex('ffffffff0f')).readUnsignedVarint()).toBe(4294967295)
  })

  test('an int64 beyond 2^53 is refused rather than rounded; the edges of the safe range are read exactly', () => {
    expectMalformed(() => new KafkaReader(hex('0020000000000000')).readInt64())
    expectMalformed(() => new KafkaReader(hex('7fffffffffffffff')).readInt64())
    expectMalformed(() => new KafkaReader(hex('ffe0000000000000')).readInt64())
    expect(new KafkaReader(hex('001fffffffffffff')).readInt64()).toBe(Number.MAX_SAFE_INTEGER)
    expect(new KafkaReader(hex('ffe0000000000001')).readInt64()).toBe(-Number.MAX_SAFE_INTEGER)
  })

  test('a nullable struct marker other than -1 or 1', () => {
    expectMalformed(() => new KafkaReader(hex('02')).readStructPresence())
  })

  test('tagged fields: a count or size beyond the bytes left', () => {
    expectMalformed(() => new KafkaReader(hex('05 0000')).readTagCount())
    const r = new KafkaReader(hex('01 03 04 aabb'))
    expect(r.readTagCount()).toBe(1)
    expect(r.readUnsignedVarint()).toBe(3)
    expectMalformed(() => r.readTaggedFieldEnd())
  })

  test('errors carry the reader\'s code: CORRUPT_MESSAGE for a client reading responses', () => {
    expectMalformed(() => new KafkaReader(hex('00'), 0, 1, ErrorCode.CORRUPT_MESSAGE).readInt32(), ErrorCode.CORRUPT_MESSAGE)
  })

  test('bounds outside the buffer are a caller bug', () => {
    expect(() => new KafkaReader(Buffer.alloc(4), 0, 5)).toThrow(RangeError)
  })
})

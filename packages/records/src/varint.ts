/**
 * Kafka's variable-length integers (protobuf base-128 varints over zigzag-encoded values), as used inside a
 * RecordBatch v2 record: `varint` holds an int32 (1..5 bytes), `varlong` an int64 (1..10 bytes).
 *
 * Layout: zigzag maps n to (n << 1) ^ (n >> 31|63) so small magnitudes of either sign stay short; the result is
 * written 7 bits at a time, least significant group first, with the high bit of each byte set when more follow.
 *
 * Invariants: writers take integers in range (int32 for varint, safe integers for varlong: |n| ≤ 2^53 - 1, enough
 * for any millisecond timestamp delta) and assert it, because an out-of-range value is a caller bug. Readers never
 * trust their input: a varint that runs past `cursor.end`, is longer than its type allows, or decodes to a value a
 * JS number cannot hold exactly throws CORRUPT_MESSAGE, never a RangeError.
 *
 * varlong math splits the 64-bit value into two uint32 halves (the protobufjs technique), so no bigint is created.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError } from '@gregor/common'

/** A read position that decoders advance in place, so a parse allocates one cursor rather than a result per field. */
export interface Cursor {
  position: number
  /**
   * First byte the reader may not touch (exclusive); never beyond the buffer's length. Mutable: `scanRecord` narrows
   * it to one record while it reads that record, and restores it.
   */
  end: number
}

const TWO_POW_32 = 0x1_0000_0000

/** Bytes `writeVarint` uses for `value` (an int32). */
export function sizeOfVarint (value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  let bytes = 1
  while (zigzag > 0x7f) {
    zigzag >>>= 7
    bytes++
  }
  return bytes
}

/** Writes `value` (an int32) as a zigzag varint at `position`; returns the position after it. */
export function writeVarint (buffer: Buffer, position: number, value: number): number {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, 'varint value must be an int32')
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  while (zigzag > 0x7f) {
    buffer[position++] = (zigzag & 0x7f) | 0x80
    zigzag >>>= 7
  }
  buffer[position++] = zigzag
  return position
}

/** Bytes `writeVarlong` uses for `value` (a safe integer). */
export function sizeOfVarlong (value: number): number {
  let [high, low] = zigzag64(value)
  let bytes = 1
  while (high !== 0 || low > 0x7f) {
    low = ((low >>> 7) | (high << 25)) >>> 0
    high >>>= 7
    bytes++
  }
  return bytes
}

/** Writes `value` (a safe integer) as a zigzag varlong at `position`; returns the position after it. */
export function writeVarlong (buffer: Buffer, position: number, value: number): number {
  assert(Number.isSafeInteger(value), 'varlong value must be a safe integer')
  let [high, low] = zigzag64(value)
  while (high !== 0 || low > 0x7f) {
    buffer[position++] = (low & 0x7f) | 0x80
    low = ((low >>> 7) | (high << 25)) >>> 0
    high >>>= 7
  }
  buffer[position++] = low
  return position
}

/** Reads a zigzag varint (int32) at `cursor.position` and advances the cursor past it. */
export function readVarint (buffer: Buffer, cursor: Cursor): number {
  let position = cursor.position
  let zigzag = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (position >= cursor.end) throw corruptVarint('varint runs past the end', cursor)
    const byte = buffer[position++] as number
    // The fifth byte holds bits 28..31 only: anything above them (or a continuation bit) overflows an int32.
    if (shift === 28 && byte > 0x0f) throw corruptVarint('varint longer than 5 bytes or wider than 32 bits', cursor)
    zigzag |= (byte & 0x7f) << shift
    if (byte < 0x80) {
      cursor.position = position
      return (zigzag >>> 1) ^ -(zigzag & 1)
    }
  }
  throw corruptVarint('varint longer than 5 bytes', cursor)
}

/** Reads a zigzag varlong at `cursor.position` and advances the cursor; it must fit a safe integer. */
export function readVarlong (buffer: Buffer, cursor: Cursor): number {
  let position = cursor.position
  let low = 0
  let high = 0
  for (let index = 0; index < 10; index++) {
    if (position >= cursor.end) throw corruptVarint('varlong runs past the end', cursor)
    const byte = buffer[position++] as number
    // The tenth byte holds bit 63 only.
    if (index === 9 && byte > 0x01) throw corruptVarint('varlong longer than 10 bytes or wider than 64 bits', cursor)
    const bits = byte & 0x7f
    if (index < 4) low |= bits << (7 * index)
    else if (index === 4) {
      low |= bits << 28 // the low 4 of these 7 bits; the shift drops the rest, which go to `high`
      high |= bits >>> 4
    } else high |= bits << (7 * index - 32)
    if (byte < 0x80) {
      cursor.position = position
      return unzigzag64(high >>> 0, low >>> 0, cursor)
    }
  }
  throw corruptVarint('varlong longer than 10 bytes', cursor)
}

/** (value << 1) ^ (value >> 63) as [high, low] uint32 halves, for a safe integer `value`. */
function zigzag64 (value: number): [number, number] {
  const low = value >>> 0 // ToUint32 is exact modulo 2^32 for any integer
  const high = Math.floor(value / TWO_POW_32) | 0 // two's complement high word; |value| < 2^53 keeps it in range
  const sign = high >> 31
  return [(((high << 1) | (low >>> 31)) ^ sign) >>> 0, ((low << 1) ^ sign) >>> 0]
}

function unzigzag64 (high: number, low: number, cursor: Cursor): number {
  const sign = -(low & 1)
  const valueLow = (((low >>> 1) | (high << 31)) ^ sign) >>> 0
  const valueHigh = ((high >>> 1) ^ sign) | 0
  const value = valueHigh * TWO_POW_32 + valueLow
  if (!Number.isSafeInteger(value)) throw corruptVarint('varlong beyond the safe integer range', cursor)
  return value
}

function corruptVarint (message: string, cursor: Cursor): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details: { position: cursor.position } })
}

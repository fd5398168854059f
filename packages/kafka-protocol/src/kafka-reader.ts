/**
 * A cursor over one Buffer that reads Kafka's protocol primitive types (the "Protocol Primitive Types" of Kafka's
 * protocol guide): fixed-width big-endian integers, unsigned varints, classic and compact strings, bytes and arrays,
 * UUIDs and tagged-field framing.
 *
 * Invariants: the reader never touches a byte at or beyond `end`, and never trusts a length from the wire: a string,
 * bytes or array length is checked against the bytes left before anything is allocated for it (every array element
 * takes at least one byte, so an element count above the bytes left is a lie). Any violation throws a GregorError
 * with the reader's `malformedCode` (INVALID_REQUEST when a broker reads a request, CORRUPT_MESSAGE when a client
 * reads a response), never a RangeError.
 *
 * `bytes` and `records` come back as views (`subarray`) of the frame, not copies: a Produce request's record batches
 * reach the log without being copied, and whoever holds a view keeps the frame's memory alive and must not reuse it.
 *
 * int64 values are JS numbers (offsets, timestamps, producer ids and epochs all stay below 2^53 in practice; see
 * `@gregor/common` ids): a value outside the safe-integer range is refused as malformed rather than rounded.
 */
import { ErrorCode, GregorError } from '@gregor/common'

const TWO_POW_32 = 0x1_0000_0000
const HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

export class KafkaReader {
  readonly buffer: Buffer
  /** Next byte to read. */
  position: number
  /** First byte the reader may not touch (exclusive); never beyond `buffer.length`. */
  readonly end: number
  /** The code every malformed-input error carries. */
  readonly malformedCode: ErrorCode

  constructor (buffer: Buffer, position = 0, end = buffer.length, malformedCode: ErrorCode = ErrorCode.INVALID_REQUEST) {
    if (!(Number.isInteger(position) && Number.isInteger(end) && position >= 0 && position <= end && end <= buffer.length)) {
      throw new RangeError(`reader bounds [${position}, ${end}) outside a buffer of ${buffer.length} bytes`)
    }
    this.buffer = buffer
    this.position = position
    this.end = end
    this.malformedCode = malformedCode
  }

  get remaining (): number {
    return this.end - this.position
  }

  /** An error for input that breaks the protocol at the current position; the caller throws it. */
  malformed (message: string, details: Readonly<Record<string, unknown>> = {}): GregorError {
    return new GregorError(this.malformedCode, message, { details: { position: this.position, ...details } })
  }

  /** Claims `size` bytes and returns the position where they start. */
  #take (size: number, what: string): number {
    const start = this.position
    if (size > this.end - start) throw this.malformed(`${what} runs past the end of the frame`, { size, remaining: this.end - start })
    this.position = start + size
    return start
  }

  readBoolean (): boolean {
    return this.buffer[this.#take(1, 'bool')] !== 0
  }

  readInt8 (): number {
    return this.buffer.readInt8(this.#take(1, 'int8'))
  }

  readInt16 (): number {
    return this.buffer.readInt16BE(this.#take(2, 'int16'))
  }

  readUint16 (): number {
    return this.buffer.readUInt16BE(this.#take(2, 'uint16'))
  }

  readInt32 (): number {
    return this.buffer.readInt32BE(this.#take(4, 'int32'))
  }

  readUint32 (): number {
    return this.buffer.readUInt32BE(this.#take(4, 'uint32'))
  }

  /** An int64 as a number; one beyond ±(2^53 - 1) is refused rather than silently rounded. */
  readInt64 (): number {
    const start = this.#take(8, 'int64')
    // high * 2^32 is exact; the sum rounds only when the true value is already outside the safe range.
    const value = this.buffer.readInt32BE(start) * TWO_POW_32 + this.buffer.readUInt32BE(start + 4)
    if (!Number.isSafeInteger(value)) {
      this.position = start
      throw this.malformed('int64 beyond the safe integer range')
    }
    return value
  }

  readFloat64 (): number {
    return this.buffer.readDoubleBE(this.#take(8, 'float64'))
  }

  /** An unsigned varint that fits 32 bits (Kafka's UNSIGNED_VARINT: lengths, counts, tags). */
  readUnsignedVarint (): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.position >= this.end) throw this.malformed('varint runs past the end of the frame')
      const byte = this.buffer[this.position++] as number
      if (shift === 28 && byte > 0x0f) throw this.malformed('unsigned varint wider than 32 bits')
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
    }
    throw this.malformed('unsigned varint longer than 5 bytes')
  }

  /** A zigzag varint (int32). */
  readVarint (): number {
    const zigzag = this.readUnsignedVarint()
    return (zigzag >>> 1) ^ -(zigzag & 1)
  }

  /** A 16-byte UUID in its canonical 8-4-4-4-12 lowercase hex form. */
  readUuid (): string {
    const start = this.#take(16, 'uuid')
    const b = this.buffer
    let text = ''
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += '-'
      text += HEX[b[start + i] as number]
    }
    return text
  }

  /** The length of a string/bytes/array in classic (int16/int32) or compact (uvarint + 1) form; -1 means null. */
  #length (compact: boolean, wide: boolean, what: string): number {
    let length: number
    if (compact) length = this.readUnsignedVarint() - 1
    else length = wide ? this.readInt32() : this.readInt16()
    if (length < -1) throw this.malformed(`negative ${what} length`, { length })
    if (length > this.end - this.position) throw this.malformed(`${what} length beyond the end of the frame`, { length, remaining: this.end - this.position })
    return length
  }

  readString (compact: boolean): string {
    const value = this.readNullableString(compact)
    if (value === null) throw this.malformed('null in a non-nullable string')
    return value
  }

  readNullableString (compact: boolean): string | null {
    const length = this.#length(compact, false, 'string')
    if (length < 0) return null
    const start = this.position
    this.position += length
    return this.buffer.toString('utf8', start, start + length)
  }

  /** Bytes as a view of the frame (no copy). */
  readBytes (compact: boolean): Buffer {
    const value = this.readNullableBytes(compact)
    if (value === null) throw this.malformed('null in non-nullable bytes')
    return value
  }

  readNullableBytes (compact: boolean): Buffer | null {
    const length = this.#length(compact, true, 'bytes')
    if (length < 0) return null
    const start = this.position
    this.position += length
    return this.buffer.subarray(start, start + length)
  }

  /** Record batches: opaque nullable bytes, returned as a view of the frame so they reach the log uncopied. */
  readRecords (compact: boolean): Buffer | null {
    return this.readNullableBytes(compact)
  }

  /**
   * An array's element count (-1 for null, allowed only when `nullable`). Every element takes at least one byte, so a
   * count above the bytes left is refused before the caller allocates anything for it.
   */
  readArrayLength (compact: boolean, nullable: boolean): number {
    const length = this.#length(compact, true, 'array')
    if (length < 0 && !nullable) throw this.malformed('null in a non-nullable array')
    return length
  }

  /** The int8 presence marker of a nullable struct: false for null (-1), true for present (1). */
  readStructPresence (): boolean {
    const marker = this.readInt8()
    if (marker !== -1 && marker !== 1) throw this.malformed('bad nullable struct marker', { marker })
    return marker === 1
  }

  /** The number of tagged fields that follow. */
  readTagCount (): number {
    const count = this.readUnsignedVarint()
    // Each tagged field takes at least two bytes (tag and size).
    if (count > this.end - this.position) throw this.malformed('tagged field count beyond the end of the frame', { count })
    return count
  }

  /** Reads a tagged field's size and returns the position just after its data, which must lie inside the frame. */
  readTaggedFieldEnd (): number {
    const size = this.readUnsignedVarint()
    if (size > this.end - this.position) throw this.malformed('tagged field runs past the end of the frame', { size })
    return this.position + size
  }

  /** Checks that a known tagged field's value filled exactly the size its header announced. */
  expectTaggedFieldEnd (end: number, tag: number): void {
    if (this.position !== end) throw this.malformed('tagged field size does not match its value', { tag, expectedEnd: end })
  }

  /** Skips an unknown tagged field's data (its end was checked by `readTaggedFieldEnd`). */
  skipTo (end: number): void {
    this.position = end
  }

  /** Skips a whole tagged-field section whose tags are all unknown to this version. */
  skipTaggedFields (): void {
    const count = this.readTagCount()
    for (let i = 0; i < count; i++) {
      this.readUnsignedVarint()
      this.skipTo(this.readTaggedFieldEnd())
    }
  }
}

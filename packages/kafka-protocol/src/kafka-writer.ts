/**
 * Writes Kafka's protocol primitive types into a growable scratch Buffer with a cursor, producing the frame as a list
 * of chunks ready for a vectored socket write.
 *
 * Record batches (`writeRecords`) of `recordsViewBytesMin` bytes or more are not copied: the scratch bytes so far
 * become one chunk, the batch buffer itself the next, so a Fetch response hands stored bytes to the socket untouched.
 * Small batches are copied, where a copy is cheaper than another chunk.
 *
 * Invariants: a value the caller passes out of its type's range (an int32 that is not an int32, an int64 beyond
 * 2^53, a malformed UUID, null where the version does not allow it) is a bug in the caller and fails an assertion;
 * the writer never emits bytes that a reader of the same version would reject. Chunks already returned are never
 * written again (growing allocates a new scratch buffer and leaves earlier chunks where they are).
 */
import assert from 'node:assert/strict'

const TWO_POW_32 = 0x1_0000_0000
const INITIAL_BYTES = 256
/** Record batches at least this large travel as their own chunk rather than being copied. */
const recordsViewBytesMin = 1024

export class KafkaWriter {
  #buffer: Buffer
  #position = 0
  /** Where the scratch bytes not yet handed out as a chunk begin. */
  #segmentStart = 0
  readonly #chunks: Buffer[] = []
  #chunkBytes = 0

  constructor (initialBytes = INITIAL_BYTES) {
    this.#buffer = Buffer.allocUnsafe(initialBytes)
  }

  /** Bytes written so far. */
  get length (): number {
    return this.#chunkBytes + this.#position - this.#segmentStart
  }

  /**
   * Claims `size` bytes and returns where they start. It may replace `#buffer`, so callers read `#buffer` only after
   * calling it (`this.#buffer.write(x, this.#reserve(n))` would write into the old buffer).
   */
  #reserve (size: number): number {
    if (this.#position + size > this.#buffer.length) {
      const pending = this.#position - this.#segmentStart
      const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, pending + size, INITIAL_BYTES))
      this.#buffer.copy(next, 0, this.#segmentStart, this.#position)
      this.#buffer = next
      this.#segmentStart = 0
      this.#position = pending
    }
    const start = this.#position
    this.#position += size
    return start
  }

  writeBoolean (value: boolean): void {
    const at = this.#reserve(1)
    this.#buffer[at] = value ? 1 : 0
  }

  writeInt8 (value: number): void {
    const at = this.#reserve(1)
    this.#buffer.writeInt8(value, at)
  }

  writeInt16 (value: number): void {
    const at = this.#reserve(2)
    this.#buffer.writeInt16BE(value, at)
  }

  writeUint16 (value: number): void {
    const at = this.#reserve(2)
    this.#buffer.writeUInt16BE(value, at)
  }

  writeInt32 (value: number): void {
    const at = this.#reserve(4)
    this.#buffer.writeInt32BE(value, at)
  }

  writeUint32 (value: number): void {
    const at = this.#reserve(4)
    this.#buffer.writeUInt32BE(value, at)
  }

  writeInt64 (value: number): void {
    assert(Number.isSafeInteger(value), 'int64 value must be a safe integer')
    const start = this.#reserve(8)
    this.#buffer.writeInt32BE(Math.floor(value / TWO_POW_32), start)
    this.#buffer.writeUInt32BE(value >>> 0, start + 4)
  }

  writeFloat64 (value: number): void {
    const at = this.#reserve(8)
    this.#buffer.writeDoubleBE(value, at)
  }

  writeUnsignedVarint (value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value < TWO_POW_32, 'unsigned varint value must be a uint32')
    let rest = value
    while (rest > 0x7f) {
      const at = this.#reserve(1)
      this.#buffer[at] = (rest & 0x7f) | 0x80
      rest = Math.floor(rest / 128)
    }
    const at = this.#reserve(1)
    this.#buffer[at] = rest
  }

  writeVarint (value: number): void {
    assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, 'varint value must be an int32')
    this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0)
  }

  writeUuid (value: string): void {
    assert(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value), 'uuid must be 8-4-4-4-12 lowercase hex')
    const at = this.#reserve(16)
    this.#buffer.write(value.replaceAll('-', ''), at, 16, 'hex')
  }

  #writeLength (length: number, compact: boolean, wide: boolean): void {
    if (compact) this.writeUnsignedVarint(length + 1)
    else if (wide) this.writeInt32(length)
    else this.writeInt16(length)
  }

  writeString (value: string | null, compact: boolean): void {
    assert(value !== null, 'null in a non-nullable string')
    this.writeNullableString(value, compact)
  }

  writeNullableString (value: string | null, compact: boolean): void {
    if (value === null) {
      this.#writeLength(-1, compact, false)
      return
    }
    const length = Buffer.byteLength(value, 'utf8')
    assert(length <= 0x7fff, 'string longer than 32767 bytes')
    this.#writeLength(length, compact, false)
    const at = this.#reserve(length)
    this.#buffer.write(value, at, length, 'utf8')
  }

  writeBytes (value: Buffer | null, compact: boolean): void {
    assert(value !== null, 'null in non-nullable bytes')
    this.writeNullableBytes(value, compact)
  }

  writeNullableBytes (value: Buffer | null, compact: boolean): void {
    if (value === null) {
      this.#writeLength(-1, compact, true)
      return
    }
    this.#writeLength(value.length, compact, true)
    const at = this.#reserve(value.length)
    value.copy(this.#buffer, at)
  }

  /** Record batches: nullable bytes; a large batch is passed on as its own chunk, not copied. */
  writeRecords (value: Buffer | null, compact: boolean): void {
    if (value === null || value.length < recordsViewBytesMin) {
      this.writeNullableBytes(value, compact)
      return
    }
    this.#writeLength(value.length, compact, true)
    this.#flushSegment()
    this.#chunks.push(value)
    this.#chunkBytes += value.length
  }

  writeArrayLength (length: number, compact: boolean): void {
    this.#writeLength(length, compact, true)
  }

  /** Asserts that null may be written where the version allows it (`allowed`); a null elsewhere is a caller bug. */
  assertNullAllowed (allowed: boolean): void {
    assert(allowed, 'null in a field that is not nullable in this version')
  }

  writeStructPresence (present: boolean): void {
    this.writeInt8(present ? 1 : -1)
  }

  /** Appends one tagged field: its tag, the size of `value`'s bytes, then those bytes. */
  writeTaggedField (tag: number, value: KafkaWriter): void {
    this.writeUnsignedVarint(tag)
    this.writeUnsignedVarint(value.length)
    for (const chunk of value.finish()) {
      const at = this.#reserve(chunk.length)
      chunk.copy(this.#buffer, at)
    }
  }

  #flushSegment (): void {
    if (this.#position > this.#segmentStart) {
      this.#chunks.push(this.#buffer.subarray(this.#segmentStart, this.#position))
      this.#chunkBytes += this.#position - this.#segmentStart
      this.#segmentStart = this.#position
    }
  }

  /** The bytes written, as chunks in order; the writer must not be used afterwards. */
  finish (): Buffer[] {
    this.#flushSegment()
    return this.#chunks
  }

  /** The bytes written as one Buffer (copies when there is more than one chunk); for tests and small frames. */
  toBuffer (): Buffer {
    const chunks = this.finish()
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  }
}

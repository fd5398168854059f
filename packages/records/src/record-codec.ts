/**
 * One record inside a RecordBatch v2 records section (Kafka's DefaultRecord): its size, its encoding into a
 * preallocated buffer, and its decoding.
 *
 * Layout (varint = zigzag int32, varlong = zigzag int64, see varint.ts):
 *   length varint (bytes after this field) | attributes int8 (unused, 0) | timestampDelta varlong | offsetDelta varint
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
 *   headerCount varint | per header: keyLength varint | key (UTF-8) | valueLength varint (-1 = null) | value
 * timestampDelta is relative to the batch's baseTimestamp, offsetDelta to its baseOffset.
 *
 * Invariants: `recordBodyBytes` is exactly what `writeRecord` writes after the length field, so a batch is sized
 * once and written without reallocation. `readRecord` never reads outside its record: every length is checked
 * against the record's own end, and a record whose fields do not add up to its length is CORRUPT_MESSAGE (Kafka's
 * "Invalid record size"). Decoded keys, values and header values are views of the input, not copies.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type Cursor, readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js'

/** A record header. Keys are UTF-8 strings and never null; values may be null. */
export interface RecordHeader {
  readonly key: string
  readonly value: Buffer | null
}

/** A record as a producer hands it over. A missing timestamp means "now" (`nowMs` of the batch). */
export interface RecordInput {
  readonly key?: Buffer | null
  readonly value: Buffer | null
  readonly headers?: readonly RecordHeader[]
  readonly timestamp?: number
}

/** A record as decoded from a batch, with absolute offset and timestamp. */
export interface ParsedRecord {
  readonly offset: number
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: RecordHeader[]
}

/** What a record's absolute offset and timestamp are computed from. */
export interface RecordContext {
  readonly baseOffset: number
  readonly baseTimestamp: number
  /** For LOG_APPEND_TIME batches: every record's timestamp is the batch's maxTimestamp (Kafka DefaultRecordBatch). */
  readonly logAppendTime: number | undefined
  /** The batch's lastOffsetDelta: no record's offsetDelta may pass it. */
  readonly lastOffsetDelta: number
}

/** Bytes of a record after its length field. */
export function recordBodyBytes (record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let bytes = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta)
  bytes += nullableBytesSize(record.key ?? null, 'key') + nullableBytesSize(record.value, 'value')
  const headers = record.headers ?? []
  bytes += sizeOfVarint(headers.length)
  for (const header of headers) {
    if (typeof header.key !== 'string') throw invalidRecord('header key must be a string')
    const keyBytes = Buffer.byteLength(header.key, 'utf8')
    bytes += sizeOfVarint(keyBytes) + keyBytes + nullableBytesSize(header.value, 'header value')
  }
  return bytes
}

/** Writes the whole record (length field first) at `position`; returns the position after it. */
export function writeRecord (
  buffer: Buffer, position: number, record: RecordInput, fields: { bodyBytes: number; timestampDelta: number; offsetDelta: number },
): number {
  position = writeVarint(buffer, position, fields.bodyBytes)
  buffer[position++] = 0
  position = writeVarlong(buffer, position, fields.timestampDelta)
  position = writeVarint(buffer, position, fields.offsetDelta)
  position = writeNullableBytes(buffer, position, record.key ?? null)
  position = writeNullableBytes(buffer, position, record.value)
  const headers = record.headers ?? []
  position = writeVarint(buffer, position, headers.length)
  for (const header of headers) {
    position = writeVarint(buffer, position, Buffer.byteLength(header.key, 'utf8'))
    position += buffer.write(header.key, position, 'utf8')
    position = writeNullableBytes(buffer, position, header.value)
  }
  return position
}

/**
 * Decodes the record at `cursor.position` (the `index`-th of its batch) and advances the cursor past it. Its
 * offsetDelta must lie in [`minOffsetDelta`, context.lastOffsetDelta] (the caller passes one past the previous
 * record's): increasing, as produced (0..n-1) or after compaction removed records (gaps, never reordering).
 */
export function readRecord (buffer: Buffer, cursor: Cursor, index: number, context: RecordContext, minOffsetDelta: number): ParsedRecord {
  const bodyBytes = readVarint(buffer, cursor)
  if (bodyBytes < 0 || bodyBytes > cursor.end - cursor.position) {
    throw corrupt('record length out of bounds', { index, bodyBytes, available: cursor.end - cursor.position })
  }
  const end = cursor.position + bodyBytes
  // Record attributes (one byte) are unused in v2 and ignored, as Kafka does.
  const record: Cursor = { position: cursor.position + 1, end }
  const timestampDelta = readVarlong(buffer, record)
  const offsetDelta = readVarint(buffer, record)
  if (offsetDelta < minOffsetDelta || offsetDelta > context.lastOffsetDelta) {
    throw corrupt('record offsetDelta out of sequence', { index, offsetDelta })
  }
  const key = readNullableBytes(buffer, record)
  const value = readNullableBytes(buffer, record)
  const headers = readHeaders(buffer, record)
  if (record.position !== end) throw corrupt('record fields do not fill its length', { index, bodyBytes })
  cursor.position = end
  const timestamp = context.logAppendTime ?? context.baseTimestamp + timestampDelta
  if (!Number.isSafeInteger(timestamp)) throw corrupt('record timestamp out of range', { index, timestamp })
  return { offset: context.baseOffset + offsetDelta, timestamp, key, value, headers }
}

function readHeaders (buffer: Buffer, cursor: Cursor): RecordHeader[] {
  const count = readVarint(buffer, cursor)
  // Each header takes at least two bytes, so a count beyond the remaining bytes is a lie (Kafka checks the same).
  if (count < 0 || count > cursor.end - cursor.position) throw corrupt('record header count out of bounds', { count })
  const headers: RecordHeader[] = []
  for (let index = 0; index < count; index++) {
    const keyBytes = readVarint(buffer, cursor)
    if (keyBytes < 0 || keyBytes > cursor.end - cursor.position) {
      throw corrupt('record header key length out of bounds', { keyBytes })
    }
    const key = buffer.toString('utf8', cursor.position, cursor.position + keyBytes)
    cursor.position += keyBytes
    headers.push({ key, value: readNullableBytes(buffer, cursor) })
  }
  return headers
}

function readNullableBytes (buffer: Buffer, cursor: Cursor): Buffer | null {
  const length = readVarint(buffer, cursor)
  if (length === -1) return null
  if (length < -1 || length > cursor.end - cursor.position) throw corrupt('record field length out of bounds', { length })
  const bytes = buffer.subarray(cursor.position, cursor.position + length)
  cursor.position += length
  return bytes
}

function nullableBytesSize (bytes: Uint8Array | null, field: string): number {
  if (bytes === null) return 1
  // A string would be measured in UTF-16 units and written as something else: refuse it rather than corrupt.
  if (!(bytes instanceof Uint8Array)) throw invalidRecord(`record ${field} must be a Buffer or null`)
  return sizeOfVarint(bytes.length) + bytes.length
}

function writeNullableBytes (buffer: Buffer, position: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buffer, position, -1)
  position = writeVarint(buffer, position, bytes.length)
  buffer.set(bytes, position)
  return position + bytes.length
}

function invalidRecord (message: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message)
}

function corrupt (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details })
}

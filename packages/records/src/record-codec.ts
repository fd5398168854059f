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
/**
 * Where one record's fields lie in its section, as `scanRecord` found them. Filled in place, so a scan allocates
 * nothing: the lazy `RecordReader` keeps one for all its records.
 */
export interface RecordSpan {
  offsetDelta: number
  /** Create time, or the batch's maxTimestamp for LOG_APPEND_TIME batches (epoch ms). */
  timestamp: number
  /** Start and length of the key; length -1 when it is null. */
  keyStart: number
  keyLength: number
  valueStart: number
  valueLength: number
  /** Just after the header count; `headerCount` headers follow, already checked. */
  headersStart: number
  headerCount: number
}

export function emptyRecordSpan (): RecordSpan {
  return { offsetDelta: 0, timestamp: 0, keyStart: 0, keyLength: -1, valueStart: 0, valueLength: -1, headersStart: 0, headerCount: 0 }
}

/**
 * Reads and validates the record at `cursor.position` (the record number `index` of its batch) into `span`, leaving
 * the cursor after it: length within the section, offsetDelta increasing (at least `minOffsetDelta`) and within the
 * batch's lastOffsetDelta, key, value and headers within the record, fields filling the record, timestamp a safe
 * integer. Malformed bytes are CORRUPT_MESSAGE. The one validation both `readRecord` (eager) and `RecordReader`
 * (lazy) use.
 */
export function scanRecord (
  buffer: Buffer, cursor: Cursor, index: number, context: RecordContext, minOffsetDelta: number, span: RecordSpan,
): void {
  const sectionEnd = cursor.end
  const bodyBytes = readVarint(buffer, cursor)
  if (bodyBytes < 0 || bodyBytes > sectionEnd - cursor.position) {
    throw corrupt('record length out of bounds', { index, bodyBytes, available: sectionEnd - cursor.position })
  }
  const end = cursor.position + bodyBytes
  cursor.end = end
  // Record attributes (one byte) are unused in v2 and ignored, as Kafka does.
  cursor.position += 1
  const timestampDelta = readVarlong(buffer, cursor)
  const offsetDelta = readVarint(buffer, cursor)
  if (offsetDelta < minOffsetDelta || offsetDelta > context.lastOffsetDelta) {
    throw corrupt('record offsetDelta out of sequence', { index, offsetDelta })
  }
  span.keyLength = skipNullableBytes(buffer, cursor)
  span.keyStart = cursor.position - Math.max(span.keyLength, 0)
  span.valueLength = skipNullableBytes(buffer, cursor)
  span.valueStart = cursor.position - Math.max(span.valueLength, 0)
  span.headerCount = readVarint(buffer, cursor)
  // Each header takes at least two bytes, so a count beyond the remaining bytes is a lie (Kafka checks the same).
  if (span.headerCount < 0 || span.headerCount > end - cursor.position) {
    throw corrupt('record header count out of bounds', { count: span.headerCount })
  }
  span.headersStart = cursor.position
  for (let header = 0; header < span.headerCount; header++) {
    const keyBytes = readVarint(buffer, cursor)
    if (keyBytes < 0 || keyBytes > end - cursor.position) throw corrupt('record header key length out of bounds', { keyBytes })
    cursor.position += keyBytes
    skipNullableBytes(buffer, cursor)
  }
  if (cursor.position !== end) throw corrupt('record fields do not fill its length', { index, bodyBytes })
  const timestamp = context.logAppendTime ?? context.baseTimestamp + timestampDelta
  if (!Number.isSafeInteger(timestamp)) throw corrupt('record timestamp out of range', { index, timestamp })
  cursor.end = sectionEnd
  span.offsetDelta = offsetDelta
  span.timestamp = timestamp
}

/** The record at `cursor.position`, validated by `scanRecord`, with its key, value and header values as views. */
export function readRecord (buffer: Buffer, cursor: Cursor, index: number, context: RecordContext, minOffsetDelta: number): ParsedRecord {
  const span = emptyRecordSpan()
  scanRecord(buffer, cursor, index, context, minOffsetDelta, span)
  return {
    offset: context.baseOffset + span.offsetDelta,
    timestamp: span.timestamp,
    key: bytesAt(buffer, span.keyStart, span.keyLength),
    value: bytesAt(buffer, span.valueStart, span.valueLength),
    headers: headersAt(buffer, span.headersStart, span.headerCount),
  }
}

/** A view of `length` bytes at `start`, or null for length -1. */
export function bytesAt (buffer: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : buffer.subarray(start, start + length)
}

/** The `count` headers at `position`, which `scanRecord` checked: keys as strings, values as views. */
export function headersAt (buffer: Buffer, position: number, count: number): RecordHeader[] {
  const headers: RecordHeader[] = []
  const cursor: Cursor = { position, end: buffer.length }
  for (let index = 0; index < count; index++) {
    const keyBytes = readVarint(buffer, cursor)
    const key = buffer.toString('utf8', cursor.position, cursor.position + keyBytes)
    cursor.position += keyBytes
    const valueBytes = readVarint(buffer, cursor)
    headers.push({ key, value: bytesAt(buffer, cursor.position, valueBytes) })
    cursor.position += Math.max(valueBytes, 0)
  }
  return headers
}

/** Steps over a length-prefixed field (-1 = null) within the cursor's end; returns its length. */
function skipNullableBytes (buffer: Buffer, cursor: Cursor): number {
  const length = readVarint(buffer, cursor)
  if (length === -1) return -1
  if (length < -1 || length > cursor.end - cursor.position) throw corrupt('record field length out of bounds', { length })
  cursor.position += length
  return length
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

/**
 * A record inside a RecordBatch v2 records section, sized and written by the producer without building anything
 * per record: the accumulator sizes a record before it joins a batch (to fill batches up to `batchBytesMax` and
 * account buffer memory), and the batch then writes it straight into its buffer (producer-batch.ts).
 *
 * Input: the fields as a caller gives them: keys, values and header values as bytes (any Uint8Array), UTF-8
 * strings or null; headers as a list of `{ key, value }` (names may repeat) or an object of name → value. Strings
 * are measured with `Buffer.byteLength` and written with `buffer.write`, so no Buffer is made for them.
 *
 * Invariants: `recordBytes` is exactly what `writeRecordFields` writes, length varint included, and both are
 * byte-for-byte what `buildBatch` (@gregor/records, Kafka's DefaultRecord layout in records/src/record-codec.ts)
 * writes for the same record encoded as Buffers. Sizing refuses what the writer could not write (INVALID_REQUEST),
 * so a bad record fails its own append instead of the whole batch it would have joined; writing never throws for a
 * record that was sized. Nothing here allocates per record.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { sizeOfVarint, sizeOfVarlong, writeVarlong } from '@gregor/records'

/** A key, value or header value: bytes, a string (written as UTF-8), or null. */
export type RecordField = Uint8Array | string | null

/** Headers as a list (names may repeat) or as an object of name → value. */
export type RecordHeadersInput =
  | ReadonlyArray<{ readonly key: string; readonly value: RecordField }>
  | Readonly<Record<string, RecordField>>

/** The fields of one record as the producer takes them; its timestamp is fixed by the time it is sized. */
export interface RecordFields {
  readonly key?: RecordField | undefined
  readonly value: RecordField
  readonly headers?: RecordHeadersInput | undefined
}

/** Where a record sits in its batch: both deltas change the varint sizes of its fields. */
export interface RecordPlacement {
  /** The record's timestamp minus the batch's first record's timestamp (may be negative). */
  readonly timestampDeltaMs: number
  /** The record's index in its batch. */
  readonly offsetDelta: number
}

/** Bytes `record` takes in a records section at `placement`, its length varint included. Throws INVALID_REQUEST. */
export function recordBytes (record: RecordFields, placement: RecordPlacement): number {
  return recordBytesAt(record, placement.timestampDeltaMs, placement.offsetDelta)
}

/** `recordBytes` with the placement as two numbers: the per-record path makes no placement object. */
export function recordBytesAt (record: RecordFields, timestampDeltaMs: number, offsetDelta: number): number {
  const body = recordBodyBytes(record, timestampDeltaMs, offsetDelta)
  return sizeOfVarint(body) + body
}

/** Bytes of a record after its length field. Throws INVALID_REQUEST for what cannot be written. */
export function recordBodyBytes (record: RecordFields, timestampDeltaMs: number, offsetDelta: number): number {
  if (typeof record !== 'object' || record === null) throw invalid('record must be an object')
  // 1 byte of (unused) record attributes.
  let bytes = 1 + varlongBytes(timestampDeltaMs) + sizeOfVarint(offsetDelta)
  bytes += fieldBytes(record.key ?? null, 'key') + fieldBytes(record.value, 'value')
  const headers = record.headers
  if (headers === undefined || headers === null) return bytes + 1
  if (typeof headers !== 'object') throw invalid('record headers must be a list or an object')
  if (Array.isArray(headers)) {
    bytes += sizeOfVarint(headers.length)
    for (const header of headers as ReadonlyArray<{ readonly key: string; readonly value: RecordField } | undefined>) {
      if (typeof header?.key !== 'string') throw invalid('record header key must be a string')
      bytes += headerBytes(header.key, header.value)
    }
    return bytes
  }
  let count = 0
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue
    count++
    bytes += headerBytes(name, (headers as Readonly<Record<string, RecordField>>)[name] as RecordField)
  }
  return bytes + sizeOfVarint(count)
}

/** The body size whose record, length varint included, takes `totalBytes` (what `recordBytes` returned). */
export function bodyBytesOf (totalBytes: number): number {
  for (let lengthBytes = 1; lengthBytes <= 5; lengthBytes++) {
    if (sizeOfVarint(totalBytes - lengthBytes) === lengthBytes) return totalBytes - lengthBytes
  }
  throw new RangeError(`no record takes ${totalBytes} bytes`)
}

/**
 * Writes the record (length field first) at `position`, `bodyBytes` being its `recordBodyBytes` at the same deltas;
 * returns the position after it. The caller has made room for `sizeOfVarint(bodyBytes) + bodyBytes`.
 */
export function writeRecordFields (
  buffer: Buffer, position: number, record: RecordFields, bodyBytes: number, timestampDeltaMs: number, offsetDelta: number,
): number {
  position = writeVarint32(buffer, position, bodyBytes)
  buffer[position++] = 0
  position = isInt31(timestampDeltaMs) ? writeVarint32(buffer, position, timestampDeltaMs) : writeVarlong(buffer, position, timestampDeltaMs)
  position = writeVarint32(buffer, position, offsetDelta)
  position = writeField(buffer, position, record.key ?? null)
  position = writeField(buffer, position, record.value)
  const headers = record.headers
  if (headers === undefined || headers === null) {
    buffer[position++] = 0 // no headers: varint 0
    return position
  }
  if (Array.isArray(headers)) {
    position = writeVarint32(buffer, position, headers.length)
    for (const header of headers as ReadonlyArray<{ readonly key: string; readonly value: RecordField }>) {
      position = writeHeader(buffer, position, header.key, header.value)
    }
    return position
  }
  let count = 0
  for (const name in headers) if (Object.hasOwn(headers, name)) count++
  position = writeVarint32(buffer, position, count)
  for (const name in headers) {
    if (Object.hasOwn(headers, name)) position = writeHeader(buffer, position, name, (headers as Readonly<Record<string, RecordField>>)[name] as RecordField)
  }
  return position
}

/** Refuses a timestamp `buildBatch` would refuse: records carry non-negative integer epoch milliseconds. */
export function checkRecordTimestamp (timestamp: number): number {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    const message = 'record timestamp must be a non-negative integer'
    throw new GregorError(ErrorCode.INVALID_REQUEST, message, { details: { timestamp } })
  }
  return timestamp
}

/** For |value| < 2^30, a varlong's zigzag equals the int32 one, so the varint code serves (no 64-bit split). */
function isInt31 (value: number): boolean {
  return value >= -0x4000_0000 && value < 0x4000_0000 && Number.isInteger(value)
}

/** As `writeRecordFields` writes a delta: the int32 code when it fits, the 64-bit one (rare: ≥ 2^30 ms apart) else. */
function varlongBytes (value: number): number {
  if (isInt31(value)) return sizeOfVarint(value)
  if (!Number.isSafeInteger(value)) throw invalid('record timestamp delta must be a safe integer')
  return sizeOfVarlong(value)
}

function fieldBytes (field: RecordField, name: string): number {
  if (field === null) return 1
  if (typeof field === 'string') {
    const bytes = Buffer.byteLength(field, 'utf8')
    return sizeOfVarint(bytes) + bytes
  }
  if (!(field instanceof Uint8Array)) throw invalid(`record ${name} must be a Buffer, a string or null`)
  return sizeOfVarint(field.length) + field.length
}

function headerBytes (name: string, value: RecordField): number {
  const nameBytes = Buffer.byteLength(name, 'utf8')
  return sizeOfVarint(nameBytes) + nameBytes + fieldBytes(value === undefined ? null : value, 'header value')
}

function writeVarint32 (buffer: Buffer, position: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  while (zigzag > 0x7f) {
    buffer[position++] = (zigzag & 0x7f) | 0x80
    zigzag >>>= 7
  }
  buffer[position++] = zigzag
  return position
}

function writeField (buffer: Buffer, position: number, field: RecordField): number {
  if (field === null) {
    buffer[position] = 1 // zigzag(-1): a null field
    return position + 1
  }
  if (typeof field === 'string') {
    position = writeVarint32(buffer, position, Buffer.byteLength(field, 'utf8'))
    return position + buffer.write(field, position, 'utf8')
  }
  position = writeVarint32(buffer, position, field.length)
  buffer.set(field, position)
  return position + field.length
}

function writeHeader (buffer: Buffer, position: number, name: string, value: RecordField | undefined): number {
  position = writeVarint32(buffer, position, Buffer.byteLength(name, 'utf8'))
  position += buffer.write(name, position, 'utf8')
  return writeField(buffer, position, value ?? null)
}

function invalid (message: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message)
}

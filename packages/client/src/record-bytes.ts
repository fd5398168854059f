/**
 * The size of a record inside a RecordBatch v2 records section, computed before the batch is built, so the
 * accumulator can fill batches up to `batchBytesMax` and account buffer memory without encoding anything.
 *
 * Invariants: for the same record and deltas, `recordBytes` equals what `buildBatch` (@gregor/records) writes for it,
 * length varint included: the layout is Kafka's DefaultRecord (see records/src/record-codec.ts). It also refuses
 * what `buildBatch` would refuse about a single record, with the same code (INVALID_REQUEST), so a bad record fails
 * its own `append` instead of the whole batch it would have joined.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type RecordInput, sizeOfVarint, sizeOfVarlong } from '@gregor/records'

/** Where a record sits in its batch: both deltas change the varint sizes of its fields. */
export interface RecordPlacement {
  /** The record's timestamp minus the batch's first record's timestamp (may be negative). */
  readonly timestampDeltaMs: number
  /** The record's index in its batch. */
  readonly offsetDelta: number
}

/** Bytes `record` takes in a records section at `placement`, its length varint included. */
export function recordBytes (record: RecordInput, placement: RecordPlacement): number {
  // 1 byte of (unused) record attributes.
  let bodyBytes = 1 + sizeOfVarlong(placement.timestampDeltaMs) + sizeOfVarint(placement.offsetDelta)
  bodyBytes += nullableBytes(record.key ?? null, 'key') + nullableBytes(record.value, 'value')
  const headers = record.headers ?? []
  if (!Array.isArray(headers)) throw invalid('record headers must be an array')
  bodyBytes += sizeOfVarint(headers.length)
  for (const header of headers) {
    if (typeof header?.key !== 'string') throw invalid('record header key must be a string')
    const keyBytes = Buffer.byteLength(header.key, 'utf8')
    bodyBytes += sizeOfVarint(keyBytes) + keyBytes + nullableBytes(header.value, 'header value')
  }
  return sizeOfVarint(bodyBytes) + bodyBytes
}

/** Refuses a timestamp `buildBatch` would refuse: records carry non-negative integer epoch milliseconds. */
export function checkRecordTimestamp (timestamp: number): number {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    const message = 'record timestamp must be a non-negative integer'
    throw new GregorError(ErrorCode.INVALID_REQUEST, message, { details: { timestamp } })
  }
  return timestamp
}

function nullableBytes (bytes: Uint8Array | null, field: string): number {
  if (bytes === null) return 1
  // A string would be measured in UTF-16 units and written as something else: the caller encodes, not us.
  if (!(bytes instanceof Uint8Array)) throw invalid(`record ${field} must be a Buffer or null`)
  return sizeOfVarint(bytes.length) + bytes.length
}

function invalid (message: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message)
}

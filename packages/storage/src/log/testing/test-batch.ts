/**
 * Valid RecordBatch v2 batches for tests and benchmarks, built without the records package's builder: a correct
 * 61-byte header, opaque (or minimally encoded) record bytes, and the CRC-32C from `computeBatchCrc`. The log never
 * looks inside the records, so only the header fields it reads matter: length, magic, CRC, lastOffsetDelta,
 * maxTimestamp, recordCount, and the stamped baseOffset/partitionLeaderEpoch.
 */
import { BATCH_HEADER_BYTES, computeBatchCrc } from '@gregor/records'

export interface TestBatchOptions {
  readonly baseOffset?: number
  readonly partitionLeaderEpoch?: number
  /** Records in the batch (lastOffsetDelta = recordCount - 1). */
  readonly recordCount?: number
  readonly baseTimestamp?: number
  readonly maxTimestamp?: number
  /** The bytes after the header (the records, opaque to the log). */
  readonly payload?: Buffer
}

/** One valid batch: header fields as given, `payload` as the records section, CRC computed. */
export function makeTestBatch (options: TestBatchOptions = {}): Buffer {
  const payload = options.payload ?? Buffer.alloc(0)
  const recordCount = options.recordCount ?? 1
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + payload.length)
  batch.writeBigInt64BE(BigInt(options.baseOffset ?? 0), 0)
  batch.writeInt32BE(batch.length - 12, 8)
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12)
  batch.writeInt8(2, 16)
  batch.writeInt16BE(0, 21)
  batch.writeInt32BE(recordCount - 1, 23)
  batch.writeBigInt64BE(BigInt(options.baseTimestamp ?? options.maxTimestamp ?? 0), 27)
  batch.writeBigInt64BE(BigInt(options.maxTimestamp ?? options.baseTimestamp ?? 0), 35)
  batch.writeBigInt64BE(-1n, 43)
  batch.writeInt16BE(-1, 51)
  batch.writeInt32BE(-1, 53)
  batch.writeInt32BE(recordCount, 57)
  payload.copy(batch, BATCH_HEADER_BYTES)
  batch.writeUInt32BE(computeBatchCrc(batch), 17)
  return batch
}

/** Deterministic pseudo-random bytes (xorshift), so a test can rebuild what a child process appended. */
export function deterministicBytes (seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length)
  let state = (seed * 2654435761 + 1) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    bytes[i] = state & 0xff
  }
  return bytes
}

/**
 * A batch of `recordCount` records of `valueBytes` each, in Kafka's v2 record encoding (varint length, attributes,
 * timestamp delta, offset delta, null key, value, no headers), for realistic sizes in benchmarks.
 */
export function makeRecordsBatch (options: { recordCount: number; valueBytes: number; timestamp: number; seed?: number }): Buffer {
  const value = deterministicBytes(options.seed ?? 1, options.valueBytes)
  const records: Buffer[] = []
  for (let i = 0; i < options.recordCount; i++) {
    const body = Buffer.concat([
      Buffer.from([0]), // attributes
      zigzagVarint(0), // timestamp delta
      zigzagVarint(i), // offset delta
      zigzagVarint(-1), // null key
      zigzagVarint(value.length),
      value,
      zigzagVarint(0), // headers
    ])
    records.push(zigzagVarint(body.length), body)
  }
  return makeTestBatch({
    recordCount: options.recordCount, baseTimestamp: options.timestamp, maxTimestamp: options.timestamp, payload: Buffer.concat(records),
  })
}

/** How many records of `valueBytes` fit in a batch of at most `batchBytes`. */
export function recordsPerBatch (batchBytes: number, valueBytes: number): number {
  const one = makeRecordsBatch({ recordCount: 1, valueBytes, timestamp: 0 }).length - BATCH_HEADER_BYTES
  return Math.max(1, Math.floor((batchBytes - BATCH_HEADER_BYTES) / (one + 1)))
}

function zigzagVarint (value: number): Buffer {
  let n = value >= 0 ? value * 2 : -value * 2 - 1
  const bytes: number[] = []
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  bytes.push(n)
  return Buffer.from(bytes)
}

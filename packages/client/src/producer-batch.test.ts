import { ErrorCode } from '@gregor/common'
import { type CompressionName, type RecordInput, buildBatch, parseBatch } from '@gregor/records'
import { describe, expect, test } from 'vitest'
import { BatchBufferPool } from './buffer-pool.js'
import { ProducerBatch } from './producer-batch.js'
import type { RecordFields } from './record-bytes.js'

const T0 = 1_700_000_000_000

/** A batch of `records` (each with its timestamp), written in place, then encoded. */
function written (
  records: ReadonlyArray<RecordFields & { readonly timestamp: number }>,
  options: { compression?: CompressionName, sequence?: { producerId: number, producerEpoch: number, baseSequence: number }, pool?: BatchBufferPool } = {},
): ProducerBatch {
  const batch = new ProducerBatch({ topic: 't', partition: 0, createdMs: 0, ...(options.pool === undefined ? {} : { buffers: options.pool }) })
  for (const record of records) batch.append(record, record.timestamp, batch.appendBytes(record, record.timestamp))
  batch.close()
  batch.encode(options.compression ?? 'none', options.sequence)
  return batch
}

/** The same records as `buildBatch` takes them: Buffers and header lists, strings encoded as UTF-8. */
function asRecordInput (record: RecordFields & { readonly timestamp: number }): RecordInput {
  const bytes = (field: RecordFields['value'] | undefined): Buffer | null =>
    field === null || field === undefined ? null : typeof field === 'string' ? Buffer.from(field, 'utf8') : Buffer.from(field)
  const headers = record.headers === undefined
    ? []
    : Array.isArray(record.headers)
      ? record.headers.map((header: { key: string, value: RecordFields['value'] }) => ({ key: header.key, value: bytes(header.value) }))
      : Object.entries(record.headers).map(([key, value]) => ({ key, value: bytes(value as RecordFields['value']) }))
  return { key: bytes(record.key), value: bytes(record.value), headers, timestamp: record.timestamp }
}

const mixed: Array<RecordFields & { readonly timestamp: number }> = [
  { value: Buffer.from('plain'), timestamp: T0 },
  { key: 'clé', value: 'välue ✓', timestamp: T0 },
  { key: Buffer.from([0, 1, 2]), value: null, timestamp: T0 + 3 },
  { value: new Uint8Array([9, 8, 7]), headers: { a: 'x', 'b-é': null, c: Buffer.from('y') }, timestamp: T0 - 20 },
  { value: 'v', headers: [{ key: 'dup', value: null }, { key: 'dup', value: 'again' }, { key: '', value: Buffer.alloc(0) }], timestamp: T0 },
  { key: '', value: '', timestamp: T0 + 2 ** 31 }, // a delta beyond int32: written as a 64-bit varlong
  { value: Buffer.alloc(300, 7), timestamp: T0 - 2 ** 33 }, // and a negative one
]

describe('ProducerBatch written in place', () => {
  test('is byte-for-byte what buildBatch writes for the same records, numbered or not, compressed or not', () => {
    const sequence = { producerId: 12_345, producerEpoch: 3, baseSequence: 2_147_483_000 }
    for (const compression of ['none', 'gzip', 'lz4', 'snappy', 'zstd'] as const) {
      for (const numbered of [undefined, sequence]) {
        const batch = written(mixed, { compression, ...(numbered === undefined ? {} : { sequence: numbered }) })
        const built = buildBatch(mixed.map(asRecordInput), { compression, ...numbered })
        if (compression === 'none') expect(batch.buffer.equals(built)).toBe(true)
        // Compressors need not be deterministic across calls: compare what a reader gets, and the header.
        const parsed = parseBatch(batch.buffer)
        const expected = parseBatch(built)
        expect(parsed.records).toEqual(expected.records)
        expect({ ...parsed.header, crc: 0, batchLength: 0 }).toEqual({ ...expected.header, crc: 0, batchLength: 0 })
      }
    }
  })

  test('sizeBytes is the encoded size; timestamps of each record come back in its metadata', () => {
    const batch = written(mixed)
    expect(batch.sizeBytes).toBe(batch.buffer.length)
    expect(mixed.map((record, index) => batch.metadataAt(index, { baseOffset: 100 }).timestamp)).toEqual(mixed.map((record) => record.timestamp))
    expect(batch.metadataAt(2, { baseOffset: 100, logAppendTimeMs: 5 })).toEqual({ topic: 't', partition: 0, offset: 102, timestamp: 5 })
  })

  test('grows its buffer past the first one and keeps every record (thousands of records, one timestamp)', () => {
    const pool = new BatchBufferPool(1024 * 1024)
    const records = Array.from({ length: 3000 }, (_, index) => ({ value: Buffer.from(`value-${index}`), timestamp: T0 }))
    const batch = written(records, { pool })
    expect(batch.buffer.equals(buildBatch(records.map(asRecordInput)))).toBe(true)
    expect(batch.metadataAt(2999, { baseOffset: 0 }).timestamp).toBe(T0)
    // The smaller buffers it outgrew went back to the pool while it grew.
    expect(pool.retainedBytes).toBeGreaterThan(0)
  })

  test('a buffer released by a settled batch serves the next one, whose bytes are its own', () => {
    const pool = new BatchBufferPool(1024 * 1024)
    const first = written([{ value: Buffer.alloc(5000, 1), timestamp: T0 }], { pool })
    first.complete({ baseOffset: 0 })
    first.releaseBuffer()
    first.releaseBuffer() // idempotent: the buffer is in the pool once
    const retained = pool.retainedBytes
    const records = [{ value: Buffer.alloc(4500, 2), timestamp: T0 + 1 }]
    const second = written(records, { pool })
    expect(pool.retainedBytes).toBeLessThan(retained)
    expect(second.buffer.equals(buildBatch(records.map(asRecordInput)))).toBe(true)
  })

  test('the pool keeps at most retainBytesMax of free buffers', () => {
    const pool = new BatchBufferPool(8192)
    const buffers = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)]
    expect(buffers.map((buffer) => buffer.length)).toEqual([4096, 4096, 4096])
    for (const buffer of buffers) pool.release(buffer)
    expect(pool.retainedBytes).toBe(8192)
    expect(pool.acquire(3000)).toBe(buffers[1])
  })

  test('refuses what it cannot write before anything is written: the batch stays usable', () => {
    const batch = new ProducerBatch({ topic: 't', partition: 0, createdMs: 0 })
    const good = { value: Buffer.from('ok') }
    batch.append(good, T0, batch.appendBytes(good, T0))
    expect(() => batch.appendBytes({ value: 42 } as unknown as RecordFields, T0)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
    expect(() => batch.appendBytes({ value: null, headers: [{ key: 1 }] } as unknown as RecordFields, T0))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
    expect(() => batch.appendBytes(good, -1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
    batch.close()
    expect(parseBatch(batch.encode('none')).records.map((record) => record.value?.toString())).toEqual(['ok'])
    expect(() => new ProducerBatch({ topic: 't', partition: 0, createdMs: 0 }).encode('none')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
  })
})

/** A BatchBuffers over a pool that records every buffer handed out and given back. */
function countingPool () {
  const pool = new BatchBufferPool(16 * 1024 * 1024)
  const acquired: Buffer[] = []
  const released: Buffer[] = []
  return {
    pool,
    acquired,
    released,
    buffers: {
      acquire: (bytes: number) => { const buffer = pool.acquire(bytes); acquired.push(buffer); return buffer },
      release: (buffer: Buffer) => { released.push(buffer); pool.release(buffer) },
    },
  }
}

describe('ProducerBatch timestamps and buffers', () => {
  test('records stamped in runs (one clock reading per bulk call) each get their own timestamp back', () => {
    const stamps = [T0, T0, T0 + 1, T0 + 1, T0 + 1, T0, T0 + 7, T0 - 3, T0 - 3, T0 + 2 ** 31]
    const records = Array.from({ length: 500 }, (_, index) => ({ value: Buffer.from(`v${index}`), timestamp: stamps[Math.floor(index / 50)] as number }))
    const batch = written(records)
    expect(batch.buffer.equals(buildBatch(records.map(asRecordInput)))).toBe(true)
    expect(records.map((_, index) => batch.metadataAt(index, { baseOffset: 0 }).timestamp)).toEqual(records.map((record) => record.timestamp))
    const single = written(records.slice(0, 3))
    expect([0, 1, 2].map((index) => single.metadataAt(index, { baseOffset: 0 }).timestamp)).toEqual([T0, T0, T0])
  })

  test('a batch sized by capacityBytes takes one buffer and never grows it', () => {
    const { buffers, acquired, released } = countingPool()
    const batch = new ProducerBatch({ topic: 't', partition: 0, createdMs: 0, buffers, capacityBytes: 60_000 })
    const records = Array.from({ length: 500 }, (_, index) => ({ value: Buffer.alloc(100, index), timestamp: T0 }))
    for (const record of records) batch.append(record, T0, batch.appendBytes(record, T0))
    batch.close()
    expect(batch.encode('none').equals(buildBatch(records.map(asRecordInput)))).toBe(true)
    expect(acquired.map((buffer) => buffer.length)).toEqual([65_536])
    expect(released).toEqual([])
    // Without the hint it starts at 4 KiB and doubles (each step a copy).
    const { buffers: growing, acquired: steps } = countingPool()
    const unsized = new ProducerBatch({ topic: 't', partition: 0, createdMs: 0, buffers: growing })
    for (const record of records) unsized.append(record, T0, unsized.appendBytes(record, T0))
    expect(steps.map((buffer) => buffer.length)).toEqual([4096, 8192, 16_384, 32_768, 65_536])
  })

  test('a settled batch gives its buffer back only if no request carrying it can still be read', () => {
    const record = { value: Buffer.from('r'), timestamp: T0 }
    const settle = (steps: (batch: ProducerBatch) => 'acknowledged' | 'other'): Buffer[] => {
      const { buffers, released } = countingPool()
      const batch = new ProducerBatch({ topic: 't', partition: 0, createdMs: 0, buffers })
      batch.append(record, T0, batch.appendBytes(record, T0))
      batch.close()
      batch.encode('none')
      batch.releaseBuffer(steps(batch))
      return released
    }
    // Never sent: nothing else has it.
    expect(settle(() => 'other')).toHaveLength(1)
    // Sent once and acknowledged: the broker read the request, so the transport serialized it.
    expect(settle((batch) => { batch.markInFlight(); batch.complete({ baseOffset: 0 }); return 'acknowledged' })).toHaveLength(1)
    // Sent and failed (a local deadline or cancel): the transport may still hold the request unserialized.
    expect(settle((batch) => { batch.markInFlight(); batch.fail(new Error('deadline')); return 'other' })).toHaveLength(0)
    // Retried, then acknowledged: the first attempt's request may still be queued somewhere.
    expect(settle((batch) => {
      batch.markInFlight()
      batch.markRetry(0)
      batch.markInFlight()
      batch.complete({ baseOffset: 0 })
      return 'acknowledged'
    })).toHaveLength(0)
  })
})

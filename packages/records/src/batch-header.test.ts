import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import {
  BATCH_HEADER_BYTES, batchSizeBytes, computeBatchCrc, readBatchHeader, stampBatch, validateBatch, walkBatches,
} from './batch-header.js'
import { buildBatch } from './build-batch.js'

const limits = { batchBytesMax: 1_048_588 }

function sampleBatch (values = ['a', 'bb', 'ccc'], nowMs = 1_700_000_000_000): Buffer {
  return buildBatch(values.map((value, index) => ({ value: Buffer.from(value), timestamp: nowMs + index })), {
    baseOffset: 0, producerId: 7, producerEpoch: 3, baseSequence: 11, partitionLeaderEpoch: 2,
  })
}

/** Recomputes the CRC after a test edits bytes 21..end, so validation reaches the check under test. */
function reseal (batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch), 17)
  return batch
}

function expectCode (run: () => unknown, code: ErrorCode, message?: RegExp): void {
  expect(run).toThrow(expect.objectContaining({ code, ...(message === undefined ? {} : { message: expect.stringMatching(message) }) }))
}

describe('readBatchHeader', () => {
  test('reads every field at its Kafka offset', () => {
    const batch = sampleBatch()
    expect(readBatchHeader(batch)).toEqual({
      baseOffset: 0,
      batchLength: batch.length - 12,
      partitionLeaderEpoch: 2,
      magic: 2,
      crc: batch.readUInt32BE(17),
      attributes: 0,
      lastOffsetDelta: 2,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_002,
      producerId: 7,
      producerEpoch: 3,
      baseSequence: 11,
      recordCount: 3,
    })
  })

  test('reads int64 fields exactly, including negatives and values past 2^32', () => {
    const batch = sampleBatch()
    batch.writeBigInt64BE(-1n, 43)
    batch.writeBigInt64BE(BigInt(Number.MAX_SAFE_INTEGER), 0)
    batch.writeBigInt64BE(-(2n ** 40n) - 3n, 27)
    const header = readBatchHeader(batch)
    expect(header.producerId).toBe(-1)
    expect(header.baseOffset).toBe(Number.MAX_SAFE_INTEGER)
    expect(header.baseTimestamp).toBe(-(2 ** 40) - 3)
  })

  test('reads at a position inside a larger buffer', () => {
    const batch = sampleBatch()
    const buffer = Buffer.concat([Buffer.alloc(5, 0xee), batch])
    expect(readBatchHeader(buffer, 5)).toEqual(readBatchHeader(batch))
    expect(batchSizeBytes(buffer, 5)).toBe(batch.length)
  })
})

describe('validateBatch', () => {
  test('accepts a well-formed batch and returns its size', () => {
    const batch = sampleBatch()
    expect(validateBatch(batch, 0, limits)).toBe(batch.length)
    expect(validateBatch(Buffer.concat([Buffer.alloc(3), batch, Buffer.alloc(9)]), 3, limits)).toBe(batch.length)
  })

  test('truncated: shorter than the header, or than its length field claims', () => {
    const batch = sampleBatch()
    for (const length of [0, 1, 12, BATCH_HEADER_BYTES - 1]) {
      expectCode(() => validateBatch(batch.subarray(0, length), 0, limits), ErrorCode.CORRUPT_MESSAGE, /shorter than its header/)
    }
    expectCode(() => validateBatch(batch.subarray(0, batch.length - 1), 0, limits), ErrorCode.CORRUPT_MESSAGE, /truncated/)
  })

  test('a length field smaller than the header is corrupt', () => {
    for (const batchLength of [-1, -0x80000000, 0, BATCH_HEADER_BYTES - 13]) {
      const batch = sampleBatch()
      batch.writeInt32BE(batchLength, 8)
      expectCode(() => validateBatch(batch, 0, limits), ErrorCode.CORRUPT_MESSAGE, /smaller than the header/)
    }
  })

  test('oversized: larger than batchBytesMax is MESSAGE_TOO_LARGE, checked before reading the body', () => {
    const batch = sampleBatch()
    expectCode(() => validateBatch(batch, 0, { batchBytesMax: batch.length - 1 }), ErrorCode.MESSAGE_TOO_LARGE)
    batch.writeInt32BE(0x7fffffff, 8) // claims 2 GiB: refused by size, not reported as truncated
    expectCode(() => validateBatch(batch, 0, limits), ErrorCode.MESSAGE_TOO_LARGE)
  })

  test.each([0, 1, 3, -1, 127])('bad magic %d is corrupt', (magic) => {
    const batch = sampleBatch()
    batch.writeInt8(magic, 16)
    expectCode(() => validateBatch(batch, 0, limits), ErrorCode.CORRUPT_MESSAGE, /magic/)
  })

  test('flipping any bit of any byte in 21..end fails the CRC', () => {
    const batch = sampleBatch()
    for (let position = 21; position < batch.length; position++) {
      for (const bit of [0x01, 0x80]) {
        batch[position] = (batch[position] as number) ^ bit
        expectCode(() => validateBatch(batch, 0, limits), ErrorCode.CORRUPT_MESSAGE, /crc/)
        batch[position] = (batch[position] as number) ^ bit
      }
    }
    expect(validateBatch(batch, 0, limits)).toBe(batch.length)
  })

  test('a wrong stored CRC is corrupt', () => {
    const batch = sampleBatch()
    batch.writeUInt32BE((batch.readUInt32BE(17) + 1) >>> 0, 17)
    expectCode(() => validateBatch(batch, 0, limits), ErrorCode.CORRUPT_MESSAGE, /crc/)
  })

  test.each([
    ['count above lastOffsetDelta + 1', { recordCount: 4 }],
    ['count below lastOffsetDelta + 1', { recordCount: 2 }],
    ['zero records', { recordCount: 0, lastOffsetDelta: -1 }],
    ['negative count', { recordCount: -1, lastOffsetDelta: -2 }],
    ['lastOffsetDelta off by one', { lastOffsetDelta: 3 }],
  ])('wrong record count: %s', (_name, fields: { recordCount?: number; lastOffsetDelta?: number }) => {
    const batch = sampleBatch()
    if (fields.recordCount !== undefined) batch.writeInt32BE(fields.recordCount, 57)
    if (fields.lastOffsetDelta !== undefined) batch.writeInt32BE(fields.lastOffsetDelta, 23)
    expectCode(() => validateBatch(reseal(batch), 0, limits), ErrorCode.CORRUPT_MESSAGE, /record count/)
  })

  test.each([5, 6, 7])('compression codec id %d, which Kafka does not define, is corrupt', (codecId) => {
    const batch = sampleBatch()
    batch.writeInt16BE(codecId, 21)
    expectCode(() => validateBatch(reseal(batch), 0, limits), ErrorCode.CORRUPT_MESSAGE, /codec/)
  })

  test('defaults to recordsLimits when no options are given', () => {
    const batch = sampleBatch()
    expect(validateBatch(batch, 0)).toBe(batch.length)
  })
})

describe('stampBatch', () => {
  test('writes baseOffset and partitionLeaderEpoch in place and the CRC stays valid', () => {
    const batch = sampleBatch()
    const before = Buffer.from(batch)
    stampBatch(batch, 0, { baseOffset: 2 ** 40 + 5, partitionLeaderEpoch: 9 })
    expect(validateBatch(batch, 0, limits)).toBe(batch.length)
    const header = readBatchHeader(batch)
    expect(header.baseOffset).toBe(2 ** 40 + 5)
    expect(header.partitionLeaderEpoch).toBe(9)
    expect(header.crc).toBe(before.readUInt32BE(17))
    // Only bytes 0..7 and 12..15 changed.
    expect(batch.subarray(8, 12)).toEqual(before.subarray(8, 12))
    expect(batch.subarray(16)).toEqual(before.subarray(16))
  })

  test('stamps a batch in the middle of a buffer without touching its neighbours', () => {
    const first = sampleBatch(['x'])
    const second = sampleBatch(['y', 'z'])
    const buffer = Buffer.concat([first, second])
    stampBatch(buffer, first.length, { baseOffset: 1, partitionLeaderEpoch: 4 })
    expect(buffer.subarray(0, first.length)).toEqual(first)
    expect(readBatchHeader(buffer, first.length)).toMatchObject({ baseOffset: 1, partitionLeaderEpoch: 4 })
    expect(validateBatch(buffer, first.length, limits)).toBe(second.length)
  })

  test('a negative or fractional baseOffset is a bug and asserts', () => {
    expect(() => stampBatch(sampleBatch(), 0, { baseOffset: -1, partitionLeaderEpoch: 0 })).toThrow(/baseOffset/)
    expect(() => stampBatch(sampleBatch(), 0, { baseOffset: 1.5, partitionLeaderEpoch: 0 })).toThrow(/baseOffset/)
  })
})

describe('walkBatches', () => {
  const batches = [sampleBatch(['a']), sampleBatch(['b', 'c']), sampleBatch(['d', 'e', 'f'])]
  const log = Buffer.concat(batches)

  test('yields each batch with its position and header', () => {
    const walked = [...walkBatches(log)]
    expect(walked.map((batch) => batch.position)).toEqual([0, batches[0]!.length, batches[0]!.length + batches[1]!.length])
    expect(walked.map((batch) => batch.header.recordCount)).toEqual([1, 2, 3])
  })

  test('stops at an incomplete tail, whether it cuts the header or the records', () => {
    const tailStart = log.length - batches[2]!.length
    for (const cut of [1, 30, BATCH_HEADER_BYTES, batches[2]!.length - 1]) {
      expect([...walkBatches(log.subarray(0, tailStart + cut))]).toHaveLength(2)
    }
    expect([...walkBatches(Buffer.alloc(0))]).toEqual([])
  })

  test('stops at a length field smaller than a header instead of looping', () => {
    const buffer = Buffer.concat([batches[0]!, Buffer.alloc(BATCH_HEADER_BYTES)])
    expect([...walkBatches(buffer)]).toHaveLength(1)
  })
})

describe('computeBatchCrc', () => {
  test('is CRC-32C (Castagnoli) over attributes..end', () => {
    const batch = sampleBatch()
    expect(computeBatchCrc(batch)).toBe(batch.readUInt32BE(17))
    // CRC-32C check value of "123456789" is 0xe3069283: the polynomial is Castagnoli, not IEEE.
    const known = Buffer.concat([Buffer.alloc(8), Buffer.from([0, 0, 0, 9 + 9]), Buffer.alloc(9), Buffer.from('123456789')])
    expect(computeBatchCrc(known)).toBe(0xe3069283)
  })
})

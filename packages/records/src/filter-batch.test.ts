import { describe, expect, test } from 'vitest'
import { readBatchHeader, validateBatch } from './batch-header.js'
import { buildBatch } from './build-batch.js'
import { COMPRESSION_NAMES } from './compression.js'
import { filterBatch } from './filter-batch.js'
import { parseBatch } from './parse-batch.js'

const records = Array.from({ length: 6 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: i === 4 ? null : Buffer.from(`v${i}`), timestamp: 1000 + i * 7 }))

describe('filterBatch', () => {
  test.each(COMPRESSION_NAMES)('keeps the chosen records with their offsets and timestamps (%s)', (compression) => {
    const batch = buildBatch(records, { compression, baseOffset: 100, producerId: 9, producerEpoch: 1, baseSequence: 5, partitionLeaderEpoch: 3 })
    const { batch: filtered, keptRecords, removedRecords } = filterBatch(batch, 0, (r) => r.offset % 2 === 1)
    expect({ keptRecords, removedRecords }).toEqual({ keptRecords: 3, removedRecords: 3 })
    const out = filtered as Buffer
    const before = readBatchHeader(batch)
    expect(readBatchHeader(out)).toMatchObject({ ...before, batchLength: out.length - 12, crc: expect.any(Number), recordCount: 3 })
    // Produced-batch validation refuses the gaps; the consumer's parse accepts them.
    expect(() => validateBatch(out, 0)).toThrow(/record count/)
    expect(validateBatch(out, 0, { batchBytesMax: out.length, denseOffsets: false })).toBe(out.length)
    const parsed = parseBatch(out).records
    expect(parsed.map((r) => [r.offset, String(r.key), r.timestamp])).toEqual([[101, 'k1', 1007], [103, 'k3', 1021], [105, 'k5', 1035]])
    // Filtering again works on a batch that already has gaps.
    expect(parseBatch(filterBatch(out, 0, (r) => r.offset === 105).batch as Buffer).records.map((r) => r.offset)).toEqual([105])
  })

  test('all kept returns the batch as it is; none kept returns nothing', () => {
    const batch = buildBatch(records)
    expect(filterBatch(batch, 0, () => true).batch?.equals(batch)).toBe(true)
    expect(filterBatch(batch, 0, () => false)).toEqual({ batch: undefined, keptRecords: 0, removedRecords: 6 })
  })
})

import { describe, expect, test } from 'vitest'
import { type ScannedBatch, scanBatches } from './batch-scanner.js'
import { deterministicBytes, makeTestBatch } from './testing/test-batch.js'

const batches = Array.from({ length: 12 }, (_, i) => makeTestBatch({
  baseOffset: i * 2, recordCount: 2, payload: deterministicBytes(i, 30 + i * 40), maxTimestamp: 100 + i, partitionLeaderEpoch: i < 6 ? 1 : 2,
}))
const file = Buffer.concat(batches)
const reads: Array<[number, number]> = []
const read = async (position: number, length: number): Promise<Buffer> => {
  reads.push([position, length])
  return file.subarray(position, position + length)
}
const scan = async (bytes: Buffer, options: { validate?: boolean; chunkBytes?: number; expectedBaseOffset?: number } = {}): Promise<{ seen: ScannedBatch[]; result: Awaited<ReturnType<typeof scanBatches>> }> => {
  const seen: ScannedBatch[] = []
  const result = await scanBatches({
    read: async (p, l) => bytes.subarray(p, p + l),
    fromPosition: 0,
    toPosition: bytes.length,
    expectedBaseOffset: options.expectedBaseOffset ?? 0,
    validate: options.validate ?? true,
    chunkBytes: options.chunkBytes ?? 100,
    onBatch: (b) => { seen.push(b) },
  })
  return { seen, result }
}

describe('scanBatches', () => {
  test('walks every batch across chunk boundaries, reading each byte range once', async () => {
    reads.length = 0
    const seen: ScannedBatch[] = []
    const result = await scanBatches({ read, fromPosition: 0, toPosition: file.length, expectedBaseOffset: 0, validate: true, chunkBytes: 256, onBatch: (b) => { seen.push(b) } })
    expect(result).toEqual({ endPosition: file.length, nextOffset: 24 })
    expect(seen.map((b) => b.baseOffset)).toEqual(batches.map((_, i) => i * 2))
    expect(seen[7]).toMatchObject({ lastOffset: 15, maxTimestamp: 107, partitionLeaderEpoch: 2, sizeBytes: batches[7]?.length })
    expect(reads.reduce((sum, [, length]) => sum + length, 0)).toBeLessThan(file.length * 2)
  })

  test('stops at a bad CRC, a torn tail and a broken offset sequence, reporting where', async () => {
    const corrupt = Buffer.from(file)
    const at = (batches[0]?.length ?? 0) + (batches[1]?.length ?? 0)
    corrupt[at + 70] = (corrupt[at + 70] as number) ^ 4
    expect((await scan(corrupt)).result).toEqual({ endPosition: at, nextOffset: 4, stop: { position: at, reason: 'batch crc mismatch' } })
    expect((await scan(file.subarray(0, file.length - 1))).result.stop?.reason).toBe('batch extends past the end of the file')
    expect((await scan(file.subarray(0, at + 30))).result.stop?.reason).toBe('incomplete batch header')
    expect((await scan(file, { expectedBaseOffset: 1 })).result.stop).toEqual({ position: 0, reason: 'batch offset does not continue the log' })
  })

  test('header-only mode ignores CRCs but still checks lengths, magic and continuity', async () => {
    const corrupt = Buffer.from(file)
    corrupt[80] = (corrupt[80] as number) ^ 4
    expect((await scan(corrupt, { validate: false })).result.stop).toBeUndefined()
    corrupt[16] = 1
    expect((await scan(corrupt, { validate: false })).result.stop?.reason).toBe('unsupported batch magic')
  })

  test('a batch larger than the chunk is read whole; onBatch returning false stops quietly', async () => {
    const big = makeTestBatch({ payload: deterministicBytes(9, 5000) })
    expect((await scan(big, { chunkBytes: 64 })).seen).toHaveLength(1)
    const seen: number[] = []
    const result = await scanBatches({
      read, fromPosition: 0, toPosition: file.length, expectedBaseOffset: 0, validate: false, onBatch: (b) => { seen.push(b.baseOffset); return b.baseOffset < 4 },
    })
    expect(seen).toEqual([0, 2, 4])
    expect(result.stop).toBeUndefined()
    expect(result.nextOffset).toBe(6)
  })
})

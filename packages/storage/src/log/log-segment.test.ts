import { readdir, readFile } from 'node:fs/promises'
import { silentLogger } from '@gregor/common'
import { walkBatches } from '@gregor/records'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import type { ScannedBatch } from './batch-scanner.js'
import { FileHandleCache } from './file-handle-cache.js'
import { LogSegment, type LogSegmentDeps } from './log-segment.js'
import { captureLogger } from './testing/capture-logger.js'
import { deterministicBytes, makeTestBatch } from './testing/test-batch.js'

let temp: { path: string; remove: () => Promise<void> }
let files: FileHandleCache
let deps: LogSegmentDeps
beforeEach(async () => {
  temp = await makeTempDir()
  files = new FileHandleCache({ openFilesMax: 4, fs: nodeFileSystem })
  deps = { files, indexIntervalBytes: 500, logger: silentLogger, offsetGaps: false }
})
afterEach(async () => {
  await files.closeAll()
  await temp.remove()
})

/** Appends batches of the given payload sizes (one record each) starting at `base`; returns their bytes. */
async function fill (segment: LogSegment, sizes: number[], base = segment.baseOffset): Promise<Buffer[]> {
  const written: Buffer[] = []
  let next = base
  for (const [i, size] of sizes.entries()) {
    const batch = makeTestBatch({ baseOffset: next, payload: deterministicBytes(i, size), maxTimestamp: 1000 + i * 10 })
    const described: ScannedBatch = { position: segment.sizeBytes, sizeBytes: batch.length, baseOffset: next, lastOffset: next, maxTimestamp: 1000 + i * 10, partitionLeaderEpoch: -1 }
    await segment.append([batch], batch.length, [described])
    written.push(batch)
    next += 1
  }
  return written
}

describe('LogSegment', () => {
  test('indexes a batch whenever more than indexIntervalBytes were written since the last entry', async () => {
    const segment = await LogSegment.create(temp.path, 100, deps)
    await fill(segment, Array.from({ length: 20 }, () => 139)) // 200-byte batches
    await segment.persistIndexes()
    const index = await readFile(segment.indexPath)
    const entries = Array.from({ length: index.length / 8 }, (_, n) => [index.readInt32BE(n * 8), index.readInt32BE(n * 8 + 4)])
    expect(entries).toEqual([[3, 600], [6, 1200], [9, 1800], [12, 2400], [15, 3000], [18, 3600]])
    expect((await readFile(segment.timeIndexPath)).length).toBe(12 * 7)
    expect(await segment.maxTimestamp()).toBe(1190)
  })

  test('readBatches returns whole batches within bytesMax, at least one, from any offset', async () => {
    const segment = await LogSegment.create(temp.path, 0, deps)
    const written = await fill(segment, [100, 3000, 50, 50, 50, 2000, 10])
    const bases = (bytes: Buffer): number[] => [...walkBatches(bytes)].map((b) => b.header.baseOffset)
    expect(bases((await segment.readBatches({ offset: 0, bytesMax: 10, maxOffset: 100 }))?.bytes as Buffer)).toEqual([0])
    expect(bases((await segment.readBatches({ offset: 1, bytesMax: 10, maxOffset: 100 }))?.bytes as Buffer)).toEqual([1])
    expect(bases((await segment.readBatches({ offset: 2, bytesMax: 400, maxOffset: 100 }))?.bytes as Buffer)).toEqual([2, 3, 4])
    expect(bases((await segment.readBatches({ offset: 4, bytesMax: 1 << 20, maxOffset: 6 }))?.bytes as Buffer)).toEqual([4, 5])
    const all = await segment.readBatches({ offset: 0, bytesMax: 1 << 20, maxOffset: 100 })
    expect(all?.bytes.equals(Buffer.concat(written))).toBe(true)
    expect(all?.nextOffset).toBe(7)
    expect(await segment.readBatches({ offset: 7, bytesMax: 100, maxOffset: 100 })).toBeUndefined()
  })

  test('an existing segment loads its indexes, catches up a stale index, and truncates', async () => {
    const segment = await LogSegment.create(temp.path, 0, deps)
    await fill(segment, Array.from({ length: 10 }, () => 139))
    await segment.persistIndexes()
    await fill(segment, Array.from({ length: 10 }, () => 139), 10)
    const logger = captureLogger()
    const reopened = LogSegment.existing(temp.path, 0, { sizeBytes: segment.sizeBytes, nextOffset: Number.MAX_SAFE_INTEGER }, { ...deps, logger })
    await reopened.ensureIndexes()
    expect(reopened.nextOffset).toBe(20)
    expect(await reopened.maxTimestamp()).toBe(1090)
    expect(logger.lines).toEqual([])
    expect((await readFile(reopened.indexPath)).length).toBe(6 * 8)
    expect(await reopened.findOffsetForTimestamp(1045, 0)).toEqual({ offset: 5, timestamp: 1050 })
    expect(await reopened.truncateTo(13)).toBe(7 * 200)
    expect([reopened.sizeBytes, reopened.nextOffset]).toEqual([13 * 200, 13])
    expect((await reopened.findBatch(12))?.position).toBe(12 * 200)
  })

  test('delete removes all three files', async () => {
    const segment = await LogSegment.create(temp.path, 0, deps)
    await fill(segment, [10])
    await segment.persistIndexes()
    expect(await readdir(temp.path)).toHaveLength(3)
    await segment.delete()
    expect(await readdir(temp.path)).toEqual([])
    await segment.sync()
  })

  test('a read at the last append\'s base offset is answered from its buffer, with the file read\'s limits', async () => {
    const segment = await LogSegment.create(temp.path, 0, deps)
    await fill(segment, [100, 100])
    // One append of two batches (offsets 2 and 3), as a leader writes a coalesced request.
    const two = [2, 3].map((baseOffset) => makeTestBatch({ baseOffset, payload: deterministicBytes(baseOffset, 300) }))
    const last = Buffer.concat(two)
    const position = segment.sizeBytes
    await segment.append([last], last.length, two.map((batch, i) => ({
      position: position + i * (two[0] as Buffer).length, sizeBytes: batch.length, baseOffset: 2 + i, lastOffset: 2 + i, maxTimestamp: 0, partitionLeaderEpoch: -1,
    })))
    // Zeros over the last append on disk: only a read from memory still returns its batches.
    await files.use(segment.logPath, async (handle) => { await handle.write(Buffer.alloc(last.length), 0, last.length, position) })
    expect((await segment.readBatches({ offset: 2, bytesMax: 1 << 20, maxOffset: 100 }))?.bytes.equals(last)).toBe(true)
    const one = await segment.readBatches({ offset: 2, bytesMax: 10, maxOffset: 100 })
    expect([one?.bytes.equals(two[0] as Buffer), one?.nextOffset]).toEqual([true, 3])
    expect(await segment.readBatches({ offset: 2, bytesMax: 1 << 20, maxOffset: 2 })).toBeUndefined()
    // A read that starts elsewhere goes to the file, which now has zeros where offsets 2 and 3 were.
    await expect(segment.readBatches({ offset: 1, bytesMax: 1 << 20, maxOffset: 100 })).rejects.toThrow('segment is corrupt')
    // The appender broke its promise not to change the buffer (a new stamp): the read goes to the file too.
    last.writeBigInt64BE(7n, 0)
    await expect(segment.readBatches({ offset: 2, bytesMax: 1 << 20, maxOffset: 100 })).rejects.toThrow('segment is corrupt')
  })

  test('after a truncation the last append\'s buffer no longer answers reads', async () => {
    const segment = await LogSegment.create(temp.path, 0, deps)
    const written = await fill(segment, [100, 100, 100])
    expect(await segment.truncateTo(2)).toBeGreaterThan(0)
    expect(await segment.readBatches({ offset: 2, bytesMax: 1 << 20, maxOffset: 100 })).toBeUndefined()
    const again = await fill(segment, [50], 2)
    expect((await segment.readBatches({ offset: 1, bytesMax: 1 << 20, maxOffset: 100 }))?.bytes.equals(Buffer.concat([written[1] as Buffer, again[0] as Buffer]))).toBe(true)
  })
})

import { copyFile, cp, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { leaderEpoch, offset, silentLogger } from '@gregor/common'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { realClock, realTimers } from '../testing/real-timers.js'
import type { LogConfig } from './log-config.js'
import { OFFSET_MAP_ENTRY_BYTES } from './offset-map.js'
import { PartitionLog } from './partition-log.js'
import { captureLogger } from './testing/capture-logger.js'
import { type KeyedRecord, keyedBatch, readAllRecords } from './testing/keyed-log.js'

let temp: { path: string; remove: () => Promise<void> }
beforeEach(async () => { temp = await makeTempDir('gregor-cleaner-') })
afterEach(async () => { await temp.remove() })

const compacted: Partial<LogConfig> = { cleanupPolicy: 'compact', segmentBytes: 64 * 1024, flush: 'never', batchBytesMax: 64 * 1024 }
const open = async (config: Partial<LogConfig> = {}, dir = temp.path, logger = silentLogger): Promise<PartitionLog> =>
  await PartitionLog.open({ fs: nodeFileSystem, dir, topic: 'kv', partition: 0, config: { ...compacted, ...config }, logger, clock: realClock, timers: realTimers })

/** Appends `batches` batches of `perBatch` records over `keys` keys, starting at the log end; returns them as written. */
async function write (log: PartitionLog, batches: number, perBatch: number, keys: number, options: Parameters<typeof keyedBatch>[3] = {}): Promise<KeyedRecord[]> {
  const written: KeyedRecord[] = []
  for (let b = 0; b < batches; b++) {
    const first = log.logEndOffset as number
    const batch = keyedBatch(first, perBatch, keys, options)
    await log.append(batch, { leaderEpoch: leaderEpoch(0) })
    for (let i = first; i < first + perBatch; i++) {
      const key = `k${i % keys}`
      written.push({ offset: i, key, value: options.tombstone?.(i) === true ? null : `${key}@${i}` })
    }
  }
  await log.flush()
  return written
}

/** What a full clean of [0, end) must leave: the last record of each key below `end`, then everything from `end` on. */
function expectedAfterClean (written: readonly KeyedRecord[], end: number): KeyedRecord[] {
  const last = new Map<string, number>()
  for (const r of written) if (r.offset < end) last.set(r.key, r.offset)
  return written.filter((r) => r.offset >= end || last.get(r.key) === r.offset)
}

async function activeSegmentBytes (log: PartitionLog): Promise<Buffer> {
  const base = (log.segmentBaseOffsets.at(-1) as number)
  return await readFile(join(log.dir, `${String(base).padStart(20, '0')}.log`))
}

describe('log cleaner', () => {
  test('100,000 records over 1,000 keys clean to the last value of each key, offsets unchanged, active segment untouched', async () => {
    const lines = captureLogger()
    const log = await open({}, temp.path, lines)
    const written = await write(log, 1000, 100, 1000)
    const activeBefore = await activeSegmentBytes(log)
    const firstUncleanable = log.segmentBaseOffsets.at(-1) as number
    expect(log.segmentBaseOffsets.length).toBeGreaterThan(10)
    const sizeBefore = log.sizeBytes

    const result = await log.clean(5_000)
    expect(result).toMatchObject({ cleaned: true, firstDirtyOffset: firstUncleanable, moreToClean: false })
    expect(result.recordsRemoved).toBe(written.filter((r) => r.offset < firstUncleanable).length - 1000)
    expect(log.sizeBytes).toBeLessThan(sizeBefore / 10)
    expect(await activeSegmentBytes(log)).toEqual(activeBefore)
    expect(log.logEndOffset).toBe(100_000)

    const expected = expectedAfterClean(written, firstUncleanable)
    expect(await readAllRecords(log)).toEqual(expected)
    // A fetch at an offset that was cleaned away returns the next batch above it.
    const gone = written.find((r) => r.offset > 0 && !expected.some((e) => e.offset === r.offset)) as KeyedRecord
    const read = await log.read({ offset: offset(gone.offset), bytesMax: 1 })
    expect(read.baseOffset).toBeGreaterThan(gone.offset)
    expect(lines.lines.find((l) => l.message === 'log cleaned')?.fields).toMatchObject({
      bytesBefore: expect.any(Number), bytesAfter: expect.any(Number), recordsRemoved: result.recordsRemoved, durationMs: expect.any(Number),
    })

    // Same content after a clean reopen and after an unclean one (indexes rebuilt, gaps accepted by recovery).
    await log.close()
    const reopened = await open()
    expect(await readAllRecords(reopened)).toEqual(expected)
    expect(reopened.cleanerCheckpoint).toBe(firstUncleanable)
    expect((await reopened.clean(5_000)).reason).toBe('nothing dirty')
    await reopened.close()
    await rm(join(temp.path, 'kv-0', '.clean-shutdown'))
    const recovered = await open()
    expect(await readAllRecords(recovered)).toEqual(expected)
    await recovered.close()
  }, 60_000)

  test('compressed batches are filtered and recompressed with their codec', async () => {
    const log = await open()
    const written = await write(log, 40, 50, 30, { compression: 'gzip' })
    await log.roll()
    await log.clean(5_000)
    expect(await readAllRecords(log)).toEqual(expectedAfterClean(written, 2000))
    await log.close()
  })

  test('tombstones survive for deleteRetentionMs after their segment, then disappear', async () => {
    const deleteRetentionMs = 10_000
    const log = await open({ deleteRetentionMs, minCleanableDirtyRatio: 0 })
    const values = await write(log, 5, 20, 20, { timestamp: 1_000 })
    const tombstones = await write(log, 1, 10, 20, { timestamp: 2_000, tombstone: () => true })
    await log.roll()
    await log.clean(2_000 + deleteRetentionMs - 1)
    const kept = await readAllRecords(log)
    // The tombstones and the keys they did not delete remain; older values of deleted keys are gone.
    expect(kept).toEqual(expectedAfterClean([...values, ...tombstones], 110))
    expect(kept.filter((r) => r.value === null)).toHaveLength(10)

    const more = await write(log, 1, 5, 1000, { timestamp: 20_000 })
    await log.roll()
    await log.clean(2_000 + deleteRetentionMs + 1)
    const after = await readAllRecords(log)
    expect(after.filter((r) => r.value === null)).toEqual([])
    expect(after).toEqual(expectedAfterClean([...values, ...tombstones, ...more], 115).filter((r) => r.value !== null))
    await log.close()
  })

  test('below min.cleanable.dirty.ratio nothing is cleaned; delete policy never cleans', async () => {
    const log = await open({ minCleanableDirtyRatio: 0.9 })
    await write(log, 100, 100, 100)
    await log.roll()
    expect((await log.clean(5_000)).cleaned).toBe(true)
    await write(log, 5, 100, 100)
    await log.roll()
    const result = await log.clean(5_000)
    expect(result).toMatchObject({ cleaned: false, reason: 'below dirty ratio' })
    expect(result.dirtyRatio).toBeGreaterThan(0)
    expect(result.dirtyRatio).toBeLessThan(0.9)
    await log.close()

    const plain = await open({ cleanupPolicy: 'delete' }, join(temp.path, 'plain'))
    await write(plain, 10, 100, 10)
    await plain.roll()
    expect(await plain.clean(5_000)).toMatchObject({ cleaned: false, reason: 'not compacted' })
    await plain.close()
  })

  test('never cleans at or past the high watermark', async () => {
    const log = await open({ minCleanableDirtyRatio: 0 })
    const written = await write(log, 200, 100, 50)
    const bases = log.segmentBaseOffsets
    const highWatermark = bases[2] as number
    await log.clean(5_000, { highWatermark: offset(highWatermark + 1) })
    expect(log.cleanerCheckpoint).toBe(highWatermark)
    const records = await readAllRecords(log)
    expect(records.filter((r) => r.offset >= highWatermark)).toEqual(written.filter((r) => r.offset >= highWatermark))
    await log.close()
  })

  test('a small offset map cleans only as far as it fits and the next pass continues', async () => {
    const log = await open({ minCleanableDirtyRatio: 0, cleanerDedupeBufferBytes: 250 * OFFSET_MAP_ENTRY_BYTES })
    // 1,000 records, 500 keys (each written twice, 500 offsets apart): the map holds 250, so a pass covers 2 batches.
    const written = await write(log, 10, 100, 500)
    await log.roll()
    const first = await log.clean(5_000)
    expect(first).toMatchObject({ firstDirtyOffset: 200, moreToClean: true })
    // Nothing of [0, 200) is superseded inside it: no record goes yet, but the first two segments' worth is clean.
    expect(await readAllRecords(log)).toEqual(written)
    let passes = 1
    for (;;) {
      const pass = await log.clean(5_000)
      passes += 1
      if (!pass.moreToClean) break
    }
    expect(passes).toBe(5)
    expect(log.cleanerCheckpoint).toBe(1000)
    expect(await readAllRecords(log)).toEqual(expectedAfterClean(written, 1000))
    await log.close()
  })

  test('the I/O throttle paces a pass to cleanerIoBytesPerSecondMax', async () => {
    const log = await open({ minCleanableDirtyRatio: 0, cleanerIoBytesPerSecondMax: 1_000_000 })
    await write(log, 40, 100, 1000)
    await log.roll()
    const bytes = log.sizeBytes
    const started = performance.now()
    await log.clean(5_000)
    // The map pass and the rewrite each read the log once: at least 2 × bytes at 1 MB/s.
    expect(performance.now() - started).toBeGreaterThanOrEqual((2 * bytes) / 1000 - 20)
    await log.close()
  })
})

describe('log cleaner crash safety', () => {
  /**
   * Builds an uncleaned log in `original`, a cleaned copy of it in `cleaned`, and returns the file names; a crash at
   * each step of a swap is then the original directory plus some of the cleaned files under their temporary names.
   */
  async function prepare (): Promise<{ original: string; cleaned: string; written: KeyedRecord[]; expected: KeyedRecord[]; firstBase: string }> {
    const log = await open({ minCleanableDirtyRatio: 0 }, join(temp.path, 'original'))
    const written = await write(log, 300, 100, 200)
    await log.roll()
    const end = log.logEndOffset as number
    await log.close()
    await cp(join(temp.path, 'original'), join(temp.path, 'cleaned'), { recursive: true })
    // Larger segments for the copy: its cleaner groups all the small original segments into one cleaned segment.
    const copy = await open({ minCleanableDirtyRatio: 0, segmentBytes: 4 << 20 }, join(temp.path, 'cleaned'))
    await copy.clean(5_000)
    expect(copy.segmentBaseOffsets.length).toBe(2)
    await copy.close()
    return { original: join(temp.path, 'original', 'kv-0'), cleaned: join(temp.path, 'cleaned', 'kv-0'), written, expected: expectedAfterClean(written, end), firstBase: `${'0'.repeat(20)}.log` }
  }

  test('an interrupted clean at any step of the swap loses nothing after reopen', async () => {
    const { original, cleaned, written, expected, firstBase } = await prepare()
    const originalSegments = (await readdir(original)).filter((n) => n.endsWith('.log')).sort()
    expect(originalSegments.length).toBeGreaterThan(3)
    const steps: Array<{ name: string; crash: (dir: string) => Promise<void>; result: 'original' | 'cleaned' }> = [
      { name: 'cleaned file written, not yet renamed', crash: async (dir) => { await copyFile(join(cleaned, firstBase), join(dir, `${firstBase}.cleaned`)) }, result: 'original' },
      { name: 'renamed to .swap, old segments all there', crash: async (dir) => { await copyFile(join(cleaned, firstBase), join(dir, `${firstBase}.swap`)) }, result: 'cleaned' },
      {
        name: 'renamed to .swap, some old segments deleted',
        crash: async (dir) => {
          await copyFile(join(cleaned, firstBase), join(dir, `${firstBase}.swap`))
          for (const name of originalSegments.slice(0, 2)) await rm(join(dir, name))
          await rm(join(dir, originalSegments[0]?.replace('.log', '.index') as string), { force: true })
        },
        result: 'cleaned',
      },
      {
        name: 'swapped in, indexes not written',
        crash: async (dir) => {
          for (const name of originalSegments.slice(0, -1)) await rm(join(dir, name))
          await copyFile(join(cleaned, firstBase), join(dir, firstBase))
          for (const name of await readdir(dir)) if (name.endsWith('index')) await rm(join(dir, name))
        },
        result: 'cleaned',
      },
    ]
    for (const [i, step] of steps.entries()) {
      const root = join(temp.path, `crash-${i}`)
      await cp(join(temp.path, 'original'), root, { recursive: true })
      const dir = join(root, 'kv-0')
      await rm(join(dir, '.clean-shutdown'))
      await step.crash(dir)
      const log = await open({ minCleanableDirtyRatio: 0 }, root)
      const records = await readAllRecords(log)
      expect({ step: step.name, same: records.length === (step.result === 'original' ? written : expected).length }).toEqual({ step: step.name, same: true })
      expect(records).toEqual(step.result === 'original' ? written : expected)
      expect((await readdir(dir)).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).toEqual([])
      // And a clean after the repair gets to the same result.
      await log.clean(5_000)
      expect(await readAllRecords(log)).toEqual(expected)
      await log.close()
    }
  }, 60_000)
})

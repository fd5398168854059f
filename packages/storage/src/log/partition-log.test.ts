import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCode, leaderEpoch, offset, silentLogger } from '@gregor/common'
import { buildBatch, readBatchHeader, walkBatches } from '@gregor/records'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import type { FileHandle } from '../fs/file-system.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { FileHandleCache } from './file-handle-cache.js'
import type { LogConfig } from './log-config.js'
import { PartitionLog } from './partition-log.js'
import { ReadBufferPool } from './read-buffer-pool.js'
import { captureLogger } from './testing/capture-logger.js'
import { deterministicBytes, makeTestBatch } from './testing/test-batch.js'

let temp: { path: string; remove: () => Promise<void> }
const open = async (config: Partial<LogConfig> = {}, extra: { recoveryPoint?: number; logger?: ReturnType<typeof captureLogger> } = {}): Promise<PartitionLog> =>
  await PartitionLog.open({
    fs: nodeFileSystem,
    dir: temp.path,
    topic: 'orders',
    partition: 0,
    config: { batchBytesMax: Math.min(config.segmentBytes ?? 1 << 20, 1 << 20), ...config },
    logger: extra.logger ?? silentLogger,
    recoveryPoint: extra.recoveryPoint,
  })

const batch = (records: number, payloadBytes = 100, timestamp = 1000, seed = records): Buffer =>
  makeTestBatch({ recordCount: records, payload: deterministicBytes(seed, payloadBytes), maxTimestamp: timestamp })

beforeEach(async () => { temp = await makeTempDir() })
afterEach(async () => { await temp.remove() })

describe('PartitionLog appends', () => {
  test('append assigns offsets from the log end and stamps baseOffset and leader epoch in place', async () => {
    const log = await open()
    const first = batch(3)
    const second = batch(2)
    expect(await log.append(first, { leaderEpoch: leaderEpoch(4) })).toEqual({ baseOffset: 0, lastOffset: 2, logEndOffset: 3 })
    expect(await log.append(second, { leaderEpoch: leaderEpoch(4) })).toEqual({ baseOffset: 3, lastOffset: 4, logEndOffset: 5 })
    expect(readBatchHeader(second)).toMatchObject({ baseOffset: 3, partitionLeaderEpoch: 4 })
    expect(log.logEndOffset).toBe(5)
    expect(log.recoveryPoint).toBe(5)
    expect(log.leaderEpochs).toEqual([{ epoch: 4, startOffset: 0 }])
    await log.close()
  })

  test('one append may carry several batches, written with one write', async () => {
    const log = await open()
    const result = await log.append(Buffer.concat([batch(2), batch(5), batch(1)]), { leaderEpoch: leaderEpoch(0) })
    expect(result).toEqual({ baseOffset: 0, lastOffset: 7, logEndOffset: 8 })
    const read = await log.read({ offset: offset(0), bytesMax: 1 << 20 })
    expect([...walkBatches(read.bytes)].map((b) => b.header.baseOffset)).toEqual([0, 2, 7])
    await log.close()
  })

  test('a read through pooled buffers returns the same batches, as a view of a buffer the lease handed out', async () => {
    const log = await open({ indexIntervalBytes: 4096 })
    for (let i = 0; i < 40; i++) await log.append(batch(5, 200, 1000, i), { leaderEpoch: leaderEpoch(0) })
    const pool = new ReadBufferPool({ bufferBytes: 64 * 1024, freeBuffersMax: 2 })
    for (const from of [0, 17, 120, 199]) {
      const plain = await log.read({ offset: offset(from), bytesMax: 20_000 })
      const lease = pool.lease()
      const handedOut: Buffer[] = []
      const pooled = await log.read({ offset: offset(from), bytesMax: 20_000, allocate: (size) => { const b = lease.allocate(size); handedOut.push(b); return b } })
      expect(pooled.bytes.equals(plain.bytes)).toBe(true)
      expect({ ...pooled, bytes: undefined }).toEqual({ ...plain, bytes: undefined })
      expect(handedOut.some((b) => b.buffer === pooled.bytes.buffer)).toBe(true)
      lease.release()
    }
    expect(pool.allocatedCount).toBeLessThanOrEqual(2)
    await log.close()
  })

  test('concurrent appends share fdatasync rounds and each resolves after its sync', async () => {
    const log = await open()
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => await log.append(batch(1, 100, 1000, i), { leaderEpoch: leaderEpoch(0) })))
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(log.syncRounds).toBeLessThan(50)
    expect(log.recoveryPoint).toBe(50)
    await log.close()
  })

  test('rejects corrupt, oversized and empty appends without changing the log', async () => {
    const log = await open({ batchBytesMax: 1000, segmentBytes: 4096 })
    const corrupt = batch(1)
    corrupt[70] = (corrupt[70] as number) ^ 0xff
    await expect(log.append(corrupt, { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.CORRUPT_MESSAGE })
    await expect(log.append(batch(1, 2000), { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE })
    await expect(log.append(Buffer.alloc(0), { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST })
    expect(log.logEndOffset).toBe(0)
    await log.close()
  })

  test('an append with an older leader epoch is fenced', async () => {
    const log = await open()
    await log.append(batch(1), { leaderEpoch: leaderEpoch(5) })
    await expect(log.append(batch(1), { leaderEpoch: leaderEpoch(4) })).rejects.toMatchObject({ code: ErrorCode.FENCED_LEADER_EPOCH })
    await log.close()
  })

  test('appendAsFollower keeps the leader offsets and epochs and rejects a gap', async () => {
    const log = await open()
    const leaderBatches = Buffer.concat([
      makeTestBatch({ baseOffset: 0, recordCount: 2, partitionLeaderEpoch: 1 }),
      makeTestBatch({ baseOffset: 2, recordCount: 3, partitionLeaderEpoch: 2 }),
    ])
    expect(await log.appendAsFollower(leaderBatches)).toEqual({ baseOffset: 0, lastOffset: 4, logEndOffset: 5 })
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 2 }])
    await expect(log.appendAsFollower(makeTestBatch({ baseOffset: 7, partitionLeaderEpoch: 2 })))
      .rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE })
    await log.close()
  })

  test('a compacted log\'s appendAsFollower accepts a gap (the leader cleaned batches away) and rejects an overlap', async () => {
    const log = await open({ cleanupPolicy: 'compact' })
    const leaderBatches = Buffer.concat([
      makeTestBatch({ baseOffset: 0, recordCount: 2, partitionLeaderEpoch: 1 }),
      makeTestBatch({ baseOffset: 2, recordCount: 3, partitionLeaderEpoch: 2 }),
    ])
    expect(await log.appendAsFollower(leaderBatches)).toEqual({ baseOffset: 0, lastOffset: 4, logEndOffset: 5 })
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 2 }])
    await expect(log.appendAsFollower(makeTestBatch({ baseOffset: 4, partitionLeaderEpoch: 2 })))
      .rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE })
    expect(await log.appendAsFollower(makeTestBatch({ baseOffset: 7, partitionLeaderEpoch: 2 }))).toEqual({ baseOffset: 7, lastOffset: 7, logEndOffset: 8 })
    // A fetch at an offset in the gap gets the next batch above it.
    const read = await log.read({ offset: offset(5), bytesMax: 1 << 20 })
    expect([...walkBatches(read.bytes)].map((b) => b.header.baseOffset)).toEqual([7])
    expect(read.nextOffset).toBe(8)
    await log.close()
    const reopened = await open({ cleanupPolicy: 'compact' })
    expect(reopened.logEndOffset).toBe(8)
    await reopened.close()
  })

  test('flush=never resolves after the write and flush() advances the recovery point', async () => {
    const log = await open({ flush: 'never' })
    await log.append(batch(10), { leaderEpoch: leaderEpoch(0) })
    expect(log.recoveryPoint).toBe(0)
    await log.flush()
    expect(log.recoveryPoint).toBe(10)
    await log.close()
  })

  test('flush=interval syncs from maybeFlush once the interval has passed', async () => {
    const log = await open({ flush: 'interval', flushIntervalMs: 100 })
    await log.append(batch(10), { leaderEpoch: leaderEpoch(0) })
    expect(await log.maybeFlush(1000)).toBe(false)
    expect(await log.maybeFlush(1050)).toBe(false)
    expect(log.recoveryPoint).toBe(0)
    expect(await log.maybeFlush(1100)).toBe(true)
    expect(log.recoveryPoint).toBe(10)
    await log.close()
  })
})

describe('PartitionLog reads', () => {
  test('read returns whole batches from the one holding the offset, within bytesMax but at least one', async () => {
    const log = await open({ indexIntervalBytes: 300 })
    const sizes: number[] = []
    for (let i = 0; i < 20; i++) {
      const b = batch(5, 200, 1000 + i, i)
      sizes.push(b.length)
      await log.append(b, { leaderEpoch: leaderEpoch(0) })
    }
    const read = await log.read({ offset: offset(37), bytesMax: 2 * (sizes[0] as number) })
    expect(read.baseOffset).toBe(35)
    expect(read.nextOffset).toBe(45)
    expect([...walkBatches(read.bytes)].map((b) => b.header.baseOffset)).toEqual([35, 40])
    const tiny = await log.read({ offset: offset(99), bytesMax: 1 })
    expect([...walkBatches(tiny.bytes)].map((b) => b.header.baseOffset)).toEqual([95])
    const end = await log.read({ offset: offset(100), bytesMax: 1000 })
    expect(end.bytes.length).toBe(0)
    await expect(log.read({ offset: offset(101), bytesMax: 1000 })).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE })
    await log.close()
  })

  test('read never returns a batch starting at or after maxOffset', async () => {
    const log = await open()
    for (let i = 0; i < 5; i++) await log.append(batch(2), { leaderEpoch: leaderEpoch(0) })
    const read = await log.read({ offset: offset(0), bytesMax: 1 << 20, maxOffset: offset(6) })
    expect([...walkBatches(read.bytes)].map((b) => b.header.baseOffset)).toEqual([0, 2, 4])
    expect((await log.read({ offset: offset(6), bytesMax: 1 << 20, maxOffset: offset(6) })).bytes.length).toBe(0)
    await log.close()
  })

  test('read returns the stored bytes exactly, across segments', async () => {
    const log = await open({ segmentBytes: 2048 })
    const appended: Buffer[] = []
    for (let i = 0; i < 30; i++) {
      const b = batch(1 + (i % 3), 50 + i * 7, 1000, i)
      await log.append(b, { leaderEpoch: leaderEpoch(0) })
      appended.push(b)
    }
    expect(log.segmentBaseOffsets.length).toBeGreaterThan(3)
    const got: Buffer[] = []
    let next = 0
    while (next < log.logEndOffset) {
      const read = await log.read({ offset: offset(next), bytesMax: 700 })
      got.push(read.bytes)
      next = read.nextOffset
    }
    expect(Buffer.concat(got).equals(Buffer.concat(appended))).toBe(true)
    await log.close()
  })

  test('offsetForTimestamp finds the first batch whose max timestamp reaches the target', async () => {
    const log = await open({ segmentBytes: 1024, indexIntervalBytes: 100 })
    for (let i = 0; i < 40; i++) await log.append(batch(2, 60, 1000 + i * 10, i), { leaderEpoch: leaderEpoch(0) })
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 })
    expect(await log.offsetForTimestamp(1155)).toEqual({ offset: 32, timestamp: 1160 })
    expect(await log.offsetForTimestamp(1390)).toEqual({ offset: 78, timestamp: 1390 })
    expect(await log.offsetForTimestamp(1391)).toBeUndefined()
    await log.close()
  })

  test('offsetForTimestamp answers the exact record inside a batch (compressed too), as Kafka does', async () => {
    const log = await open()
    const records = (base: number): Array<{ value: Buffer; timestamp: number }> =>
      [0, 10, 20, 5].map((delta) => ({ value: Buffer.from(`t${base + delta}`), timestamp: base + delta }))
    await log.append(buildBatch(records(1000)), { leaderEpoch: leaderEpoch(0) }) // offsets 0-3
    await log.append(buildBatch(records(2000), { compression: 'gzip' }), { leaderEpoch: leaderEpoch(0) }) // offsets 4-7
    expect(await log.offsetForTimestamp(1001)).toEqual({ offset: 1, timestamp: 1010 })
    expect(await log.offsetForTimestamp(1020)).toEqual({ offset: 2, timestamp: 1020 })
    expect(await log.offsetForTimestamp(1021)).toEqual({ offset: 4, timestamp: 2000 })
    expect(await log.offsetForTimestamp(2011)).toEqual({ offset: 6, timestamp: 2020 })
    // MAX_TIMESTAMP (KIP-734): the record holding the largest timestamp, not the first of its batch.
    expect(await log.offsetForTimestamp(await log.maxTimestamp())).toEqual({ offset: 6, timestamp: 2020 })
    await log.close()
  })
})

describe('PartitionLog segments', () => {
  test('rolls by size and by age, logging each roll', async () => {
    const logger = captureLogger()
    const log = await open({ segmentBytes: 1024, segmentMs: 1000 }, { logger })
    for (let i = 0; i < 10; i++) await log.append(batch(1, 200), { leaderEpoch: leaderEpoch(0), nowMs: 0 })
    const bySize = log.segmentBaseOffsets.length
    expect(bySize).toBeGreaterThan(2)
    await log.append(batch(1, 10), { leaderEpoch: leaderEpoch(0), nowMs: 999 })
    expect(log.segmentBaseOffsets.length).toBe(bySize)
    await log.append(batch(1, 10), { leaderEpoch: leaderEpoch(0), nowMs: 5000 })
    expect(log.segmentBaseOffsets.length).toBe(bySize + 1)
    expect(logger.lines.filter((l) => l.message === 'segment rolled').length).toBe(bySize)
    expect(logger.lines.find((l) => l.message === 'segment rolled')?.fields).toMatchObject({ component: 'partition-log', topic: 'orders', partition: 0 })
    await log.close()
  })

  test('onRoll hears each new segment\'s base offset while the batches below it are written; a throwing listener is only logged', async () => {
    const logger = captureLogger()
    const heard: Array<{ baseOffset: number; logEndOffset: number }> = []
    let log: PartitionLog | undefined
    log = await PartitionLog.open({
      fs: nodeFileSystem,
      dir: temp.path, topic: 'orders', partition: 0, config: { segmentBytes: 1024, batchBytesMax: 1024 }, logger,
      onRoll: (baseOffset) => {
        heard.push({ baseOffset, logEndOffset: log?.logEndOffset ?? -1 })
        if (heard.length === 1) throw new Error('listener bug')
      },
    })
    for (let i = 0; i < 10; i++) await log.append(batch(1, 200), { leaderEpoch: leaderEpoch(0) })
    await log.roll()
    const bases = log.segmentBaseOffsets.slice(1)
    expect(bases.length).toBeGreaterThan(2)
    expect(heard).toEqual(bases.map((base) => ({ baseOffset: base, logEndOffset: base })))
    expect(logger.lines.filter((l) => l.message === 'roll listener failed').length).toBe(1)
    expect(log.failure).toBeUndefined()
    expect((await log.append(batch(1, 200), { leaderEpoch: leaderEpoch(0) })).baseOffset).toBe(10)
    await log.close()
  })

  test('onWritten hears each new log end once it is readable, before flush=always has made it durable', async () => {
    const logger = captureLogger()
    const heard: Array<{ logEndOffset: number; recoveryPoint: number }> = []
    const reads: Array<Promise<number>> = []
    let log: PartitionLog | undefined
    log = await PartitionLog.open({
      fs: nodeFileSystem,
      dir: temp.path, topic: 'orders', partition: 0, config: { flush: 'always' }, logger,
      onWritten: (logEndOffset) => {
        const current = log as PartitionLog
        heard.push({ logEndOffset, recoveryPoint: current.recoveryPoint })
        // Readable at once (a follower's fetch is woken here): a read started now sees the batch just written.
        reads.push(current.read({ offset: offset(logEndOffset - 1), bytesMax: 1 }).then((read) => read.bytes.length))
        if (heard.length === 1) throw new Error('listener bug')
      },
    })
    for (let i = 0; i < 3; i++) await log.append(batch(2, 100), { leaderEpoch: leaderEpoch(0) })
    expect(heard.map((h) => h.logEndOffset)).toEqual([2, 4, 6])
    // Each was heard before the fdatasync that makes it durable had completed.
    for (const h of heard) expect(h.recoveryPoint).toBeLessThan(h.logEndOffset)
    for (const bytes of await Promise.all(reads)) expect(bytes).toBeGreaterThan(0)
    expect(log.recoveryPoint).toBe(6)
    expect(logger.lines.filter((l) => l.message === 'write listener failed').length).toBe(1)
    expect(log.failure).toBeUndefined()
    await log.close()
  })

  test('files follow the partition directory layout', async () => {
    const log = await open({ segmentBytes: 1024 })
    for (let i = 0; i < 8; i++) await log.append(batch(3, 200), { leaderEpoch: leaderEpoch(2) })
    await log.close()
    const names = await readdir(join(temp.path, 'orders-0'))
    expect(names).toContain('00000000000000000000.log')
    expect(names).toContain('00000000000000000000.index')
    expect(names).toContain('00000000000000000000.timeindex')
    expect(names).toContain('leader-epoch-checkpoint')
    expect(names).toContain('.clean-shutdown')
    expect(await readFile(join(temp.path, 'orders-0', 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n1\n2 0\n')
  })

  test('truncateTo drops records above offset and rewinds logEndOffset, whole batches only', async () => {
    const log = await open({ segmentBytes: 1024 })
    for (let i = 0; i < 10; i++) await log.append(batch(3, 200), { leaderEpoch: leaderEpoch(i < 5 ? 1 : 2) })
    await log.truncateTo(offset(16))
    expect(log.logEndOffset).toBe(15)
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 15 }].slice(0, 1))
    expect((await log.append(batch(1), { leaderEpoch: leaderEpoch(3) })).baseOffset).toBe(15)
    await log.close()
    const reopened = await open()
    expect(reopened.logEndOffset).toBe(16)
    await reopened.close()
  })

  test('truncateFullyAndStartAt empties the log and restarts at the offset', async () => {
    const log = await open()
    await log.append(batch(5), { leaderEpoch: leaderEpoch(1) })
    await log.truncateFullyAndStartAt(offset(1000))
    expect([log.logStartOffset, log.logEndOffset, log.leaderEpochs.length]).toEqual([1000, 1000, 0])
    expect((await log.append(batch(1), { leaderEpoch: leaderEpoch(2) })).baseOffset).toBe(1000)
    await log.close()
    const reopened = await open()
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([1000, 1001])
    await reopened.close()
  })

  test('retention by size and by time deletes whole oldest segments, never the data above the high watermark', async () => {
    const log = await open({ segmentBytes: 1024, retentionBytes: 2048, retentionMs: 10_000 })
    for (let i = 0; i < 20; i++) await log.append(batch(1, 300, i * 1000, i), { leaderEpoch: leaderEpoch(0) })
    const before = log.segmentBaseOffsets
    const bounded = await log.applyRetention(1_000_000, { highWatermark: before[2] })
    expect(bounded.deletedSegments).toBe(2)
    const result = await log.applyRetention(15_500)
    expect(log.sizeBytes).toBeLessThanOrEqual(2048 + 1024)
    expect(result.logStartOffset).toBe(log.segmentBaseOffsets[0])
    await expect(log.read({ offset: offset(0), bytesMax: 100 })).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE })
    const all = await log.applyRetention(10_000_000)
    expect(all.logStartOffset).toBe(20)
    expect(log.logEndOffset).toBe(20)
    expect((await log.append(batch(1), { leaderEpoch: leaderEpoch(0) })).baseOffset).toBe(20)
    await log.close()
  })

  test('deleteRecordsBefore advances the log start and deletes segments wholly below it', async () => {
    const log = await open({ segmentBytes: 1024 })
    for (let i = 0; i < 10; i++) await log.append(batch(2, 300), { leaderEpoch: leaderEpoch(0) })
    const bases = log.segmentBaseOffsets
    expect(await log.deleteRecordsBefore(offset((bases[1] as number) + 1))).toBe((bases[1] as number) + 1)
    expect(log.segmentBaseOffsets[0]).toBe(bases[1])
    await expect(log.read({ offset: bases[1] as typeof bases[0], bytesMax: 10 })).rejects.toMatchObject({ code: ErrorCode.OFFSET_OUT_OF_RANGE })
    await log.close()
  })
  test('a log start offset from the broker checkpoint is honoured at open and retention deletes what lies below it', async () => {
    const log = await open({ segmentBytes: 1024 })
    for (let i = 0; i < 10; i++) await log.append(batch(2, 300), { leaderEpoch: leaderEpoch(0) })
    const bases = log.segmentBaseOffsets
    await log.close()
    const start = (bases[2] as number) + 1
    const reopened = await PartitionLog.open({
      fs: nodeFileSystem,
      dir: temp.path, topic: 'orders', partition: 0, config: { segmentBytes: 1024, batchBytesMax: 1024 }, logger: silentLogger, logStartOffset: start,
    })
    expect(reopened.logStartOffset).toBe(start)
    expect(reopened.segmentBaseOffsets).toEqual(bases)
    expect(await reopened.applyRetention(0)).toEqual({ deletedSegments: 2, logStartOffset: start })
    expect(reopened.segmentBaseOffsets).toEqual(bases.slice(2))
    await reopened.close()
  })
})

describe('PartitionLog recovery basics', () => {
  test('a clean reopen skips the scan and keeps everything', async () => {
    const log = await open({ segmentBytes: 1024 })
    for (let i = 0; i < 10; i++) await log.append(batch(2, 300), { leaderEpoch: leaderEpoch(0) })
    await log.close()
    const logger = captureLogger()
    const reopened = await open({ segmentBytes: 1024 }, { logger })
    expect(reopened.logEndOffset).toBe(20)
    expect(logger.lines.find((l) => l.message === 'log opened')?.fields.cleanShutdown).toBe(true)
    expect((await reopened.append(batch(1), { leaderEpoch: leaderEpoch(0) })).baseOffset).toBe(20)
    await reopened.close()
  })

  test('a torn tail is truncated and logged', async () => {
    const log = await open()
    for (let i = 0; i < 5; i++) await log.append(batch(2, 300), { leaderEpoch: leaderEpoch(0) })
    await log.close()
    const path = join(temp.path, 'orders-0', '00000000000000000000.log')
    const size = (await stat(path)).size
    await writeFile(join(temp.path, 'orders-0', '.clean-shutdown'), '')
    const bytes = await readFile(path)
    await writeFile(path, bytes.subarray(0, size - 10))
    await rm(join(temp.path, 'orders-0', '.clean-shutdown'))
    const logger = captureLogger()
    const reopened = await open({}, { logger, recoveryPoint: 0 })
    expect(reopened.logEndOffset).toBe(8)
    expect(reopened.needsRefetch).toBe(false)
    expect(logger.lines.find((l) => l.message === 'truncated corrupt tail')?.level).toBe('warn')
    await reopened.close()
  })
})

/** A handle cache whose handles fail the chosen call with the chosen errno, to inject disk faults. */
class FaultyFiles extends FileHandleCache {
  fault: { call: 'datasync' | 'write'; code: string } | undefined
  override async use<T> (path: string, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    return await super.use(path, async (handle) => {
      const fault = this.fault
      if (fault === undefined) return await fn(handle)
      return await fn(new Proxy(handle, {
        get: (target, property) => {
          if (property === fault.call || (fault.call === 'write' && property === 'writev')) {
            return async () => { throw Object.assign(new Error(fault.code), { code: fault.code }) }
          }
          const value = Reflect.get(target, property) as unknown
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        },
      }))
    })
  }
}

describe('PartitionLog faults', () => {
  test.each(['datasync', 'write'] as const)('a failed %s takes the log offline: every waiting and later call fails, nothing is acked', async (call) => {
    const files = new FaultyFiles({ openFilesMax: 10, fs: nodeFileSystem })
    const logger = captureLogger()
    const log = await PartitionLog.open({ fs: nodeFileSystem, dir: temp.path, topic: 'orders', partition: 0, logger, files })
    await log.append(batch(1), { leaderEpoch: leaderEpoch(0) })
    files.fault = { call, code: call === 'write' ? 'ENOSPC' : 'EIO' }
    const appends = Array.from({ length: 5 }, async () => await log.append(batch(1), { leaderEpoch: leaderEpoch(0) }))
    for (const append of appends) await expect(append).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    files.fault = undefined
    expect(log.failure?.code).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await expect(log.append(batch(1), { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    await expect(log.read({ offset: offset(0), bytesMax: 10 })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(logger.lines.filter((l) => l.message === 'partition log failed')).toHaveLength(1)
    await log.close()
    await files.closeAll()
    const reopened = await open()
    expect(reopened.logEndOffset).toBeGreaterThanOrEqual(1)
    await reopened.close()
  })

  test('a closed log refuses appends with SHUTTING_DOWN', async () => {
    const log = await open()
    await log.close()
    await expect(log.append(batch(1), { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN })
    await log.close()
  })

  test('a shared handle cache bounds open descriptors across many logs', async () => {
    const files = new FileHandleCache({ openFilesMax: 4, fs: nodeFileSystem })
    const logs = await Promise.all(Array.from({ length: 12 }, async (_, p) =>
      await PartitionLog.open({ fs: nodeFileSystem, dir: temp.path, topic: 'many', partition: p, config: { segmentBytes: 2048, batchBytesMax: 2048 }, logger: silentLogger, files })))
    for (let round = 0; round < 5; round++) {
      await Promise.all(logs.map(async (log) => await log.append(batch(1, 600), { leaderEpoch: leaderEpoch(0) })))
      expect(files.openCount).toBeLessThanOrEqual(4 + 12)
    }
    expect(files.openCount).toBeLessThanOrEqual(4)
    for (const log of logs) {
      expect((await log.read({ offset: offset(0), bytesMax: 1 << 20 })).nextOffset).toBe(3)
      expect((await log.read({ offset: offset(3), bytesMax: 1 << 20 })).nextOffset).toBe(5)
    }
    await Promise.all(logs.map(async (log) => { await log.close() }))
    expect(files.openCount).toBe(0)
  })
})

/**
 * The real PartitionLog on the simulated disk (testing/sim-file-system.ts): power loss with unsynced data, a failing
 * fdatasync, a full disk, bit rot in a rolled segment and read errors. Unlike partition-log.recovery.test.ts, a
 * crash here loses exactly what a real disk may lose (unsynced bytes and unsynced directory entries), not only what
 * close() would have written.
 */
import { ErrorCode, leaderEpoch, offset, seededRng } from '@gregor/common'
import { walkBatches } from '@gregor/records'
import { beforeEach, describe, expect, test } from 'vitest'
import { SimFileSystem } from '../testing/sim-file-system.js'
import { PartitionLog } from './partition-log.js'
import { captureLogger } from './testing/capture-logger.js'
import { DATA_DIR, FIRST_SEGMENT, type OpenOptions, PARTITION_DIR, eventsBatch, freshDisk, openEventsLog } from './testing/sim-disk-log.js'

let fs: SimFileSystem
beforeEach(async () => { fs = await freshDisk() })

const open = async (options: OpenOptions = {}): Promise<PartitionLog> => await openEventsLog(fs, options)
const batch = eventsBatch

/** Appends batches `from` to `to` - 1 and returns their stamped bytes. */
async function appendRange (log: PartitionLog, from: number, to: number): Promise<Buffer[]> {
  const written: Buffer[] = []
  for (let i = from; i < to; i++) {
    const b = batch(i)
    await log.append(b, { leaderEpoch: leaderEpoch(1) })
    written.push(b)
  }
  return written
}

/** Everything readable from the log, concatenated. */
async function readAll (log: PartitionLog): Promise<Buffer> {
  const parts: Buffer[] = []
  let next: number = log.logStartOffset
  while (next < log.logEndOffset) {
    const read = await log.read({ offset: offset(next), bytesMax: 3000 })
    expect(read.nextOffset).toBeGreaterThan(next)
    parts.push(read.bytes)
    next = read.nextOffset
  }
  return Buffer.concat(parts)
}

describe('PartitionLog on SimFileSystem: power loss', () => {
  test('flushed batches survive a crash exactly; unflushed ones are gone and the log ends at the flushed end', async () => {
    const log = await open({ config: { flush: 'never' } })
    const durable = await appendRange(log, 0, 30)
    await log.flush()
    await log.roll()
    const flushedEnd = log.logEndOffset
    expect(log.recoveryPoint).toBe(flushedEnd)
    expect(log.segmentBaseOffsets.length).toBeGreaterThan(2)
    await appendRange(log, 30, 40)
    expect(log.logEndOffset).toBeGreaterThan(flushedEnd)
    // Still one segment for the unflushed part, so no roll synced it behind our back.
    expect(log.segmentBaseOffsets.at(-1)).toBe(flushedEnd)
    expect(log.recoveryPoint).toBe(flushedEnd)

    fs.crash()
    const reopened = await open({ recoveryPoint: flushedEnd })
    expect(reopened.logEndOffset).toBe(flushedEnd)
    expect(reopened.needsRefetch).toBe(false)
    expect((await readAll(reopened)).equals(Buffer.concat(durable))).toBe(true)
    // The log goes on from there.
    expect((await reopened.append(batch(99), { leaderEpoch: leaderEpoch(2) })).baseOffset).toBe(flushedEnd)
    await reopened.close()
  })

  test('a crash right after an unclean open with no recovery point still keeps exactly the flushed data', async () => {
    const log = await open({ config: { flush: 'never' } })
    const durable = await appendRange(log, 0, 12)
    await log.flush()
    await appendRange(log, 12, 15)
    fs.crash()
    const reopened = await open()
    expect((await readAll(reopened)).equals(Buffer.concat(durable))).toBe(true)
    fs.crash()
    const again = await open()
    expect((await readAll(again)).equals(Buffer.concat(durable))).toBe(true)
    await again.close()
  })

  test('a torn unsynced tail (any seed) recovers to a whole-batch prefix of what was written, never less than the flushed part', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      fs = new SimFileSystem()
      await fs.mkdir(DATA_DIR)
      await fs.syncDirectory('/')
      const log = await open({ config: { flush: 'never', segmentBytes: 64 * 1024 } })
      const written = await appendRange(log, 0, 10)
      await log.flush()
      const flushedEnd = log.logEndOffset
      written.push(...await appendRange(log, 10, 20))
      fs.crash(seededRng(seed))
      const reopened = await open({ recoveryPoint: flushedEnd })
      const end = reopened.logEndOffset
      expect({ seed, atLeastFlushed: end >= flushedEnd, needsRefetch: reopened.needsRefetch }).toEqual({ seed, atLeastFlushed: true, needsRefetch: false })
      const bytes = await readAll(reopened)
      const survivors = [...walkBatches(bytes)].length
      expect(bytes.equals(Buffer.concat(written.slice(0, survivors)))).toBe(true)
      await reopened.close()
    }
  })

  test('a clean close survives a crash with nothing to recover', async () => {
    const log = await open()
    const written = await appendRange(log, 0, 25)
    const end = log.logEndOffset
    await log.close()
    fs.crash()
    const logger = captureLogger()
    const reopened = await open({ logger })
    expect(reopened.logEndOffset).toBe(end)
    expect(logger.lines.find((l) => l.message === 'log opened')?.fields).toMatchObject({ cleanShutdown: true })
    expect((await readAll(reopened)).equals(Buffer.concat(written))).toBe(true)
    await reopened.close()
  })
})

describe('PartitionLog on SimFileSystem: a failed fdatasync', () => {
  test('flush always: the append rejects (never acknowledged), the log goes offline, and after a crash the batch is not there', async () => {
    const log = await open()
    const acked = await appendRange(log, 0, 5)
    const ackedEnd = log.logEndOffset
    fs.failNextSync(FIRST_SEGMENT)
    // Several appends in flight share the failing fdatasync (group commit): none of them may resolve.
    const inFlight = await Promise.allSettled([5, 6, 7, 8].map(async (i) => await log.append(batch(i), { leaderEpoch: leaderEpoch(1) })))
    expect(inFlight.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected'])
    expect((inFlight[0] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR, details: { errno: 'EIO' } })
    expect(log.failure?.code).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(log.recoveryPoint).toBe(ackedEnd)
    await expect(log.append(batch(9), { leaderEpoch: leaderEpoch(1) })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.crash()
    const reopened = await open({ recoveryPoint: ackedEnd })
    expect(reopened.logEndOffset).toBe(ackedEnd)
    expect((await readAll(reopened)).equals(Buffer.concat(acked))).toBe(true)
    await reopened.close()
  })

  test('flush never: flush() rejects, the recovery point does not move, and after a crash the data is not there', async () => {
    const log = await open({ config: { flush: 'never' } })
    const durable = await appendRange(log, 0, 4)
    await log.flush()
    const flushedEnd = log.logEndOffset
    await appendRange(log, 4, 8)
    fs.failNextSync(FIRST_SEGMENT)
    await expect(log.flush()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(log.recoveryPoint).toBe(flushedEnd)
    await expect(log.flush()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.crash()
    const reopened = await open({ recoveryPoint: flushedEnd })
    expect(reopened.logEndOffset).toBe(flushedEnd)
    expect((await readAll(reopened)).equals(Buffer.concat(durable))).toBe(true)
    await reopened.close()
  })

  test('a failed directory fsync on roll takes the log offline; the acknowledged data survives a crash', async () => {
    const log = await open()
    const acked = await appendRange(log, 0, 6)
    fs.failNextSync(PARTITION_DIR)
    await expect(log.roll()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.crash()
    const reopened = await open()
    expect((await readAll(reopened)).equals(Buffer.concat(acked))).toBe(true)
    await reopened.close()
  })
})

describe('PartitionLog on SimFileSystem: a full disk', () => {
  test('ENOSPC on append: a clear storage error naming ENOSPC; acknowledged data stays intact and readable after reopen', async () => {
    const logger = captureLogger()
    const log = await open({ logger })
    const acked = await appendRange(log, 0, 10)
    const ackedEnd = log.logEndOffset
    fs.setFull(true)
    const error = await log.append(batch(10), { leaderEpoch: leaderEpoch(1) }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR, retriable: false, details: { errno: 'ENOSPC' } })
    expect(logger.lines.find((l) => l.message === 'partition log failed')?.level).toBe('error')
    // Nothing half-appended became visible: the end did not move.
    expect(log.logEndOffset).toBe(ackedEnd)
    // Offline, and says so on every call, rather than serving or appending after an unknown write outcome.
    await expect(log.read({ offset: offset(0), bytesMax: 100 })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    await log.close()
    fs.setFull(false)
    const reopened = await open({ recoveryPoint: ackedEnd })
    expect(reopened.logEndOffset).toBe(ackedEnd)
    expect((await readAll(reopened)).equals(Buffer.concat(acked))).toBe(true)
    expect((await reopened.append(batch(11), { leaderEpoch: leaderEpoch(1) })).baseOffset).toBe(ackedEnd)
    await reopened.close()
  })

  test('ENOSPC while creating a new partition: the open fails with a storage error naming ENOSPC, and works once there is room', async () => {
    fs.setFull(true)
    await expect(open()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR, retriable: false, details: { errno: 'ENOSPC' } })
    fs.setFull(false)
    const log = await open()
    const written = await appendRange(log, 0, 3)
    expect((await readAll(log)).equals(Buffer.concat(written))).toBe(true)
    await log.close()
  })

  test('ENOSPC on roll (a new segment and its indexes): the log goes offline, nothing acknowledged is lost', async () => {
    const log = await open()
    const acked = await appendRange(log, 0, 6)
    const ackedEnd = log.logEndOffset
    fs.setFull(true)
    await expect(log.roll()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.setFull(false)
    fs.crash()
    const reopened = await open({ recoveryPoint: ackedEnd })
    expect(reopened.logEndOffset).toBe(ackedEnd)
    expect((await readAll(reopened)).equals(Buffer.concat(acked))).toBe(true)
    await reopened.close()
  })
})

describe('PartitionLog on SimFileSystem: bit rot', () => {
  test('a flipped byte in a rolled segment: recovery truncates at the corrupt batch and drops the later segments', async () => {
    const log = await open()
    const written = await appendRange(log, 0, 80)
    const bases = log.segmentBaseOffsets
    expect(bases.length).toBeGreaterThanOrEqual(3)
    const bytes = await fs.readFile(FIRST_SEGMENT)
    const inFirst = [...walkBatches(bytes)]
    const victim = inFirst[2] as { position: number }
    fs.flipByte(FIRST_SEGMENT, victim.position + 70)
    fs.crash()

    const logger = captureLogger()
    const reopened = await open({ logger })
    // Batch i has offsets assigned densely from 0: batch 2 starts after the records of batches 0 and 1.
    const lostFrom = (1 + (0 % 3)) + (1 + (1 % 3))
    expect(reopened.logEndOffset).toBe(lostFrom)
    expect(reopened.segmentBaseOffsets).toEqual([0])
    expect(logger.lines.find((l) => l.message === 'truncated corrupt tail')?.fields).toMatchObject({ position: victim.position, offset: lostFrom })
    expect((await readAll(reopened)).equals(Buffer.concat(written.slice(0, 2)))).toBe(true)
    // The truncation itself was made durable.
    fs.crash()
    const again = await open()
    expect(again.logEndOffset).toBe(lostFrom)
    expect(await fs.readdir(PARTITION_DIR)).not.toContain(`${String(bases[1]).padStart(20, '0')}.log`)
    await again.close()
  })

  test('a flipped byte below the recovery point marks the log for re-fetch instead of serving it', async () => {
    const log = await open()
    await appendRange(log, 0, 10)
    const end = log.logEndOffset
    const victim = [...walkBatches(await fs.readFile(FIRST_SEGMENT))][4] as { position: number }
    fs.flipByte(FIRST_SEGMENT, victim.position + 65)
    fs.crash()
    const reopened = await open({ recoveryPoint: end })
    expect(reopened.needsRefetch).toBe(true)
    expect(reopened.corruption).toMatchObject({ refetchToOffset: end })
    expect(reopened.logEndOffset).toBeLessThan(end)
    await expect(reopened.append(batch(50), { leaderEpoch: leaderEpoch(2) })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    await reopened.close()
  })
})

describe('PartitionLog on SimFileSystem: bit rot above a lagging recovery point', () => {
  test('a bad batch followed by a valid one is damage to synced data, not a torn tail: the log is marked for re-fetch', async () => {
    const log = await open({ config: { segmentBytes: 64 * 1024 } })
    await appendRange(log, 0, 10) // flush always: every batch is synced, but the checkpointed recovery point stays 0
    const end = log.logEndOffset
    const batches = [...walkBatches(await fs.readFile(FIRST_SEGMENT))]
    const victim = batches[4] as { position: number; header: { baseOffset: number } }
    const next = batches[5] as { header: { baseOffset: number; lastOffsetDelta: number } }
    fs.flipByte(FIRST_SEGMENT, victim.position + 65)
    fs.crash()
    const reopened = await open({ config: { segmentBytes: 64 * 1024 }, recoveryPoint: 0 })
    // It used to be read as an unsynced tail cut by the crash, and the replica could lead with its acknowledged tail gone.
    expect(reopened.needsRefetch).toBe(true)
    expect(reopened.logEndOffset).toBe(victim.header.baseOffset)
    expect(reopened.corruption?.refetchToOffset).toBeGreaterThanOrEqual(next.header.baseOffset + next.header.lastOffsetDelta + 1)
    expect(end).toBeGreaterThan(victim.header.baseOffset)
    await reopened.close()
  })

  test('a flipped byte in the last batch, whole in the file, is damage too: truncated and marked for re-fetch', async () => {
    const log = await open({ config: { segmentBytes: 64 * 1024 } })
    await appendRange(log, 0, 10)
    const batches = [...walkBatches(await fs.readFile(FIRST_SEGMENT))]
    const last = batches[batches.length - 1] as { position: number; header: { baseOffset: number; lastOffsetDelta: number } }
    fs.flipByte(FIRST_SEGMENT, last.position + 65)
    fs.crash()
    const reopened = await open({ config: { segmentBytes: 64 * 1024 }, recoveryPoint: 0 })
    // It used to be read as a torn tail and dropped silently: seed 8654 of the disk-fault simulation, where that
    // replica was then elected (sole ISR member) with an acknowledged record gone.
    expect(reopened.needsRefetch).toBe(true)
    expect(reopened.logEndOffset).toBe(last.header.baseOffset)
    expect(reopened.corruption?.refetchToOffset).toBeGreaterThan(last.header.baseOffset)
    await reopened.close()
  })

  test('a torn last batch (a prefix of the append survived) is an unsynced tail: truncated, no re-fetch', async () => {
    for (const cutInBatch of [5, 61, 70]) {
      fs = await freshDisk()
      const log = await open({ config: { segmentBytes: 64 * 1024 } })
      await appendRange(log, 0, 10)
      const batches = [...walkBatches(await fs.readFile(FIRST_SEGMENT))]
      const last = batches[batches.length - 1] as { position: number; header: { baseOffset: number } }
      const cut = last.position + cutInBatch
      const handle = await fs.open(FIRST_SEGMENT, 'r+')
      await handle.truncate(cut)
      await handle.sync()
      await handle.close()
      fs.crash()
      const reopened = await open({ config: { segmentBytes: 64 * 1024 }, recoveryPoint: 0 })
      expect({ cut, refetch: reopened.needsRefetch, end: reopened.logEndOffset }).toEqual({ cut, refetch: false, end: last.header.baseOffset })
      await reopened.close()
    }
  })
})

describe('PartitionLog on SimFileSystem: a re-fetch owed survives restarts', () => {
  test('a log cut back at corruption still needs its re-fetch after a crash, and no longer once it has re-fetched', async () => {
    const log = await open()
    const written = await appendRange(log, 0, 10)
    const end = log.logEndOffset
    const victim = [...walkBatches(await fs.readFile(FIRST_SEGMENT))][4] as { position: number; header: { baseOffset: number } }
    fs.flipByte(FIRST_SEGMENT, victim.position + 65)
    fs.crash()
    const cut = await open({ recoveryPoint: end })
    expect(cut.needsRefetch).toBe(true)
    // A crash before the re-fetch (seed 683: the truncation was durable, the obligation was not): the short log now
    // looks clean, and without the marker it would be trusted, even elected, as if it held every committed record.
    fs.crash()
    const again = await open()
    expect(again.logEndOffset).toBe(victim.header.baseOffset)
    expect(again.needsRefetch).toBe(true)
    expect(again.corruption).toMatchObject({ refetchToOffset: end })
    for (const bytes of written.slice(4)) await again.appendAsFollower(Buffer.from(bytes))
    expect(again.needsRefetch).toBe(false)
    await again.close()
    fs.crash()
    const healed = await open()
    expect(healed.needsRefetch).toBe(false)
    expect(healed.logEndOffset).toBe(end)
    await healed.close()
  })
})

describe('PartitionLog on SimFileSystem: read errors', () => {
  test('EIO on read rejects the read with a storage error; the log stays usable once the disk reads again', async () => {
    const log = await open()
    const written = await appendRange(log, 0, 30)
    fs.failReads(PARTITION_DIR, true)
    await expect(log.read({ offset: offset(0), bytesMax: 500 })).rejects.toMatchObject({
      code: ErrorCode.KAFKA_STORAGE_ERROR, details: { errno: 'EIO' },
    })
    await expect(log.read({ offset: offset(log.logEndOffset - 1), bytesMax: 500 })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    // Appends write and sync, they do not read: they still work.
    written.push(...await appendRange(log, 30, 32))
    fs.failReads(PARTITION_DIR, false)
    expect((await readAll(log)).equals(Buffer.concat(written))).toBe(true)
    await log.close()
  })

  test('EIO while opening (reading the segments during recovery) fails the open with an error, not the process', async () => {
    const log = await open()
    await appendRange(log, 0, 10)
    fs.crash()
    fs.failReads(PARTITION_DIR, true)
    await expect(open()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR, retriable: false, details: { dir: PARTITION_DIR, errno: 'EIO' } })
    fs.failReads(PARTITION_DIR, false)
    const reopened = await open()
    expect(reopened.logEndOffset).toBeGreaterThan(0)
    await reopened.close()
  })
})

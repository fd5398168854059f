/**
 * Bit rot in the batch header fields the CRC-32C does not cover (baseOffset, partitionLeaderEpoch), on the simulated
 * disk: such a batch passes `validateBatch`, so recovery and reads must find it implausible against the rest of the
 * log (batch-header-check.ts) and treat it, and everything after it, as corrupt. Issue 10, seed 71: a flipped epoch
 * byte in a recovered tail gave a follower an epoch its leader never had, and it kept its divergent tail.
 */
import { ErrorCode, type LeaderEpoch, leaderEpoch, offset } from '@gregor/common'
import { walkBatches } from '@gregor/records'
import { beforeEach, describe, expect, test } from 'vitest'
import { SimFileSystem } from '../testing/sim-file-system.js'
import { LEADER_EPOCH_CHECKPOINT_FILE } from './leader-epoch-cache.js'
import type { LogConfig } from './log-config.js'
import { PartitionLog } from './partition-log.js'
import { captureLogger } from './testing/capture-logger.js'
import { FIRST_SEGMENT, type OpenOptions, PARTITION_DIR, eventsBatch, freshDisk, openEventsLog } from './testing/sim-disk-log.js'
import { deterministicBytes, makeTestBatch } from './testing/test-batch.js'

/** Positions of header fields in a batch (records/batch-header.ts). */
const PARTITION_LEADER_EPOCH_AT = 12
const BASE_OFFSET_AT = 0

let fs: SimFileSystem
beforeEach(async () => { fs = await freshDisk() })

const open = async (options: OpenOptions = {}): Promise<PartitionLog> => await openEventsLog(fs, options)
const batch = eventsBatch

/** Appends batches `from` to `to` - 1 as leader of `epoch`. */
async function appendRange (log: PartitionLog, from: number, to: number, epoch: LeaderEpoch): Promise<void> {
  for (let i = from; i < to; i++) await log.append(batch(i), { leaderEpoch: epoch })
}

/** The batches of the first segment file as they are on disk. */
async function batchesOnDisk (): Promise<Array<{ position: number; baseOffset: number }>> {
  return [...walkBatches(await fs.readFile(FIRST_SEGMENT))].map((b) => ({ position: b.position, baseOffset: b.header.baseOffset }))
}

/** Two epochs in one segment (1 then `secondEpoch`), synced; returns the log end and the last batch on disk. */
async function twoEpochLog (secondEpoch: number): Promise<{ end: number; last: { position: number; baseOffset: number } }> {
  const log = await open({ config: { segmentBytes: 64 * 1024 } })
  await appendRange(log, 0, 6, leaderEpoch(1))
  await appendRange(log, 6, 10, leaderEpoch(secondEpoch))
  const end = log.logEndOffset
  await log.flush()
  const last = (await batchesOnDisk()).at(-1) as { position: number; baseOffset: number }
  return { end, last }
}

describe('PartitionLog recovery: leader epochs the CRC does not cover', () => {
  test('an epoch flipped higher (still increasing along the log) disagrees with the epoch checkpoint: truncated, re-fetch', async () => {
    const { end, last } = await twoEpochLog(2)
    // Epoch 2 (0x00000002) becomes 0x0000FD02: larger than every epoch before it, as in seed 71.
    fs.flipByte(FIRST_SEGMENT, last.position + PARTITION_LEADER_EPOCH_AT + 2)
    fs.crash()

    const logger = captureLogger()
    const reopened = await open({ recoveryPoint: end, logger })
    expect(reopened.logEndOffset).toBe(last.baseOffset)
    expect(reopened.leaderEpochs.map((e) => e.epoch)).toEqual([1, 2])
    expect(reopened.endOffsetForEpoch(leaderEpoch(2))).toEqual({ epoch: 2, endOffset: last.baseOffset })
    expect(reopened.needsRefetch).toBe(true)
    expect(reopened.corruption).toMatchObject({
      offset: last.baseOffset, refetchToOffset: end, reason: 'batch leader epoch disagrees with the leader epoch checkpoint',
    })
    expect(logger.lines.find((l) => l.message === 'truncated corrupt tail')?.fields).toMatchObject({ position: last.position })
    await reopened.close()
  })

  test('an epoch flipped lower than its predecessor\'s is corrupt even when the checkpoint is gone (cache rebuilt)', async () => {
    // Epoch 255 (0x000000FF) becomes 0: older than the epoch-1 batches before it.
    const { end, last } = await twoEpochLog(255)
    fs.flipByte(FIRST_SEGMENT, last.position + PARTITION_LEADER_EPOCH_AT + 3)
    await fs.unlink(`${PARTITION_DIR}/${LEADER_EPOCH_CHECKPOINT_FILE}`)
    fs.crash()

    const reopened = await open({ recoveryPoint: end })
    expect(reopened.logEndOffset).toBe(last.baseOffset)
    expect(reopened.corruption).toMatchObject({ offset: last.baseOffset, reason: 'batch leader epoch decreases along the log' })
    expect(reopened.leaderEpochs.map((e) => e.epoch)).toEqual([1, 255])
    await reopened.close()
  })

  test('an epoch flipped negative is out of range', async () => {
    const { end, last } = await twoEpochLog(2)
    fs.flipByte(FIRST_SEGMENT, last.position + PARTITION_LEADER_EPOCH_AT)
    await fs.unlink(`${PARTITION_DIR}/${LEADER_EPOCH_CHECKPOINT_FILE}`)
    fs.crash()

    const reopened = await open({ recoveryPoint: end })
    expect(reopened.logEndOffset).toBe(last.baseOffset)
    expect(reopened.corruption).toMatchObject({ offset: last.baseOffset, reason: 'batch leader epoch out of range' })
    await reopened.close()
  })

  test('unstamped (-1) batches and a truncation followed by a new epoch recover whole: no false alarm', async () => {
    const log = await open({ config: { segmentBytes: 64 * 1024 } })
    await log.appendAsFollower(makeTestBatch({ baseOffset: 0, recordCount: 2, payload: deterministicBytes(1, 50) }))
    await appendRange(log, 1, 6, leaderEpoch(1))
    await appendRange(log, 6, 10, leaderEpoch(3))
    const cut = (await batchesOnDisk())[7] as { baseOffset: number }
    await log.truncateTo(offset(cut.baseOffset))
    await log.assignLeaderEpoch(leaderEpoch(4), log.logEndOffset)
    await appendRange(log, 10, 14, leaderEpoch(4))
    const end = log.logEndOffset
    await log.flush()
    fs.crash()

    const reopened = await open({ recoveryPoint: 0 })
    expect(reopened.logEndOffset).toBe(end)
    expect(reopened.needsRefetch).toBe(false)
    expect(reopened.leaderEpochs.map((e) => e.epoch)).toEqual([1, 3, 4])
    await reopened.close()
  })
})

describe('PartitionLog recovery: offsets the CRC does not cover', () => {
  test('in a compacted log (offset gaps allowed) a flipped high baseOffset byte is beyond the segment\'s range', async () => {
    const config: Partial<LogConfig> = { cleanupPolicy: 'compact', segmentBytes: 64 * 1024 }
    const log = await open({ config })
    await appendRange(log, 0, 10, leaderEpoch(1))
    const end = log.logEndOffset
    await log.flush()
    const last = (await batchesOnDisk()).at(-1) as { position: number; baseOffset: number }
    // Byte 3 of the int64: the base offset grows by 0xFF << 32, a "gap" the compacted scan would otherwise accept.
    fs.flipByte(FIRST_SEGMENT, last.position + BASE_OFFSET_AT + 3)
    fs.crash()

    const reopened = await open({ config, recoveryPoint: end })
    expect(reopened.logEndOffset).toBe(last.baseOffset)
    expect(reopened.corruption).toMatchObject({ offset: last.baseOffset, reason: 'batch offset beyond the segment\'s offset range' })
    await reopened.close()
  })
})

describe('PartitionLog reads: leader epochs the CRC does not cover', () => {
  test('a batch whose epoch rotted while the log is open is not served: the read fails as corrupt and the log needs re-fetch', async () => {
    const log = await open()
    await appendRange(log, 0, 30, leaderEpoch(1))
    await appendRange(log, 30, 40, leaderEpoch(2))
    expect(log.segmentBaseOffsets.length).toBeGreaterThan(1)
    const victim = (await batchesOnDisk())[3] as { position: number; baseOffset: number }
    fs.flipByte(FIRST_SEGMENT, victim.position + PARTITION_LEADER_EPOCH_AT + 2)

    await expect(log.read({ offset: offset(victim.baseOffset), bytesMax: 10_000 })).rejects.toMatchObject({
      code: ErrorCode.KAFKA_STORAGE_ERROR,
      details: { corruptSegment: true, position: victim.position, reason: 'batch leader epoch disagrees with the leader epoch checkpoint' },
    })
    // A read that starts before it and would include it fails too; one that ends before it does not.
    await expect(log.read({ offset: offset(0), bytesMax: 10_000 })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    const before = await log.read({ offset: offset(0), bytesMax: 10_000, maxOffset: offset(victim.baseOffset) })
    expect(before.nextOffset).toBe(victim.baseOffset)
    expect(log.needsRefetch).toBe(true)
    await expect(log.append(batch(50), { leaderEpoch: leaderEpoch(2) })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    await log.close()
  })

  test('a batch whose baseOffset rotted while the log is open is not served', async () => {
    const log = await open()
    await appendRange(log, 0, 30, leaderEpoch(1))
    const [, , before, victim] = await batchesOnDisk() as Array<{ position: number; baseOffset: number }>
    const { position, baseOffset } = victim as { position: number; baseOffset: number }
    fs.flipByte(FIRST_SEGMENT, position + BASE_OFFSET_AT + 7)

    // The run before it stops there (the rotted base offset is above the log end)...
    const read = await log.read({ offset: offset((before as { baseOffset: number }).baseOffset), bytesMax: 10_000 })
    expect(read.nextOffset).toBe(baseOffset)
    // ... and the run that would start with it fails: it claims to start above the offset it was found for.
    await expect(log.read({ offset: offset(baseOffset), bytesMax: 10_000 })).rejects.toMatchObject({
      code: ErrorCode.KAFKA_STORAGE_ERROR,
      details: { corruptSegment: true, position, reason: 'batch offset does not continue the log' },
    })
    expect(log.needsRefetch).toBe(true)
    await log.close()
  })
})

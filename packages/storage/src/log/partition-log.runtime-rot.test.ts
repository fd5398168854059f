/**
 * Bit rot found while the log is open, on the simulated disk (issue 10, seeds 452, 1175, 1775 and 2454 of the
 * disk-fault simulation): reads check batch headers only, so a batch rotted inside its CRC is served until a follower
 * refuses it and the leader `verify`s its copy; a rotted length must not make reads come back empty below the log end.
 * Either way the log reports the corruption once (`needsRefetch`, `onCorruption`), and the next open, which the broker
 * does at once, truncates at the bad batch even though the recovery point is past it.
 */
import { ErrorCode, leaderEpoch, offset, silentLogger } from '@gregor/common'
import { walkBatches } from '@gregor/records'
import { beforeEach, describe, expect, test } from 'vitest'
import type { SimFileSystem } from '../testing/sim-file-system.js'
import type { CorruptionReport } from './log-loader.js'
import { PartitionLog } from './partition-log.js'
import { DATA_DIR, FIRST_SEGMENT, eventsBatch, freshDisk, smallSegments } from './testing/sim-disk-log.js'

let fs: SimFileSystem
beforeEach(async () => { fs = await freshDisk() })

/** Offset of the CRC-covered attributes field in a batch header: a flip there fails only the CRC. */
const ATTRIBUTES_AT = 21
const BATCH_LENGTH_AT = 8

async function open (reports: CorruptionReport[] = [], recoveryPoint?: number): Promise<PartitionLog> {
  return await PartitionLog.open({
    fs, dir: DATA_DIR, topic: 'events', partition: 0, logger: silentLogger, config: { ...smallSegments, segmentBytes: 64 * 1024 },
    ...(recoveryPoint === undefined ? {} : { recoveryPoint }),
    onCorruption: (report) => { reports.push(report) },
  })
}

/** Ten synced batches; returns the log end and the batches as laid out in the file. */
async function tenBatches (log: PartitionLog): Promise<{ end: number; batches: Array<{ position: number; baseOffset: number }> }> {
  for (let i = 0; i < 10; i++) await log.append(eventsBatch(i), { leaderEpoch: leaderEpoch(1) })
  const batches = [...walkBatches(await fs.readFile(FIRST_SEGMENT))].map((b) => ({ position: b.position, baseOffset: b.header.baseOffset }))
  return { end: log.logEndOffset, batches }
}

async function until (condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 1000) throw new Error('condition not reached')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('PartitionLog: corruption found at runtime', () => {
  test('verify finds a batch rotted inside its CRC that reads serve, reports it once, and the reopen truncates there', async () => {
    const reports: CorruptionReport[] = []
    const log = await open(reports)
    const { end, batches } = await tenBatches(log)
    const victim = batches[4] as { position: number; baseOffset: number }
    fs.flipByte(FIRST_SEGMENT, victim.position + ATTRIBUTES_AT + 1)
    // Reads check headers only: the rotted batch is served (the follower's append is what refuses it).
    const served = await log.read({ offset: offset(victim.baseOffset), bytesMax: 100_000 })
    expect(served.baseOffset).toBe(victim.baseOffset)
    expect(log.needsRefetch).toBe(false)
    // Sound bytes verify clean; from the victim on they do not.
    expect(await log.verify(offset(0), victim.position)).toBe(false)
    expect(log.needsRefetch).toBe(false)
    expect(await log.verify(offset(victim.baseOffset), 100_000)).toBe(true)
    expect(log.needsRefetch).toBe(true)
    expect(log.corruption).toMatchObject({ offset: victim.baseOffset, refetchToOffset: end, reason: 'batch crc mismatch' })
    await until(() => reports.length === 1)
    expect(await log.verify(offset(victim.baseOffset), 100_000)).toBe(true)
    await log.close()
    expect(reports).toHaveLength(1)

    // What the broker does next: reopen with a recovery point past the damage. The marker makes the scan start at the
    // damaged segment; a clean shutdown marker would have skipped it, so none was left.
    const reopened = await open([], end)
    expect(reopened.logEndOffset).toBe(victim.baseOffset)
    expect(reopened.needsRefetch).toBe(true)
    expect(reopened.corruption?.refetchToOffset).toBe(end)

    // A leader whose log ends beyond this one's: the re-fetch goes on.
    reopened.caughtUpWithLeader(victim.baseOffset + 1)
    expect(reopened.needsRefetch).toBe(true)
    // A leader whose log ends here (what this log lost was never committed: no other copy has it): the re-fetch is done,
    // durably (the marker goes).
    reopened.caughtUpWithLeader(victim.baseOffset)
    expect(reopened.needsRefetch).toBe(false)
    await reopened.close()
    const healed = await open([], victim.baseOffset)
    expect(healed.needsRefetch).toBe(false)
    await healed.close()
  })

  test('a rotted batch length makes the read fail as corrupt, not come back empty below the log end', async () => {
    const reports: CorruptionReport[] = []
    const log = await open(reports)
    const { end, batches } = await tenBatches(log)
    const victim = batches[8] as { position: number; baseOffset: number }
    // The length grows past the end of the file (bit 0x40 of its high byte).
    fs.flipByte(FIRST_SEGMENT, victim.position + BATCH_LENGTH_AT + 1)
    await expect(log.read({ offset: offset(victim.baseOffset), bytesMax: 100_000 })).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(log.needsRefetch).toBe(true)
    await until(() => reports.length === 1)
    await log.close()
    const reopened = await open([], end)
    expect(reopened.logEndOffset).toBe(victim.baseOffset)
    expect(reopened.needsRefetch).toBe(true)
    await reopened.close()
  })
})

import { ErrorCode, leaderEpoch, silentLogger } from '@gregor/common'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { makeTempDir } from '../testing/temp-dir.js'
import { PartitionLog } from './partition-log.js'
import { deterministicBytes, makeTestBatch } from './testing/test-batch.js'

let temp: { path: string; remove: () => Promise<void> }
beforeEach(async () => { temp = await makeTempDir() })
afterEach(async () => { await temp.remove() })

const open = async (): Promise<PartitionLog> => await PartitionLog.open({
  fs: nodeFileSystem, dir: temp.path, topic: 'orders', partition: 0, logger: silentLogger,
  config: { segmentBytes: 1 << 20, batchBytesMax: 1 << 16, retentionMs: -1 },
})
const batch = (seed: number, timestamp = 1000): Buffer =>
  makeTestBatch({ recordCount: 1, payload: deterministicBytes(seed, 500), maxTimestamp: timestamp })

describe('PartitionLog.setConfig on an open log', () => {
  test('a smaller segmentBytes rolls at the next append; a shorter retention deletes at the next retention check', async () => {
    const log = await open()
    for (let i = 0; i < 4; i++) await log.append(batch(i), { leaderEpoch: leaderEpoch(0) })
    expect(log.segmentBaseOffsets).toEqual([0])
    log.setConfig({ segmentBytes: 1024, batchBytesMax: 1024 })
    expect(log.config).toMatchObject({ segmentBytes: 1024, batchBytesMax: 1024 })
    for (let i = 4; i < 8; i++) await log.append(batch(i), { leaderEpoch: leaderEpoch(0) })
    expect(log.segmentBaseOffsets.length).toBeGreaterThan(2)
    // Retention was off: nothing goes until it is set, then the old segments go at the next check.
    expect((await log.applyRetention(1_000_000)).deletedSegments).toBe(0)
    log.setConfig({ retentionMs: 60_000 })
    const result = await log.applyRetention(1_000_000)
    expect(result.deletedSegments).toBeGreaterThan(0)
    expect(log.logStartOffset).toBeGreaterThan(0)
    await log.close()
  })

  test('a smaller batchBytesMax refuses a larger batch at once', async () => {
    const log = await open()
    await log.append(batch(1), { leaderEpoch: leaderEpoch(0) })
    log.setConfig({ batchBytesMax: 100 })
    await expect(log.append(batch(2), { leaderEpoch: leaderEpoch(0) })).rejects.toMatchObject({ code: ErrorCode.MESSAGE_TOO_LARGE })
    await log.close()
  })

  test('invalid values and broker-level settings are INVALID_CONFIG and leave the config as it was', async () => {
    const log = await open()
    const before = log.config
    expect(() => log.setConfig({ segmentBytes: 10 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG }))
    expect(() => log.setConfig({ flush: 'never' } as never)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG }))
    expect(log.config).toBe(before)
    await log.close()
  })
})

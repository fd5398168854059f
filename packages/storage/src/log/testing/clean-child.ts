/**
 * The process of the cleaner's kill -9 test (log-cleaner.kill.test.ts), run from its compiled form:
 *   node packages/storage/dist/log/testing/clean-child.js <logDir>
 *
 * In rounds: appends CLEAN_CHILD_BATCHES keyed batches (testing/keyed-log.ts, CLEAN_CHILD_KEYS keys) with flush
 * 'always', rolls, prints `written <logEndOffset>`, then `clean-start`, runs a cleaning pass (throttled, so that it
 * takes long enough to be killed in the middle), and prints `cleaned <checkpoint>`. The parent kills it with SIGKILL
 * after some `clean-start`; the log is never closed cleanly.
 */
import { leaderEpoch, silentLogger } from '@gregor/common'
import { nodeFileSystem } from '../../fs/node-file-system.js'
import { realClock, realTimers } from '../../testing/real-timers.js'
import { PartitionLog } from '../partition-log.js'
import { keyedBatch } from './keyed-log.js'

export const CLEAN_CHILD_KEYS = 300
export const CLEAN_CHILD_BATCHES = 100
export const CLEAN_CHILD_RECORDS_PER_BATCH = 50
export const CLEAN_CHILD_CONFIG = Object.freeze({
  cleanupPolicy: 'compact', segmentBytes: 32 * 1024, batchBytesMax: 32 * 1024, minCleanableDirtyRatio: 0, cleanerIoBytesPerSecondMax: 2_000_000,
} as const)

const [dir] = process.argv.slice(2)
if (dir !== undefined) {
  const log = await PartitionLog.open({
    dir, topic: 'kv', partition: 0, config: CLEAN_CHILD_CONFIG, logger: silentLogger, fs: nodeFileSystem, clock: realClock, timers: realTimers,
  })
  for (let round = 0; round < 1000; round++) {
    for (let b = 0; b < CLEAN_CHILD_BATCHES; b++) {
      const first = log.logEndOffset as number
      await log.append(keyedBatch(first, CLEAN_CHILD_RECORDS_PER_BATCH, CLEAN_CHILD_KEYS, { timestamp: 1_000 + round }), { leaderEpoch: leaderEpoch(0) })
    }
    await log.roll()
    process.stdout.write(`written ${log.logEndOffset}\n`)
    process.stdout.write('clean-start\n')
    await log.clean(10_000)
    process.stdout.write(`cleaned ${log.cleanerCheckpoint ?? -1}\n`)
  }
}

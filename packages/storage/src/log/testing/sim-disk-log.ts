/**
 * A partition log of topic `events` on a fresh simulated disk, for the tests that damage that disk
 * (partition-log.sim-fs.test.ts, partition-log.header-rot.test.ts): the paths, a small segment config, the opener and
 * the batches they append.
 */
import { silentLogger } from '@gregor/common'
import { SimFileSystem } from '../../testing/sim-file-system.js'
import type { LogConfig } from '../log-config.js'
import { PartitionLog } from '../partition-log.js'
import type { captureLogger } from './capture-logger.js'
import { deterministicBytes, makeTestBatch } from './test-batch.js'

export const DATA_DIR = '/data'
export const PARTITION_DIR = '/data/events-0'
export const FIRST_SEGMENT = `${PARTITION_DIR}/00000000000000000000.log`
export const smallSegments: Partial<LogConfig> = { segmentBytes: 4096, batchBytesMax: 2048, indexIntervalBytes: 256 }

/** A new simulated disk with `DATA_DIR` created durably. */
export async function freshDisk (): Promise<SimFileSystem> {
  const fs = new SimFileSystem()
  await fs.mkdir(DATA_DIR)
  await fs.syncDirectory('/')
  return fs
}

export interface OpenOptions { config?: Partial<LogConfig>; recoveryPoint?: number; logger?: ReturnType<typeof captureLogger> }

export async function openEventsLog (fs: SimFileSystem, options: OpenOptions = {}): Promise<PartitionLog> {
  return await PartitionLog.open({
    fs, dir: DATA_DIR, topic: 'events', partition: 0, config: { ...smallSegments, ...options.config },
    logger: options.logger ?? silentLogger, recoveryPoint: options.recoveryPoint,
  })
}

/** Batch `i`: 1 to 3 records of a deterministic payload. */
export function eventsBatch (i: number): Buffer {
  return makeTestBatch({ recordCount: 1 + (i % 3), payload: deterministicBytes(i, 40 + ((i * 53) % 200)), maxTimestamp: 1000 + i })
}

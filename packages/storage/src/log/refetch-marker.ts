/**
 * The durable record that a partition log owes a re-fetch (issue 10, found by seed 683 of the whole-cluster
 * simulation with disk faults).
 *
 * Owns `refetch-marker.json` in the partition directory. Recovery that finds corruption truncates the log at it, and
 * that truncation is durable; without a record of what was lost, a restart would reopen a clean-looking short log and
 * forget that it is missing data it once held — and an election could then pick it over replicas that have that
 * data. So the report is written (atomically, durably) before the log is used, read back at every open, and removed
 * only once follower appends have brought the log back to `refetchToOffset`.
 *
 * Invariants: while the file exists and the log ends below its `refetchToOffset`, the log `needsRefetch`; a malformed
 * file is treated as absent, with a warning (it can only come from a torn write of a marker that was never in force).
 */
import { join } from 'node:path'
import type { Logger } from '@gregor/common'
import type { FileSystem } from '../fs/file-system.js'
import { fsyncDirectory } from './fsync-directory.js'
import type { CorruptionReport } from './log-loader.js'
import { replaceFile } from './replace-file.js'
import { hasErrno } from './storage-error.js'
import { unlinkIfPresent } from './unlink-if-present.js'

export const REFETCH_MARKER_FILE = 'refetch-marker.json'

export async function readRefetchMarker (fs: FileSystem, dir: string, logger: Logger): Promise<CorruptionReport | undefined> {
  let text: string
  try {
    text = (await fs.readFile(join(dir, REFETCH_MARKER_FILE))).toString('utf8')
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return undefined
    throw error
  }
  try {
    const value = JSON.parse(text) as Partial<CorruptionReport>
    const { offset, refetchToOffset, segmentBaseOffset, position, reason } = value
    if (![offset, refetchToOffset, segmentBaseOffset, position].every((n) => Number.isSafeInteger(n) && (n as number) >= 0) || typeof reason !== 'string') {
      throw new Error('fields out of range')
    }
    return { offset: offset as number, refetchToOffset: refetchToOffset as number, segmentBaseOffset: segmentBaseOffset as number, position: position as number, reason }
  } catch (error) {
    logger.warn({ err: error, dir }, 'refetch marker unreadable')
    return undefined
  }
}

export async function writeRefetchMarker (fs: FileSystem, dir: string, report: CorruptionReport): Promise<void> {
  await replaceFile(fs, join(dir, REFETCH_MARKER_FILE), JSON.stringify(report))
}

export async function clearRefetchMarker (fs: FileSystem, dir: string): Promise<void> {
  await unlinkIfPresent(fs, join(dir, REFETCH_MARKER_FILE))
  await fsyncDirectory(fs, dir)
}

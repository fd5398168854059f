/**
 * Opens a partition directory and brings it to a consistent state: the recovery half of `PartitionLog.open`.
 *
 * Owns: the decisions taken at open, none of the state (it hands a `LoadedLog` to the `PartitionLog`).
 *
 * What it does (Kafka's LogLoader, simplified):
 * 0. Finishes or discards what the cleaner left mid-swap (Kafka's `removeTempFilesAndCollectSwapFiles` and
 *    swap completion): a `<base>.log.cleaned` file is deleted (the segments it was to replace are still whole); a
 *    `<base>.log.swap` file (whole and synced before it got that name) replaces every segment whose base offset lies
 *    in its offset range [base, offset after its last batch) (at least its own base), index files included, and is
 *    renamed `<base>.log`; the directory is fsynced. Its indexes are then missing, so step 3 scans and indexes it.
 * 1. Creates the directory if needed; deletes leftovers: `*.tmp` files (temp files of checkpoints and of the broker's
 *    producer-state snapshots) and index files whose `.log` is gone (a crash in the middle of a segment deletion).
 *    Other files, such as the broker's `.snapshot` files, are not the log's and are left alone.
 * 2. Clean shutdown (`.clean-shutdown` present): nothing is scanned. The active segment's index is loaded, checked,
 *    and the few batch headers after its last entry are walked to find the log end; if that walk does not end exactly
 *    at the end of the file, the marker lied and the active segment is recovered as below.
 * 3. Otherwise every segment from the one holding `recoveryPoint` onward is scanned with full validation (length,
 *    magic, CRC-32C, record count, offset continuity, and the header fields the CRC does not cover: leader epochs
 *    non-decreasing and equal to the loaded checkpoint's where it covers the offset, offsets within the segment's
 *    range; see batch-header-check.ts), its indexes rebuilt in memory and the leader epochs of its batches fed to the
 *    epoch cache. A segment below that point is scanned too when its index files are missing or torn (size not a
 *    multiple of the entry size); subtler index damage is caught when the index is first loaded.
 *    A missing or malformed `leader-epoch-checkpoint` on a non-empty log makes the scan start at the first segment,
 *    so the epoch cache is rebuilt completely.
 * 4. At the first invalid batch the file is truncated there, every later segment is deleted, and 'truncated corrupt
 *    tail' is logged at warn with the position, the bytes dropped and the reason.
 * 5. Corruption below the recovery point (a bad batch at an offset the log had already reported durable, or anywhere
 *    after a clean shutdown) gets the same truncation, is logged at error ('corruption below recovery point') and is
 *    returned as a `CorruptionReport`: the partition then refuses leader appends and reports `needsRefetch` until a
 *    follower fetch has brought it back to the old recovery point. Truncating (rather than refusing to open) is
 *    what lets it re-fetch: the bad bytes are never served, and the valid prefix stays usable. So does a bad batch
 *    above the recovery point that is followed by a valid one, or by later segments, or that is complete (its whole
 *    length is in the file) yet fails a check: a torn write keeps only a prefix of what was being appended (an
 *    incomplete batch, or zeros where blocks were allocated), so this is damage to data that was written and may
 *    have been synced and acknowledged (the recovery-point checkpoint merely lags the fdatasyncs), not an unsynced
 *    tail (issue 10: treating it as one let a truncated replica lead, and lose acknowledged records).
 * 6. Scanned segments are fdatasynced and their indexes written before the recovery point moves to the log end
 *    (KAFKA-10101: never advance it over data that is only in the page cache). Then the epoch cache is trimmed to
 *    [logStartOffset, logEndOffset) and written, and the clean-shutdown marker is removed (durably) before the log
 *    accepts its first write.
 */
import { dirname, join } from 'node:path'
import { type Logger, leaderEpoch, offset } from '@gregor/common'
import { BATCH_HEADER_BYTES, readBatchHeader, recordsLimits, validateBatch } from '@gregor/records'
import type { FileSystem } from '../fs/file-system.js'
import { BatchHeaderCheck } from './batch-header-check.js'
import { BATCH_LENGTH_BELOW_HEADER, BATCH_PAST_END_OF_FILE, INCOMPLETE_BATCH_HEADER, scanBatches } from './batch-scanner.js'
import type { FileHandleCache } from './file-handle-cache.js'
import { fsyncDirectory } from './fsync-directory.js'
import { mkdirDurable } from './mkdir-durable.js'
import { LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCache } from './leader-epoch-cache.js'
import type { LogConfig } from './log-config.js'
import { LogSegment, type LogSegmentDeps } from './log-segment.js'
import {
  CLEANED_FILE_SUFFIX, CLEAN_SHUTDOWN_FILE, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, SWAP_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX,
  parseLogFileWithSuffix, parseSegmentFileName, segmentFileName,
} from './segment-file-names.js'
import { hasErrno } from './storage-error.js'
import { unlinkIfPresent } from './unlink-if-present.js'

/** Corruption found where the log had already been durable: the partition must re-fetch, not lead. */
export interface CorruptionReport {
  /** First offset lost (the log now ends here). */
  readonly offset: number
  /** The log held durable data up to here before the corruption: re-fetch at least this far. */
  readonly refetchToOffset: number
  readonly segmentBaseOffset: number
  readonly position: number
  readonly reason: string
}

export interface LoadedLog {
  readonly segments: LogSegment[]
  readonly logStartOffset: number
  readonly recoveryPoint: number
  readonly epochCache: LeaderEpochCache
  readonly corruption: CorruptionReport | undefined
  readonly cleanShutdown: boolean
}

export interface LoadOptions {
  readonly dir: string
  readonly config: LogConfig
  readonly files: FileHandleCache
  readonly logger: Logger
  readonly recoveryPoint: number | undefined
  readonly logStartOffset: number | undefined
}

interface Scan {
  /** Index of the first segment to scan unconditionally. */
  readonly from: number
  /** Recovery point for classifying corruption (offsets below it were durable). */
  readonly durableBelow: number
}

export async function loadLog (options: LoadOptions): Promise<LoadedLog> {
  const { dir, logger } = options
  const fs = options.files.fs
  await mkdirDurable(fs, dir)
  const found = await fs.readdir(dir)
  const names = await finishInterruptedSwaps(fs, dir, found, logger) ? await fs.readdir(dir) : found
  await removeLeftovers(fs, dir, names)
  const cleanShutdown = names.includes(CLEAN_SHUTDOWN_FILE)
  const { cache: epochCache, state: epochState } = await LeaderEpochCache.load(fs, join(dir, LEADER_EPOCH_CHECKPOINT_FILE))
  const deps: LogSegmentDeps = {
    files: options.files, indexIntervalBytes: options.config.indexIntervalBytes, logger, offsetGaps: options.config.cleanupPolicy !== 'delete',
  }
  const segments = await listSegments(fs, dir, names, deps)
  if (segments.length === 0) {
    const start = options.logStartOffset ?? 0
    segments.push(await LogSegment.create(dir, start, deps))
    await fsyncDirectory(fs, dir)
  }
  const logBytes = segments.reduce((sum, s) => sum + s.sizeBytes, 0)
  const rebuildEpochs = epochState !== 'loaded' && logBytes > 0
  if (epochState === 'malformed' || rebuildEpochs) {
    logger.warn({ epochCheckpoint: epochState }, 'rebuilding leader epoch cache from the log')
  }
  const scan = chooseScan(segments, { ...options, cleanShutdown, rebuildEpochs })
  // Built before recovery feeds the cache: batches are checked against the checkpoint as it was on disk.
  const headerCheck = new BatchHeaderCheck(epochState === 'loaded' ? epochCache.entries : [])
  const recovery = await recoverSegments(segments, scan, { fs, epochCache, headerCheck, logger, offsetGaps: deps.offsetGaps })
  const durableCorruption = recovery.corruption
  if (recovery.scanned.length > 0 || recovery.deleted > 0) {
    await Promise.all(recovery.scanned.filter((s) => !s.deleted).map(async (s) => { await s.sync(); await s.persistIndexes() }))
    await fsyncDirectory(fs, dir)
  }
  return await finishLoad(segments, { ...options, epochCache, cleanShutdown, corruption: durableCorruption, epochFileValid: epochState === 'loaded' })
}

function chooseScan (segments: readonly LogSegment[], options: LoadOptions & { cleanShutdown: boolean; rebuildEpochs: boolean }): Scan {
  if (options.rebuildEpochs) return { from: 0, durableBelow: options.cleanShutdown ? Infinity : options.recoveryPoint ?? 0 }
  if (options.cleanShutdown) return { from: segments.length, durableBelow: Infinity }
  const recoveryPoint = options.recoveryPoint ?? 0
  let from = 0
  while (from + 1 < segments.length && (segments[from + 1] as LogSegment).baseOffset <= recoveryPoint) from += 1
  return { from, durableBelow: recoveryPoint }
}

async function recoverSegments (
  segments: LogSegment[],
  scan: Scan,
  context: { fs: FileSystem; epochCache: LeaderEpochCache; headerCheck: BatchHeaderCheck; logger: Logger; offsetGaps: boolean },
): Promise<{ scanned: LogSegment[]; deleted: number; corruption: CorruptionReport | undefined }> {
  const scanned: LogSegment[] = []
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as LogSegment
    const previous = segments[i - 1]
    const overlaps = previous !== undefined && (context.offsetGaps ? segment.baseOffset < previous.nextOffset : segment.baseOffset !== previous.nextOffset)
    if (previous !== undefined && scanned.includes(previous) && overlaps) {
      // A gap (unless the log is compacted: the cleaner removed the previous segment's last batches) or an
      // overlap between segments: the log is valid only up to the end of the previous one.
      const stop = { position: 0, reason: 'segment does not continue the log', offset: previous.nextOffset, droppedBytes: 0 }
      const lost = await deleteFrom(segments, i)
      return { scanned, deleted: lost.length, corruption: report(previous, stop, lost, scan, context.logger) }
    }
    if (!(await needsScan(context.fs, segments, i, scan))) continue
    scanned.push(segment)
    const stop = await recoverSegment(segment, context)
    if (stop === undefined) continue
    const validAfterEnd = await validBatchEndAfter(segment, stop.position + 1, stop.position + stop.droppedBytes)
    await segment.truncateFileTo(stop.position)
    const lost = await deleteFrom(segments, i + 1)
    // Damage inside the log, not its torn end: a valid batch after it, later segments, or a batch that is all there
    // but fails a check. A power loss keeps a prefix of an append (an incomplete batch, or zeros), never a whole batch
    // with wrong bytes; so a complete bad batch is rot in data that was written, and may have been acknowledged.
    const inside = validAfterEnd !== undefined || lost.length > 0 || !TORN_END_REASONS.has(stop.reason)
    const knownEnd = Math.max(validAfterEnd ?? stop.offset + 1, ...lost.map((later) => later.baseOffset + 1))
    const classified = inside ? { ...scan, durableBelow: Math.max(scan.durableBelow, knownEnd) } : scan
    return { scanned, deleted: lost.length, corruption: report(segment, stop, lost, classified, context.logger) }
  }
  return { scanned, deleted: 0, corruption: undefined }
}

async function needsScan (fs: FileSystem, segments: readonly LogSegment[], i: number, scan: Scan): Promise<boolean> {
  const segment = segments[i] as LogSegment
  if (i >= scan.from) return true
  if (!(await indexFilesLookWhole(fs, segment))) return true
  return i === segments.length - 1 && !(await activeTailIsClean(fs, segment))
}

/** Rebuilds `segment`'s indexes from a validating scan; returns where and why it stopped, if before the end. */
async function recoverSegment (
  segment: LogSegment,
  { epochCache, headerCheck, offsetGaps }: { epochCache: LeaderEpochCache; headerCheck: BatchHeaderCheck; offsetGaps: boolean },
): Promise<Stop | undefined> {
  const sizeOnDisk = segment.sizeBytes
  segment.resetIndexes()
  const result = await scanBatches({
    read: async (position, length) => await segment.read(position, length),
    fromPosition: 0,
    toPosition: sizeOnDisk,
    expectedBaseOffset: segment.baseOffset,
    offsetGaps,
    validate: true,
    check: headerCheck.forSegment(segment.baseOffset),
    onBatch: (batch) => {
      segment.indexBatch(batch)
      const latest = epochCache.latestEpoch
      const epoch = batch.partitionLeaderEpoch
      if (epoch >= 0 && (latest === undefined || epoch > latest)) epochCache.assign(leaderEpoch(epoch), offset(batch.baseOffset))
    },
  })
  segment.setRecoveredEnd(result.endPosition, result.endPosition > 0 ? result.nextOffset : segment.baseOffset)
  if (result.stop === undefined) return undefined
  return { ...result.stop, offset: segment.nextOffset, droppedBytes: sizeOnDisk - result.endPosition }
}

/**
 * The next offset after the first CRC-valid batch that starts in `segment` in [`from`, `size`), if any: evidence that
 * what stopped the scan before it was damage inside the log, not its torn end. Reads the rest of the file once and
 * tries each position holding magic 2 (only after a scan already failed, so never on the common path).
 */
async function validBatchEndAfter (segment: LogSegment, from: number, size: number): Promise<number | undefined> {
  if (from + BATCH_HEADER_BYTES > size) return undefined
  const bytes = await segment.read(from, size - from)
  for (let at = 0; at + BATCH_HEADER_BYTES <= bytes.length; at++) {
    if (bytes[at + 16] !== 2) continue
    try {
      validateBatch(bytes, at, { ...recordsLimits, denseOffsets: false })
    } catch {
      continue
    }
    const header = readBatchHeader(bytes, at)
    return header.baseOffset + header.lastOffsetDelta + 1
  }
  return undefined
}

interface Stop {
  readonly position: number
  readonly reason: string
  readonly offset: number
  readonly droppedBytes: number
}

/** The scan's reasons for stopping that a torn (partly written) last batch produces; any other is damage. */
const TORN_END_REASONS: ReadonlySet<string> = new Set([
  INCOMPLETE_BATCH_HEADER, BATCH_PAST_END_OF_FILE, BATCH_LENGTH_BELOW_HEADER,
])

/** Deletes segments `from`.. (everything after a corruption); returns them. */
async function deleteFrom (segments: LogSegment[], from: number): Promise<LogSegment[]> {
  const lost = segments.splice(from)
  for (const segment of lost) await segment.delete()
  return lost
}

/** Logs the truncation, and returns a report when the lost data was below the recovery point. */
function report (segment: LogSegment, stop: Stop, lost: readonly LogSegment[], scan: Scan, logger: Logger): CorruptionReport | undefined {
  logger.warn({
    segmentBaseOffset: segment.baseOffset,
    position: stop.position,
    offset: stop.offset,
    truncatedBytes: stop.droppedBytes + lost.reduce((sum, s) => sum + s.sizeBytes, 0),
    deletedSegments: lost.length,
    reason: stop.reason,
  }, 'truncated corrupt tail')
  return classify(segment, stop, lost, scan, logger)
}

function classify (segment: LogSegment, stop: Stop, lost: readonly LogSegment[], scan: Scan, logger: Logger): CorruptionReport | undefined {
  if (stop.offset >= scan.durableBelow) return undefined
  // After a clean shutdown the old end is not known any more: at least the next offset, or the last lost segment.
  const lostUpTo = Math.max(stop.offset + 1, ...lost.map((s) => s.baseOffset))
  const report: CorruptionReport = {
    offset: stop.offset,
    refetchToOffset: Number.isFinite(scan.durableBelow) ? scan.durableBelow : lostUpTo,
    segmentBaseOffset: segment.baseOffset,
    position: stop.position,
    reason: stop.reason,
  }
  logger.error({ ...report }, 'corruption below recovery point')
  return report
}

async function finishLoad (
  segments: LogSegment[],
  context: LoadOptions & {
    epochCache: LeaderEpochCache; cleanShutdown: boolean; corruption: CorruptionReport | undefined; epochFileValid: boolean
  },
): Promise<LoadedLog> {
  const { epochCache, logger } = context
  const active = segments.at(-1) as LogSegment
  await active.ensureIndexes()
  const logEndOffset = active.nextOffset
  let logStartOffset = Math.max(context.logStartOffset ?? 0, (segments[0] as LogSegment).baseOffset)
  if (logStartOffset > logEndOffset) {
    logger.warn({ logStartOffset, logEndOffset }, 'log start offset beyond log end')
    logStartOffset = logEndOffset
  }
  if (!context.cleanShutdown && context.corruption === undefined && (context.recoveryPoint ?? 0) > logEndOffset) {
    logger.warn({ recoveryPoint: context.recoveryPoint, logEndOffset }, 'recovery point beyond log end')
  }
  // Start first: moving the epoch in force up to a log start that equals the log end must leave an epoch with no
  // records, which the end truncation then drops (Kafka's LogLoader), as on every other load.
  epochCache.truncateFromStart(offset(logStartOffset))
  epochCache.truncateFromEnd(offset(logEndOffset))
  // Written even when unchanged if it was missing or malformed, so the next open does not rebuild it again.
  await epochCache.flush({ force: !context.epochFileValid })
  if (context.cleanShutdown) {
    await context.files.fs.unlink(join(context.dir, CLEAN_SHUTDOWN_FILE))
    await fsyncDirectory(context.files.fs, context.dir)
  }
  await setActiveRollBase(active)
  return { segments, logStartOffset, recoveryPoint: logEndOffset, epochCache, corruption: context.corruption, cleanShutdown: context.cleanShutdown }
}

/** Step 0: discards `.cleaned` files, completes `.swap` files. Returns whether it changed the directory. */
async function finishInterruptedSwaps (fs: FileSystem, dir: string, names: readonly string[], logger: Logger): Promise<boolean> {
  const cleaned = names.filter((name) => parseLogFileWithSuffix(name, CLEANED_FILE_SUFFIX) !== undefined)
  for (const name of cleaned) {
    await unlinkIfPresent(fs, join(dir, name))
    logger.info({ file: name }, 'discarded interrupted clean')
  }
  const swaps = names.flatMap((name) => {
    const base = parseLogFileWithSuffix(name, SWAP_FILE_SUFFIX)
    return base === undefined ? [] : [base]
  }).sort((a, b) => a - b)
  const segmentBases = names.flatMap((name) => {
    const parsed = parseSegmentFileName(name)
    return parsed?.suffix === LOG_FILE_SUFFIX ? [parsed.baseOffset] : []
  })
  for (const base of swaps) {
    const swapPath = join(dir, segmentFileName(base, LOG_FILE_SUFFIX) + SWAP_FILE_SUFFIX)
    const end = await swapEndOffset(fs, swapPath, base)
    const replaced = segmentBases.filter((b) => b >= base && b < Math.max(base + 1, end))
    for (const b of new Set([base, ...replaced])) {
      for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX] as const) {
        await unlinkIfPresent(fs, join(dir, segmentFileName(b, suffix)))
      }
    }
    await fs.rename(swapPath, join(dir, segmentFileName(base, LOG_FILE_SUFFIX)))
    logger.warn({ baseOffset: base, endOffset: end, replacedSegments: replaced }, 'completed interrupted segment swap')
  }
  const changed = cleaned.length > 0 || swaps.length > 0
  if (changed) await fsyncDirectory(fs, dir)
  return changed
}

/** Offset after the last batch of a swap file (its base when empty): the range of segments it replaces. */
async function swapEndOffset (fs: FileSystem, path: string, base: number): Promise<number> {
  const handle = await fs.open(path, 'r')
  try {
    const { size } = await handle.stat()
    const result = await scanBatches({
      read: async (position, length) => {
        const buffer = Buffer.allocUnsafe(length)
        const { bytesRead } = await handle.read(buffer, 0, length, position)
        return buffer.subarray(0, bytesRead)
      },
      fromPosition: 0,
      toPosition: size,
      expectedBaseOffset: base,
      offsetGaps: true,
      validate: false,
      onBatch: () => {},
    })
    return result.endPosition > 0 ? result.nextOffset : base
  } finally {
    await handle.close()
  }
}

async function listSegments (fs: FileSystem, dir: string, names: readonly string[], deps: LogSegmentDeps): Promise<LogSegment[]> {
  const baseOffsets = names.flatMap((name) => {
    const parsed = parseSegmentFileName(name)
    return parsed?.suffix === LOG_FILE_SUFFIX ? [parsed.baseOffset] : []
  }).sort((a, b) => a - b)
  const sizes = await Promise.all(baseOffsets.map(async (base) => (await fs.stat(join(dir, segmentFileName(base, LOG_FILE_SUFFIX)))).size))
  return baseOffsets.map((base, i) => LogSegment.existing(dir, base, {
    sizeBytes: sizes[i] as number,
    // The last segment's end is unknown until its tail is walked (or it is recovered).
    nextOffset: baseOffsets[i + 1] ?? Number.MAX_SAFE_INTEGER,
  }, deps))
}

async function removeLeftovers (fs: FileSystem, dir: string, names: readonly string[]): Promise<void> {
  const logs = new Set(names.flatMap((name) => {
    const parsed = parseSegmentFileName(name)
    return parsed?.suffix === LOG_FILE_SUFFIX ? [parsed.baseOffset] : []
  }))
  const leftovers = names.filter((name) => {
    if (name.endsWith('.tmp')) return true
    const parsed = parseSegmentFileName(name)
    return parsed !== undefined && parsed.suffix !== LOG_FILE_SUFFIX && !logs.has(parsed.baseOffset)
  })
  for (const name of leftovers) await unlinkIfPresent(fs, join(dir, name))
  if (leftovers.length > 0) await fsyncDirectory(fs, dir)
}

/** Cheap check for a segment that is not scanned: both index files exist and hold whole entries. */
async function indexFilesLookWhole (fs: FileSystem, segment: LogSegment): Promise<boolean> {
  if (segment.sizeBytes === 0) return true
  try {
    const [index, timeIndex] = await Promise.all([fs.stat(segment.indexPath), fs.stat(segment.timeIndexPath)])
    return index.size % 8 === 0 && timeIndex.size % 12 === 0
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return false
    throw error
  }
}

/** After a clean shutdown: whether the active segment's index loads and its tail walks to the end of the file. */
async function activeTailIsClean (fs: FileSystem, segment: LogSegment): Promise<boolean> {
  if (!(await indexFilesLookWhole(fs, segment))) return false
  try {
    await segment.ensureIndexes()
    return true
  } catch {
    return false
  }
}

async function setActiveRollBase (active: LogSegment): Promise<void> {
  if (active.sizeBytes === 0) return
  const header = await active.read(0, 61)
  if (header.length === 61) active.setRollBase(Number(header.readBigInt64BE(35)))
}

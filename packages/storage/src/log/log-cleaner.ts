/**
 * One cleaning pass over a compacted partition log (Kafka's `Cleaner.doClean`): the I/O half; clean-plan.ts decides
 * what may be cleaned and when, `PartitionLog.clean` runs the pass and keeps the checkpoint.
 *
 * A pass:
 * 1. Builds the offset map (offset-map.ts) over the dirty cleanable segments, oldest first: for each record with a
 *    key, key → offset of its latest record. Before each batch it checks that the batch's records fit; when they do
 *    not, the map stops there and the pass cleans only up to that batch (`endOffset`): bounded memory, the next pass
 *    continues from there. Control batches carry no keys and are skipped.
 * 2. Rewrites every segment below `endOffset` (from the log's first segment: records cleaned before may be
 *    superseded by newer dirty ones), in groups (clean-plan.ts `groupSegments`), each group into one
 *    `<base>.log.cleaned` file. A record is kept unless (a) the map has its key at a higher offset, or (b) it is a
 *    tombstone (null value) below `endOffset` in a segment whose newest timestamp is more than `deleteRetentionMs`
 *    before `nowMs` (the rule chosen here for Kafka's delete horizon, which uses the time the previous pass cleaned
 *    the segment; ours needs no extra state and never removes a tombstone younger than `deleteRetentionMs`). A
 *    tombstone is dropped only below `endOffset`, where every older record of its key is gone in the same pass.
 *    Records without a key are kept. Batches are rebuilt by `filterBatch` (records/filter-batch.ts): same baseOffset,
 *    lastOffsetDelta, attributes and producer fields, recompressed with their codec; a batch that keeps nothing is
 *    dropped (offsets then have a gap; readers and followers skip it). Kafka keeps an idempotent producer's last
 *    batch even when empty; Gregor drops it: its producer state survives in the broker's producer-state snapshots,
 *    and a producer whose state is lost altogether is accepted at any sequence (producer-state.ts). Control and
 *    transactional batches are copied unchanged (Gregor has no transactions to resolve them against).
 * 3. Swaps each group in on the log's writer turn (`host.swapIn`): the `.cleaned` file is fdatasynced, renamed
 *    `.swap` (directory fsynced), the old segments are deleted, the `.swap` is renamed `.log` (directory fsynced) and
 *    the indexes written. A crash anywhere leaves a state log-loader.ts repairs without loss: a `.cleaned` file is
 *    discarded (the old segments are whole), a `.swap` file replaces every segment its offsets overlap.
 *
 * The active segment, and anything at or past the high watermark, is never read for rewriting (the plan stops
 * before). Reads and writes go through the log's `FileSystem`, in chunks of `CHUNK_BYTES`, and are paced by `IoThrottle`
 * to `cleanerIoBytesPerSecondMax` (on the injected `Clock` and `Timers`). The pass gives up (without damage) when the log closes, fails, or truncates or
 * deletes a segment it is reading.
 */
import { join } from 'node:path'
import type { Clock, Logger, Timers } from '@gregor/common'
import {
  ATTRIBUTE_CONTROL, ATTRIBUTE_TRANSACTIONAL, BATCH_HEADER_BYTES, type BatchHeader, batchSizeBytes, filterBatch, parseBatch,
  readBatchHeader,
} from '@gregor/records'
import type { FileSystem } from '../fs/file-system.js'
import type { ScannedBatch } from './batch-scanner.js'
import { type CleanPlan, groupSegments } from './clean-plan.js'
import type { LogConfig } from './log-config.js'
import type { LogSegment } from './log-segment.js'
import { OffsetMap } from './offset-map.js'
import { CLEANED_FILE_SUFFIX, LOG_FILE_SUFFIX, segmentFileName } from './segment-file-names.js'
import { hasErrno, storageError } from './storage-error.js'
import { unlinkIfPresent } from './unlink-if-present.js'

/** Bytes read (and buffered for writing) at a time. */
const CHUNK_BYTES = 1024 * 1024
const SEGMENT_BYTES_LIMIT = 2 ** 31 - 1

/** A cleaned segment written aside, ready to be swapped in. */
export interface CleanedSegment {
  readonly baseOffset: number
  /** The `.cleaned` file. */
  readonly path: string
  readonly sizeBytes: number
  /** Its batches with their positions (for the indexes). */
  readonly batches: readonly ScannedBatch[]
  /** Offset after its last batch (its base offset when empty). */
  readonly nextOffset: number
}

export interface CleanerHost {
  readonly dir: string
  readonly fs: FileSystem
  /** Needed (with `timers`) only when `config.cleanerIoBytesPerSecondMax` limits the pass. */
  readonly clock?: Clock
  readonly timers?: Timers
  readonly config: LogConfig
  readonly logger: Logger
  /** The current segments, oldest first, the active one last. */
  segments (): readonly LogSegment[]
  /** False once the log is closing, closed or failed: the pass stops. */
  isOpen (): boolean
  /** On the writer turn: replaces `group` (if still in place) by `cleaned`; false when the log moved on. */
  swapIn (group: readonly LogSegment[], cleaned: CleanedSegment): Promise<boolean>
}

export interface CleanPassResult {
  /** The new cleaner checkpoint: everything below it is clean. Undefined when the pass made no progress. */
  readonly cleanedTo: number | undefined
  readonly bytesBefore: number
  readonly bytesAfter: number
  readonly recordsRemoved: number
  readonly segmentsBefore: number
  readonly segmentsAfter: number
  /** Why the pass stopped early or did nothing, if it did. */
  readonly stopped?: string
  /** True when the offset map filled up before the cleanable end (another pass has work). */
  readonly mapFull: boolean
}

/** Thrown inside a pass when the log moved under it; the pass ends without damage. */
class CleanAborted extends Error {}

/**
 * Paces the cleaner's I/O to a rate (Kafka's `Throttler`): sleeps when ahead of `bytesPerSecondMax`. A negative rate
 * means no limit (and needs no clock); a positive one needs both `clock` and `timers`.
 */
export class IoThrottle {
  readonly #bytesPerSecondMax: number
  readonly #pacing: { readonly clock: Clock; readonly timers: Timers; readonly startMs: number } | undefined
  #bytes = 0

  constructor (options: { bytesPerSecondMax: number; clock?: Clock; timers?: Timers }) {
    this.#bytesPerSecondMax = options.bytesPerSecondMax
    if (options.bytesPerSecondMax < 0) return
    if (options.clock === undefined || options.timers === undefined) {
      throw new RangeError('a cleaner I/O limit (cleanerIoBytesPerSecondMax) needs a clock and timers')
    }
    this.#pacing = { clock: options.clock, timers: options.timers, startMs: options.clock.nowMs() }
  }

  async account (bytes: number): Promise<void> {
    const pacing = this.#pacing
    if (pacing === undefined) return
    this.#bytes += bytes
    const dueMs = pacing.startMs + this.#bytes / this.#bytesPerSecondMax * 1000
    const aheadMs = dueMs - pacing.clock.nowMs()
    if (aheadMs >= 1) await pacing.timers.sleep(aheadMs)
  }
}

export async function runCleanPass (host: CleanerHost, plan: CleanPlan, options: { nowMs: number }): Promise<CleanPassResult> {
  const throttle = new IoThrottle({ bytesPerSecondMax: host.config.cleanerIoBytesPerSecondMax, clock: host.clock, timers: host.timers })
  const segments = host.segments().slice(0, plan.cleanableCount)
  const map = new OffsetMap({ bufferBytes: host.config.cleanerDedupeBufferBytes })
  const nothing = { cleanedTo: undefined, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, segmentsBefore: 0, segmentsAfter: 0, mapFull: false }
  let endOffset: number
  try {
    endOffset = await buildOffsetMap(host, segments.slice(plan.firstDirtyIndex), plan, map, throttle)
  } catch (error) {
    if (error instanceof CleanAborted) return { ...nothing, stopped: error.message }
    throw error
  }
  const mapFull = endOffset < plan.firstUncleanableOffset
  if (endOffset <= plan.firstDirtyOffset) return { ...nothing, mapFull, stopped: 'offset map too small for one batch' }
  // A snapshot: each swap splices the log's own list (a group of n segments becomes one), so indexes into the live
  // list would shift under the later groups (skipping segments, or reaching past the list's end).
  const all = host.segments().slice()
  let rewriteCount = 0
  while (rewriteCount < all.length - 1 && (all[rewriteCount] as LogSegment).baseOffset < endOffset) rewriteCount += 1
  const groups = groupSegments(all, rewriteCount, host.config.segmentBytes)
  const rules: KeepRules = { map, endOffset, tombstoneHorizonMs: options.nowMs - host.config.deleteRetentionMs }
  let bytesBefore = 0
  let bytesAfter = 0
  let recordsRemoved = 0
  let done = 0
  // Groups swapped in so far stay cleaned, but the checkpoint does not move: the next pass redoes the rest.
  const stoppedEarly = (stopped: string): CleanPassResult => ({
    cleanedTo: undefined, bytesBefore, bytesAfter, recordsRemoved, segmentsBefore: done, segmentsAfter: done, mapFull, stopped,
  })
  for (const [from, to] of groups) {
    const group = all.slice(from, to)
    let cleaned: CleanedSegment & { recordsRemoved: number }
    try {
      cleaned = await writeCleanedGroup(host, group, rules, throttle)
    } catch (error) {
      if (error instanceof CleanAborted) return stoppedEarly(error.message)
      throw error
    }
    const swapped = await host.swapIn(group, cleaned).catch(async (error: unknown) => {
      await unlinkIfPresent(host.fs, cleaned.path)
      throw error
    })
    if (!swapped) {
      await unlinkIfPresent(host.fs, cleaned.path)
      return stoppedEarly('log changed during the pass')
    }
    bytesBefore += group.reduce((sum, s) => sum + s.sizeBytes, 0)
    bytesAfter += cleaned.sizeBytes
    recordsRemoved += cleaned.recordsRemoved
    done += 1
  }
  return {
    cleanedTo: endOffset, bytesBefore, bytesAfter, recordsRemoved, segmentsBefore: rewriteCount, segmentsAfter: groups.length, mapFull,
  }
}

/** Fills `map` from the dirty segments; returns the offset up to which it covers the log (the pass's end). */
async function buildOffsetMap (
  host: CleanerHost, dirty: readonly LogSegment[], plan: CleanPlan, map: OffsetMap, throttle: IoThrottle,
): Promise<number> {
  for (const segment of dirty) {
    let stopAt: number | undefined
    await forEachBatch(host, segment, throttle, (buffer, position, header) => {
      if (header.baseOffset + header.lastOffsetDelta < plan.firstDirtyOffset) return true
      if ((header.attributes & ATTRIBUTE_CONTROL) !== 0) return true
      if (!map.hasRoomFor(header.recordCount)) {
        stopAt = Math.max(header.baseOffset, plan.firstDirtyOffset)
        return false
      }
      for (const record of parseBatch(buffer, position, { batchBytesMax: batchSizeBytes(buffer, position) }).records) {
        if (record.key !== null) map.put(record.key, record.offset)
      }
      return true
    })
    if (stopAt !== undefined) return stopAt
  }
  return plan.firstUncleanableOffset
}

interface KeepRules {
  readonly map: OffsetMap
  readonly endOffset: number
  readonly tombstoneHorizonMs: number
}

/** Writes the kept batches of `group` into `<base>.log.cleaned` and syncs it. */
async function writeCleanedGroup (
  host: CleanerHost, group: readonly LogSegment[], rules: KeepRules, throttle: IoThrottle,
): Promise<CleanedSegment & { recordsRemoved: number }> {
  const first = group[0] as LogSegment
  const path = join(host.dir, segmentFileName(first.baseOffset, LOG_FILE_SUFFIX) + CLEANED_FILE_SUFFIX)
  const handle = await host.fs.open(path, 'w')
  const batches: ScannedBatch[] = []
  let pending: Buffer[] = []
  let pendingBytes = 0
  let written = 0
  let recordsRemoved = 0
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return
    let done = 0
    while (done < pendingBytes) {
      const { bytesWritten } = await handle.writev(done === 0 ? pending : [Buffer.concat(pending).subarray(done)], written + done)
      // A write that makes no progress would loop forever; the pass fails instead (and leaves the log as it was).
      if (bytesWritten <= 0) throw storageError('write made no progress', { details: { path, position: written + done } })
      done += bytesWritten
    }
    await throttle.account(pendingBytes)
    written += pendingBytes
    pending = []
    pendingBytes = 0
  }
  try {
    for (const segment of group) {
      const maxTimestamp = await segment.maxTimestamp()
      const tombstonesExpire = maxTimestamp < rules.tombstoneHorizonMs
      await forEachBatch(host, segment, throttle, (buffer, position, header) => {
        let batch: Buffer | undefined
        if ((header.attributes & (ATTRIBUTE_CONTROL | ATTRIBUTE_TRANSACTIONAL)) !== 0) {
          batch = buffer.subarray(position, position + batchSizeBytes(buffer, position))
        } else {
          const filtered = filterBatch(buffer, position, (record) => {
            if (record.key === null) return true
            const latest = rules.map.get(record.key)
            if (latest !== undefined && record.offset < latest) return false
            return !(record.value === null && tombstonesExpire && record.offset < rules.endOffset)
          }, { batchBytesMax: batchSizeBytes(buffer, position) })
          batch = filtered.batch
          recordsRemoved += filtered.removedRecords
        }
        if (batch === undefined) return true
        const at = written + pendingBytes
        if (at + batch.length > SEGMENT_BYTES_LIMIT) throw new CleanAborted('cleaned segment would exceed 2 GiB')
        batches.push({
          position: at,
          sizeBytes: batch.length,
          baseOffset: header.baseOffset,
          lastOffset: header.baseOffset + header.lastOffsetDelta,
          maxTimestamp: header.maxTimestamp,
          partitionLeaderEpoch: header.partitionLeaderEpoch,
        })
        // May be a view of the read chunk: chunks are never reused, and `pending` is flushed after each one.
        pending.push(batch)
        pendingBytes += batch.length
        return true
      }, async () => { if (pendingBytes >= CHUNK_BYTES) await flush() })
    }
    await flush()
    await handle.datasync()
  } catch (error) {
    await handle.close().catch(() => {})
    await unlinkIfPresent(host.fs, path)
    throw error
  }
  await handle.close()
  const last = batches.at(-1)
  return { baseOffset: first.baseOffset, path, sizeBytes: written, batches, nextOffset: last === undefined ? first.baseOffset : last.lastOffset + 1, recordsRemoved }
}

/**
 * Calls `onBatch` for each whole batch of `segment` in order (sync, on a chunk that stays valid during the call),
 * then `afterChunk`; `onBatch` returns false to stop. Throws CleanAborted when the log closes or the segment is
 * deleted under the walk.
 */
async function forEachBatch (
  host: CleanerHost,
  segment: LogSegment,
  throttle: IoThrottle,
  onBatch: (buffer: Buffer, position: number, header: BatchHeader) => boolean,
  afterChunk?: () => Promise<void>,
): Promise<void> {
  const end = segment.sizeBytes
  let position = 0
  while (position < end) {
    if (!host.isOpen()) throw new CleanAborted('log closed')
    let chunk: Buffer
    try {
      chunk = await segment.read(position, Math.min(CHUNK_BYTES, end - position))
      if (chunk.length >= BATCH_HEADER_BYTES && batchSizeBytes(chunk, 0) > chunk.length) {
        chunk = await segment.read(position, Math.min(batchSizeBytes(chunk, 0), end - position))
      }
    } catch (error) {
      if (segment.deleted || hasErrno(error, 'ENOENT')) throw new CleanAborted('segment deleted during the pass')
      throw error
    }
    if (segment.deleted) throw new CleanAborted('segment deleted during the pass')
    await throttle.account(chunk.length)
    let at = 0
    while (chunk.length - at >= BATCH_HEADER_BYTES) {
      const sizeBytes = batchSizeBytes(chunk, at)
      if (sizeBytes < BATCH_HEADER_BYTES) throw new CleanAborted('segment has a malformed batch')
      if (at + sizeBytes > chunk.length) break
      if (!onBatch(chunk, at, readBatchHeader(chunk, at))) return
      at += sizeBytes
    }
    if (at === 0) throw new CleanAborted('segment ends in a partial batch')
    position += at
    if (afterChunk !== undefined) await afterChunk()
  }
}

/**
 * One segment of a partition log: a `.log` file of whole RecordBatch v2 batches, stored exactly as appended (stamped
 * baseOffset and partitionLeaderEpoch included), with its sparse offset index and time index.
 *
 * On-disk format: `<20-digit baseOffset>.log` is the concatenation of the batches (no header, no padding; the
 * batchLength field of each batch finds the next); `.index` and `.timeindex` are described in offset-index.ts and
 * time-index.ts.
 *
 * Owns: the segment's three files, its size, its next offset, its largest timestamp, and its in-memory indexes.
 * Not thread-safe in the Kafka sense: `PartitionLog` serializes every mutation (append, truncate, persist, delete);
 * reads may run concurrently with appends (they only look at bytes below the size they captured) and with each
 * other.
 *
 * Invariants:
 * - `sizeBytes` covers only whole batches with increasing offsets (gaps where the cleaner removed batches);
 *   `nextOffset` is the offset after the last one (`baseOffset` when empty; for a segment listed at open and not yet
 *   walked, the next segment's base offset). The file never holds bytes past `sizeBytes` except after a failed write, which takes
 *   the whole log offline until recovery.
 * - Index entries are added as batches are written (Kafka's rule: an entry when more than `indexIntervalBytes` were
 *   written since the last one). The active segment's indexes live in memory and reach their files when the segment
 *   is rolled or the log is closed; after a crash, recovery rebuilds them, because the active segment always
 *   contains or follows the recovery point. An older segment's indexes are loaded on first use, checked
 *   (`sanityCheck`, plus a walk from the last entry to the end of the log) and rebuilt from the log if they do not
 *   match it.
 * - Every file I/O is asynchronous, through leased handles of the shared `FileHandleCache` (or, for whole-file reads
 *   and index files, its `FileSystem`).
 * - The last append, when it was one buffer, is kept by reference (`#lastAppend`): a caught-up follower's next fetch
 *   starts exactly at its base offset, and is answered from it instead of a pread through the thread pool (one hop
 *   and one wake-up of the event loop fewer per follower per round, and no disk-queue wait on the replication path).
 *   It is valid only while it ends the segment (a truncation or a later append ends that). An appender gives its
 *   buffer up for good (`append`); a header that no longer names the offset it was written at sends the read to the
 *   file.
 */
import { join } from 'node:path'
import type { Logger } from '@gregor/common'
import { BATCH_HEADER_BYTES } from '@gregor/records'
import type { FileHandle, FileSystem } from '../fs/file-system.js'
import { epochProblem } from './batch-header-check.js'
import { type ScanResult, type ScannedBatch, scanBatches } from './batch-scanner.js'
import type { FileHandleCache } from './file-handle-cache.js'
import { OffsetIndex } from './offset-index.js'
import { writeDurably } from './replace-file.js'
import { INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, segmentFileName } from './segment-file-names.js'
import { hasErrno, storageError } from './storage-error.js'
import { unlinkIfPresent } from './unlink-if-present.js'
import { TimeIndex } from './time-index.js'

export interface LogSegmentDeps {
  readonly files: FileHandleCache
  readonly indexIntervalBytes: number
  readonly logger: Logger
  /** The log is compacted: batches may leave offset gaps (batch-scanner.ts `offsetGaps`). */
  readonly offsetGaps: boolean
}

/** What `readBatches` reads. */
export interface SegmentReadOptions {
  readonly offset: number
  readonly bytesMax: number
  readonly maxOffset: number
  /**
   * The leader epoch the log's epoch cache gives for an offset (undefined where it does not know): every batch read
   * must carry it, or the read fails as corrupt (a flipped partitionLeaderEpoch byte, which the CRC does not cover,
   * must never be served to a follower or fed to its epoch cache).
   */
  readonly expectedEpoch?: (offset: number) => number | undefined
  /**
   * Where the read's buffers come from (read-buffer-pool.ts `ReadBuffers.allocate`); a fresh allocation when absent.
   * The returned bytes are a view of such a buffer.
   */
  readonly allocate?: (size: number) => Buffer
}

/** A run of whole batches read from a segment. */
export interface SegmentRead {
  readonly bytes: Buffer
  readonly baseOffset: number
  /** Offset after the last batch in `bytes`. */
  readonly nextOffset: number
}

const LOOKUP_CHUNK_BYTES = 64 * 1024
const SEGMENT_CORRUPT = 'segment is corrupt'

export class LogSegment {
  readonly baseOffset: number
  readonly logPath: string
  readonly indexPath: string
  readonly timeIndexPath: string
  readonly #deps: LogSegmentDeps
  #sizeBytes: number
  #nextOffset: number
  #offsetIndex: OffsetIndex | undefined
  #timeIndex: TimeIndex | undefined
  #loadingIndexes: Promise<void> | undefined
  #indexesDirty = false
  #maxTimestamp = -1
  #offsetOfMaxTimestamp: number
  #bytesSinceIndexEntry = 0
  #rollBaseMs: number | undefined
  #deleted = false
  /** Bumped whenever bytes are removed (truncation, deletion), so a read that raced with it can tell. */
  #shrinks = 0
  /** The last append's one buffer and where it was written (see the header); undefined after a multi-buffer append. */
  #lastAppend: { readonly bytes: Buffer; readonly position: number; readonly baseOffset: number } | undefined

  private constructor (dir: string, baseOffset: number, state: { sizeBytes: number; nextOffset: number }, deps: LogSegmentDeps) {
    this.baseOffset = baseOffset
    this.logPath = join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX))
    this.indexPath = join(dir, segmentFileName(baseOffset, INDEX_FILE_SUFFIX))
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX))
    this.#sizeBytes = state.sizeBytes
    this.#nextOffset = state.nextOffset
    this.#offsetOfMaxTimestamp = baseOffset
    this.#deps = deps
  }

  /** Creates an empty segment file (failing if one exists); the caller fsyncs the directory. */
  static async create (dir: string, baseOffset: number, deps: LogSegmentDeps): Promise<LogSegment> {
    const segment = new LogSegment(dir, baseOffset, { sizeBytes: 0, nextOffset: baseOffset }, deps)
    const handle = await deps.files.fs.open(segment.logPath, 'wx')
    await handle.close()
    segment.resetIndexes()
    return segment
  }

  /** A segment already on disk; its indexes load on first use (or `resetIndexes` before recovery). */
  static existing (dir: string, baseOffset: number, state: { sizeBytes: number; nextOffset: number }, deps: LogSegmentDeps): LogSegment {
    return new LogSegment(dir, baseOffset, state, deps)
  }

  get sizeBytes (): number {
    return this.#sizeBytes
  }

  get nextOffset (): number {
    return this.#nextOffset
  }

  get deleted (): boolean {
    return this.#deleted
  }

  /**
   * Largest batch maxTimestamp in the segment (-1 if none). For a segment whose indexes are not loaded this is the
   * last entry of its time-index file (written when the segment stopped being active), read without loading it all.
   */
  async maxTimestamp (): Promise<number> {
    if (this.#offsetIndex !== undefined) return this.#maxTimestamp
    if (this.#sizeBytes === 0) return -1
    const last = await readLastTimeIndexEntry(this.#deps.files.fs, this.timeIndexPath)
    if (last !== undefined) return last
    await this.ensureIndexes()
    return this.#maxTimestamp
  }

  /** Whether the segment is at least `ageMs` old at `nowMs` (see `noteAppend`). */
  isOlderThan (nowMs: number, ageMs: number): boolean {
    return this.#sizeBytes > 0 && this.#rollBaseMs !== undefined && nowMs - this.#rollBaseMs >= ageMs
  }

  /** Starts the age clock of roll-by-age: the first `nowMs` an append into this segment passes. */
  noteAppend (nowMs: number | undefined): void {
    if (this.#rollBaseMs === undefined && nowMs !== undefined) this.#rollBaseMs = nowMs
  }

  /** After a reopen the age is counted from the first batch's timestamp, as Kafka's `rollingBasedTimestamp`. */
  setRollBase (timestampMs: number): void {
    if (timestampMs >= 0) this.#rollBaseMs = timestampMs
  }

  // ---- indexes ----

  /** Empty in-memory indexes, to be filled by `indexBatch` (new segment, recovery, rebuild). */
  resetIndexes (): void {
    this.#offsetIndex = new OffsetIndex(this.baseOffset)
    this.#timeIndex = new TimeIndex(this.baseOffset)
    this.#maxTimestamp = -1
    this.#offsetOfMaxTimestamp = this.baseOffset
    this.#bytesSinceIndexEntry = 0
    this.#indexesDirty = true
  }

  /** Accounts a batch written at `batch.position` in the indexes (Kafka's LogSegment.append rule). */
  indexBatch (batch: ScannedBatch): void {
    const offsetIndex = this.#offsetIndex as OffsetIndex
    if (batch.maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = batch.maxTimestamp
      this.#offsetOfMaxTimestamp = batch.baseOffset
    }
    if (this.#bytesSinceIndexEntry > this.#deps.indexIntervalBytes) {
      offsetIndex.append(batch.baseOffset, batch.position)
      if (this.#maxTimestamp >= 0) (this.#timeIndex as TimeIndex).maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
      this.#bytesSinceIndexEntry = 0
    }
    this.#bytesSinceIndexEntry += batch.sizeBytes
    this.#indexesDirty = true
  }

  /** Sets size and next offset after recovery has indexed the valid prefix. */
  setRecoveredEnd (sizeBytes: number, nextOffset: number): void {
    this.#sizeBytes = sizeBytes
    this.#nextOffset = nextOffset
  }

  async ensureIndexes (): Promise<void> {
    if (this.#offsetIndex !== undefined) return
    this.#loadingIndexes ??= this.#loadIndexes().finally(() => { this.#loadingIndexes = undefined })
    await this.#loadingIndexes
  }

  /** Writes the index files (with a final time-index entry for the segment's maximum) and syncs them. */
  async persistIndexes (): Promise<void> {
    if (!this.#indexesDirty || this.#offsetIndex === undefined || this.#deleted) return
    if (this.#maxTimestamp >= 0) (this.#timeIndex as TimeIndex).maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
    this.#indexesDirty = false
    await Promise.all([
      writeDurably(this.#deps.files.fs, this.indexPath, this.#offsetIndex.toBytes()),
      writeDurably(this.#deps.files.fs, this.timeIndexPath, (this.#timeIndex as TimeIndex).toBytes()),
    ])
  }

  // ---- data ----

  /** Writes `buffers` (whole batches described by `batches`, positions included) at the end of the segment. */
  async append (buffers: readonly Buffer[], totalBytes: number, batches: readonly ScannedBatch[]): Promise<void> {
    const position = this.#sizeBytes
    await this.#deps.files.use(this.logPath, async (handle) => await writeFully(handle, buffers, totalBytes, position))
    for (const batch of batches) this.indexBatch(batch)
    this.#sizeBytes = position + totalBytes
    this.#nextOffset = (batches.at(-1) as ScannedBatch).lastOffset + 1
    const only = buffers.length === 1 ? buffers[0] : undefined
    this.#lastAppend = only?.length === totalBytes
      ? { bytes: only, position, baseOffset: (batches[0] as ScannedBatch).baseOffset }
      : undefined
  }

  /** Up to `length` bytes at `position` (fewer at end of file), in a buffer from `allocate` when given. */
  async read (position: number, length: number, allocate?: (size: number) => Buffer): Promise<Buffer> {
    return await this.#deps.files.use(this.logPath, async (handle) => await readFully(handle, position, length, allocate))
  }

  /** fdatasync of the log file; a deleted segment has nothing left to make durable. */
  async sync (): Promise<void> {
    if (this.#deleted) return
    try {
      await this.#deps.files.use(this.logPath, async (handle) => await handle.datasync())
    } catch (error) {
      // Deleted (retention, truncation) while the sync was starting: nothing of it needs to be durable.
      if (this.#deleted && hasErrno(error, 'ENOENT')) return
      throw error
    }
  }

  /** Walks batch headers from `position` (a batch boundary holding `expectedBaseOffset`) to the end. */
  async walk (position: number, expectedBaseOffset: number, onBatch: (batch: ScannedBatch) => boolean | void): Promise<ScanResult> {
    return await scanBatches({
      read: async (at, length) => await this.read(at, length),
      fromPosition: position,
      toPosition: this.#sizeBytes,
      expectedBaseOffset,
      offsetGaps: this.#deps.offsetGaps,
      validate: false,
      chunkBytes: LOOKUP_CHUNK_BYTES,
      onBatch,
    })
  }

  /** The first batch whose last offset is ≥ `offset`, if the segment has one. */
  async findBatch (offset: number): Promise<ScannedBatch | undefined> {
    await this.ensureIndexes()
    const start = (this.#offsetIndex as OffsetIndex).lookup(offset)
    let found: ScannedBatch | undefined
    const result = await this.walk(start.position, start.offset, (batch) => {
      if (batch.lastOffset < offset) return true
      found = batch
      return false
    })
    if (found === undefined && result.stop !== undefined) throw this.#corrupt(result)
    return found
  }

  /**
   * Whole batches from the first whose last offset is ≥ `offset` (the one holding it, or the next one above a gap
   * the cleaner left): at least one, then more while the total stays within `bytesMax`,
   * none starting at or after `maxOffset`. One positioned read in the common case (a window from the index entry
   * below `offset`), a second when the run starts too far into it. Undefined when no batch qualifies.
   */
  async readBatches (options: SegmentReadOptions): Promise<SegmentRead | undefined> {
    // Deleted (retention, truncation, or replaced by its cleaned copy, which takes over its file name): nothing here.
    if (this.#deleted) return undefined
    const shrinks = this.#shrinks
    let run: SegmentRead | undefined
    try {
      run = await this.#readBatches(options)
    } catch (error) {
      // Truncated or deleted under the read: what it saw is gone, not corrupt. The caller reads again.
      if (this.#shrinks !== shrinks) return undefined
      throw error
    }
    // A cleaned copy renamed over a deleted segment's file during the read may have answered it: discard.
    return this.#shrinks === shrinks ? run : undefined
  }

  async #readBatches (options: SegmentReadOptions): Promise<SegmentRead | undefined> {
    await this.ensureIndexes()
    const fromMemory = this.#readLastAppend(options)
    if (fromMemory !== 'not held') return fromMemory
    const end = this.#sizeBytes
    const entry = (this.#offsetIndex as OffsetIndex).lookup(options.offset)
    const budget = Math.max(options.bytesMax, BATCH_HEADER_BYTES)
    let window = await this.read(entry.position, Math.min(end - entry.position, this.#deps.indexIntervalBytes + budget + BATCH_HEADER_BYTES), options.allocate)
    let windowStart = entry.position
    const start = await this.#findInWindow(options.offset, window, windowStart, end)
    // Without gaps, the batch found for an offset of this segment holds it: one that starts above it has a rotted
    // baseOffset (the CRC does not cover it), and must not be served nor make the read skip to the next segment.
    if (start !== undefined && !this.#deps.offsetGaps && options.offset >= this.baseOffset && start.baseOffset > options.offset) {
      throw this.#corruptAt(start.position, 'batch offset does not continue the log')
    }
    // Nor may a rotted batch length walk the read past the batch that holds an offset this segment has: the read would
    // come back empty below the log end.
    if (start === undefined && !this.#deps.offsetGaps && options.offset >= this.baseOffset && options.offset < this.#nextOffset) {
      throw this.#corruptAt(entry.position, 'no batch holds an offset of this segment')
    }
    if (start === undefined || start.baseOffset >= options.maxOffset) return undefined
    const runEnd = Math.min(end, start.position + Math.max(budget, start.sizeBytes))
    if (runEnd > windowStart + window.length) {
      window = await this.read(start.position, runEnd - start.position, options.allocate)
      windowStart = start.position
    }
    const run = cutRun(window, start.position - windowStart, Math.min(window.length, runEnd - windowStart), options)
    // The run always has room for its first batch whole: a first batch that does not fit ends past the file (a
    // rotted length), and the read would come back empty below the log end, forever (seed 2454 of the disk-fault
    // simulation: followers stuck, the ISR flapping).
    if (run === undefined) throw this.#corruptAt(start.position, 'batch extends past the end of the segment')
    this.#checkRun(run.bytes, start.position, options)
    return run
  }

  /**
   * A read that starts at the last append's base offset, answered from its buffer (see the header), with what the
   * file read would give: whole batches within `bytesMax` (at least one) below `maxOffset`, headers checked.
   * 'not held' when the read is not of it, or the buffer no longer says what was written.
   */
  #readLastAppend (options: SegmentReadOptions): SegmentRead | undefined | 'not held' {
    const last = this.#lastAppend
    // Still the end of the segment: a truncation cut it, or a later append (multi-buffer: not held) followed it.
    if (last === undefined || options.offset !== last.baseOffset || last.position + last.bytes.length !== this.#sizeBytes ||
      Number(last.bytes.readBigInt64BE(0)) !== last.baseOffset) {
      return 'not held'
    }
    if (last.baseOffset >= options.maxOffset) return undefined
    const run = cutRun(last.bytes, 0, last.bytes.length, options)
    if (run === undefined) return 'not held'
    this.#checkRun(run.bytes, last.position, options)
    return run
  }

  /**
   * Throws the corrupt-segment error at the first batch of a run about to be served (`bytes`, read at `position`)
   * whose header fields outside the CRC cannot be right: a baseOffset that does not continue its predecessor in the
   * run, or a leader epoch that decreases or disagrees with `expectedEpoch`. Headers only, which the read has in
   * hand: the CRC is the receiver's to check.
   */
  #checkRun (bytes: Buffer, position: number, options: SegmentReadOptions): void {
    const offsetGaps = this.#deps.offsetGaps
    let previousEpoch = -1
    let nextOffset: number | undefined
    for (let at = 0; at + BATCH_HEADER_BYTES <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) {
      const baseOffset = Number(bytes.readBigInt64BE(at))
      const partitionLeaderEpoch = bytes.readInt32BE(at + 12)
      const continues = nextOffset === undefined || (offsetGaps ? baseOffset >= nextOffset : baseOffset === nextOffset)
      const reason = continues
        ? epochProblem({ partitionLeaderEpoch }, previousEpoch, options.expectedEpoch?.(baseOffset))
        : 'batch offset does not continue the log'
      if (reason !== undefined) throw this.#corruptAt(position + at, reason)
      if (partitionLeaderEpoch >= 0) previousEpoch = partitionLeaderEpoch
      nextOffset = baseOffset + bytes.readInt32BE(at + 23) + 1
    }
  }

  /**
   * The first batch at or after `startOffset` (the log start) whose maxTimestamp is ≥ `timestamp`, found through the
   * time index and a short walk.
   */
  async findOffsetForTimestamp (timestamp: number, startOffset: number): Promise<{ offset: number; timestamp: number } | undefined> {
    await this.ensureIndexes()
    if (this.#maxTimestamp < timestamp) return undefined
    const before = (this.#timeIndex as TimeIndex).lookupBefore(timestamp)
    const start = (this.#offsetIndex as OffsetIndex).lookup(Math.max(before?.offset ?? this.baseOffset, startOffset))
    let found: { offset: number; timestamp: number } | undefined
    const result = await this.walk(start.position, start.offset, (batch) => {
      if (batch.maxTimestamp < timestamp || batch.lastOffset < startOffset) return true
      found = { offset: batch.baseOffset, timestamp: batch.maxTimestamp }
      return false
    })
    if (found === undefined && result.stop !== undefined) throw this.#corrupt(result)
    return found
  }

  /** Removes the batches whose last offset is ≥ `offset` (so a batch holding `offset` goes whole) and syncs. */
  async truncateTo (offset: number): Promise<number> {
    const first = await this.findBatch(offset)
    if (first === undefined) return 0
    const removedBytes = this.#sizeBytes - first.position
    this.#shrinks += 1
    await this.#deps.files.use(this.logPath, async (handle) => {
      await handle.truncate(first.position)
      await handle.datasync()
    })
    this.#sizeBytes = first.position
    this.#nextOffset = first.baseOffset
    await this.ensureIndexes()
    const offsetIndex = this.#offsetIndex as OffsetIndex
    const timeIndex = this.#timeIndex as TimeIndex
    offsetIndex.truncateToOffset(first.baseOffset)
    timeIndex.truncateToOffset(first.baseOffset)
    this.#indexesDirty = true
    await this.#catchUpIndexes(offsetIndex, timeIndex)
    return removedBytes
  }

  /** Cuts the file at `position` (recovery, after `setRecoveredEnd`) and syncs it. */
  async truncateFileTo (position: number): Promise<void> {
    this.#shrinks += 1
    await this.#deps.files.use(this.logPath, async (handle) => {
      await handle.truncate(position)
      await handle.datasync()
    })
    this.#sizeBytes = position
  }

  /** Drops the in-memory indexes of an inactive segment (they reload on next use); false if they have unsaved changes. */
  unloadIndexes (): boolean {
    if (this.#indexesDirty || this.#loadingIndexes !== undefined) return false
    this.#offsetIndex = undefined
    this.#timeIndex = undefined
    return true
  }

  get indexesLoaded (): boolean {
    return this.#offsetIndex !== undefined
  }

  /** Deletes the segment's files (the caller fsyncs the directory). */
  async delete (): Promise<void> {
    this.#deleted = true
    this.#shrinks += 1
    await this.#deps.files.forget(this.logPath)
    await Promise.all([this.logPath, this.indexPath, this.timeIndexPath].map(async (path) => { await unlinkIfPresent(this.#deps.files.fs, path) }))
  }

  // ---- internals ----

  async #loadIndexes (): Promise<void> {
    const fs = this.#deps.files.fs
    const [indexBytes, timeIndexBytes] = await Promise.all([readIfPresent(fs, this.indexPath), readIfPresent(fs, this.timeIndexPath)])
    const offsetIndex = new OffsetIndex(this.baseOffset, indexBytes ?? Buffer.alloc(0))
    const timeIndex = new TimeIndex(this.baseOffset, timeIndexBytes ?? Buffer.alloc(0))
    const bounds = { sizeBytes: this.#sizeBytes, nextOffset: this.#nextOffset }
    let problem = (indexBytes === undefined || timeIndexBytes === undefined) && this.#sizeBytes > 0 ? 'index file missing' : undefined
    problem ??= offsetIndex.sanityCheck(bounds) ?? timeIndex.sanityCheck(bounds)
    if (problem === undefined) {
      this.#offsetIndex = offsetIndex
      this.#timeIndex = timeIndex
      this.#indexesDirty = false
      const tail = await this.#catchUpIndexes(offsetIndex, timeIndex)
      if (tail.stop === undefined) {
        if (this.#indexesDirty) await this.persistIndexes()
        return
      }
      this.#offsetIndex = undefined
      this.#timeIndex = undefined
      problem = `log does not continue from the last index entry: ${tail.stop.reason}`
    }
    this.#deps.logger.warn({ segmentBaseOffset: this.baseOffset, problem }, 'rebuilding segment indexes')
    await this.#rebuildIndexes()
  }

  /**
   * Treats the loaded indexes as a valid prefix and catches them up with the log: walks the batch headers from the
   * last offset-index entry to the end of the file, indexing what follows it (a stale but whole index file gets its
   * missing tail back), and learns the true next offset, the largest timestamp and the bytes since the last entry.
   */
  async #catchUpIndexes (offsetIndex: OffsetIndex, timeIndex: TimeIndex): Promise<ScanResult> {
    const last = offsetIndex.lastEntry
    const from = last ?? { offset: this.baseOffset, position: 0 }
    this.#maxTimestamp = timeIndex.lastEntry?.timestamp ?? -1
    this.#offsetOfMaxTimestamp = timeIndex.lastEntry?.offset ?? this.baseOffset
    this.#bytesSinceIndexEntry = 0
    const entriesBefore = offsetIndex.entryCount
    const result = await this.walk(from.position, from.offset, (batch) => {
      if (last !== undefined && batch.position === last.position) {
        this.#bytesSinceIndexEntry += batch.sizeBytes
        if (batch.maxTimestamp > this.#maxTimestamp) {
          this.#maxTimestamp = batch.maxTimestamp
          this.#offsetOfMaxTimestamp = batch.baseOffset
        }
      } else {
        this.indexBatch(batch)
      }
    })
    if (result.stop === undefined) this.#nextOffset = result.endPosition > 0 ? result.nextOffset : this.baseOffset
    this.#indexesDirty ||= offsetIndex.entryCount !== entriesBefore
    return result
  }

  async #rebuildIndexes (): Promise<void> {
    this.resetIndexes()
    const result = await this.walk(0, this.baseOffset, (batch) => { this.indexBatch(batch) })
    if (result.stop !== undefined) {
      this.#offsetIndex = undefined
      this.#timeIndex = undefined
      throw this.#corrupt(result)
    }
    this.#nextOffset = result.endPosition > 0 ? result.nextOffset : this.baseOffset
    await this.persistIndexes()
  }

  async #findInWindow (offset: number, window: Buffer, windowStart: number, end: number): Promise<ScannedBatch | undefined> {
    let at = 0
    while (windowStart + at < end) {
      if (at + BATCH_HEADER_BYTES > window.length) {
        // The run starts beyond the window (large batches): walk the rest by headers.
        return await this.#walkToOffset(windowStart + at, offset)
      }
      const sizeBytes = 12 + window.readInt32BE(at + 8)
      if (sizeBytes < BATCH_HEADER_BYTES) {
        throw storageError(SEGMENT_CORRUPT, {
          details: { corruptSegment: true, segmentBaseOffset: this.baseOffset, position: windowStart + at, reason: 'batch length smaller than its header' },
        })
      }
      const baseOffset = Number(window.readBigInt64BE(at))
      const lastOffset = baseOffset + window.readInt32BE(at + 23)
      if (lastOffset >= offset) {
        const maxTimestamp = Number(window.readBigInt64BE(at + 35))
        return { position: windowStart + at, sizeBytes, baseOffset, lastOffset, maxTimestamp, partitionLeaderEpoch: window.readInt32BE(at + 12) }
      }
      at += sizeBytes
    }
    return undefined
  }

  async #walkToOffset (position: number, offset: number): Promise<ScannedBatch | undefined> {
    let found: ScannedBatch | undefined
    const header = await this.read(position, BATCH_HEADER_BYTES)
    if (header.length < BATCH_HEADER_BYTES) return undefined
    const result = await this.walk(position, Number(header.readBigInt64BE(0)), (batch) => {
      if (batch.lastOffset < offset) return true
      found = batch
      return false
    })
    if (found === undefined && result.stop !== undefined) throw this.#corrupt(result)
    return found
  }

  #corruptAt (position: number, reason: string): Error {
    return storageError(SEGMENT_CORRUPT, { details: { corruptSegment: true, segmentBaseOffset: this.baseOffset, position, reason } })
  }

  #corrupt (result: ScanResult): Error {
    return storageError(SEGMENT_CORRUPT, {
      details: { corruptSegment: true, segmentBaseOffset: this.baseOffset, position: result.stop?.position, reason: result.stop?.reason },
    })
  }
}

/** Cuts whole batches out of `window` from `at` to at most `limit`: the first always, then while within budget. */
function cutRun (window: Buffer, at: number, limit: number, options: { bytesMax: number; maxOffset: number }): SegmentRead | undefined {
  const startAt = at
  let nextOffset = -1
  const baseOffset = Number(window.readBigInt64BE(at))
  while (at + BATCH_HEADER_BYTES <= limit) {
    const sizeBytes = 12 + window.readInt32BE(at + 8)
    const batchBase = Number(window.readBigInt64BE(at))
    if (batchBase >= options.maxOffset || at + sizeBytes > limit) break
    if (at > startAt && at + sizeBytes - startAt > options.bytesMax) break
    nextOffset = batchBase + window.readInt32BE(at + 23) + 1
    at += sizeBytes
  }
  if (at === startAt) return undefined
  return { bytes: window.subarray(startAt, at), baseOffset, nextOffset }
}

async function writeFully (handle: FileHandle, buffers: readonly Buffer[], totalBytes: number, position: number): Promise<void> {
  let written = 0
  let pending = buffers
  while (written < totalBytes) {
    // One buffer (the common case with one append in flight) takes plain pwrite, a little cheaper than pwritev.
    const { bytesWritten } = pending.length === 1
      ? await handle.write(pending[0] as Buffer, 0, (pending[0] as Buffer).length, position + written)
      : await handle.writev(pending as Buffer[], position + written)
    if (bytesWritten <= 0) throw storageError('write made no progress', { details: { position: position + written } })
    written += bytesWritten
    if (written < totalBytes) pending = remainingBuffers(pending, bytesWritten)
  }
}

function remainingBuffers (buffers: readonly Buffer[], consumed: number): Buffer[] {
  const rest: Buffer[] = []
  let skip = consumed
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length
      continue
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer)
    skip = 0
  }
  return rest
}

async function readFully (handle: FileHandle, position: number, length: number, allocate?: (size: number) => Buffer): Promise<Buffer> {
  const buffer = allocate === undefined ? Buffer.allocUnsafe(length) : allocate(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === length ? buffer : buffer.subarray(0, filled)
}

async function readLastTimeIndexEntry (fs: FileSystem, path: string): Promise<number | undefined> {
  let handle: FileHandle
  try {
    handle = await fs.open(path, 'r')
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return undefined
    throw error
  }
  try {
    const { size } = await handle.stat()
    if (size === 0 || size % TimeIndex.ENTRY_BYTES !== 0) return undefined
    const entry = await readFully(handle, size - TimeIndex.ENTRY_BYTES, TimeIndex.ENTRY_BYTES)
    return entry.length === TimeIndex.ENTRY_BYTES ? Number(entry.readBigInt64BE(0)) : undefined
  } finally {
    await handle.close()
  }
}

async function readIfPresent (fs: FileSystem, path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path)
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return undefined
    throw error
  }
}

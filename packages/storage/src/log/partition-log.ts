/**
 * The log of one partition replica: appends (leader and follower paths), reads, truncation, retention, flushing and
 * the leader-epoch cache, over a list of segments in `<logDir>/<topic>-<partition>/`.
 *
 * Owns: the segments, the log start offset, the recovery point, the epoch cache and the append queue. The broker owns
 * everything that needs a clock or a peer: it passes `nowMs` in, calls `maybeFlush` and `applyRetention` on its
 * schedule, and persists `recoveryPoint` / high watermarks through `OffsetCheckpoints`. It hears of each roll
 * (`onRoll`) to snapshot its producer state, whose files share the directory but are not the log's.
 *
 * Async model: one writer. Appends (through `LogAppender`), rolls, truncations, retention, epoch assignment and close
 * run one at a time on a `SerialExecutor`. Appends that arrive while the writer is busy queue up and are written
 * together with a single positioned writev (write coalescing); durability is then `GroupCommit`'s business (see
 * there), so the writer never waits for an fdatasync and the next group is written while the previous one syncs.
 * Reads run concurrently with the writer, see only whole batches written before they started, and never take the
 * writer's turn.
 *
 * Compaction (`cleanupPolicy` compact): the broker calls `clean` on its schedule; log-cleaner.ts rewrites inactive
 * segments below the high watermark without the records a later one of the same key supersedes. The cleaned copy is
 * written aside and swapped in on the writer's turn; a read that raced with the swap retries on the new segments.
 *
 * Invariants:
 * - Offsets are increasing: a leader append gets `logEndOffset` as its base offset (dense); a follower append starts
 *   at or after it (above it when the leader's cleaner removed whole batches). A batch keeps its offsets forever, so
 *   a compacted log has gaps, never moved records. `logStartOffset ≤ recoveryPoint ≤ logEndOffset` (recovery point: everything below it is
 *   synced, so recovery after a crash starts from the segment holding it).
 * - An append's promise resolves only after its bytes are durable under the flush policy ('always': after an
 *   fdatasync that covers them); a batch is stamped in the caller's buffer (baseOffset, partitionLeaderEpoch), so the
 *   caller must not change the buffer before the promise settles, nor afterwards except by appending it again: the
 *   segment keeps the last append's buffer to answer the next read from memory (log-segment.ts), and checks the
 *   offset stamped in it before it does.
 * - A new leader epoch reaches the `leader-epoch-checkpoint` before the first batch of that epoch is written.
 * - Any I/O failure on the write path takes the log offline (`failure`, KAFKA_STORAGE_ERROR on every later call) and
 *   is never retried: after a failed write or fdatasync nothing can be assumed about the file, and recovery on the
 *   next open is the one safe repair.
 * - After recovery found corruption below the recovery point, `needsRefetch` is set: leader appends are refused (this
 *   replica must not lead) until follower appends have brought the log back to `corruption.refetchToOffset`. The
 *   same happens when a read meets a corrupt batch, including one whose header fields outside the CRC cannot be right
 *   (an epoch that is not the epoch cache's for its offset, an offset that does not continue the log: see
 *   batch-header-check.ts); such a batch is never served. Reads check headers only; `verify` checks CRCs too, when a
 *   follower refused what this log served. Either way the bad bytes stay in the file until the broker reopens the
 *   log (`onCorruption`), whose recovery scan truncates at them; the re-fetch marker is durable before that.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import {
  type Clock, ErrorCode, GregorError, type LeaderEpoch, type Logger, type Offset, type Timers, isGregorError, offset,
} from '@gregor/common'
import { batchSizeBytes, parseBatch, readBatchHeader, recordsLimits, validateBatch } from '@gregor/records'
import type { FileSystem } from '../fs/file-system.js'
import { CheckpointFile } from './checkpoint-file.js'
import { planClean } from './clean-plan.js'
import { FileHandleCache } from './file-handle-cache.js'
import { fsyncDirectory } from './fsync-directory.js'
import { GroupCommit } from './group-commit.js'
import type { EpochEntry, LeaderEpochCache } from './leader-epoch-cache.js'
import { type AppendResult, LogAppender } from './log-appender.js'
import { type CleanedSegment, runCleanPass } from './log-cleaner.js'
import { type LogConfig, type TopicLevelLogConfigKey, topicLevelLogConfigKeys, validateLogConfig } from './log-config.js'
import { type CorruptionReport, type LoadedLog, loadLog } from './log-loader.js'
import { planRetention } from './log-retention.js'
import { LogSegment, type LogSegmentDeps } from './log-segment.js'
import { topicPartitionKey } from './offset-checkpoints.js'
import {
  CLEANER_OFFSET_CHECKPOINT_FILE, CLEAN_SHUTDOWN_FILE, LOG_FILE_SUFFIX, SWAP_FILE_SUFFIX, segmentFileName,
} from './segment-file-names.js'
import { SerialExecutor } from './serial-executor.js'
import { clearRefetchMarker, readRefetchMarker, writeRefetchMarker } from './refetch-marker.js'
import { errnoDetails, hasErrno, storageError } from './storage-error.js'

export type { AppendResult } from './log-appender.js'

export interface PartitionLogOptions {
  /** The log directory; the partition lives in `<dir>/<topic>-<partition>`. */
  readonly dir: string
  readonly topic: string
  readonly partition: number
  /** Overrides of `defaultLogConfig` (validated here). */
  readonly config?: Partial<LogConfig>
  readonly logger: Logger
  /**
   * Where every file of the log lives: `nodeFileSystem` in production, a simulated disk in the simulation. When
   * `files` is given it must be the cache's own file system.
   */
  readonly fs: FileSystem
  /** The broker's shared handle cache (over `fs`); without one the log makes (and closes) its own. */
  readonly files?: FileHandleCache
  /**
   * Monotonic time for the durations the log reports (clean passes) and, with `timers`, for pacing the cleaner
   * (`cleanerIoBytesPerSecondMax`). Both are required when that limit is set on a compacted log; without a clock
   * durations are not reported.
   */
  readonly clock?: Clock
  readonly timers?: Timers
  /** From the broker's recovery-point checkpoint; without it an unclean open scans the whole log. */
  readonly recoveryPoint?: number
  /** From the broker's log-start-offset checkpoint (after `deleteRecordsBefore`). */
  readonly logStartOffset?: number
  /**
   * Told, on the writer's turn, that a new segment became active at `baseOffset` (the log end at that moment): every
   * batch below it is written, none at or above it yet. The broker snapshots its producer state here, as Kafka does
   * in `roll`. It must return at once (it holds up the writer) and not throw; an error it throws is logged only.
   */
  readonly onRoll?: (baseOffset: Offset) => void
  /**
   * Told, on the writer's turn, each time appended batches become readable: written, not yet durable under
   * `flush: always`. A leader wakes its followers' fetches here, so replication overlaps its own fdatasync instead
   * of waiting for it (the leader's HW still counts only its durable end). Must return at once and not throw.
   */
  readonly onWritten?: (logEndOffset: Offset) => void
  /**
   * Told once when an I/O error takes the log offline (`failure`), and on each read that fails with an I/O error
   * (EIO): the broker treats its log directory as failed (Kafka's `LogDirFailureChannel`). Must not throw.
   */
  readonly onFailure?: (error: GregorError) => void
  /**
   * Told once when a read (or `verify`) finds a corrupt batch at runtime: `needsRefetch` is set and the marker is
   * being written, but the bad bytes are still in the file. The broker reopens the log from disk with the scan
   * starting at `report.segmentBaseOffset`, which truncates it there (what recovery does). Must not throw.
   */
  readonly onCorruption?: (report: CorruptionReport) => void
}

/** What `read` reads. */
export interface LogReadOptions {
  readonly offset: Offset
  readonly bytesMax: number
  /** No batch starting at or after it (consumers: the high watermark); the log end when absent. */
  readonly maxOffset?: Offset
  /**
   * Where the read's buffers come from (read-buffer-pool.ts `ReadBuffers.allocate`, for a response copied out soon
   * after); a fresh allocation when absent. The result's bytes are a view of such a buffer.
   */
  readonly allocate?: (size: number) => Buffer
}

export interface LogReadResult {
  /** Whole batches, exactly as stored; empty when nothing qualifies. */
  readonly bytes: Buffer
  /** Base offset of the first batch (above the requested offset when compaction left a gap there), or the requested
   * offset when empty. */
  readonly baseOffset: Offset
  /** Offset after the last batch returned: where the next read continues. */
  readonly nextOffset: Offset
  readonly logStartOffset: Offset
  readonly logEndOffset: Offset
}

export interface RetentionResult {
  readonly deletedSegments: number
  readonly logStartOffset: Offset
}

export interface CleanResult {
  /** Whether segments were rewritten. */
  readonly cleaned: boolean
  /** Why nothing (or not everything cleanable) was cleaned: 'not compacted', 'below dirty ratio', ... */
  readonly reason?: string
  /** The cleaner checkpoint after the pass: everything below it is clean. */
  readonly firstDirtyOffset: Offset
  readonly dirtyRatio: number
  readonly bytesBefore: number
  readonly bytesAfter: number
  readonly recordsRemoved: number
  /** True when the offset map filled before the cleanable end: a next pass has work even at the same ratio. */
  readonly moreToClean: boolean
}

/** The cleaner checkpoint: one line, the offset below which the log is clean. */
const cleanerCheckpointFormat = {
  version: 0,
  format: (value: number): string => String(value),
  parse: (line: string): number | undefined => /^\d+$/.test(line) && Number.isSafeInteger(Number(line)) ? Number(line) : undefined,
}

/** Reads that meet a segment replaced under them (cleaner swap, retention) retry this often before answering empty. */
const READ_RETRIES_MAX = 3

/** The read side of the leader-epoch cache; changes go through `PartitionLog.assignLeaderEpoch`. */
export type LeaderEpochCacheView = Pick<LeaderEpochCache, 'entries' | 'latestEpoch' | 'endOffsetFor' | 'epochForOffset'>

const INT32_MAX = 2 ** 31 - 1
/** Inactive segments whose indexes stay in memory after a read (per log), to bound index memory. */
const LOADED_INACTIVE_INDEXES_MAX = 3
const EMPTY = Buffer.alloc(0)

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  /** The partition directory. */
  readonly dir: string
  /** Replaced whole by `setConfig`; every reader reads it at the moment it acts (see there for what takes effect when). */
  #config: LogConfig
  readonly #logger: Logger
  readonly #fs: FileSystem
  readonly #clock: Clock | undefined
  readonly #timers: Timers | undefined
  readonly #files: FileHandleCache
  readonly #ownsFiles: boolean
  readonly #segmentDeps: LogSegmentDeps
  readonly #segments: LogSegment[]
  readonly #epochCache: LeaderEpochCache
  readonly #groupCommit: GroupCommit
  readonly #writer = new SerialExecutor()
  readonly #appender: LogAppender
  readonly #onRoll: ((baseOffset: Offset) => void) | undefined
  readonly #onFailure: ((error: GregorError) => void) | undefined
  readonly #onCorruption: ((report: CorruptionReport) => void) | undefined
  readonly #onWritten: ((logEndOffset: Offset) => void) | undefined
  #logStartOffset: number
  #recoveryPoint: number
  #state: 'open' | 'closing' | 'closed' | 'failed' = 'open'
  #failure: GregorError | undefined
  #closed: Promise<void> | undefined
  #corruption: CorruptionReport | undefined
  #lastFlushMs: number | undefined
  #recentlyRead: LogSegment[] = []
  readonly #cleanerCheckpoint: CheckpointFile<number>
  /** The cleaner checkpoint (undefined: never cleaned). */
  #firstDirtyOffset: number | undefined
  #cleaning = false
  /** Settles when the cleaner's swap in progress (on the writer turn) is done; reads that raced with it wait. */
  #swapping: Promise<void> | undefined
  /** For reads: the epoch the cache gives for an offset, which every batch served must carry. */
  readonly #expectedEpoch = (at: number): number | undefined => this.#epochCache.epochForOffset(offset(at))

  private constructor (init: {
    options: PartitionLogOptions; config: LogConfig; dir: string; logger: Logger; files: FileHandleCache
    segments: LogSegment[]; epochCache: LeaderEpochCache; logStartOffset: number; recoveryPoint: number
    corruption: CorruptionReport | undefined; cleanerCheckpoint: CheckpointFile<number>; firstDirtyOffset: number | undefined
  }) {
    this.topic = init.options.topic
    this.partition = init.options.partition
    this.dir = init.dir
    this.#config = init.config
    this.#logger = init.logger
    this.#fs = init.files.fs
    this.#clock = init.options.clock
    this.#timers = init.options.timers
    this.#files = init.files
    this.#ownsFiles = init.options.files === undefined
    const log = this
    this.#segmentDeps = {
      files: init.files, indexIntervalBytes: init.config.indexIntervalBytes, logger: init.logger,
      // Read at each scan: a log whose policy becomes compacting accepts the gaps its first cleaning leaves.
      get offsetGaps () { return log.#config.cleanupPolicy !== 'delete' },
    }
    this.#segments = init.segments
    this.#epochCache = init.epochCache
    this.#logStartOffset = init.logStartOffset
    this.#recoveryPoint = init.recoveryPoint
    this.#corruption = init.corruption
    this.#cleanerCheckpoint = init.cleanerCheckpoint
    this.#firstDirtyOffset = init.firstDirtyOffset
    this.#onRoll = init.options.onRoll
    this.#onFailure = init.options.onFailure
    this.#onCorruption = init.options.onCorruption
    this.#onWritten = init.options.onWritten
    this.#groupCommit = new GroupCommit({
      syncedEnd: init.recoveryPoint,
      onSynced: (end) => { this.#recoveryPoint = Math.max(this.#recoveryPoint, end) },
      onFailure: (error) => { this.#fail(error) },
    })
    this.#appender = new LogAppender({
      get config () { return log.#config },
      epochCache: this.#epochCache,
      groupCommit: this.#groupCommit,
      activeSegment: () => this.#active,
      runExclusive: async (task) => { await this.#writer.run(task) },
      notWritable: () => this.#state === 'open' ? undefined : this.#notWritable(),
      notLeaderCapable: () => this.#corruption === undefined
        ? undefined
        : storageError('log needs re-fetch from the leader before it can lead', { details: { ...this.#corruption } }),
      roll: async (nowMs) => { await this.#roll(nowMs) },
      fail: (error) => this.#fail(error),
      afterWrite: () => { this.#afterWrite() },
    })
  }

  /** Opens (creating if needed) and recovers the partition directory. */
  static async open (options: PartitionLogOptions): Promise<PartitionLog> {
    if (!/^[a-zA-Z0-9._-]+$/.test(options.topic) || options.topic === '.' || options.topic === '..') {
      throw new GregorError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'invalid topic name', { details: { topic: options.topic } })
    }
    assert.ok(Number.isSafeInteger(options.partition) && options.partition >= 0, 'partition must be a non-negative integer')
    const config = validateLogConfig(options.config)
    const dir = join(options.dir, topicPartitionKey(options.topic, options.partition))
    const logger = options.logger.child({ component: 'partition-log', topic: options.topic, partition: options.partition })
    if (options.files !== undefined && options.files.fs !== options.fs) {
      throw new RangeError('the file handle cache must use the log\'s file system (options.fs)')
    }
    if (config.cleanupPolicy !== 'delete' && config.cleanerIoBytesPerSecondMax > 0 && (options.clock === undefined || options.timers === undefined)) {
      throw new RangeError('cleanerIoBytesPerSecondMax needs the clock and timers options')
    }
    const files = options.files ?? new FileHandleCache({ openFilesMax: config.openFilesMax, fs: options.fs })
    let loaded: LoadedLog
    let marker: CorruptionReport | undefined
    try {
      marker = await readRefetchMarker(options.fs, dir, logger)
      // A re-fetch owed for corruption found at runtime: the scan starts at the damaged segment, so that recovery
      // truncates at the bad batch even when the recovery point is past it.
      const recoveryPoint = marker === undefined ? options.recoveryPoint : Math.min(options.recoveryPoint ?? 0, marker.segmentBaseOffset)
      loaded = await loadLog({ dir, config, files, logger, recoveryPoint, logStartOffset: options.logStartOffset })
    } catch (error) {
      // Handles this open made are nobody else's to close; a shared cache evicts its idle ones by itself.
      if (options.files === undefined) await files.closeAll().catch(() => {})
      // A file-system error (EIO, ENOSPC, ...) reaches the caller as the storage error every other I/O failure is.
      throw isGregorError(error) ? error : storageError('log open failed', { cause: error, details: { dir, ...errnoDetails(error) } })
    }
    // A re-fetch owed since an earlier open is still owed, however clean the (truncated) log looks now.
    try {
      loaded = { ...loaded, corruption: await owedRefetch(options.fs, dir, loaded, marker) }
    } catch (error) {
      if (options.files === undefined) await files.closeAll().catch(() => {})
      throw isGregorError(error) ? error : storageError('log open failed', { cause: error, details: { dir, ...errnoDetails(error) } })
    }
    const cleanerCheckpoint = new CheckpointFile(options.fs, join(dir, CLEANER_OFFSET_CHECKPOINT_FILE), cleanerCheckpointFormat)
    let firstDirtyOffset: number | undefined
    // Only a compacted log has one to read: no extra file read per partition at start-up for the others.
    if (config.cleanupPolicy !== 'delete') {
      try {
        firstDirtyOffset = (await cleanerCheckpoint.read())?.[0]
      } catch (error) {
        // Losing it only makes the next pass treat the whole log as dirty.
        logger.warn({ err: error }, 'cleaner checkpoint unreadable')
      }
    }
    const log = new PartitionLog({ options, config, dir, logger, files, ...loaded, cleanerCheckpoint, firstDirtyOffset })
    logger.info({
      logStartOffset: loaded.logStartOffset,
      logEndOffset: log.logEndOffset,
      segments: loaded.segments.length,
      cleanShutdown: loaded.cleanShutdown,
      needsRefetch: loaded.corruption !== undefined,
    }, 'log opened')
    return log
  }

  /** The log's current config (frozen; replaced whole by `setConfig`). */
  get config (): LogConfig {
    return this.#config
  }

  /**
   * Replaces the topic-level settings of an open log (a topic's config changed after creation). Nothing is rewritten
   * and nothing runs now; each setting takes effect where it is next read: `segmentBytes`/`segmentMs` when the next
   * append decides whether to roll (segments already rolled keep their size), `batchBytesMax` at the next append,
   * `retentionMs`/`retentionBytes` at the next `enforceRetention`, `cleanupPolicy` and the compaction settings at the
   * next `clean` (a log that becomes compacting starts with its whole log dirty; one that stops compacting keeps the
   * gaps cleaning left, which reads always accept). Broker-level settings (index interval, flush, file handles, the
   * cleaner's buffer and I/O budget) cannot change here: INVALID_CONFIG, as does any invalid value, and the log keeps
   * its config.
   */
  setConfig (changes: Partial<Pick<LogConfig, TopicLevelLogConfigKey>>): LogConfig {
    const brokerLevel = Object.keys(changes).filter((key) => !(topicLevelLogConfigKeys as readonly string[]).includes(key))
    if (brokerLevel.length > 0) {
      throw new GregorError(ErrorCode.INVALID_CONFIG, 'only topic-level log settings can change on an open log', { details: { keys: brokerLevel } })
    }
    const next = validateLogConfig({ ...this.#config, ...changes })
    if (next.cleanupPolicy !== 'delete' && next.cleanerIoBytesPerSecondMax > 0 && (this.#clock === undefined || this.#timers === undefined)) {
      throw new GregorError(ErrorCode.INVALID_CONFIG, 'a compacting log with an I/O budget needs the clock and timers options')
    }
    this.#config = next
    return next
  }

  // ---- state ----

  get logStartOffset (): Offset {
    return offset(this.#logStartOffset)
  }

  /** Offset after the last batch written (readable; durable only up to `recoveryPoint`). */
  get logEndOffset (): Offset {
    return offset(this.#active.nextOffset)
  }

  /** Everything below this offset is synced to disk; the broker checkpoints it. */
  get recoveryPoint (): Offset {
    return offset(Math.min(this.#recoveryPoint, this.#active.nextOffset))
  }

  get sizeBytes (): number {
    return this.#segments.reduce((sum, s) => sum + s.sizeBytes, 0)
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets (): Offset[] {
    return this.#segments.map((s) => offset(s.baseOffset))
  }

  /** True after corruption below the recovery point: re-fetch from the leader, do not lead. */
  get needsRefetch (): boolean {
    return this.#corruption !== undefined
  }

  get corruption (): CorruptionReport | undefined {
    return this.#corruption
  }

  /** The error that took the log offline, if one did. */
  get failure (): GregorError | undefined {
    return this.#failure
  }

  get leaderEpochCache (): LeaderEpochCacheView {
    return this.#epochCache
  }

  /** KIP-101 / KIP-595: the end of `epoch` in this log, for a follower's divergence check. */
  endOffsetForEpoch (epoch: LeaderEpoch): { epoch: LeaderEpoch; endOffset: Offset } | undefined {
    return this.#epochCache.endOffsetFor(epoch, this.logEndOffset)
  }

  /** Number of fdatasync rounds so far (group commit effectiveness, for tests and metrics). */
  get syncRounds (): number {
    return this.#groupCommit.rounds
  }

  get #active (): LogSegment {
    return this.#segments.at(-1) as LogSegment
  }

  // ---- appends ----

  /**
   * Leader path: validates each batch, assigns offsets from `logEndOffset`, stamps baseOffset and
   * `leaderEpoch` into `batches` in place, writes the whole buffer with one write, and resolves once it is durable
   * under the flush policy. `nowMs` drives roll-by-age (omit it to skip that check).
   */
  append (batches: Buffer, options: { leaderEpoch: LeaderEpoch; nowMs?: number; assignOffsets?: true }): Promise<AppendResult> {
    assert.ok(Number.isSafeInteger(options.leaderEpoch) && options.leaderEpoch >= 0 && options.leaderEpoch <= INT32_MAX, 'invalid leader epoch')
    return this.#appender.enqueue(batches, options.leaderEpoch, options.nowMs)
  }

  /** Follower path: keeps the leader's offsets and epochs; the first batch must start at `logEndOffset`. */
  appendAsFollower (batches: Buffer, options: { nowMs?: number } = {}): Promise<AppendResult> {
    return this.#appender.enqueue(batches, undefined, options.nowMs)
  }

  // ---- rolling and flushing ----

  /** Rolls the active segment now (a no-op when it is empty). */
  async roll (nowMs?: number): Promise<void> {
    await this.#writer.run(async () => {
      this.#assertWritable()
      await this.#guard(async () => { await this.#roll(nowMs) })
    })
  }

  async #roll (nowMs: number | undefined): Promise<void> {
    const previous = this.#active
    if (previous.sizeBytes === 0) return
    await previous.persistIndexes()
    const next = await LogSegment.create(this.dir, previous.nextOffset, this.#segmentDeps)
    await fsyncDirectory(this.#fs, this.dir)
    this.#segments.push(next)
    this.#noteIndexUse(previous)
    this.#logger.info({
      baseOffset: next.baseOffset, previousBaseOffset: previous.baseOffset, previousSizeBytes: previous.sizeBytes, nowMs,
    }, 'segment rolled')
    this.#tell(this.#onRoll, offset(next.baseOffset), 'roll listener failed')
    // Kafka flushes the rolled segment in the background whatever the flush policy; 'always' has it covered already.
    if (this.#config.flush !== 'always') void this.#groupCommit.syncAll().catch(() => {})
  }

  /** Syncs everything written so far (advancing the recovery point); resolves once durable. */
  async flush (): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    await this.#groupCommit.syncAll()
  }

  /** flush='interval': syncs when `flushIntervalMs` passed since the last such flush. Returns whether it flushed. */
  async maybeFlush (nowMs: number): Promise<boolean> {
    if (this.#config.flush !== 'interval') return false
    if (this.#lastFlushMs === undefined) this.#lastFlushMs = nowMs
    if (nowMs - this.#lastFlushMs < this.#config.flushIntervalMs) return false
    this.#lastFlushMs = nowMs
    await this.flush()
    return true
  }

  // ---- reads ----

  /**
   * Whole batches starting with the one that holds `offset` (or, when the cleaner removed it, the next one above it),
   * straight from the file: at least one batch (even when
   * larger than `bytesMax`), then more while the total stays within `bytesMax`, never a batch starting at or after
   * `maxOffset` (the broker passes the high watermark for consumers). A read returns data from one segment; the
   * next read continues at `nextOffset`. OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  async read (options: LogReadOptions): Promise<LogReadResult> {
    for (let retries = 0; ; retries++) {
      const result = await this.#read(options)
      if (result !== 'raced') return result
      if (retries === READ_RETRIES_MAX) {
        return { bytes: EMPTY, baseOffset: options.offset, nextOffset: options.offset, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset }
      }
      // A segment was replaced (cleaner swap) or removed under the read: once the change is done, read again.
      await this.#swapping
    }
  }

  async #read (options: LogReadOptions): Promise<LogReadResult | 'raced'> {
    this.#assertReadable()
    const start = options.offset
    const logStartOffset = this.logStartOffset
    const logEndOffset = this.logEndOffset
    if (!Number.isSafeInteger(start) || start < logStartOffset || start > logEndOffset) {
      throw new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'read offset outside the log', {
        details: { offset: start, logStartOffset, logEndOffset },
      })
    }
    const limit = Math.min(options.maxOffset ?? logEndOffset, logEndOffset)
    const empty: LogReadResult = { bytes: EMPTY, baseOffset: start, nextOffset: start, logStartOffset, logEndOffset }
    if (start >= limit) return empty
    for (const segment of this.#segments.slice(this.#segmentIndexFor(start))) {
      if (segment.baseOffset >= limit) break
      let run
      try {
        run = await segment.readBatches({
          offset: start, bytesMax: options.bytesMax, maxOffset: limit, expectedEpoch: this.#expectedEpoch,
          ...(options.allocate === undefined ? {} : { allocate: options.allocate }),
        })
      } catch (error) {
        throw this.#readFailure(error, start, segment)
      }
      if (run === undefined && segment.deleted) return 'raced'
      this.#noteIndexUse(segment)
      if (run !== undefined) {
        return { bytes: run.bytes, baseOffset: offset(run.baseOffset), nextOffset: offset(run.nextOffset), logStartOffset, logEndOffset }
      }
    }
    return empty
  }

  /**
   * Re-reads up to `bytesMax` from `from` and checks every batch in full (length, magic, CRC-32C, record count, offsets
   * continuing from `from`, the epoch the cache gives for its offset): what a follower asks for when it refused the
   * bytes this log served (reads check headers only, never CRCs, so rot inside a batch reaches the follower, whose
   * append validates it). True when a batch is bad: the log is then marked corrupt as on a failed read
   * (`needsRefetch`, `onCorruption`); false when the bytes here are sound (the damage was elsewhere).
   */
  async verify (from: Offset, bytesMax: number): Promise<boolean> {
    let read: LogReadResult
    try {
      read = await this.read({ offset: from, bytesMax })
    } catch (error) {
      if (isGregorError(error) && error.details.corruptSegment === true) return true
      throw error
    }
    let position = 0
    let expected: number = from
    while (position < read.bytes.length) {
      const bytes = Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength)
      const problem = batchProblem(bytes, position, expected, this.#expectedEpoch, this.#config.cleanupPolicy !== 'delete')
      if (problem !== undefined) {
        const segmentBaseOffset = (this.#segments[this.#segmentIndexFor(expected)] as LogSegment).baseOffset
        this.#markCorrupt({ offset: expected, refetchToOffset: this.logEndOffset, segmentBaseOffset, position: 0, reason: problem }, 'corrupt batch found on verify')
        return true
      }
      const header = readBatchHeader(bytes, position)
      position += batchSizeBytes(bytes, position)
      expected = header.baseOffset + header.lastOffsetDelta + 1
    }
    return false
  }

  /**
   * The first record whose timestamp is ≥ `timestamp` (Kafka's ListOffsets by time, LogSegment.findOffsetByTimestamp):
   * the time index and batch headers find the first batch whose maxTimestamp is that recent, then that one batch is
   * decoded (decompressed if need be; off the produce and fetch paths) for the record's exact offset and timestamp,
   * never below the log start offset. Undefined when no record is that recent.
   */
  async offsetForTimestamp (timestamp: number): Promise<{ offset: Offset; timestamp: number } | undefined> {
    this.#assertReadable()
    for (const segment of this.#segments.slice()) {
      if ((await segment.maxTimestamp()) < timestamp) continue
      const found = await segment.findOffsetForTimestamp(timestamp, this.#logStartOffset)
      this.#noteIndexUse(segment)
      if (found !== undefined) {
        const batchOffset = offset(Math.max(found.offset, this.#logStartOffset))
        return await this.#recordAtOrAfter(batchOffset, timestamp) ?? { offset: batchOffset, timestamp: found.timestamp }
      }
    }
    return undefined
  }

  /**
   * The first record of the batch holding `from` at or past `from` whose timestamp is ≥ `timestamp`. Undefined when
   * the records do not decode: the log checks a batch's header and CRC, never its records, so a producer's malformed
   * records are its own problem and the answer falls back to the batch.
   */
  async #recordAtOrAfter (from: Offset, timestamp: number): Promise<{ offset: Offset; timestamp: number } | undefined> {
    const read = await this.read({ offset: from, bytesMax: 1 }) // at least one whole batch
    if (read.bytes.length === 0) return undefined
    let records
    try {
      records = parseBatch(read.bytes, 0, {
        batchBytesMax: Math.max(read.bytes.length, recordsLimits.batchBytesMax),
      }).records
    } catch (error) {
      if (isGregorError(error) && error.code === ErrorCode.CORRUPT_MESSAGE) return undefined
      throw error
    }
    const record = records.find((item) => item.offset >= from && item.timestamp >= timestamp)
    return record === undefined ? undefined : { offset: offset(record.offset), timestamp: record.timestamp }
  }

  /**
   * The largest batch maxTimestamp in the log, -1 when it holds no batch (Kafka's ListOffsets MAX_TIMESTAMP, KIP-734:
   * `offsetForTimestamp` of it then finds the first batch that carries it).
   */
  async maxTimestamp (): Promise<number> {
    this.#assertReadable()
    let max = -1
    for (const segment of this.#segments.slice()) max = Math.max(max, await segment.maxTimestamp())
    return max
  }

  // ---- truncation, retention ----

  /**
   * Removes every batch whose last offset is ≥ `target` (a batch holding `target` goes whole, so the log may end
   * below `target`); a no-op at or past the log end; below the log start it empties the log and restarts it there.
   * Truncates the epoch cache too and syncs the change before resolving.
   */
  async truncateTo (target: Offset): Promise<void> {
    assertOffset(target)
    await this.#writer.run(async () => {
      this.#assertWritable()
      if (target >= this.logEndOffset) return
      if (target < this.#logStartOffset) {
        await this.#guard(async () => { await this.#restartAt(target) })
        return
      }
      await this.#guard(async () => { await this.#truncate(target) })
    })
  }

  /** Deletes the whole log and restarts it, empty, at `target` (a follower far behind the leader's log start). */
  async truncateFullyAndStartAt (target: Offset): Promise<void> {
    assertOffset(target)
    await this.#writer.run(async () => {
      this.#assertWritable()
      await this.#guard(async () => { await this.#restartAt(target) })
    })
  }

  async #truncate (target: number): Promise<void> {
    await this.#groupCommit.idle()
    let firstGone = this.#segments.findIndex((s) => s.baseOffset >= target)
    if (firstGone < 1) firstGone = firstGone === 0 ? 1 : this.#segments.length
    const gone = this.#segments.splice(firstGone)
    for (const segment of gone) await segment.delete()
    if (gone.length > 0) await fsyncDirectory(this.#fs, this.dir)
    this.#forgetIndexUse(this.#active)
    const removedBytes = await this.#active.truncateTo(target) + gone.reduce((sum, s) => sum + s.sizeBytes, 0)
    const logEndOffset = this.logEndOffset
    this.#epochCache.truncateFromEnd(logEndOffset)
    await this.#epochCache.flush()
    this.#groupCommit.truncateTo(logEndOffset)
    this.#recoveryPoint = Math.min(this.#recoveryPoint, logEndOffset)
    await this.#lowerCleanerCheckpoint(logEndOffset)
    this.#logger.info({ offset: target, logEndOffset, removedBytes, deletedSegments: gone.length }, 'log truncated')
  }

  async #restartAt (target: number): Promise<void> {
    await this.#groupCommit.idle()
    const gone = this.#segments.splice(0)
    for (const segment of gone) await segment.delete()
    this.#recentlyRead = []
    this.#segments.push(await LogSegment.create(this.dir, target, this.#segmentDeps))
    await fsyncDirectory(this.#fs, this.dir)
    this.#logStartOffset = target
    this.#recoveryPoint = target
    this.#epochCache.clear()
    await this.#epochCache.flush()
    this.#groupCommit.restartAt(target)
    await this.#lowerCleanerCheckpoint(target)
    this.#maybeFinishRefetch()
    this.#logger.info({ offset: target, deletedSegments: gone.length }, 'log truncated fully')
  }

  /** Advances the log start offset to `target` (≤ logEndOffset; the broker checks the high watermark) and deletes
   * the segments wholly below it. Returns the new log start offset. */
  async deleteRecordsBefore (target: Offset): Promise<Offset> {
    assertOffset(target)
    return await this.#writer.run(async () => {
      this.#assertWritable()
      if (target > this.logEndOffset) {
        throw new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'log start offset beyond the log end', {
          details: { offset: target, logEndOffset: this.logEndOffset },
        })
      }
      if (target <= this.#logStartOffset) return this.logStartOffset
      await this.#guard(async () => {
        this.#logStartOffset = target
        let below = 0
        while (below + 1 < this.#segments.length && (this.#segments[below + 1] as LogSegment).baseOffset <= target) below += 1
        await this.#deleteOldest(below)
        await this.#trimEpochsToLogStart()
        this.#logger.info({ logStartOffset: target, deletedSegments: below }, 'log start offset advanced')
      })
      return this.logStartOffset
    })
  }

  /**
   * Deletes whole segments by time (`retentionMs` against `nowMs`), by size (`retentionBytes`) and below the log start
   * offset, oldest first, never past `highWatermark` (default: the log end). See log-retention.ts for the rules.
   */
  async applyRetention (nowMs: number, options: { highWatermark?: Offset } = {}): Promise<RetentionResult> {
    return await this.#writer.run(async () => {
      this.#assertWritable()
      const logEndOffset = this.logEndOffset
      const plan = await planRetention(this.#segments, {
        nowMs,
        retentionMs: this.#config.retentionMs,
        retentionBytes: this.#config.retentionBytes,
        logEndOffset,
        highWatermark: Math.min(options.highWatermark ?? logEndOffset, logEndOffset),
        logStartOffset: this.#logStartOffset,
      })
      if (plan.count === 0) return { deletedSegments: 0, logStartOffset: this.logStartOffset }
      await this.#guard(async () => {
        if (plan.count === this.#segments.length) await this.#roll(nowMs)
        await this.#deleteOldest(plan.count)
        this.#logStartOffset = Math.max(this.#logStartOffset, (this.#segments[0] as LogSegment).baseOffset)
        await this.#trimEpochsToLogStart()
      })
      this.#logger.info({
        deletedSegments: plan.count, byTime: plan.byTime, bySize: plan.bySize, byStartOffset: plan.byStartOffset, logStartOffset: this.#logStartOffset,
      }, 'segments deleted by retention')
      return { deletedSegments: plan.count, logStartOffset: this.logStartOffset }
    })
  }

  async #deleteOldest (count: number): Promise<void> {
    const gone = this.#segments.splice(0, count)
    for (const segment of gone) {
      this.#forgetIndexUse(segment)
      await segment.delete()
    }
    if (gone.length > 0) await fsyncDirectory(this.#fs, this.dir)
  }

  async #trimEpochsToLogStart (): Promise<void> {
    this.#epochCache.truncateFromStart(offset(this.#logStartOffset))
    await this.#epochCache.flush()
  }

  // ---- compaction ----

  /**
   * One cleaning pass (log-cleaner.ts) when `cleanupPolicy` compacts and the dirty ratio of the cleanable part (see
   * clean-plan.ts: inactive segments below `highWatermark`, default the log end) reaches `minCleanableDirtyRatio`.
   * Runs beside appends and reads; only each swap takes the writer's turn. One pass at a time per log: a call while
   * one runs returns at once. I/O failures during a swap take the log offline, as on the write path; failures while
   * reading or writing the cleaned copy only fail the pass.
   */
  async clean (nowMs: number, options: { highWatermark?: Offset } = {}): Promise<CleanResult> {
    const idle = (reason: string, dirtyRatio = 0): CleanResult => ({
      cleaned: false, reason, firstDirtyOffset: offset(this.#firstDirtyOffset ?? this.#logStartOffset), dirtyRatio, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, moreToClean: false,
    })
    if (this.#config.cleanupPolicy === 'delete') return idle('not compacted')
    if (this.#cleaning) return idle('already cleaning')
    this.#assertWritable()
    this.#cleaning = true
    const startedMs = this.#clock?.nowMs()
    try {
      const logEndOffset = this.logEndOffset
      const plan = await planClean(this.#segments.slice(), {
        nowMs,
        logStartOffset: this.#logStartOffset,
        logEndOffset,
        highWatermark: Math.min(options.highWatermark ?? logEndOffset, logEndOffset),
        firstDirtyOffset: this.#firstDirtyOffset,
        minCleanableDirtyRatio: this.#config.minCleanableDirtyRatio,
        minCompactionLagMs: this.#config.minCompactionLagMs,
      })
      if (!plan.shouldClean) return idle(plan.dirtyBytes === 0 ? 'nothing dirty' : 'below dirty ratio', plan.dirtyRatio)
      const pass = await runCleanPass({
        dir: this.dir,
        fs: this.#fs,
        clock: this.#clock,
        timers: this.#timers,
        config: this.#config,
        logger: this.#logger,
        segments: () => this.#segments,
        isOpen: () => this.#state === 'open',
        swapIn: async (group, cleaned) => await this.#writer.run(async () => await this.#swapIn(group, cleaned)),
      }, plan, { nowMs })
      if (pass.cleanedTo !== undefined) {
        this.#firstDirtyOffset = pass.cleanedTo
        await this.#cleanerCheckpoint.write([pass.cleanedTo])
      }
      const durationMs = startedMs === undefined ? undefined : Math.round((this.#clock as Clock).nowMs() - startedMs)
      const fields = {
        bytesBefore: pass.bytesBefore, bytesAfter: pass.bytesAfter, recordsRemoved: pass.recordsRemoved, durationMs,
        segmentsBefore: pass.segmentsBefore, segmentsAfter: pass.segmentsAfter, dirtyRatio: plan.dirtyRatio,
        firstDirtyOffset: this.#firstDirtyOffset, mapFull: pass.mapFull,
      }
      if (pass.stopped === undefined) this.#logger.info(fields, 'log cleaned')
      else this.#logger.warn({ ...fields, reason: pass.stopped }, 'log clean stopped')
      return {
        cleaned: pass.segmentsAfter > 0,
        ...(pass.stopped === undefined ? {} : { reason: pass.stopped }),
        firstDirtyOffset: offset(this.#firstDirtyOffset ?? this.#logStartOffset),
        dirtyRatio: plan.dirtyRatio,
        bytesBefore: pass.bytesBefore,
        bytesAfter: pass.bytesAfter,
        recordsRemoved: pass.recordsRemoved,
        moreToClean: pass.mapFull,
      }
    } finally {
      this.#cleaning = false
    }
  }

  /** The cleaner checkpoint (for tests and tools): below it the log was cleaned. */
  get cleanerCheckpoint (): Offset | undefined {
    return this.#firstDirtyOffset === undefined ? undefined : offset(this.#firstDirtyOffset)
  }

  /**
   * On the writer turn: replaces `group` by the cleaned segment if the group is still in the log, inactive. The
   * order is what makes a crash safe (log-loader.ts completes or discards it): `.cleaned` → `.swap` (directory
   * synced), old segments deleted, `.swap` → `.log` (directory synced), indexes written.
   */
  async #swapIn (group: readonly LogSegment[], cleaned: CleanedSegment): Promise<boolean> {
    if (this.#state !== 'open') return false
    const start = this.#segments.indexOf(group[0] as LogSegment)
    const inPlace = start >= 0 && start + group.length < this.#segments.length &&
      group.every((segment, i) => this.#segments[start + i] === segment && !segment.deleted)
    if (!inPlace) return false
    let done!: () => void
    this.#swapping = new Promise((resolve) => { done = resolve })
    try {
      await this.#guard(async () => {
        const logPath = join(this.dir, segmentFileName(cleaned.baseOffset, LOG_FILE_SUFFIX))
        const swapPath = logPath + SWAP_FILE_SUFFIX
        await this.#fs.rename(cleaned.path, swapPath)
        await fsyncDirectory(this.#fs, this.dir)
        for (const segment of group) {
          this.#forgetIndexUse(segment)
          await segment.delete()
        }
        await this.#fs.rename(swapPath, logPath)
        await fsyncDirectory(this.#fs, this.dir)
        const segment = LogSegment.existing(this.dir, cleaned.baseOffset, { sizeBytes: cleaned.sizeBytes, nextOffset: cleaned.nextOffset }, this.#segmentDeps)
        segment.resetIndexes()
        for (const batch of cleaned.batches) segment.indexBatch(batch)
        segment.setRecoveredEnd(cleaned.sizeBytes, cleaned.nextOffset)
        this.#segments.splice(start, group.length, segment)
        await segment.persistIndexes()
        segment.unloadIndexes()
      })
    } finally {
      this.#swapping = undefined
      done()
    }
    return true
  }

  /** After a truncation below the cleaner checkpoint: what follows it is new, hence dirty. */
  async #lowerCleanerCheckpoint (logEndOffset: number): Promise<void> {
    if (this.#firstDirtyOffset === undefined || this.#firstDirtyOffset <= logEndOffset) return
    this.#firstDirtyOffset = logEndOffset
    await this.#cleanerCheckpoint.write([logEndOffset])
  }

  // ---- leader epochs ----

  /** Records that `epoch` starts at `startOffset` (a new leader calls this with its log end offset), durably. */
  async assignLeaderEpoch (epoch: LeaderEpoch, startOffset: Offset): Promise<void> {
    await this.#writer.run(async () => {
      this.#assertWritable()
      this.#epochCache.assign(epoch, startOffset)
      await this.#guard(async () => { await this.#epochCache.flush() })
    })
  }

  /** The epoch entries (for tests and admin tools). */
  get leaderEpochs (): readonly EpochEntry[] {
    return this.#epochCache.entries
  }

  // ---- closing ----

  /**
   * Waits for queued appends, syncs everything, writes the active segment's indexes and the epoch cache, leaves the
   * clean-shutdown marker (so the next open skips recovery) and releases the file handles. A failed log only
   * releases its handles: the next open recovers it.
   */
  close (): Promise<void> {
    this.#closed ??= this.#writer.run(async () => { await this.#close() })
    if (this.#state === 'open') this.#state = 'closing'
    return this.#closed
  }

  async #close (): Promise<void> {
    let closeError: GregorError | undefined
    try {
      if (this.#failure === undefined) {
        await this.#groupCommit.syncAll()
        for (const segment of this.#segments) await segment.persistIndexes()
        await this.#epochCache.flush()
        // Known-corrupt bytes still in a file: the next open must scan (from the re-fetch marker's segment), not trust.
        if (this.#corruption === undefined) {
          const marker = await this.#fs.open(join(this.dir, CLEAN_SHUTDOWN_FILE), 'w')
          await marker.close()
          await fsyncDirectory(this.#fs, this.dir)
        }
        this.#logger.info({ logEndOffset: this.logEndOffset }, 'log closed')
      }
    } catch (error) {
      closeError = this.#fail(error)
    } finally {
      this.#state = 'closed'
      await Promise.all(this.#segments.map(async (s) => await this.#files.forget(s.logPath)))
      if (this.#ownsFiles) await this.#files.closeAll()
    }
    if (closeError !== undefined) throw closeError
  }

  // ---- internals ----

  async #guard (operation: () => Promise<void>): Promise<void> {
    try {
      await operation()
    } catch (error) {
      if (isGregorError(error) && error.code !== ErrorCode.KAFKA_STORAGE_ERROR) throw error
      throw this.#fail(error)
    }
  }

  /** Takes the log offline: every later call fails with KAFKA_STORAGE_ERROR. */
  #fail (error: unknown): GregorError {
    if (this.#failure !== undefined) return this.#failure
    this.#failure = isGregorError(error) && error.code === ErrorCode.KAFKA_STORAGE_ERROR
      ? error
      : storageError('partition log failed', { cause: error, details: errnoDetails(error) })
    if (this.#state === 'open' || this.#state === 'closing') this.#state = 'failed'
    this.#logger.error({ err: error, logEndOffset: this.#active.nextOffset }, 'partition log failed')
    this.#appender.rejectQueued(this.#failure)
    this.#onFailure?.(this.#failure)
    return this.#failure
  }

  #notWritable (): GregorError {
    if (this.#failure !== undefined) return this.#failure
    return new GregorError(ErrorCode.SHUTTING_DOWN, 'partition log is closed', { details: { topic: this.topic, partition: this.partition } })
  }

  #assertWritable (): void {
    if (this.#state !== 'open') throw this.#notWritable()
  }

  #assertReadable (): void {
    if (this.#state === 'closed' || this.#state === 'failed') throw this.#notWritable()
  }

  #afterWrite (): void {
    this.#maybeFinishRefetch()
    this.#tell(this.#onWritten, offset(this.logEndOffset), 'write listener failed')
  }

  /** Tells a listener (onRoll, onWritten) of `at`; its bug must not take the log offline, what it heard of succeeded. */
  #tell (listener: ((at: Offset) => void) | undefined, at: Offset, failedMessage: string): void {
    try {
      listener?.(at)
    } catch (error) {
      this.#logger.warn({ err: error, offset: at }, failedMessage)
    }
  }

  /**
   * This follower's log has reached `leaderLogEndOffset`, the leader's log end when it read the records just appended:
   * it holds everything the leader held, so everything ever committed (a leader is elected holding all of it). A
   * re-fetch owed beyond that point could never complete (no other copy has that data: it was never committed), so
   * it ends here rather than keep the replica out of the ISR until producers happen to write that far.
   */
  caughtUpWithLeader (leaderLogEndOffset: number): void {
    const corruption = this.#corruption
    if (corruption === undefined || this.logEndOffset < leaderLogEndOffset || corruption.refetchToOffset <= leaderLogEndOffset) return
    this.#corruption = { ...corruption, refetchToOffset: leaderLogEndOffset }
    this.#maybeFinishRefetch()
  }

  #maybeFinishRefetch (): void {
    if (this.#corruption === undefined || this.logEndOffset < this.#corruption.refetchToOffset) return
    this.#logger.info({ logEndOffset: this.logEndOffset, ...this.#corruption }, 'refetch after corruption complete')
    this.#corruption = undefined
    // A crash before this lands leaves a marker the next open finds satisfied (the log reaches it) and removes.
    clearRefetchMarker(this.#fs, this.dir).catch((error: unknown) => { this.#logger.warn({ err: error }, 'refetch marker not removed') })
  }

  #readFailure (error: unknown, start: number, segment: LogSegment): Error {
    if (hasErrno(error, 'ENOENT') && start < this.#logStartOffset) {
      return new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'read offset was deleted', { details: { offset: start } })
    }
    if (isGregorError(error)) {
      if (error.details.corruptSegment === true) {
        this.#markCorrupt({
          offset: segment.baseOffset, refetchToOffset: this.#active.nextOffset, segmentBaseOffset: segment.baseOffset,
          position: Number(error.details.position ?? 0), reason: String(error.details.reason),
        }, 'corrupt segment found on read')
      }
      return error
    }
    const failure = storageError('read failed', { cause: error, details: { offset: start, ...errnoDetails(error) } })
    this.#onFailure?.(failure)
    return failure
  }

  /** Records runtime corruption once: needsRefetch, the marker (before the broker's reopen truncates), the hook. */
  #markCorrupt (report: CorruptionReport, message: string): void {
    if (this.#corruption !== undefined) return
    this.#corruption = report
    this.#logger.error({ ...report }, message)
    // The reopen that truncates waits for the writer's turn, which this write holds: a crash can never find the log
    // cut back without the record that it owes a re-fetch.
    void this.#writer.run(async () => { await writeRefetchMarker(this.#fs, this.dir, report) })
      .catch((marker: unknown) => { this.#logger.warn({ err: marker }, 'refetch marker not written') })
      .finally(() => { this.#tellCorruption(report) })
  }

  #tellCorruption (report: CorruptionReport): void {
    try {
      this.#onCorruption?.(report)
    } catch (error) {
      this.#logger.warn({ err: error }, 'corruption listener failed')
    }
  }

  #segmentIndexFor (target: number): number {
    let low = 0
    let high = this.#segments.length - 1
    while (low < high) {
      const mid = (low + high + 1) >>> 1
      if ((this.#segments[mid] as LogSegment).baseOffset <= target) low = mid
      else high = mid - 1
    }
    return low
  }

  /** Keeps at most LOADED_INACTIVE_INDEXES_MAX inactive segments' indexes in memory. */
  #noteIndexUse (segment: LogSegment): void {
    if (segment === this.#active) return
    this.#recentlyRead = [segment, ...this.#recentlyRead.filter((s) => s !== segment)]
    while (this.#recentlyRead.length > LOADED_INACTIVE_INDEXES_MAX) {
      const evicted = this.#recentlyRead.pop() as LogSegment
      if (evicted !== this.#active) evicted.unloadIndexes()
    }
  }

  #forgetIndexUse (segment: LogSegment): void {
    this.#recentlyRead = this.#recentlyRead.filter((s) => s !== segment)
  }
}

/** Why the batch at `position` is not one this log may serve (full validation), or undefined. */
function batchProblem (
  bytes: Buffer, position: number, expectedOffset: number, expectedEpoch: (at: number) => number | undefined, offsetGaps: boolean,
): string | undefined {
  try {
    validateBatch(bytes, position, { ...recordsLimits, batchBytesMax: bytes.length - position, denseOffsets: !offsetGaps })
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  const header = readBatchHeader(bytes, position)
  if (offsetGaps ? header.baseOffset < expectedOffset : header.baseOffset !== expectedOffset) return 'batch offset does not continue the log'
  const epoch = expectedEpoch(header.baseOffset)
  if (epoch !== undefined && header.partitionLeaderEpoch !== epoch) return 'batch leader epoch is not the epoch cache\'s'
  return undefined
}

function assertOffset (value: number): void {
  assert.ok(Number.isSafeInteger(value) && value >= 0, `offset must be a non-negative safe integer, got ${value}`)
}

/**
 * The corruption this open must report: the loader's, merged with a re-fetch marker left by an earlier open that the
 * log has not yet satisfied; written durably before the log is used, or removed once satisfied.
 */
async function owedRefetch (fs: FileSystem, dir: string, loaded: LoadedLog, marker: CorruptionReport | undefined): Promise<CorruptionReport | undefined> {
  const logEndOffset = loaded.segments.at(-1)?.nextOffset ?? loaded.logStartOffset
  const owed = marker !== undefined && logEndOffset < marker.refetchToOffset ? marker : undefined
  const corruption = loaded.corruption === undefined
    ? owed
    : owed === undefined ? loaded.corruption : { ...loaded.corruption, refetchToOffset: Math.max(loaded.corruption.refetchToOffset, owed.refetchToOffset) }
  if (corruption !== undefined) await writeRefetchMarker(fs, dir, corruption)
  else if (marker !== undefined) await clearRefetchMarker(fs, dir)
  return corruption
}

/**
 * The single appender of a partition log: queues append requests, and on the log's writer turn writes everything
 * queued with as few positioned writevs as possible (write coalescing), rolling segments on the way.
 *
 * Owns: the queue and the offset assignment. Requests are validated on the caller's turn (`layoutBatches`), so the
 * drain only checks what depends on the log's state at that moment (offset continuity for followers, leader-epoch
 * fencing, re-fetch state), assigns offsets, stamps, feeds the epoch cache and writes. Durability is `GroupCommit`'s
 * business: a written group registers its waiters and the drain goes on writing, so the next group is written while
 * the previous one's fdatasync is in flight.
 *
 * Invariants: requests are written in the order they were queued; leader requests get dense offsets in that order,
 * follower requests keep the leader's (increasing, with gaps where the leader's cleaner removed whole batches); a request is
 * never split across segments or writes; the epoch checkpoint is flushed before the first batch of a new epoch is
 * written; on any error in a write or roll, the log goes offline (`host.fail`) and every request not yet acknowledged
 * is rejected with that failure.
 */
import { ErrorCode, GregorError, type LeaderEpoch, type Offset, leaderEpoch, offset } from '@gregor/common'
import { stampBatch } from '@gregor/records'
import { type BatchLayout, layoutBatches, offsetSpan } from './batch-layout.js'
import type { ScannedBatch } from './batch-scanner.js'
import type { GroupCommit } from './group-commit.js'
import type { LeaderEpochCache } from './leader-epoch-cache.js'
import type { LogConfig } from './log-config.js'
import type { LogSegment } from './log-segment.js'

export interface AppendResult {
  readonly baseOffset: Offset
  readonly lastOffset: Offset
  readonly logEndOffset: Offset
}

/** What the appender needs from its `PartitionLog`. */
export interface AppenderHost {
  readonly config: LogConfig
  readonly epochCache: LeaderEpochCache
  readonly groupCommit: GroupCommit
  activeSegment (): LogSegment
  /** Runs `task` on the log's writer turn (one at a time with rolls, truncations, retention, close). */
  runExclusive (task: () => Promise<void>): Promise<void>
  /** Why the log takes no appends now (closed, offline), if it does not. */
  notWritable (): Error | undefined
  /** Why this replica may not lead (needs re-fetch), if it may not. */
  notLeaderCapable (): Error | undefined
  roll (nowMs: number | undefined): Promise<void>
  /** Takes the log offline; returns the failure to report. */
  fail (error: unknown): Error
  /** Called after every successful write. */
  afterWrite (): void
}

interface AppendRequest {
  readonly buffer: Buffer
  readonly layout: readonly BatchLayout[]
  /** Leader epoch to stamp (leader path), or undefined (follower path: keep the leader's offsets and epochs). */
  readonly leaderEpoch: LeaderEpoch | undefined
  readonly nowMs: number | undefined
  readonly resolve: (result: AppendResult) => void
  readonly reject: (error: unknown) => void
}

/** Appends collected for one write into one segment. */
interface PendingWrite {
  readonly segment: LogSegment
  readonly buffers: Buffer[]
  readonly batches: ScannedBatch[]
  readonly completions: Array<{ request: AppendRequest; baseOffset: number; lastOffset: number }>
  totalBytes: number
  nextOffset: number
}

const INT32_MAX = 2 ** 31 - 1
/** Bound on one coalesced write, so one huge group does not hold back the acknowledgements of its first appends. */
const WRITE_GROUP_BYTES_MAX = 8 * 1024 * 1024

export class LogAppender {
  readonly #host: AppenderHost
  #queue: AppendRequest[] = []
  #draining = false

  constructor (host: AppenderHost) {
    this.#host = host
  }

  /** Validates `buffer` and queues it; resolves once written and durable under the flush policy. */
  enqueue (buffer: Buffer, epoch: LeaderEpoch | undefined, nowMs: number | undefined): Promise<AppendResult> {
    let layout: BatchLayout[]
    try {
      const notWritable = this.#host.notWritable()
      if (notWritable !== undefined) throw notWritable
      const offsetGaps = epoch === undefined && this.#host.config.cleanupPolicy !== 'delete'
      layout = layoutBatches(buffer, this.#host.config, !offsetGaps)
      if (epoch === undefined) assertIncreasing(layout, offsetGaps)
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ buffer, layout, leaderEpoch: epoch, nowMs, resolve, reject })
      if (this.#draining) return
      this.#draining = true
      void this.#host.runExclusive(async () => { await this.#drain() })
    })
  }

  /** Rejects everything still queued (the log went offline). */
  rejectQueued (error: Error): void {
    const queued = this.#queue
    this.#queue = []
    for (const request of queued) request.reject(error)
  }

  async #drain (): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const requests = this.#queue
        this.#queue = []
        await this.#appendAll(requests)
      }
    } finally {
      this.#draining = false
    }
  }

  async #appendAll (requests: readonly AppendRequest[]): Promise<void> {
    let group = this.#newGroup()
    /** Index of the first request neither placed in a group nor rejected. */
    let next = 0
    try {
      for (const request of requests) {
        const problem = this.#admissionProblem(request, group.nextOffset)
        if (problem !== undefined) {
          request.reject(problem)
          next += 1
          continue
        }
        if (this.#shouldRoll(group, request)) {
          await this.#write(group)
          group = this.#newGroup()
          await this.#host.roll(request.nowMs)
          group = this.#newGroup()
        } else if (group.totalBytes + request.buffer.length > WRITE_GROUP_BYTES_MAX) {
          await this.#write(group)
          group = this.#newGroup()
        }
        this.#place(group, request)
        next += 1
      }
      await this.#write(group)
    } catch (error) {
      const failure = this.#host.fail(error)
      for (const completion of group.completions) completion.request.reject(failure)
      for (const request of requests.slice(next)) request.reject(failure)
    }
  }

  #newGroup (): PendingWrite {
    const segment = this.#host.activeSegment()
    return { segment, buffers: [], batches: [], completions: [], totalBytes: 0, nextOffset: segment.nextOffset }
  }

  #admissionProblem (request: AppendRequest, nextOffset: number): Error | undefined {
    const notWritable = this.#host.notWritable()
    if (notWritable !== undefined) return notWritable
    const first = request.layout[0] as BatchLayout
    if (request.leaderEpoch === undefined) {
      // Kafka's rule, baseOffset ≥ log end, for a compacted log (above it is a gap the leader's cleaner made);
      // exactly the log end otherwise, where a gap can only be a bug or corruption.
      if (first.baseOffset === nextOffset || (first.baseOffset > nextOffset && this.#host.config.cleanupPolicy !== 'delete')) return undefined
      return new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'follower append does not continue the log end offset', {
        details: { baseOffset: first.baseOffset, logEndOffset: nextOffset },
      })
    }
    const notLeaderCapable = this.#host.notLeaderCapable()
    if (notLeaderCapable !== undefined) return notLeaderCapable
    const latest = this.#host.epochCache.latestEpoch
    if (latest !== undefined && request.leaderEpoch < latest) {
      return new GregorError(ErrorCode.FENCED_LEADER_EPOCH, 'append with a leader epoch older than the log\'s latest', {
        details: { leaderEpoch: request.leaderEpoch, latestEpoch: latest },
      })
    }
    if (nextOffset + offsetSpan(request.layout) > Number.MAX_SAFE_INTEGER) {
      return new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'offsets would exceed 2^53', { details: { nextOffset } })
    }
    return undefined
  }

  #shouldRoll (group: PendingWrite, request: AppendRequest): boolean {
    const { segment } = group
    const { config } = this.#host
    const sizeBytes = segment.sizeBytes + group.totalBytes
    if (sizeBytes === 0) return false
    const last = request.layout.at(-1) as BatchLayout
    const lastOffset = request.leaderEpoch === undefined
      ? last.baseOffset + last.lastOffsetDelta
      : group.nextOffset + offsetSpan(request.layout) - 1
    return sizeBytes + request.buffer.length > config.segmentBytes ||
      lastOffset - segment.baseOffset > INT32_MAX ||
      (request.nowMs !== undefined && segment.isOlderThan(request.nowMs, config.segmentMs))
  }

  /** Assigns offsets (leader path), stamps, feeds the epoch cache and adds the request to the group. */
  #place (group: PendingWrite, request: AppendRequest): void {
    const segmentPosition = group.segment.sizeBytes + group.totalBytes
    const isLeader = request.leaderEpoch !== undefined
    const baseOffset = isLeader ? group.nextOffset : (request.layout[0] as BatchLayout).baseOffset
    let next = baseOffset
    for (const batch of request.layout) {
      const batchBase = isLeader ? next : batch.baseOffset
      const epoch = isLeader ? request.leaderEpoch as number : batch.partitionLeaderEpoch
      if (isLeader) stampBatch(request.buffer, batch.position, { baseOffset: batchBase, partitionLeaderEpoch: epoch })
      if (epoch >= 0) this.#host.epochCache.assign(leaderEpoch(epoch), offset(batchBase))
      const lastOffset = batchBase + batch.lastOffsetDelta
      group.batches.push({
        position: segmentPosition + batch.position,
        sizeBytes: batch.sizeBytes,
        baseOffset: batchBase,
        lastOffset,
        maxTimestamp: batch.maxTimestamp,
        partitionLeaderEpoch: epoch,
      })
      next = lastOffset + 1
    }
    group.segment.noteAppend(request.nowMs)
    group.buffers.push(request.buffer)
    group.totalBytes += request.buffer.length
    group.completions.push({ request, baseOffset, lastOffset: next - 1 })
    group.nextOffset = next
  }

  async #write (group: PendingWrite): Promise<void> {
    if (group.buffers.length === 0) return
    const { epochCache, groupCommit, config } = this.#host
    if (epochCache.dirty) await epochCache.flush()
    await group.segment.append(group.buffers, group.totalBytes, group.batches)
    groupCommit.markWritten(group.segment.nextOffset, group.segment)
    this.#host.afterWrite()
    const logEndOffset = offset(group.segment.nextOffset)
    for (const { request, baseOffset, lastOffset } of group.completions) {
      const result: AppendResult = { baseOffset: offset(baseOffset), lastOffset: offset(lastOffset), logEndOffset }
      if (config.flush === 'always') {
        groupCommit.whenDurable(lastOffset + 1, () => { request.resolve(result) }, request.reject)
      } else {
        request.resolve(result)
      }
    }
  }
}

/** Follower batches continue each other: densely, or in a compacted log at or after their predecessor's end. */
function assertIncreasing (layout: readonly BatchLayout[], offsetGaps: boolean): void {
  for (let i = 1; i < layout.length; i++) {
    const previous = layout[i - 1] as BatchLayout
    const batch = layout[i] as BatchLayout
    const end = previous.baseOffset + previous.lastOffsetDelta + 1
    if (offsetGaps ? batch.baseOffset < end : batch.baseOffset !== end) {
      throw new GregorError(ErrorCode.CORRUPT_MESSAGE, 'follower batches are not contiguous', {
        details: { expected: previous.baseOffset + previous.lastOffsetDelta + 1, baseOffset: batch.baseOffset },
      })
    }
  }
}

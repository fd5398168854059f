/**
 * What a cleaning pass may touch and whether it should run: the decision only (pure but for lazily read timestamps),
 * so that the rules can be tested on their own; log-cleaner.ts does the I/O. Kafka's rules (LogCleanerManager
 * `cleanableOffsets` and `LogToClean`, `Cleaner.groupSegmentsBySize`), on whole segments:
 * - The *cleanable* part is a prefix of the segments: it stops at the active segment (never cleaned), at the first
 *   segment that reaches past the high watermark (its end, the next segment's base offset, is > it: a replica never
 *   rewrites what a leader change could still truncate), and, with `minCompactionLagMs` > 0, at the first dirty
 *   segment whose newest timestamp is younger than the lag.
 * - `firstDirtyOffset` is the cleaner checkpoint: everything below it was cleaned by an earlier pass. Outside
 *   [logStartOffset, logEndOffset] (truncation, a missing checkpoint) it falls back to the log start offset, so the
 *   whole log counts as dirty, as Kafka resets an invalid checkpoint.
 * - Dirty bytes are the sizes of the cleanable segments from the one holding `firstDirtyOffset` on; the pass runs
 *   only when dirty bytes > 0 and dirty / cleanable bytes ≥ `minCleanableDirtyRatio`.
 * - Rewritten segments are grouped: consecutive segments whose sizes sum to at most `segmentBytes` (a larger one
 *   alone) and whose offsets fit one index (relative offsets are int32) become one cleaned segment named after the
 *   group's first base offset, so segments that cleaning shrank merge instead of accumulating.
 */
export interface CleanSegment {
  readonly baseOffset: number
  readonly sizeBytes: number
  maxTimestamp (): Promise<number>
}

export interface CleanLimits {
  readonly nowMs: number
  readonly logStartOffset: number
  readonly logEndOffset: number
  readonly highWatermark: number
  /** The cleaner checkpoint (undefined: none yet). */
  readonly firstDirtyOffset: number | undefined
  readonly minCleanableDirtyRatio: number
  readonly minCompactionLagMs: number
}

export interface CleanPlan {
  /** Segments [0, cleanableCount) may be rewritten; never the active one. */
  readonly cleanableCount: number
  /** Index of the segment holding `firstDirtyOffset`. */
  readonly firstDirtyIndex: number
  /** The checkpoint, clamped into the log. */
  readonly firstDirtyOffset: number
  /** Base offset of the first segment that must not be cleaned (the offset-map pass stops there). */
  readonly firstUncleanableOffset: number
  readonly cleanableBytes: number
  readonly dirtyBytes: number
  readonly dirtyRatio: number
  readonly shouldClean: boolean
}

const INT32_MAX = 2 ** 31 - 1

export async function planClean (segments: readonly CleanSegment[], limits: CleanLimits): Promise<CleanPlan> {
  const checkpoint = limits.firstDirtyOffset
  const firstDirtyOffset = checkpoint === undefined || checkpoint < limits.logStartOffset || checkpoint > limits.logEndOffset
    ? limits.logStartOffset
    : checkpoint
  let firstDirtyIndex = 0
  while (firstDirtyIndex + 1 < segments.length && (segments[firstDirtyIndex + 1] as CleanSegment).baseOffset <= firstDirtyOffset) {
    firstDirtyIndex += 1
  }
  let cleanableCount = 0
  while (cleanableCount + 1 < segments.length) {
    const segment = segments[cleanableCount] as CleanSegment
    const end = (segments[cleanableCount + 1] as CleanSegment).baseOffset
    if (end > limits.highWatermark) break
    if (limits.minCompactionLagMs > 0 && cleanableCount >= firstDirtyIndex && segment.sizeBytes > 0) {
      const maxTimestamp = await segment.maxTimestamp()
      if (maxTimestamp > limits.nowMs - limits.minCompactionLagMs) break
    }
    cleanableCount += 1
  }
  const bytes = (from: number, to: number): number => segments.slice(from, to).reduce((sum, s) => sum + s.sizeBytes, 0)
  const cleanableBytes = bytes(0, cleanableCount)
  const dirtyBytes = firstDirtyIndex < cleanableCount ? bytes(firstDirtyIndex, cleanableCount) : 0
  const dirtyRatio = cleanableBytes === 0 ? 0 : dirtyBytes / cleanableBytes
  return {
    cleanableCount,
    firstDirtyIndex,
    firstDirtyOffset,
    firstUncleanableOffset: (segments[cleanableCount] as CleanSegment | undefined)?.baseOffset ?? limits.logEndOffset,
    cleanableBytes,
    dirtyBytes,
    dirtyRatio,
    shouldClean: dirtyBytes > 0 && dirtyRatio >= limits.minCleanableDirtyRatio,
  }
}

/**
 * Groups segments [0, count) (each followed by another segment, so its end offset is known) for rewriting: returns
 * [from, to) index ranges in order.
 */
export function groupSegments (segments: readonly CleanSegment[], count: number, segmentBytes: number): Array<readonly [number, number]> {
  const groups: Array<readonly [number, number]> = []
  let from = 0
  while (from < count) {
    const base = (segments[from] as CleanSegment).baseOffset
    let sizeBytes = (segments[from] as CleanSegment).sizeBytes
    let to = from + 1
    while (to < count) {
      const next = segments[to] as CleanSegment
      const end = (segments[to + 1] as CleanSegment).baseOffset
      if (sizeBytes + next.sizeBytes > segmentBytes || end - 1 - base > INT32_MAX) break
      sizeBytes += next.sizeBytes
      to += 1
    }
    groups.push([from, to])
    from = to
  }
  return groups
}

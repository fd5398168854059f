/**
 * Which whole segments retention deletes: the decision only (pure but for lazily read timestamps), so that the rules
 * can be tested on their own. Kafka's rules (UnifiedLog.deletableSegments and the retention predicates):
 * - Only a prefix of the log goes: the walk stops at the first segment that must stay.
 * - A segment may go only if everything in it is below the high watermark (its end, the next segment's base offset
 *   or the log end, is ≤ it), so the log start offset never passes data followers may still need.
 * - The active segment may go when it qualifies and is not empty (the caller rolls first so one segment remains).
 * - By time: a segment whose largest timestamp is more than `retentionMs` before `nowMs`, or an empty inactive one
 *   (the cleaner can leave one). A segment without any
 *   timestamp (all -1) is never deleted by time (Kafka falls back to the file's mtime; storage reads no clocks).
 * - By size, after the time rule: the oldest segments while the log without them is still ≥ `retentionBytes`.
 * - By log start offset, after both: segments that end at or below `logStartOffset` (left over when
 *   `deleteRecordsBefore` moved it but the deletion did not happen, e.g. a crash in between).
 */
export interface RetentionSegment {
  readonly baseOffset: number
  readonly sizeBytes: number
  maxTimestamp (): Promise<number>
}

export interface RetentionLimits {
  readonly nowMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly logEndOffset: number
  readonly highWatermark: number
  readonly logStartOffset: number
}

export interface RetentionPlan {
  /** How many of the oldest segments to delete. */
  readonly count: number
  readonly byTime: number
  readonly bySize: number
  readonly byStartOffset: number
}

export async function planRetention (segments: readonly RetentionSegment[], limits: RetentionLimits): Promise<RetentionPlan> {
  const byTime = limits.retentionMs < 0 ? 0 : await countPrefix(segments, 0, limits, async (segment) => {
    // An inactive segment the cleaner emptied holds nothing to keep (countPrefix never offers the active one empty).
    if (segment.sizeBytes === 0) return true
    const maxTimestamp = await segment.maxTimestamp()
    return maxTimestamp >= 0 && limits.nowMs - maxTimestamp > limits.retentionMs
  })
  let bySize = 0
  if (limits.retentionBytes >= 0) {
    let excess = segments.slice(byTime).reduce((sum, s) => sum + s.sizeBytes, 0) - limits.retentionBytes
    bySize = await countPrefix(segments, byTime, limits, async (segment) => {
      if (excess - segment.sizeBytes < 0) return false
      excess -= segment.sizeBytes
      return true
    })
  }
  const byStartOffset = await countPrefix(segments, byTime + bySize, limits, async (segment) => {
    const next = segments[segments.indexOf(segment) + 1]
    return next !== undefined && next.baseOffset <= limits.logStartOffset
  })
  return { count: byTime + bySize + byStartOffset, byTime, bySize, byStartOffset }
}

async function countPrefix (
  segments: readonly RetentionSegment[],
  from: number,
  limits: RetentionLimits,
  predicate: (segment: RetentionSegment) => Promise<boolean>,
): Promise<number> {
  let count = 0
  for (let i = from; i < segments.length; i++) {
    const segment = segments[i] as RetentionSegment
    const next = segments[i + 1]
    const end = next === undefined ? limits.logEndOffset : next.baseOffset
    if (end > limits.highWatermark) break
    if (next === undefined && segment.sizeBytes === 0) break
    if (!(await predicate(segment))) break
    count += 1
  }
  return count
}

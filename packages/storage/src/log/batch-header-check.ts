/**
 * Plausibility checks of the batch header fields the CRC-32C does not cover, on the batches recovery scans and the
 * batches a read is about to return: baseOffset, batchLength and partitionLeaderEpoch sit before the CRC'd range (the
 * broker stamps them without recomputing it), so a flipped byte there passes `validateBatch`. The scanner already
 * checks length (≥ header, within the file), magic and offset continuity; this adds what needs the log's context.
 *
 * Owns nothing on disk; a `BatchHeaderCheck` holds the epoch of the last batch it passed, so it must see the batches of
 * one log in offset order (across segments).
 *
 * Rules (each holds for every batch a correct log ever wrote; a batch that breaks one is treated as corrupt, with
 * everything after it):
 * - partitionLeaderEpoch is -1 (no epoch: never stamped) or ≥ 0; epochs never decrease along the log (a leader
 *   refuses appends of an epoch older than its latest, and a follower's log is a prefix of its leaders' logs).
 * - Where the leader-epoch checkpoint covers the offset (at or after its first entry's start), the batch's epoch is
 *   the one the checkpoint gives for its base offset. The checkpoint reaches disk before the first batch of a new
 *   epoch (log-appender.ts), and a truncation syncs the log before it drops epochs from the checkpoint, so a durable
 *   batch is never newer than the checkpoint that describes it. This rule catches a flipped epoch byte that makes
 *   the epoch larger, which the previous one cannot: recovery would otherwise feed that epoch to the cache, and a
 *   follower whose last fetched epoch its leader never had is not told to truncate its divergent tail (issue 10,
 *   seed 71). Reads apply the same two epoch rules against the live epoch cache (log-segment.ts `readBatches`).
 * - A batch's last offset is within the segment's relative-offset range (the appender rolls before it would not be):
 *   in a compacted log, where a baseOffset may jump over a gap, this catches a flipped high byte of it.
 */
import type { EpochEntry } from './leader-epoch-cache.js'
import type { ScannedBatch } from './batch-scanner.js'

const INT32_MAX = 2 ** 31 - 1
/** partitionLeaderEpoch of a batch that was never stamped (Kafka's RecordBatch.NO_PARTITION_LEADER_EPOCH). */
const NO_EPOCH = -1

export class BatchHeaderCheck {
  readonly #checkpoint: readonly EpochEntry[]
  #lastEpoch = NO_EPOCH

  /** `checkpoint`: the leader-epoch checkpoint as loaded from disk (empty when it was missing or malformed). */
  constructor (checkpoint: readonly EpochEntry[]) {
    this.#checkpoint = checkpoint.slice()
  }

  /** The check for the batches of the segment based at `segmentBaseOffset` (for `scanBatches`'s `check`). */
  forSegment (segmentBaseOffset: number): (batch: ScannedBatch) => string | undefined {
    return (batch) => {
      if (batch.lastOffset - segmentBaseOffset > INT32_MAX) return 'batch offset beyond the segment\'s offset range'
      const problem = epochProblem(batch, this.#lastEpoch, epochAt(this.#checkpoint, batch.baseOffset))
      if (problem === undefined && batch.partitionLeaderEpoch !== NO_EPOCH) this.#lastEpoch = batch.partitionLeaderEpoch
      return problem
    }
  }
}

/**
 * Why `batch`'s leader epoch cannot be right, if it cannot: out of range, older than `previousEpoch` (the epoch of the
 * batch before it, -1 if none or unknown), or not `expectedEpoch` (the epoch the leader-epoch cache or checkpoint
 * gives for its base offset, undefined when they do not cover it).
 */
export function epochProblem (batch: Pick<ScannedBatch, 'partitionLeaderEpoch'>, previousEpoch: number, expectedEpoch: number | undefined): string | undefined {
  const epoch = batch.partitionLeaderEpoch
  if (epoch === NO_EPOCH) return undefined
  if (epoch < 0) return 'batch leader epoch out of range'
  if (epoch < previousEpoch) return 'batch leader epoch decreases along the log'
  if (expectedEpoch !== undefined && epoch !== expectedEpoch) return 'batch leader epoch disagrees with the leader epoch checkpoint'
  return undefined
}

/** The epoch of the entry with the largest start ≤ `offset`; undefined before the first entry. */
function epochAt (entries: readonly EpochEntry[], offset: number): number | undefined {
  let found: number | undefined
  for (const entry of entries) {
    if (entry.startOffset > offset) break
    found = entry.epoch
  }
  return found
}

/**
 * Walks the record batches of a byte range of a segment file in large sequential reads, for recovery (with full
 * validation: length, magic, CRC-32C, record count, offset continuity, or only increasing offsets in a compacted log) and for index rebuilds and log-end lookups
 * (headers only). Reads go through the injected `read`, so the walk itself is testable without files.
 *
 * The walk stops at the first batch that fails a check and reports where and why; everything before that position
 * is a sequence of whole, continuous batches. The caller can add checks of its own on the header fields the CRC does
 * not cover (`check`: recovery checks leader epochs against the log and the epoch checkpoint). Chunks are
 * `chunkBytes` (1 MiB) unless a batch is larger, in which case exactly that batch is read. A batch may be as large as the rest of the range: the configured `batchBytesMax` limits
 * new appends, not data already in the log (lowering the setting must not make recovery discard valid batches).
 */
import { BATCH_HEADER_BYTES, BATCH_MAGIC, validateBatch } from '@gregor/records'

export interface ScannedBatch {
  /** Position of the batch in the file. */
  readonly position: number
  readonly sizeBytes: number
  readonly baseOffset: number
  readonly lastOffset: number
  readonly maxTimestamp: number
  readonly partitionLeaderEpoch: number
}

export interface ScanResult {
  /** Position after the last good batch. */
  readonly endPosition: number
  /** Offset after the last good batch (the expected base offset when no batch was good). */
  readonly nextOffset: number
  /** Why the walk stopped before `toPosition`, if it did. */
  readonly stop?: { readonly position: number; readonly reason: string }
}

export interface ScanOptions {
  /** Reads up to `length` bytes at `position` (fewer at end of file). */
  readonly read: (position: number, length: number) => Promise<Buffer>
  readonly fromPosition: number
  /** End of the range (the file size). */
  readonly toPosition: number
  /**
   * Base offset the first batch must have; later batches must continue from their predecessor. With `offsetGaps`
   * (a compacted log: whole batches cleaned away, batches with fewer records than offsets) it is a lower bound and
   * batches must only not overlap. Without it, the exact check catches a flipped bit in a baseOffset, which the CRC
   * does not cover.
   */
  readonly expectedBaseOffset?: number
  readonly offsetGaps?: boolean
  /** Check CRC, record count and magic (recovery); otherwise only lengths, magic and continuity. */
  readonly validate: boolean
  readonly chunkBytes?: number
  /**
   * Called for every batch that passed the scanner's checks, before `onBatch`: a reason makes the batch bad (the walk
   * stops there and reports it as `stop`), undefined lets it through.
   */
  readonly check?: (batch: ScannedBatch) => string | undefined
  /** Called for every good batch in order; return false to stop the walk there (not reported as `stop`). */
  readonly onBatch: (batch: ScannedBatch) => boolean | void
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024

/** Stop reasons of a batch that is not all there: what a torn write leaves (recovery tells them from damage). */
export const INCOMPLETE_BATCH_HEADER = 'incomplete batch header'
export const BATCH_PAST_END_OF_FILE = 'batch extends past the end of the file'
/** A zero length: the zeros a file system leaves where an append's blocks were allocated but not written. */
export const BATCH_LENGTH_BELOW_HEADER = 'batch length smaller than its header'

export async function scanBatches (options: ScanOptions): Promise<ScanResult> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES
  let chunk: Buffer = Buffer.alloc(0)
  let chunkStart = options.fromPosition
  let position = options.fromPosition
  let nextOffset = options.expectedBaseOffset
  const stopped = (reason: string): ScanResult => ({ endPosition: position, nextOffset: nextOffset ?? -1, stop: { position, reason } })

  while (position < options.toPosition) {
    const remaining = options.toPosition - position
    if (remaining < BATCH_HEADER_BYTES) return stopped(INCOMPLETE_BATCH_HEADER)
    if (position + BATCH_HEADER_BYTES > chunkStart + chunk.length) {
      chunk = await options.read(position, Math.min(chunkBytes, remaining))
      chunkStart = position
      if (chunk.length < BATCH_HEADER_BYTES) return stopped(INCOMPLETE_BATCH_HEADER)
    }
    let at = position - chunkStart
    const sizeBytes = 12 + chunk.readInt32BE(at + 8)
    if (sizeBytes < BATCH_HEADER_BYTES) return stopped(BATCH_LENGTH_BELOW_HEADER)
    if (sizeBytes > remaining) return stopped(BATCH_PAST_END_OF_FILE)
    if (at + sizeBytes > chunk.length) {
      chunk = await options.read(position, Math.min(Math.max(sizeBytes, chunkBytes), remaining))
      chunkStart = position
      at = 0
      if (chunk.length < sizeBytes) return stopped(BATCH_PAST_END_OF_FILE)
    }
    const problem = options.validate ? validationProblem(chunk, at, sizeBytes, options.offsetGaps !== true) : headerProblem(chunk, at)
    if (problem !== undefined) return stopped(problem)
    const baseOffset = Number(chunk.readBigInt64BE(at))
    const lastOffset = baseOffset + chunk.readInt32BE(at + 23)
    if (nextOffset !== undefined && (options.offsetGaps === true ? baseOffset < nextOffset : baseOffset !== nextOffset)) {
      return stopped('batch offset does not continue the log')
    }
    if (baseOffset < 0 || !Number.isSafeInteger(lastOffset)) return stopped('batch offset out of range')
    const batch: ScannedBatch = {
      position,
      sizeBytes,
      baseOffset,
      lastOffset,
      maxTimestamp: Number(chunk.readBigInt64BE(at + 35)),
      partitionLeaderEpoch: chunk.readInt32BE(at + 12),
    }
    const rejected = options.check?.(batch)
    if (rejected !== undefined) return stopped(rejected)
    const proceed = options.onBatch(batch)
    position += sizeBytes
    nextOffset = lastOffset + 1
    if (proceed === false) break
  }
  return { endPosition: position, nextOffset: nextOffset ?? -1 }
}

function validationProblem (chunk: Buffer, at: number, sizeBytes: number, denseOffsets: boolean): string | undefined {
  try {
    validateBatch(chunk, at, { batchBytesMax: sizeBytes, denseOffsets })
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

function headerProblem (chunk: Buffer, at: number): string | undefined {
  if (chunk.readInt8(at + 16) !== BATCH_MAGIC) return 'unsupported batch magic'
  if (chunk.readInt32BE(at + 23) < 0) return 'negative lastOffsetDelta'
  return undefined
}

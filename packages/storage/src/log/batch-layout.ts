/**
 * Validates the batches of one append request and records where each one is, before the request joins the write
 * queue: every check that can reject a request happens here, on the caller's turn, so the single writer only assigns
 * offsets, stamps and writes.
 *
 * A request is a Buffer of one or more whole RecordBatch v2 batches, as a producer or a leader sent them. Each batch
 * passes `validateBatch` (size ≤ batchBytesMax, magic 2, CRC-32C, record count); the whole request must fit in one
 * segment (it is written with one write call into one segment).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { validateBatch } from '@gregor/records'

export interface BatchLayout {
  /** Position of the batch in the request buffer. */
  readonly position: number
  readonly sizeBytes: number
  /** The baseOffset field as received (the leader's offsets, on the follower path). */
  readonly baseOffset: number
  readonly lastOffsetDelta: number
  readonly maxTimestamp: number
  readonly partitionLeaderEpoch: number
}

/**
 * `denseOffsets` (default true) is Kafka's rule for produced batches (record count = lastOffsetDelta + 1); a
 * follower passes false, as its leader's log may be compacted (batches with fewer records than offsets).
 */
export function layoutBatches (buffer: Buffer, limits: { batchBytesMax: number; segmentBytes: number }, denseOffsets = true): BatchLayout[] {
  if (buffer.length === 0) throw new GregorError(ErrorCode.INVALID_REQUEST, 'append of no record batches')
  if (buffer.length > limits.segmentBytes) {
    throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'append larger than a segment', {
      details: { sizeBytes: buffer.length, segmentBytes: limits.segmentBytes },
    })
  }
  const layout: BatchLayout[] = []
  let position = 0
  while (position < buffer.length) {
    const sizeBytes = validateBatch(buffer, position, { batchBytesMax: limits.batchBytesMax, denseOffsets })
    layout.push({
      position,
      sizeBytes,
      baseOffset: Number(buffer.readBigInt64BE(position)),
      lastOffsetDelta: buffer.readInt32BE(position + 23),
      maxTimestamp: Number(buffer.readBigInt64BE(position + 35)),
      partitionLeaderEpoch: buffer.readInt32BE(position + 12),
    })
    position += sizeBytes
  }
  return layout
}

/** Number of offsets the request spans. */
export function offsetSpan (layout: readonly BatchLayout[]): number {
  return layout.reduce((sum, batch) => sum + batch.lastOffsetDelta + 1, 0)
}

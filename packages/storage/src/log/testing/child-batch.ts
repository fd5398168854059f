/**
 * What the kill -9 writer process (append-child.ts) appends, shared with the test that verifies it: the batches are
 * deterministic, so the test rebuilds append i byte for byte.
 */
import { deterministicBytes, makeTestBatch } from './test-batch.js'

export const CHILD_TOPIC = 'crash'
export const CHILD_LEADER_EPOCH = 3
/** Small segments, so the writer rolls several times during a run. */
export const CHILD_SEGMENT_BYTES = 64 * 1024
export const CHILD_BATCH_BYTES_MAX = 4096

/** Append i: 1-4 records, 20-700 bytes of payload, timestamp 1_000_000 + i. */
export function childBatch (i: number): Buffer {
  return makeTestBatch({
    recordCount: 1 + (i % 4),
    payload: deterministicBytes(i, 20 + ((i * 97) % 680)),
    maxTimestamp: 1_000_000 + i,
  })
}

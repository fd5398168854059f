/**
 * The named maxima of the record batch codec, with their defaults (ARCHITECTURE.md §4 Limits: beyond a limit the
 * request fails with a clear code instead of the process growing without bound).
 *
 * Invariant: every limit is a positive safe integer. Callers that need other values pass them per call; the defaults
 * are frozen so no module can change them for everyone.
 */

export interface RecordsLimits {
  /** Largest batch, header included, that is built, validated or parsed. Kafka's `message.max.bytes` default. */
  readonly batchBytesMax: number
  /**
   * Largest records section a compressed batch may expand to. Kafka has no such limit; we need one because a 1 MiB
   * gzip batch can inflate to about 1 GiB. 64 MiB leaves room for 60:1 ratios on full-size batches.
   */
  readonly decompressedBytesMax: number
}

export const recordsLimits: RecordsLimits = Object.freeze({
  batchBytesMax: 1_048_588,
  decompressedBytesMax: 64 * 1024 * 1024,
})

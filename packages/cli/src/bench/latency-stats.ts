/**
 * Latency percentiles of a benchmark run: nearest-rank p50, p99, p99.9 and the maximum of every sample (no
 * sampling, no bucketing: a run of N records keeps N doubles, 8 MB per million, so the tail is exact).
 * Pure; sorts the array it is given in place.
 */

export interface LatencyPercentilesMs {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/** Nearest-rank percentiles of `samplesMs` (sorted in place), rounded to 0.001 ms; all 0 when there are none. */
export function latencyPercentilesMs (samplesMs: Float64Array): LatencyPercentilesMs {
  if (samplesMs.length === 0) return { p50: 0, p99: 0, p999: 0, max: 0 }
  samplesMs.sort()
  const rank = (quantile: number): number => samplesMs[Math.min(samplesMs.length - 1, Math.max(0, Math.ceil(quantile * samplesMs.length) - 1))] ?? 0
  return { p50: roundMs(rank(0.5)), p99: roundMs(rank(0.99)), p999: roundMs(rank(0.999)), max: roundMs(samplesMs[samplesMs.length - 1] ?? 0) }
}

function roundMs (value: number): number {
  return Math.round(value * 1000) / 1000
}

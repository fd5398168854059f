/**
 * Output helpers of the client commands: lines on stdout that respect backpressure (a `consume | head` or a slow
 * pipe must not buffer without bound), bytes shown as text, and latency percentiles for the benchmarks.
 */
import type { RecordHeader } from '@gregor/records'

/** Writes one line; waits for 'drain' when the stream's buffer is full, so output memory stays bounded. */
export async function writeLine (line: string, stream: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!stream.write(`${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', resolve))
}

/** UTF-8 text of a key or value; null stays null. */
export function text (bytes: Buffer | null): string | null {
  return bytes === null ? null : bytes.toString('utf8')
}

/** Headers as a JSON object (a repeated name keeps its last value, as kcat prints them). */
export function headersObject (headers: readonly RecordHeader[]): Record<string, string | null> {
  const result: Record<string, string | null> = {}
  for (const header of headers) result[header.key] = text(header.value)
  return result
}

export interface LatencySummaryMs {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank percentiles of `samplesMs` (sorted in place), rounded to 0.001 ms. */
export function latencySummaryMs (samplesMs: Float64Array): LatencySummaryMs {
  if (samplesMs.length === 0) return { p50: 0, p99: 0, max: 0 }
  samplesMs.sort()
  const rank = (quantile: number): number => samplesMs[Math.min(samplesMs.length - 1, Math.ceil(quantile * samplesMs.length) - 1)] ?? 0
  const round = (value: number): number => Math.round(value * 1000) / 1000
  return { p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(samplesMs[samplesMs.length - 1] ?? 0) }
}

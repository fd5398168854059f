/**
 * Output helpers of the client commands: lines on stdout that respect backpressure (a `consume | head` or a slow
 * pipe must not buffer without bound) and bytes shown as text. (The benchmarks' latency percentiles: bench/latency-histogram.ts.)
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

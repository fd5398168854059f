/**
 * Each broker's memory at the start and the end of a benchmark (issue 12's memory goal: RSS at rest ≤ 120 MB, heap
 * flat while the data on disk grows, because records live in the page cache and not on the heap), read from its
 * admin `/metrics`: prom-client's default `process_resident_memory_bytes`, `nodejs_heap_size_used_bytes` and
 * `nodejs_external_memory_bytes` (Buffers live there, off the V8 heap), and the broker's `gregor_log_size_bytes` (its
 * partition logs on disk). A metric a broker does not expose (an older build) is left out of its reading; a broker
 * that does not answer is reported with its error, never failing the benchmark.
 */
import { metricsUrl } from './process-cpu.js'

export interface BrokerMemoryReading {
  readonly rssBytes?: number
  readonly heapUsedBytes?: number
  readonly externalBytes?: number
  /** Bytes of every partition log this broker holds (its data dir's records); absent where not exposed. */
  readonly logSizeBytes?: number
}

/** The Prometheus metric read into each field. */
const metricByField: ReadonlyArray<readonly [keyof BrokerMemoryReading, string]> = [
  ['rssBytes', 'process_resident_memory_bytes'],
  ['heapUsedBytes', 'nodejs_heap_size_used_bytes'],
  ['externalBytes', 'nodejs_external_memory_bytes'],
  ['logSizeBytes', 'gregor_log_size_bytes'],
]

/** The unlabelled value of `name` in a Prometheus text exposition; undefined when absent or not a number. */
export function metricValue (text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{\\})?\\s+([-+0-9.eE]+)\\s*$`, 'm').exec(text)
  if (match?.[1] === undefined) return undefined
  const value = Number(match[1])
  return Number.isFinite(value) ? value : undefined
}

/** The memory figures found in a `/metrics` body (only those present). */
export function parseBrokerMemory (text: string): BrokerMemoryReading {
  const reading: Partial<Record<keyof BrokerMemoryReading, number>> = {}
  for (const [field, name] of metricByField) {
    const value = metricValue(text, name)
    if (value !== undefined) reading[field] = value
  }
  return reading
}

export type BrokerMemorySample = BrokerMemoryReading & { readonly url: string; readonly error?: string }

/** Reads every broker's memory figures in parallel, each within `timeoutMs`. */
export async function readBrokerMemory (urls: readonly string[], timeoutMs = 5_000): Promise<BrokerMemorySample[]> {
  return await Promise.all(urls.map(async (url): Promise<BrokerMemorySample> => {
    try {
      const response = await fetch(metricsUrl(url), { signal: AbortSignal.timeout(timeoutMs) })
      if (!response.ok) return { url, error: `HTTP ${response.status}` }
      return { url, ...parseBrokerMemory(await response.text()) }
    } catch (error) {
      return { url, error: error instanceof Error ? error.message : String(error) }
    }
  }))
}

/** One broker's memory at the start and the end of the run. */
export interface BrokerMemory {
  readonly url: string
  readonly start: BrokerMemoryReading
  readonly end: BrokerMemoryReading
  readonly error?: string
}

/** Puts the samples before and after a run together, one entry per broker, in the order given. */
export function brokerMemory (before: readonly BrokerMemorySample[], after: readonly BrokerMemorySample[]): BrokerMemory[] {
  return before.map((start, index) => {
    const end = after[index]
    const error = start.error ?? end?.error
    return { url: start.url, start: readingOf(start), end: end === undefined ? {} : readingOf(end), ...(error === undefined ? {} : { error }) }
  })
}

function readingOf (sample: BrokerMemorySample): BrokerMemoryReading {
  const { url: _url, error: _error, ...reading } = sample
  return reading
}

const mb = (bytes: number | undefined): string => bytes === undefined ? '?' : (bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)

/**
 * The human lines: one per figure, `label  1: start → end  2: ...` in MB (10^6 bytes); the log line only when a
 * broker exposes its log size. No lines when no broker was measured.
 */
export function brokerMemoryLines (memory: readonly BrokerMemory[]): Array<[string, string]> {
  if (memory.length === 0) return []
  const line = (field: keyof BrokerMemoryReading): string => memory.map((broker, index) =>
    `${index + 1}: ${broker.error !== undefined && broker.start[field] === undefined ? `unread (${broker.error})` : `${mb(broker.start[field])} → ${mb(broker.end[field])}`}`).join('  ')
  const rows: Array<[string, string]> = [['broker rss MB', line('rssBytes')], ['broker heap MB', line('heapUsedBytes')]]
  if (memory.some((broker) => broker.start.logSizeBytes !== undefined || broker.end.logSizeBytes !== undefined)) rows.push(['broker log MB', line('logSizeBytes')])
  return rows
}

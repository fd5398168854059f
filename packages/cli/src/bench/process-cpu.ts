/**
 * CPU spent per record, the figure of issue 12 that stays steady on a shared machine where records/s does not:
 * the bench client's own from `process.cpuUsage()`, each broker's from `process_cpu_seconds_total` (prom-client's
 * default process metrics) on its admin `/metrics`, read before and after the run. A broker that does not answer
 * is reported with its error rather than failing the benchmark: the throughput figures are still worth having.
 */

/** `process_cpu_seconds_total` from a Prometheus text exposition (any labels); undefined when absent. */
export function parseProcessCpuSeconds (text: string): number | undefined {
  const match = /^process_cpu_seconds_total(?:\{[^}]*\})?\s+([-+0-9.eE]+)\s*$/m.exec(text)
  if (match?.[1] === undefined) return undefined
  const value = Number(match[1])
  return Number.isFinite(value) ? value : undefined
}

/** An admin base URL (`http://127.0.0.1:8081`) or a full metrics URL; the metrics URL either way. */
export function metricsUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = '/metrics'
  return parsed.toString()
}

/** CPU µs per record, rounded to 0.01 µs; 0 records gives 0. */
export function microsPerRecord (cpuMicros: number, records: number): number {
  return records > 0 ? Math.round((cpuMicros / records) * 100) / 100 : 0
}

export interface BrokerCpuReading {
  readonly url: string
  readonly cpuSeconds?: number
  readonly error?: string
}

/** Reads every broker's CPU counter in parallel, each within `timeoutMs`. */
export async function readBrokerCpu (urls: readonly string[], timeoutMs = 5_000): Promise<BrokerCpuReading[]> {
  return await Promise.all(urls.map(async (url): Promise<BrokerCpuReading> => {
    try {
      const response = await fetch(metricsUrl(url), { signal: AbortSignal.timeout(timeoutMs) })
      if (!response.ok) return { url, error: `HTTP ${response.status}` }
      const cpuSeconds = parseProcessCpuSeconds(await response.text())
      return cpuSeconds === undefined ? { url, error: 'no process_cpu_seconds_total' } : { url, cpuSeconds }
    } catch (error) {
      return { url, error: error instanceof Error ? error.message : String(error) }
    }
  }))
}

export interface BrokerCpu {
  readonly url: string
  /** CPU the broker spent during the run, ms; absent with `error`. */
  readonly cpuMs?: number
  readonly usPerRecord?: number
  readonly error?: string
}

export interface CpuPerRecord {
  readonly clientCpuMs: number
  readonly clientUsPerRecord: number
  /** One entry per metrics URL, in the order given. */
  readonly brokers: readonly BrokerCpu[]
  /** The brokers' together; absent when any of them could not be read. */
  readonly brokersUsPerRecord?: number
}

/** Puts the readings before and after a run together into CPU per record. */
export function cpuPerRecord (records: number, clientCpu: NodeJS.CpuUsage, before: readonly BrokerCpuReading[], after: readonly BrokerCpuReading[]): CpuPerRecord {
  const clientMicros = clientCpu.user + clientCpu.system
  const brokers = before.map((start, index): BrokerCpu => {
    const end = after[index]
    const error = start.error ?? end?.error
    if (error !== undefined || start.cpuSeconds === undefined || end?.cpuSeconds === undefined) return { url: start.url, error: error ?? 'not read' }
    const micros = (end.cpuSeconds - start.cpuSeconds) * 1e6
    return { url: start.url, cpuMs: Math.round(micros / 10) / 100, usPerRecord: microsPerRecord(micros, records) }
  })
  const total = brokers.every((broker) => broker.cpuMs !== undefined) && brokers.length > 0
    ? microsPerRecord(brokers.reduce((sum, broker) => sum + (broker.cpuMs ?? 0) * 1000, 0), records)
    : undefined
  return {
    clientCpuMs: Math.round(clientMicros / 10) / 100,
    clientUsPerRecord: microsPerRecord(clientMicros, records),
    brokers,
    ...(total === undefined ? {} : { brokersUsPerRecord: total }),
  }
}

/**
 * What `gregor bench produce|consume` reports, and its human form: a small two-column table (one line per figure)
 * for people, the same object as one JSON line with `--json` for scripts (scripts/bench/side-by-side.mjs reads that).
 * MB are 10^6 bytes of record values.
 */
import type { LatencyPercentilesMs } from './latency-histogram.js'
import type { OpenLoopReport } from './open-loop-produce.js'
import type { CpuPerRecord } from './process-cpu.js'
import { type BrokerMemory, brokerMemoryLines } from './broker-memory.js'

export interface BenchResult {
  readonly mode: 'produce' | 'consume'
  readonly topic: string
  readonly records: number
  readonly recordBytes: number
  readonly failedRecords: number
  readonly elapsedMs: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  /** produce: send → acknowledgement (open loop: intended send time → acknowledgement); consume: wait per record. */
  readonly latencyMs: LatencyPercentilesMs
  readonly cpu: CpuPerRecord
  /** Each broker's RSS, heap and log size at the start and end of the run (with --metrics-urls). */
  readonly memory?: readonly BrokerMemory[]
  readonly acks?: string
  readonly openLoop?: OpenLoopReport
  readonly firstError?: string
  readonly group?: string
  readonly consumers?: number
  /** Records each consumer got, in start order. */
  readonly recordsPerConsumer?: number[]
  /** Consumers that came to own partitions before the end. */
  readonly consumersAssigned?: number
  /** From a consumer's start to owning its first partitions, over the assigned consumers. */
  readonly firstAssignmentMs?: { readonly median: number; readonly max: number }
  /** The client's runtime: its figures depend on the node version and flags (bin/gregor.js gives the bench a heap flag). */
  readonly node?: { readonly version: string; readonly execArgv: readonly string[] }
}

/** Throughput figures of `records` of `recordBytes` in `elapsedMs`. */
export function throughput (records: number, recordBytes: number, elapsedMs: number): { recordsPerSec: number; mbPerSec: number } {
  const seconds = Math.max(elapsedMs, 1e-3) / 1000
  return { recordsPerSec: Math.round(records / seconds), mbPerSec: Math.round((records * recordBytes) / 1e6 / seconds * 100) / 100 }
}

const count = (value: number): string => Math.round(value).toLocaleString('en-US')
const ms = (value: number): string => value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)

/** The human table: one `label  value` line per figure. */
export function benchReportLines (result: BenchResult): string[] {
  const rows: Array<[string, string]> = [
    ['benchmark', `${result.mode} ${result.topic}, ${result.recordBytes}-byte records${result.acks === undefined ? '' : `, acks=${result.acks}`}${result.group === undefined ? '' : `, group ${result.group} × ${result.consumers ?? 1}`}`],
    ['records', `${count(result.records)} in ${(result.elapsedMs / 1000).toFixed(2)} s${result.failedRecords > 0 ? ` (${count(result.failedRecords)} failed)` : ''}`],
    ['throughput', `${count(result.recordsPerSec)} records/s, ${result.mbPerSec.toFixed(2)} MB/s`],
    ['latency ms', `p50 ${ms(result.latencyMs.p50)}  p99 ${ms(result.latencyMs.p99)}  p99.9 ${ms(result.latencyMs.p999)}  max ${ms(result.latencyMs.max)}`],
    ['cpu µs/record', cpuLine(result.cpu)],
    ...brokerMemoryLines(result.memory ?? []),
  ]
  const open = result.openLoop
  if (open !== undefined) {
    rows.push(['open loop', `offered ${count(open.offeredPerSec)}/s, sent ${count(open.sentPerSec)}/s, at most ${count(open.maxInFlight)} in flight`])
    rows.push(['send lag ms', `p50 ${ms(open.sendLagMs.p50)}  p99 ${ms(open.sendLagMs.p99)}  max ${ms(open.sendLagMs.max)}; in-flight limit hit ${count(open.inFlightLimitHits)}×, backlog max ${count(open.maxBacklogRecords)}`])
    if (open.fellBehind) rows.push(['WARNING', 'the client fell behind the offered rate: latencies count from the intended send times, but the rate was not offered in full'])
  }
  if (result.recordsPerConsumer !== undefined) rows.push(['per consumer', result.recordsPerConsumer.map(count).join(', ')])
  if (result.firstAssignmentMs !== undefined) rows.push(['first assignment', `median ${count(result.firstAssignmentMs.median)} ms, max ${count(result.firstAssignmentMs.max)} ms (${result.consumersAssigned ?? 0} assigned)`])
  if (result.firstError !== undefined) rows.push(['first error', result.firstError])
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)
}

function cpuLine (cpu: CpuPerRecord): string {
  const client = `client ${cpu.clientUsPerRecord.toFixed(2)}`
  if (cpu.brokers.length === 0) return `${client}  (brokers: not measured, give --metrics-urls)`
  const each = cpu.brokers.map((broker, index) => `${index + 1}: ${broker.usPerRecord === undefined ? `unread (${broker.error ?? '?'})` : broker.usPerRecord.toFixed(2)}`).join('  ')
  return `${client}  brokers ${cpu.brokersUsPerRecord === undefined ? '-' : cpu.brokersUsPerRecord.toFixed(2)} (${each})`
}

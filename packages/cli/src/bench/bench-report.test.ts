import { describe, expect, test } from 'vitest'
import { type BenchResult, benchReportLines, throughput } from './bench-report.js'

const result: BenchResult = {
  mode: 'produce', topic: 't', records: 1000, recordBytes: 100, failedRecords: 0, elapsedMs: 500,
  ...throughput(1000, 100, 500),
  latencyMs: { p50: 1, p99: 2, p999: 3, max: 4 },
  acks: 'all',
  cpu: {
    clientCpuMs: 5, clientUsPerRecord: 5,
    brokers: [{ url: 'a', cpuMs: 1, usPerRecord: 1 }, { url: 'b', error: 'ECONNREFUSED' }],
  },
}

describe('bench report', () => {
  test('throughput in records/s and MB/s (10^6 bytes)', () => {
    expect(throughput(1000, 100, 500)).toEqual({ recordsPerSec: 2000, mbPerSec: 0.2 })
  })

  test('the human table has one line per figure, labels aligned; an unread broker says why', () => {
    const lines = benchReportLines(result)
    expect(lines.map((line) => line.split(/\s{2,}/)[0])).toEqual(['benchmark', 'records', 'throughput', 'latency ms', 'cpu µs/record'])
    expect(lines[2]).toContain('2,000 records/s, 0.20 MB/s')
    expect(lines[3]).toContain('p50 1.00  p99 2.00  p99.9 3.00  max 4.00')
    expect(lines[4]).toContain('client 5.00  brokers - (1: 1.00  2: unread (ECONNREFUSED))')
  })

  test('broker memory adds RSS and heap lines (start → end, MB) after the CPU line, and the log line when exposed', () => {
    const lines = benchReportLines({
      ...result,
      memory: [{ url: 'a', start: { rssBytes: 105e6, heapUsedBytes: 30e6 }, end: { rssBytes: 180e6, heapUsedBytes: 31e6 } }],
    })
    expect(lines.map((line) => line.split(/\s{2,}/)[0]).slice(5)).toEqual(['broker rss MB', 'broker heap MB'])
    expect(lines[5]).toContain('1: 105 → 180')
    expect(lines[6]).toContain('1: 30.0 → 31.0')
  })

  test('open loop adds the offered and sent rates, the send lag, and a warning when the client fell behind', () => {
    const lines = benchReportLines({
      ...result,
      openLoop: { offeredPerSec: 5000, maxInFlight: 100, sentPerSec: 4000, sendLagMs: { p50: 0, p99: 30, p999: 40, max: 50 }, inFlightLimitHits: 7, maxBacklogRecords: 90, fellBehind: true },
    })
    expect(lines.map((line) => line.split(/\s{2,}/)[0]).slice(5)).toEqual(['open loop', 'send lag ms', 'WARNING'])
    expect(lines[5]).toContain('offered 5,000/s, sent 4,000/s, at most 100 in flight')
  })
})

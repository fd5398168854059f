/**
 * scripts/bench/security.mjs with tiny counts: both modes (plaintext, SASL_SSL) for produce and consume with every
 * column, the connect times of kcat and KafkaJS for both, the ratios, the table; nothing it started outlives it.
 * Shape only: no figure is compared with a speed. Needs the built CLI (`npx tsc -b`) and kcat.
 */
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const script = fileURLToPath(new URL('../../scripts/bench/security.mjs', import.meta.url))

interface Row { mode: string; round: number; op: string; records: number; recordsPerSec: number; cpuUsPerRecord: { client: number; brokers: number; total: number } }
interface Times { runs: number; medianMs: number; p90Ms: number; minMs: number }

test('the security bench measures both modes, both operations and the connect times, and cleans up', async () => {
  const scratchBefore = (await readdir(tmpdir())).filter((name) => name.startsWith('gregor-security-bench-'))
  // 20,000 records, not fewer: the script reads kcat's CPU from /proc in clock ticks (10 ms), and a 500-record kcat
  // run could finish inside one tick and read 0 (seen once in CI).
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, '--records', '20000', '--rounds', '1', '--connects', '2', '--json', '--port-offset', '900', '--timeout-s', '170'],
    { maxBuffer: 4 * 1024 * 1024 })
  const report = JSON.parse(stdout) as { records: number; rows: Row[]; connect: Record<string, { kcatList: Times; kafkajsConnect: Times }>; ratios: Array<Record<string, number | string>> }
  expect(report.records).toBe(20000)
  expect(report.rows.map((row) => `${row.mode} ${row.op} ${row.round}`)).toEqual(['plaintext produce 1', 'plaintext consume 1', 'sasl_ssl produce 1', 'sasl_ssl consume 1'])
  for (const row of report.rows) {
    expect(row.recordsPerSec).toBeGreaterThan(0)
    expect(row.cpuUsPerRecord.client).toBeGreaterThan(0) // kcat's whole process, start-up included
    expect(row.cpuUsPerRecord.brokers).toBeGreaterThan(0)
    expect(row.cpuUsPerRecord.total).toBeCloseTo(row.cpuUsPerRecord.client + row.cpuUsPerRecord.brokers, 1)
  }
  expect(Object.keys(report.connect)).toEqual(['plaintext', 'sasl_ssl'])
  for (const times of Object.values(report.connect)) {
    for (const summary of [times.kcatList, times.kafkajsConnect]) {
      expect(summary.runs).toBe(2)
      expect(summary.minMs).toBeGreaterThan(0)
      expect(summary.p90Ms).toBeGreaterThanOrEqual(summary.medianMs)
    }
  }
  expect(report.ratios.map((ratio) => ratio.op)).toEqual(['produce', 'consume'])
  for (const ratio of report.ratios) {
    for (const key of ['recordsPerSecSaslSslVsPlaintext', 'brokerCpuSaslSslVsPlaintext', 'clientCpuSaslSslVsPlaintext']) expect(ratio[key]).toBeGreaterThan(0)
  }
  expect(stderr.split('\n').filter((line) => line.startsWith('| '))).toHaveLength((2 + 4) + (2 + 2) + (2 + 2)) // three tables, each a header and a rule
  expect((await readdir(tmpdir())).filter((name) => name.startsWith('gregor-security-bench-') && !scratchBefore.includes(name))).toEqual([])
}, 200_000)

/**
 * scripts/bench/side-by-side.mjs with tiny counts: every row (Gregor's bench produce, consume and open loop; kcat
 * produce and consume; NATS JetStream publish and consume) and every column is there, in the JSON and in the table,
 * and nothing it started outlives it. Shape only: no figure is compared with a speed.
 * Needs the built CLI (`npx tsc -b`), kcat and nats-server (.ci/run installs both).
 */
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const script = fileURLToPath(new URL('../../scripts/bench/side-by-side.mjs', import.meta.url))

interface Row {
  system: string
  client: string
  op: string
  records: number
  recordsPerSec: number
  mbPerSec: number
  latencyMs: { p50: number; p99: number; p999: number; max: number } | null
  cpuUsPerRecord: { client: number | null; clientInRun: number | null; servers: Record<string, number>; serversTotal: number; total: number }
}

test('side-by-side prints every system, client and operation with every column', async () => {
  const scratchBefore = (await readdir(tmpdir())).filter((name) => name.startsWith('gregor-side-by-side-'))
  // A port offset of its own, so that a side-by-side run on this machine's default ports does not collide with it.
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, '--records', '2000', '--warmup-records', '300', '--json', '--port-offset', '500', '--open-loop-seconds', '1', '--timeout-s', '170'], { maxBuffer: 4 * 1024 * 1024 })
  const report = JSON.parse(stdout) as { records: number; recordBytes: number; rows: Row[]; ratios: Array<{ recordsPerSecVsGregorBench: number | null; cpuVsGregorBench: number | null }> }
  expect(report).toMatchObject({ records: 2000, recordBytes: 100, warmupRecords: 300 })
  // The warm-up is run, not measured: each system says so, and no row is added for it.
  expect(stderr).toContain('gregor warm-up: 300 records produced and consumed')
  expect(stderr).toContain('kcat warm-up: 300 records produced and consumed')
  expect(stderr).toContain('NATS warm-up: 300 records published and consumed')
  expect(report.rows.map((row) => `${row.system} | ${row.client} | ${row.op.replace(/\d+\/s/, 'R/s')}`)).toEqual([
    'Gregor | gregor bench | produce acks=all',
    'Gregor | gregor bench | consume',
    'Gregor | gregor bench | produce open loop R/s',
    'Gregor | kcat (librdkafka) | produce acks=all',
    'Gregor | kcat (librdkafka) | consume',
    'NATS JetStream R3 | nats.js | publish acked (window 1000)',
    'NATS JetStream R3 | nats.js | consume (ordered)',
  ])
  for (const row of report.rows) {
    expect(row.records).toBeGreaterThanOrEqual(1)
    expect(row.recordsPerSec).toBeGreaterThan(0)
    expect(row.mbPerSec).toBeGreaterThan(0)
    expect(row.cpuUsPerRecord.client).toBeGreaterThan(0) // whole process from /proc: start-up alone is not zero
    expect(Object.keys(row.cpuUsPerRecord.servers)).toHaveLength(3)
    expect(row.cpuUsPerRecord.total).toBeGreaterThanOrEqual(row.cpuUsPerRecord.serversTotal)
  }
  const [produce, consume, openLoop, kcatProduce, kcatConsume, natsPublish, natsConsume] = report.rows
  for (const row of [produce, consume, openLoop, natsPublish, natsConsume]) {
    expect(Object.keys(row?.latencyMs ?? {})).toEqual(['p50', 'p99', 'p999', 'max'])
    expect(row?.cpuUsPerRecord.clientInRun).toBeGreaterThan(0)
  }
  for (const row of [kcatProduce, kcatConsume]) expect(row?.latencyMs).toBeNull()
  expect(Object.keys(produce?.cpuUsPerRecord.servers ?? {})).toEqual(['broker-1', 'broker-2', 'broker-3'])
  expect(Object.keys(natsPublish?.cpuUsPerRecord.servers ?? {})).toEqual(['nats-1', 'nats-2', 'nats-3'])
  expect(report.ratios[0]).toEqual({ system: 'Gregor', client: 'gregor bench', op: 'produce acks=all', recordsPerSecVsGregorBench: 1, cpuVsGregorBench: 1 })
  expect(report.ratios.every((ratio) => ratio.recordsPerSecVsGregorBench !== null && ratio.cpuVsGregorBench !== null)).toBe(true)

  // The table (on stderr with --json): a header with every column, a rule, and one line per row.
  const tableLines = stderr.split('\n').filter((line) => line.startsWith('|'))
  const header = tableLines[0]?.split('|').map((cell) => cell.trim()).filter((cell) => cell !== '')
  expect(header).toEqual(['system', 'client', 'op', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'client µs/rec', 'client in-run', 'servers µs/rec', 'per server', 'rate ×', 'CPU ×'])
  expect(tableLines).toHaveLength(2 + report.rows.length)
  for (const line of tableLines.slice(2)) expect(line.split('|').length - 2).toBe(header?.length)

  // Its temp dir is gone (the brokers' and servers' data with it).
  const scratchAfter = (await readdir(tmpdir())).filter((name) => name.startsWith('gregor-side-by-side-'))
  expect(scratchAfter.filter((name) => !scratchBefore.includes(name))).toEqual([])
}, 200_000) // ~60 s alone; the bounds leave room for a CI machine busy with the other test files

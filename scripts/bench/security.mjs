#!/usr/bin/env node
/**
 * What security costs (issue 13's figures), in one run on one cluster: three `gregor broker` processes with two Kafka
 * listeners each, KAFKA (PLAINTEXT) and SECURE (SASL_SSL: TLS with the cluster's local CA, SCRAM-SHA-512 as the
 * bootstrap admin made by `gregor certs bootstrap`). The inter-broker listener is plaintext for both, so the only
 * difference between the two is the client's connection.
 *
 *   produce  kcat -P (acks=-1, linger.ms=5) of `--records` lines of `--record-bytes` to a 3-partition RF 3 topic
 *   consume  kcat -C of the same records from the beginning
 *   connect  `--connects` runs of `kcat -L` (process start, TCP, TLS and SCRAM for SASL_SSL, one Metadata), and as many
 *            KafkaJS admin connect+disconnect in this process (TLS, SCRAM, Metadata; no process start): median and p90
 *
 * The modes alternate (`--rounds` of plaintext then SASL_SSL), each round on topics of its own. Records/s, the
 * client's CPU (kcat's utime+stime from /proc, via `sh`) and the brokers' CPU (the difference of each broker's
 * `process_cpu_seconds_total` on /metrics) per record. Output: a table on stdout, or with `--json` one JSON object
 * ({ rows, connect, ratios }) on stdout and the table on stderr. Everything started is stopped by PID, the temp dir
 * removed. `npm run bench:security`.
 *
 * Usage: node scripts/bench/security.mjs [--records 300000] [--record-bytes 100] [--rounds 2] [--connects 20]
 *          [--port-offset K] [--json] [--timeout-s 900]
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { BROKER_NODE_ARGS } from '../../packages/cli/dist/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const gregorBin = join(root, 'packages/cli/bin/gregor.js')
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    'record-bytes': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    connects: { type: 'string', default: '20' },
    'port-offset': { type: 'string', default: '0' },
    'timeout-s': { type: 'string', default: '900' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
})
const records = Number(values.records)
const recordBytes = Number(values['record-bytes'])
const rounds = Number(values.rounds)
const connects = Number(values.connects)
const portOffset = Number(values['port-offset'])
for (const [name, value] of [['records', records], ['record-bytes', recordBytes], ['rounds', rounds], ['connects', connects]]) {
  if (!Number.isSafeInteger(value) || value < 1) usage(`--${name} must be a positive integer`)
}
if (!Number.isSafeInteger(portOffset) || portOffset < 0 || portOffset > 1500) usage('--port-offset must be 0 to 1500 (ports stay below 32768)')
if (!existsSync(join(root, 'packages/cli/dist/main.js'))) usage('no built CLI: run `npm run build` first')

const base = 30000 + portOffset
const address = (kind, n) => `127.0.0.1:${base + kind * 10 + n}` // kinds: 0 KAFKA, 1 SECURE, 2 CLIENT, 3 BROKER, 4 ADMIN
const startMs = performance.now()
const log = (message) => { process.stderr.write(`security-bench +${((performance.now() - startMs) / 1000).toFixed(1)}s: ${message}\n`) }
const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))
const run = promisify(execFile)
const clockTicks = Number((await run('getconf', ['CLK_TCK'])).stdout.trim())

function usage (problem) {
  process.stderr.write(`security-bench: ${problem}\n`)
  process.exit(2)
}

// ---------------------------------------------------------------- processes

const brokers = []
let scratch
let cleaning
async function cleanup () {
  cleaning ??= (async () => {
    await Promise.all(brokers.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }))
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true })
  })()
  await cleaning
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { cleanup().finally(() => process.exit(130)) })
const deadline = setTimeout(() => { log(`gave up after --timeout-s ${values['timeout-s']}`); cleanup().finally(() => process.exit(2)) }, Number(values['timeout-s']) * 1000)

/** Runs a client under `sh`, which then writes its own /proc stat to fd 3: the client's whole CPU (cutime+cstime). */
async function runClient (command, args, { countOnly = false } = {}) {
  const child = spawn('/bin/sh', ['-c', '"$@"; code=$?; cat /proc/$$/stat >&3; exit $code', 'sh', command, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stdoutBytes = 0
  let stderr = ''
  let stat = ''
  child.stdout.on('data', (chunk) => { stdoutBytes += chunk.length; if (!countOnly) stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000) })
  child.stdio[3].setEncoding('utf8').on('data', (chunk) => { stat += chunk })
  const [code] = await once(child, 'close')
  const fields = stat.split(') ')[1]?.split(' ') ?? []
  const cpuMicros = fields.length > 14 ? ((Number(fields[13]) + Number(fields[14])) / clockTicks) * 1e6 : undefined
  return { code, stdout, stdoutBytes, stderr, cpuMicros }
}

async function gregor (args) {
  const result = await runClient(process.execPath, [gregorBin, ...args])
  if (result.code !== 0) throw new Error(`gregor ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return result
}

/** The sum of the brokers' `process_cpu_seconds_total`, in µs. */
async function brokersCpuMicros () {
  const seconds = await Promise.all([1, 2, 3].map(async (n) => {
    const text = await (await fetch(`http://${address(4, n)}/metrics`)).text()
    const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text)
    if (match === null) throw new Error(`broker ${n}: no process_cpu_seconds_total on /metrics`)
    return Number(match[1])
  }))
  return seconds.reduce((sum, value) => sum + value, 0) * 1e6
}

async function startCluster () {
  scratch = await mkdtemp(join(tmpdir(), 'gregor-security-bench-'))
  const certs = join(scratch, 'certs')
  await gregor(['certs', 'bootstrap', '--dir', certs])
  const password = (await readFile(join(certs, 'admin.password'), 'utf8')).trim()
  const voters = [1, 2, 3].map((n) => `${n}@${address(3, n)}`).join(',')
  for (const n of [1, 2, 3]) {
    // Started as `gregor dev` starts its brokers (BROKER_NODE_ARGS: the heap flag), so the figures compare with the others.
    const child = spawn(process.execPath, [...BROKER_NODE_ARGS, gregorBin, 'broker', '--node-id', String(n), '--cluster-id', 'security-bench', '--voters', voters,
      '--listeners', `KAFKA://${address(0, n)},SECURE://${address(1, n)},CLIENT://${address(2, n)},BROKER://${address(3, n)},ADMIN://${address(4, n)}`,
      '--listener-protocol-map', 'KAFKA:kafka,SECURE:kafka,CLIENT:grpc', '--listener-security-protocol-map', 'SECURE:SASL_SSL',
      '--ssl-cert-file', join(certs, `broker-${n}.pem`), '--ssl-key-file', join(certs, `broker-${n}.key`), '--ssl-ca-file', join(certs, 'ca.pem'),
      '--scram-bootstrap-file', join(certs, 'scram-bootstrap.json'), '--data-dir', join(scratch, `broker-${n}`), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { UV_THREADPOOL_SIZE: '64', ...process.env } })
    brokers.push(child)
  }
  const deadlineMs = Date.now() + 120_000
  for (;;) {
    const ready = await Promise.all([1, 2, 3].map(async (n) => await fetch(`http://${address(4, n)}/readyz`).then((r) => r.ok, () => false)))
    if (ready.every(Boolean)) break
    if (Date.now() > deadlineMs) throw new Error('brokers not ready in 120 s')
    await sleep(200)
  }
  const grpc = [1, 2, 3].map((n) => address(2, n)).join(',')
  const kcat = {
    plaintext: ['-b', [1, 2, 3].map((n) => address(0, n)).join(',')],
    sasl_ssl: ['-b', [1, 2, 3].map((n) => address(1, n)).join(','), '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512',
      '-X', 'sasl.username=admin', '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${join(certs, 'ca.pem')}`],
  }
  // The admin's credential is created by the brokers after they start: wait until it logs in.
  for (;;) {
    const listed = await runClient('kcat', [...kcat.sasl_ssl, '-L', '-m', '5'])
    if (listed.code === 0) break
    if (Date.now() > deadlineMs) throw new Error(`the admin cannot log in: ${listed.stderr}`)
    await sleep(200)
  }
  log('cluster ready: KAFKA plaintext and SECURE SASL_SSL listeners')
  return { grpc, kcat, ca: await readFile(join(certs, 'ca.pem'), 'utf8'), password }
}

async function createTopic (cluster, topic) {
  await gregor(['topics', 'create', '-b', cluster.grpc, '--topic', topic, '--partitions', '3', '--replication-factor', '3'])
  const deadlineMs = Date.now() + 60_000
  while (Date.now() < deadlineMs) {
    const described = JSON.parse((await gregor(['topics', 'describe', '-b', cluster.grpc, '--topic', topic, '--json'])).stdout).topics[0]
    if (described?.partitions.length === 3 && described.partitions.every((p) => p.leader > 0 && p.isr.length === 3)) return
    await sleep(200)
  }
  throw new Error(`${topic}: not in sync after 60 s`)
}

// ---------------------------------------------------------------- measurements

const round2 = (value) => Math.round(value * 100) / 100
const rows = []

async function measure (mode, round, op, args, check) {
  const brokersBefore = await brokersCpuMicros()
  const started = performance.now()
  const result = await runClient('kcat', args, { countOnly: op === 'consume' })
  const elapsedMs = performance.now() - started
  const brokersAfter = await brokersCpuMicros()
  await check(result)
  const row = {
    mode, round, op, records, elapsedMs: Math.round(elapsedMs), recordsPerSec: Math.round(records / (elapsedMs / 1000)),
    cpuUsPerRecord: { client: round2((result.cpuMicros ?? 0) / records), brokers: round2((brokersAfter - brokersBefore) / records) },
  }
  row.cpuUsPerRecord.total = round2(row.cpuUsPerRecord.client + row.cpuUsPerRecord.brokers)
  rows.push(row)
  log(`${mode} ${op} round ${round}: ${row.recordsPerSec} records/s, CPU µs/record brokers ${row.cpuUsPerRecord.brokers} kcat ${row.cpuUsPerRecord.client}`)
}

async function kcatRound (cluster, file, mode, round) {
  const topic = `bench-${mode}-${round}`
  await createTopic(cluster, topic)
  const settings = cluster.kcat[mode]
  await measure(mode, round, 'produce', [...settings, '-P', '-t', topic, '-X', 'linger.ms=5', '-X', 'acks=-1', '-l', file], async (result) => {
    if (result.code !== 0) throw new Error(`kcat produce (${mode}) exited ${result.code}: ${result.stderr}`)
    const ends = await runClient('kcat', [...settings, '-Q', ...[0, 1, 2].flatMap((p) => ['-t', `${topic}:${p}:-1`])])
    const stored = [...ends.stdout.matchAll(/offset (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)
    if (stored !== records) throw new Error(`kcat (${mode}): ${records} lines sent, ${stored} stored: ${result.stderr}`)
  })
  await measure(mode, round, 'consume', [...settings, '-C', '-t', topic, '-o', 'beginning', '-c', String(records), '-e', '-q', '-f', '.'], async (result) => {
    if (result.code !== 0 || result.stdoutBytes !== records) throw new Error(`kcat consume (${mode}) exited ${result.code} after ${result.stdoutBytes} of ${records}: ${result.stderr}`)
  })
}

function summary (samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return { runs: sorted.length, medianMs: round2(at(0.5)), p90Ms: round2(at(0.9)), minMs: round2(sorted[0]) }
}

async function connectTimes (cluster) {
  const { Kafka, logLevel } = await import('kafkajs')
  const result = {}
  for (const mode of ['plaintext', 'sasl_ssl']) {
    const kcat = []
    for (let i = 0; i < connects; i++) {
      const started = performance.now()
      const listed = await runClient('kcat', [...cluster.kcat[mode], '-L', '-m', '10'])
      if (listed.code !== 0) throw new Error(`kcat -L (${mode}): ${listed.stderr}`)
      kcat.push(performance.now() - started)
    }
    const kafkajs = []
    const brokerList = cluster.kcat[mode][1].split(',')
    for (let i = 0; i < connects; i++) {
      const kafka = new Kafka({
        clientId: 'security-bench', brokers: [brokerList[i % brokerList.length]], logLevel: logLevel.NOTHING,
        ...(mode === 'sasl_ssl' ? { ssl: { ca: [cluster.ca] }, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: cluster.password } } : {}),
      })
      const admin = kafka.admin()
      const started = performance.now()
      await admin.connect() // TCP, ApiVersions, (TLS, SaslHandshake, two SaslAuthenticate), Metadata
      kafkajs.push(performance.now() - started)
      await admin.disconnect()
    }
    result[mode] = { kcatList: summary(kcat), kafkajsConnect: summary(kafkajs) }
    log(`${mode} connect: kcat -L median ${result[mode].kcatList.medianMs} ms, KafkaJS connect median ${result[mode].kafkajsConnect.medianMs} ms`)
  }
  return result
}

function ratios () {
  const mean = (mode, op, pick) => {
    const chosen = rows.filter((row) => row.mode === mode && row.op === op)
    return chosen.reduce((sum, row) => sum + pick(row), 0) / chosen.length
  }
  return ['produce', 'consume'].map((op) => ({
    op,
    recordsPerSecSaslSslVsPlaintext: round2(mean('sasl_ssl', op, (row) => row.recordsPerSec) / mean('plaintext', op, (row) => row.recordsPerSec)),
    brokerCpuSaslSslVsPlaintext: round2(mean('sasl_ssl', op, (row) => row.cpuUsPerRecord.brokers) / mean('plaintext', op, (row) => row.cpuUsPerRecord.brokers)),
    clientCpuSaslSslVsPlaintext: round2(mean('sasl_ssl', op, (row) => row.cpuUsPerRecord.client) / mean('plaintext', op, (row) => row.cpuUsPerRecord.client)),
  }))
}

function table (connect, ratioRows) {
  const lines = ['| mode | op | round | records/s | brokers µs/rec | kcat µs/rec | total µs/rec |', '| --- | --- | --- | --- | --- | --- | --- |']
  for (const row of rows) lines.push(`| ${row.mode} | ${row.op} | ${row.round} | ${row.recordsPerSec} | ${row.cpuUsPerRecord.brokers} | ${row.cpuUsPerRecord.client} | ${row.cpuUsPerRecord.total} |`)
  lines.push('', '| mode | kcat -L median ms | p90 | KafkaJS connect median ms | p90 |', '| --- | --- | --- | --- | --- |')
  for (const [mode, times] of Object.entries(connect)) lines.push(`| ${mode} | ${times.kcatList.medianMs} | ${times.kcatList.p90Ms} | ${times.kafkajsConnect.medianMs} | ${times.kafkajsConnect.p90Ms} |`)
  lines.push('', '| op | records/s SASL_SSL ÷ plaintext | brokers CPU ÷ | kcat CPU ÷ |', '| --- | --- | --- | --- |')
  for (const ratio of ratioRows) lines.push(`| ${ratio.op} | ${ratio.recordsPerSecSaslSslVsPlaintext} | ${ratio.brokerCpuSaslSslVsPlaintext} | ${ratio.clientCpuSaslSslVsPlaintext} |`)
  return `${lines.join('\n')}\n`
}

try {
  const cluster = await startCluster()
  const file = join(scratch, 'lines.txt')
  const out = createWriteStream(file)
  const pad = 'x'.repeat(recordBytes)
  for (let i = 0; i < records; i++) if (!out.write(`${`${i} ${pad}`.slice(0, recordBytes)}\n`)) await once(out, 'drain')
  out.end()
  await once(out, 'finish')
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ['plaintext', 'sasl_ssl']) await kcatRound(cluster, file, mode, round)
  }
  const connect = await connectTimes(cluster)
  const ratioRows = ratios()
  const report = { records, recordBytes, rounds, rows, connect, ratios: ratioRows }
  if (values.json) {
    process.stderr.write(table(connect, ratioRows))
    process.stdout.write(`${JSON.stringify(report)}\n`)
  } else {
    process.stdout.write(table(connect, ratioRows))
  }
} catch (error) {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`)
  process.exitCode = 1
} finally {
  clearTimeout(deadline)
  await cleanup()
}

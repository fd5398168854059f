#!/usr/bin/env node
/**
 * Gregor beside its peers on the same machine, in one run (issue 12), one table:
 *   1. a three-broker Gregor cluster (`gregor dev` of `--gregor-dir`, temp data dir, ports shifted by `--port-offset`),
 *      a topic of 3 partitions with RF 3: `gregor bench produce` (acks=all) and `gregor bench consume`, then an open-loop
 *      produce at half the measured rate (`--throughput`; skipped for a build whose bench has none);
 *   2. kcat (librdkafka) against the same brokers' Kafka listener: produce (acks=-1, linger.ms=5) and consume;
 *   3. NATS JetStream: three Debian `nats-server` nodes clustered on loopback, a stream with R3 file storage, the `nats`
 *      npm client publishing with acks (bounded window) and reading back with an ordered consumer (nats-client.mjs).
 * Every record is `--record-bytes` bytes (100); `--records` N each (1,000,000).
 *
 * Warm-up: before its measured runs each system gets `--warmup-records` W (1,000,000; 0 for none) produced and
 * consumed the same way on a topic or stream of its own, not measured. The brokers are long-running servers and the
 * figure wanted is their steady state: a Node process runs cold code at first (V8 interprets, then compiles what gets
 * hot, on the same two cores), and measured here on one cluster, three 1M-record runs after a 200k warm-up gave
 * 309k, 394k and 423k records/s (brokers 3.33, 2.25, 2.16 µs per record): the first million still paid for the
 * compiling. Every client is still a new process per run, as a user's would be, so its figures include its own
 * start. NATS gets the same warm-up (its servers need none, its client is a new process anyway), so the table is
 * fair without a footnote; it makes the whole script take a few minutes.
 *
 * CPU µs per record, per process: each server's and each client's utime+stime from /proc/<pid>/stat (clock ticks,
 * `getconf CLK_TCK`) read before and after each client run. A client is run under `sh`, which prints its own
 * /proc/self/stat after waiting for it: the cutime+cstime fields there are the client's whole CPU, start-up included
 * (so an older build's bench, which does not report its CPU, is measured the same way). Where the client reports its
 * in-run CPU itself (this build's bench, the NATS client) that figure is shown too.
 *
 * `--gregor-dir <checkout>` (default: this repository) measures another build, e.g. a clone of an older commit, with
 * `npm ci && npm run build` done in it: "before" and "after" run back to back on the same machine.
 *
 * Output: the table on stdout; with `--json`, the table goes to stderr and one JSON object ({ rows, ratios }) to
 * stdout. Progress on stderr. Everything started here is stopped by PID and the temp dir removed, also on failure,
 * Ctrl-C or the `--timeout-s` deadline.
 *
 * `npm run bench:side-by-side` runs it all; `npm run bench:kafka` runs it with `--skip nats,open-loop` (Gregor's two
 * clients only).
 *
 * Usage: node scripts/bench/side-by-side.mjs [--records N] [--record-bytes S] [--gregor-dir D] [--port-offset K]
 *          [--nats-window W] [--open-loop-seconds 10] [--warmup-records 1000000] [--timeout-s T] [--json]
 *          [--skip kcat,nats,open-loop]
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'record-bytes': { type: 'string', default: '100' },
    'gregor-dir': { type: 'string', default: resolve(here, '../..') },
    'port-offset': { type: 'string', default: '0' },
    'nats-window': { type: 'string', default: '1000' },
    'open-loop-seconds': { type: 'string', default: '10' },
    'warmup-records': { type: 'string', default: '1000000' },
    'timeout-s': { type: 'string', default: '1800' },
    skip: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
})
const records = Number(values.records)
const recordBytes = Number(values['record-bytes'])
const gregorDir = resolve(values['gregor-dir'])
const portOffset = Number(values['port-offset'])
const natsWindow = Number(values['nats-window'])
const warmupRecords = Number(values['warmup-records'])
const skip = new Set(values.skip.split(',').filter((part) => part !== ''))
const gregorBin = join(gregorDir, 'packages/cli/bin/gregor.js')
if (!Number.isSafeInteger(records) || records < 1 || !Number.isSafeInteger(recordBytes) || recordBytes < 1) usage('--records and --record-bytes must be positive integers')
if (!Number.isSafeInteger(warmupRecords) || warmupRecords < 0) usage('--warmup-records must be a non-negative integer')
if (!existsSync(join(gregorDir, 'packages/cli/dist/main.js'))) usage(`${gregorDir} has no built CLI: run \`npm ci && npm run build\` there`)

const ports = {
  kafka: 29092 + portOffset, client: 29292 + portOffset, broker: 29192 + portOffset, admin: 28081 + portOffset,
  natsClient: 24221 + portOffset, natsCluster: 26221 + portOffset, natsMonitor: 28221 + portOffset,
}
// Below Linux's ephemeral range (32768-60999): a port in it can be taken by any outgoing connection's local end.
if (!Number.isSafeInteger(portOffset) || portOffset < 0 || ports.client + 2 >= 32768) usage('--port-offset must be 0 to 3470 (ports stay below 32768)')
const scriptStartMs = performance.now()
const log = (message) => { process.stderr.write(`side-by-side +${((performance.now() - scriptStartMs) / 1000).toFixed(1)}s: ${message}\n`) }
const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))
const clockTicks = Number((await promisify(execFile)('getconf', ['CLK_TCK'])).stdout.trim())

function usage (problem) {
  process.stderr.write(`side-by-side: ${problem}\n`)
  process.exit(2)
}

// ---------------------------------------------------------------- processes and their cleanup

/** Long-running processes started here: name, pid, the ChildProcess, and how to stop it. */
const started = []
let scratch
let cleaning

async function cleanup () {
  cleaning ??= (async () => {
    // Reverse start order; each gets SIGTERM (gregor dev then stops its brokers), then SIGKILL after its grace.
    for (const entry of [...started].reverse()) await stopProcess(entry)
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true })
  })()
  await cleaning
}

async function stopProcess (entry) {
  const { name, child, graceMs, extraPids, group } = entry
  entry.stopping = true
  // A client runs under `sh` in a process group of its own (its id is the sh's PID): signal the group, so the client
  // itself stops too, not only the shell.
  const signal = (name) => { try { if (group === true) process.kill(-child.pid, name); else child.kill(name) } catch { /* gone */ } }
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit')
    signal('SIGTERM')
    if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]) === false) {
      log(`${name} (pid ${child.pid}) did not stop in ${graceMs} ms: SIGKILL`)
      signal('SIGKILL')
      await exited
    }
  }
  // Processes the child started (gregor dev's brokers): by their own PIDs, if any outlived it.
  for (const pid of extraPids?.() ?? []) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { log(`${signal}: stopping everything`); cleanup().finally(() => process.exit(130)) })
}
const deadline = setTimeout(() => { log(`gave up after --timeout-s ${values['timeout-s']}`); cleanup().finally(() => process.exit(2)) }, Number(values['timeout-s']) * 1000)

/** utime+stime of a live process, in µs; 0 when it is gone. */
async function processCpuMicros (pid) {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1e6
  } catch {
    return 0
  }
}

/** Every server's CPU µs right now, by name. */
async function serverCpu (servers) {
  return Object.fromEntries(await Promise.all(servers.map(async ({ name, pid }) => [name, await processCpuMicros(pid)])))
}

/**
 * Runs a client to completion under `sh`, which then writes its own /proc stat to fd 3: the waited-for client's CPU
 * (cutime+cstime). Returns stdout (or its byte count with `countOnly`), the exit code and the client's CPU µs.
 */
async function runClient (command, args, { countOnly = false, timeoutMs = 900_000 } = {}) {
  const child = spawn('/bin/sh', ['-c', '"$@"; code=$?; cat /proc/$$/stat >&3; exit $code', 'sh', command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true,
  })
  const entry = { name: `client ${command}`, child, graceMs: 2_000, group: true }
  started.push(entry)
  let stdout = ''
  let stdoutBytes = 0
  let stderr = ''
  let stat = ''
  child.stdout.on('data', (chunk) => { stdoutBytes += chunk.length; if (!countOnly) stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000) })
  child.stdio[3].setEncoding('utf8').on('data', (chunk) => { stat += chunk })
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ } }, timeoutMs)
  const [code] = await once(child, 'close')
  clearTimeout(timer)
  started.splice(started.indexOf(entry), 1)
  const fields = stat.split(') ')[1]?.split(' ') ?? []
  const cpuMicros = fields.length > 14 ? ((Number(fields[13]) + Number(fields[14])) / clockTicks) * 1e6 : undefined
  return { code, stdout, stdoutBytes, stderr, cpuMicros }
}

// ---------------------------------------------------------------- the rows

const rows = []
const round2 = (value) => value === undefined ? undefined : Math.round(value * 100) / 100

/** One table row from a client run: throughput, latency, and CPU per record of the client and of each server. */
function addRow ({ system, client, kind, op, count, elapsedMs, latencyMs, clientCpuMicros, clientInRunCpuMicros, serversBefore, serversAfter, note, extra }) {
  const perRecord = (micros) => micros === undefined || count === 0 ? undefined : round2(micros / count)
  const servers = Object.fromEntries(Object.keys(serversAfter).map((name) => [name, perRecord(serversAfter[name] - serversBefore[name])]))
  const serversTotal = round2(Object.values(servers).reduce((sum, value) => sum + value, 0))
  const row = {
    system, client, kind, op, records: count, elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round(count / (elapsedMs / 1000)),
    mbPerSec: round2((count * recordBytes) / 1e6 / (elapsedMs / 1000)),
    latencyMs: latencyMs ?? null,
    cpuUsPerRecord: {
      client: perRecord(clientCpuMicros) ?? null,
      clientInRun: perRecord(clientInRunCpuMicros) ?? null,
      servers,
      serversTotal,
      total: round2((perRecord(clientCpuMicros) ?? 0) + serversTotal),
    },
    ...(note === undefined ? {} : { note }),
    ...(extra ?? {}),
  }
  rows.push(row)
  log(`${system} ${client} ${op}: ${row.recordsPerSec} records/s, CPU µs/record client ${row.cpuUsPerRecord.client} servers ${serversTotal}`)
  return row
}

// ---------------------------------------------------------------- Gregor

async function gregor (args, options) {
  const result = await runClient(process.execPath, [gregorBin, ...args], options)
  if (result.code !== 0) throw new Error(`gregor ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return result
}

async function startGregor () {
  const dataDir = join(scratch, 'gregor')
  const child = spawn(process.execPath, [gregorBin, 'dev', '--dir', dataDir, '--log-level', 'warn',
    '--kafka-port', String(ports.kafka), '--client-port', String(ports.client), '--broker-port', String(ports.broker), '--admin-port', String(ports.admin)],
  { stdio: ['ignore', 'pipe', 'pipe'] })
  const brokerPids = []
  started.push({ name: 'gregor dev', child, graceMs: 30_000, extraPids: () => brokerPids })
  let output = ''
  const ready = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk
      for (const match of chunk.matchAll(/broker (\d+)\s+pid (\d+)/g)) brokerPids.push(Number(match[2]))
      if (output.includes('ready.')) resolve()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      output += chunk
      if (output.includes('brokers not ready')) reject(new Error(`gregor dev: ${output}`))
    })
    child.once('exit', (code) => reject(new Error(`gregor dev exited ${code}: ${output}`)))
  })
  await Promise.race([ready, sleep(120_000).then(() => { throw new Error(`gregor dev not ready in 120 s: ${output}`) })])
  const servers = brokerPids.map((pid, index) => ({ name: `broker-${index + 1}`, pid }))
  log(`gregor dev ready (${gregorDir}), brokers ${brokerPids.join(', ')}`)
  return {
    servers,
    grpc: [0, 1, 2].map((i) => `127.0.0.1:${ports.client + i}`).join(','),
    kafka: [0, 1, 2].map((i) => `127.0.0.1:${ports.kafka + i}`).join(','),
    metricsUrls: [0, 1, 2].map((i) => `http://127.0.0.1:${ports.admin + i}`).join(','),
  }
}

/** Creates each topic (3 partitions, RF 3) and waits until every partition has a leader and three in-sync replicas. */
async function createTopics (cluster, topics) {
  for (const topic of topics) await gregor(['topics', 'create', '-b', cluster.grpc, '--topic', topic, '--partitions', '3', '--replication-factor', '3'])
  const deadlineMs = Date.now() + 60_000
  while (Date.now() < deadlineMs) {
    const { stdout } = await gregor(['topics', 'describe', '-b', cluster.grpc, ...topics.flatMap((topic) => ['--topic', topic]), '--json'])
    const described = JSON.parse(stdout).topics
    if (described.length === topics.length && described.every((topic) => topic.partitions.length === 3 &&
      topic.partitions.every((partition) => partition.leader > 0 && partition.isr.length === 3))) return
    await sleep(200)
  }
  throw new Error(`topics ${topics.join(', ')}: not every partition has a leader and three in-sync replicas after 60 s`)
}

/** What this build's bench accepts: `--json` (else it prints JSON only) and `--throughput`. */
async function benchFeatures () {
  const result = await runClient(process.execPath, [gregorBin, 'bench', 'produce'])
  return { json: result.stderr.includes('--json'), throughput: result.stderr.includes('--throughput') }
}

async function gregorBench (cluster, features, servers, op, args, label) {
  const before = await serverCpu(servers)
  const run = await gregor(['bench', op, '-b', cluster.grpc, '--record-bytes', String(recordBytes), ...args,
    ...(features.json ? ['--json', '--metrics-urls', cluster.metricsUrls] : [])])
  const after = await serverCpu(servers)
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1))
  if (result.failedRecords !== 0) throw new Error(`gregor bench ${op}: ${result.failedRecords} records failed (${result.firstError ?? ''})`)
  return addRow({
    system: 'Gregor', client: 'gregor bench', kind: op, op: label, count: result.records, elapsedMs: result.elapsedMs,
    latencyMs: result.latencyMs, clientCpuMicros: run.cpuMicros,
    clientInRunCpuMicros: result.cpu === undefined ? undefined : result.cpu.clientCpuMs * 1000,
    serversBefore: before, serversAfter: after,
    extra: {
      ...(result.cpu?.brokersUsPerRecord === undefined ? {} : { brokersUsPerRecordFromMetrics: result.cpu.brokersUsPerRecord }),
      ...(result.openLoop === undefined ? {} : { openLoop: result.openLoop }),
    },
  })
}

/** A file of `count` distinct lines of `recordBytes` bytes (a line number, padded): kcat's records. */
async function writeLines (name, count) {
  const file = join(scratch, name)
  const out = createWriteStream(file)
  const pad = 'x'.repeat(recordBytes)
  for (let i = 0; i < count; i++) {
    if (!out.write(`${`${i} ${pad}`.slice(0, recordBytes)}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return file
}

async function kcatRuns (cluster, servers) {
  const file = await writeLines('lines.txt', records)
  if (warmupRecords > 0) {
    const warmup = await writeLines('warmup-lines.txt', warmupRecords)
    await runClient('kcat', ['-b', cluster.kafka, '-P', '-t', 'bench-warmup-kcat', '-X', 'linger.ms=5', '-X', 'acks=-1', '-l', warmup])
    await runClient('kcat', ['-b', cluster.kafka, '-C', '-t', 'bench-warmup-kcat', '-o', 'beginning', '-c', String(warmupRecords), '-e', '-q', '-f', '.'], { countOnly: true })
    log(`kcat warm-up: ${warmupRecords} records produced and consumed`)
  }

  let before = await serverCpu(servers)
  let startMs = performance.now()
  const produced = await runClient('kcat', ['-b', cluster.kafka, '-P', '-t', 'bench-kcat', '-X', 'linger.ms=5', '-X', 'acks=-1', '-l', file])
  let elapsedMs = performance.now() - startMs
  let after = await serverCpu(servers)
  if (produced.code !== 0) throw new Error(`kcat produce exited ${produced.code}: ${produced.stderr}`)
  // kcat reports a failed delivery only on stderr: count what the brokers hold instead.
  const ends = await runClient('kcat', ['-b', cluster.kafka, '-Q', '-t', 'bench-kcat:0:-1', '-t', 'bench-kcat:1:-1', '-t', 'bench-kcat:2:-1'])
  const stored = [...ends.stdout.matchAll(/offset (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)
  if (stored !== records) throw new Error(`kcat: ${records} lines sent, ${stored} stored: ${produced.stderr}`)
  addRow({
    system: 'Gregor', client: 'kcat (librdkafka)', kind: 'produce', op: 'produce acks=all', count: records, elapsedMs,
    clientCpuMicros: produced.cpuMicros, serversBefore: before, serversAfter: after, note: 'kcat start and final flush included; no per-record latency',
  })

  before = await serverCpu(servers)
  startMs = performance.now()
  // One byte per record on stdout ('.'), so the count is checked without shipping the values through a pipe.
  const consumed = await runClient('kcat', ['-b', cluster.kafka, '-C', '-t', 'bench-kcat', '-o', 'beginning', '-c', String(records), '-e', '-q', '-f', '.'], { countOnly: true })
  elapsedMs = performance.now() - startMs
  after = await serverCpu(servers)
  if (consumed.code !== 0 || consumed.stdoutBytes !== records) throw new Error(`kcat consume exited ${consumed.code} after ${consumed.stdoutBytes} of ${records} records: ${consumed.stderr}`)
  addRow({
    system: 'Gregor', client: 'kcat (librdkafka)', kind: 'consume', op: 'consume', count: records, elapsedMs,
    clientCpuMicros: consumed.cpuMicros, serversBefore: before, serversAfter: after, note: 'kcat start included; no per-record latency',
  })
}

async function gregorRuns () {
  const cluster = await startGregor()
  const servers = cluster.servers
  const features = await benchFeatures()
  await createTopics(cluster, ['bench-gregor', ...warmupRecords > 0 ? ['bench-warmup'] : [], ...skip.has('kcat') ? [] : ['bench-kcat', ...warmupRecords > 0 ? ['bench-warmup-kcat'] : []]])
  if (warmupRecords > 0) {
    await gregor(['bench', 'produce', '-b', cluster.grpc, '--topic', 'bench-warmup', '--records', String(warmupRecords), '--record-bytes', String(recordBytes), '--acks', 'all'])
    await gregor(['bench', 'consume', '-b', cluster.grpc, '--topic', 'bench-warmup', '--records', String(warmupRecords), '--record-bytes', String(recordBytes)])
    log(`gregor warm-up: ${warmupRecords} records produced and consumed`)
  }
  const produce = await gregorBench(cluster, features, servers, 'produce', ['--topic', 'bench-gregor', '--records', String(records), '--acks', 'all'], 'produce acks=all')
  await gregorBench(cluster, features, servers, 'consume', ['--topic', 'bench-gregor', '--records', String(records)], 'consume')
  if (skip.has('open-loop')) {
    log('open loop skipped (--skip open-loop)')
  } else if (!features.throughput) {
    log(`open loop skipped: the bench of ${gregorDir} has no --throughput`)
  } else {
    // Half the closed-loop rate, for at most --open-loop-seconds of offered load (and no more records than the closed-loop run).
    const rate = Math.max(1, Math.round(produce.recordsPerSec / 2))
    const count = Math.max(1, Math.min(records, Math.round(rate * Number(values['open-loop-seconds']))))
    // Appends to the same topic: the consume run is over.
    await gregorBench(cluster, features, servers, 'produce', ['--topic', 'bench-gregor', '--records', String(count), '--acks', 'all', '--throughput', String(rate)], `produce open loop ${rate}/s`)
  }
  if (skip.has('kcat')) log('kcat skipped (--skip kcat)')
  else await kcatRuns(cluster, servers)
  await stopProcess(started.find((entry) => entry.name === 'gregor dev'))
  started.splice(started.findIndex((entry) => entry.name === 'gregor dev'), 1)
}

// ---------------------------------------------------------------- NATS JetStream

async function startNats () {
  const base = join(scratch, 'nats')
  const servers = []
  const routes = [1, 2, 3].map((n) => `nats-route://127.0.0.1:${ports.natsCluster + n - 1}`).join('\n    ')
  for (const n of [1, 2, 3]) {
    const dir = join(base, `n${n}`)
    await mkdir(dir, { recursive: true })
    const config = join(dir, 'server.conf')
    await writeFile(config, `server_name: n${n}
listen: 127.0.0.1:${ports.natsClient + n - 1}
http: 127.0.0.1:${ports.natsMonitor + n - 1}
jetstream {
  store_dir: "${join(dir, 'store')}"
  max_memory_store: 256MB
  max_file_store: 16GB
}
cluster {
  name: side-by-side
  listen: 127.0.0.1:${ports.natsCluster + n - 1}
  routes: [
    ${routes}
  ]
}
`)
    const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    let output = ''
    child.stderr.setEncoding('utf8').on('data', (chunk) => { output = (output + chunk).slice(-4000) })
    const entry = { name: `nats-server n${n}`, child, graceMs: 10_000, stopping: false }
    child.once('exit', (code) => { if (!entry.stopping) log(`nats-server n${n} exited ${code}: ${output}`) })
    started.push(entry)
    servers.push({ name: `nats-${n}`, pid: child.pid })
  }
  // Each answers /healthz, then the cluster has a JetStream meta leader.
  const deadlineMs = Date.now() + 60_000
  for (const n of [1, 2, 3]) {
    while (!await fetch(`http://127.0.0.1:${ports.natsMonitor + n - 1}/healthz`).then((response) => response.ok, () => false)) {
      if (Date.now() > deadlineMs) throw new Error(`nats-server n${n} not healthy in 60 s`)
      await sleep(100)
    }
  }
  while (!await fetch(`http://127.0.0.1:${ports.natsMonitor}/jsz`).then((response) => response.json(), () => ({})).then((jsz) => Boolean(jsz.meta_cluster?.leader), () => false)) {
    if (Date.now() > deadlineMs) throw new Error('no JetStream meta leader in 60 s')
    await sleep(100)
  }
  log(`nats-server cluster ready (${servers.map((server) => server.pid).join(', ')})`)
  return { servers, urls: [1, 2, 3].map((n) => `127.0.0.1:${ports.natsClient + n - 1}`).join(',') }
}

async function natsRuns () {
  const nats = await startNats()
  const client = async (args) => {
    const run = await runClient(process.execPath, [join(here, 'nats-client.mjs'), args[0], nats.urls, 'BENCH', ...args.slice(1)])
    if (run.code !== 0) throw new Error(`nats-client ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
    return { ...run, result: run.stdout.trim() === '' ? undefined : JSON.parse(run.stdout.trim()) }
  }
  if (warmupRecords > 0) {
    const warmup = async (args) => {
      const run = await runClient(process.execPath, [join(here, 'nats-client.mjs'), args[0], nats.urls, 'WARMUP', ...args.slice(1)])
      if (run.code !== 0) throw new Error(`nats-client ${args.join(' ')} (warm-up) exited ${run.code}: ${run.stderr}`)
    }
    await warmup(['setup', '3'])
    await warmup(['pub', String(warmupRecords), String(recordBytes), String(natsWindow)])
    await warmup(['sub', String(warmupRecords)])
    log(`NATS warm-up: ${warmupRecords} records published and consumed`)
  }
  await client(['setup', '3'])
  for (const [op, args, label] of [['pub', [String(records), String(recordBytes), String(natsWindow)], `publish acked (window ${natsWindow})`], ['sub', [String(records)], 'consume (ordered)']]) {
    const before = await serverCpu(nats.servers)
    const run = await client([op, ...args])
    const after = await serverCpu(nats.servers)
    if (run.result.failedRecords !== 0) throw new Error(`nats ${op}: ${run.result.failedRecords} records failed (${run.result.firstError ?? ''})`)
    addRow({
      system: 'NATS JetStream R3', client: 'nats.js', kind: op === 'pub' ? 'produce' : 'consume', op: label, count: run.result.records, elapsedMs: run.result.elapsedMs,
      latencyMs: run.result.latencyMs, clientCpuMicros: run.cpuMicros, clientInRunCpuMicros: run.result.clientCpuMs * 1000,
      serversBefore: before, serversAfter: after,
    })
  }
  for (const entry of started.filter((candidate) => candidate.name.startsWith('nats-server')).reverse()) {
    await stopProcess(entry)
    started.splice(started.indexOf(entry), 1)
  }
}

// ---------------------------------------------------------------- the table

/** Each row's records/s and total CPU µs per record against the gregor bench row of the same kind (produce|consume). */
function ratios () {
  const base = (row) => rows.find((candidate) => candidate.client === 'gregor bench' && candidate.kind === row.kind && candidate.openLoop === undefined)
  return rows.map((row) => {
    const reference = base(row)
    const ratio = (a, b) => reference === undefined || !b ? null : Math.round((a / b) * 100) / 100
    return { system: row.system, client: row.client, op: row.op, recordsPerSecVsGregorBench: ratio(row.recordsPerSec, reference?.recordsPerSec), cpuVsGregorBench: ratio(row.cpuUsPerRecord.total, reference?.cpuUsPerRecord.total) }
  })
}

const tableColumns = ['system', 'client', 'op', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'client µs/rec', 'client in-run', 'servers µs/rec', 'per server', 'rate ×', 'CPU ×']

function table () {
  const fixed = (value) => value === undefined || value === null ? '-' : value.toFixed(2)
  const ratioRows = ratios()
  const lines = [tableColumns, ...rows.map((row, index) => [
    row.system, row.client, row.op,
    row.recordsPerSec.toLocaleString('en-US'), fixed(row.mbPerSec),
    row.latencyMs === null ? '-' : fixed(row.latencyMs.p50), row.latencyMs === null ? '-' : fixed(row.latencyMs.p99),
    fixed(row.cpuUsPerRecord.client), fixed(row.cpuUsPerRecord.clientInRun), fixed(row.cpuUsPerRecord.serversTotal),
    Object.values(row.cpuUsPerRecord.servers).map(fixed).join(' / '),
    fixed(ratioRows[index].recordsPerSecVsGregorBench), fixed(ratioRows[index].cpuVsGregorBench),
  ])]
  const widths = tableColumns.map((_, column) => Math.max(...lines.map((line) => line[column].length)))
  const format = (line) => `| ${line.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  return [
    `${records.toLocaleString('en-US')} records of ${recordBytes} bytes each (after a warm-up of ${warmupRecords.toLocaleString('en-US')}); Gregor build ${gregorDir}; CPU in µs per record from /proc (client: whole process, start-up included; in-run: what the client itself reports)`,
    format(lines[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...lines.slice(1).map(format),
    'rate ×, CPU ×: records/s and client+servers CPU µs/record relative to gregor bench of the same kind (produce or consume)',
  ].join('\n')
}

// ---------------------------------------------------------------- run

let status = 0
try {
  scratch = await mkdtemp(join(tmpdir(), 'gregor-side-by-side-'))
  await gregorRuns()
  if (skip.has('nats')) log('NATS skipped (--skip nats)')
  else await natsRuns()
  const text = `${table()}\n`
  if (values.json) {
    process.stderr.write(text)
    process.stdout.write(`${JSON.stringify({ records, recordBytes, warmupRecords, gregorDir, rows, ratios: ratios() })}\n`)
  } else {
    process.stdout.write(text)
  }
} catch (error) {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`)
  status = 1
} finally {
  await cleanup()
  clearTimeout(deadline)
}
process.exit(status)

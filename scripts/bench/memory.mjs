#!/usr/bin/env node
/**
 * Broker memory under sustained writes (issue 12's memory goal): RSS at rest ≤ 120 MB, and a V8 heap that stays flat
 * while the data on disk grows tenfold, because records live in the page cache, not on the heap.
 *
 * One run: `gregor dev` of `--gregor-dir` (temp data dir, ports shifted by `--port-offset`, niced), a topic of 3
 * partitions with RF 3, then
 *   rest            the idle cluster, after the topic is created and `--settle-s` of quiet;
 *   produce         `gregor bench produce --records N --record-bytes S --acks all` (default 2,000,000 × 1 KiB = 2 GB);
 *   after produce   `--settle-s` later;
 *   consume         `gregor bench consume` of every record (the fetch path's buffers);
 *   after consume   `--settle-s` later.
 * Every `--sample-s` (5) each broker is sampled: RSS, heap used and external memory from its admin `/metrics`
 * (prom-client's default metrics; RSS from /proc/<pid>/status where a build has none) and its data dir's bytes
 * (`du -sb`, which any build has). The summary gives each broker's figures at rest, when its data dir first held a
 * tenth of its final size ("10%"), at the end of the writes, after the consume, and the heap's growth from 10% to
 * 100% of the data: flat means records are not kept on the heap.
 *
 * Heap used between two collections counts garbage too, so at four checkpoints (rest, the first sample past a tenth
 * of the data, after the writes, after the consume) each broker also runs a full GC through its inspector (the brokers
 * start with `--inspect=127.0.0.1:0`; the script talks the DevTools protocol, `HeapProfiler.collectGarbage`, over the
 * WebSocket the broker log names) and the heap used is read again: `heapAfterGcBytes`, the live heap. RSS is read
 * before that GC. `--no-gc` leaves the inspector off.
 *
 * `--heap-snapshots` starts the brokers with `--heapsnapshot-signal=SIGUSR2` and takes a snapshot of each at every checkpoint, after its
 * GC (files `Heap.*.heapsnapshot` in `--keep-dir`, which that needs; load
 * them in Chrome DevTools' Memory tab and compare).
 *
 * `--gregor-dir <checkout>` measures another build (e.g. /tmp/gregor-before, with `npm ci && npm run build` done
 * there), as side-by-side.mjs does. Output: the timeline and the summary on stdout; with `--json`, those go to stderr
 * and one JSON object ({ samples, summary, produce, consume }) to stdout. Everything started here is stopped by PID
 * and the temp dir removed (unless `--keep-dir`), also on failure, Ctrl-C or the `--timeout-s` deadline.
 *
 * Usage: node scripts/bench/memory.mjs [--records 2000000] [--record-bytes 1024] [--sample-s 5] [--settle-s 10]
 *          [--gregor-dir D] [--port-offset K] [--timeout-s 1800] [--heap-snapshots --keep-dir D] [--json]
 * `npm run bench:memory` builds and runs it with the defaults.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
// The GC checkpoints talk to the brokers' inspectors over WebSocket, global from Node 22 and behind a flag in Node 20:
// rerun this script with the flag (same arguments, same terminal, so Ctrl-C reaches both).
if (typeof WebSocket === 'undefined' && !process.argv.includes('--no-gc')) {
  const child = spawn(process.execPath, ['--experimental-websocket', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {})
  const [code, signal] = await once(child, 'exit')
  process.exit(code ?? (signal === null ? 1 : 130))
}
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    'record-bytes': { type: 'string', default: '1024' },
    'sample-s': { type: 'string', default: '5' },
    'settle-s': { type: 'string', default: '10' },
    'gregor-dir': { type: 'string', default: resolve(here, '../..') },
    'port-offset': { type: 'string', default: '0' },
    'timeout-s': { type: 'string', default: '1800' },
    'heap-snapshots': { type: 'boolean', default: false },
    gc: { type: 'boolean', default: true },
    'keep-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
})
const records = Number(values.records)
const recordBytes = Number(values['record-bytes'])
const sampleMs = Number(values['sample-s']) * 1000
const settleMs = Number(values['settle-s']) * 1000
const portOffset = Number(values['port-offset'])
const gregorDir = resolve(values['gregor-dir'])
const gregorBin = join(gregorDir, 'packages/cli/bin/gregor.js')
const fail = (problem) => { process.stderr.write(`memory: ${problem}\n`); process.exit(2) }
if (!Number.isSafeInteger(records) || records < 1 || !Number.isSafeInteger(recordBytes) || recordBytes < 1) fail('--records and --record-bytes must be positive integers')
if (!(sampleMs > 0) || !(settleMs >= 0)) fail('--sample-s must be positive and --settle-s not negative')
if (values['heap-snapshots'] && values['keep-dir'] === undefined) fail('--heap-snapshots needs --keep-dir (the snapshots are written there)')
if (!existsSync(join(gregorDir, 'packages/cli/dist/main.js'))) fail(`${gregorDir} has no built CLI: run \`npm ci && npm run build\` there`)
// Other ports than side-by-side.mjs's (29092...), below Linux's ephemeral range (32768-60999).
const ports = { kafka: 25092 + portOffset, client: 25292 + portOffset, broker: 25192 + portOffset, admin: 25081 + portOffset }
if (!Number.isSafeInteger(portOffset) || portOffset < 0 || ports.client + 2 >= 32768) fail('--port-offset must be 0 to 7470')
const out = values.json ? process.stderr : process.stdout
const startMs = performance.now()
const elapsedS = () => (performance.now() - startMs) / 1000
const log = (message) => { process.stderr.write(`memory +${elapsedS().toFixed(1)}s: ${message}\n`) }
const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------- what was started, and its cleanup

let dev // { child, brokerPids }
let client // the running gregor client, if any
let scratch
let cleaning
async function cleanup () {
  cleaning ??= (async () => {
    if (client?.exitCode === null) client.kill('SIGKILL')
    if (dev !== undefined && dev.child.exitCode === null && dev.child.signalCode === null) {
      const exited = once(dev.child, 'exit')
      dev.child.kill('SIGTERM') // gregor dev stops its brokers with a controlled shutdown
      if (await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]) === false) dev.child.kill('SIGKILL')
    }
    for (const pid of dev?.brokerPids ?? []) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
    if (scratch !== undefined && values['keep-dir'] === undefined) await rm(scratch, { recursive: true, force: true })
  })()
  await cleaning
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { log(`${signal}: stopping`); cleanup().finally(() => process.exit(130)) })
const deadline = setTimeout(() => { log(`gave up after --timeout-s ${values['timeout-s']}`); cleanup().finally(() => process.exit(2)) }, Number(values['timeout-s']) * 1000)

/** Runs `gregor <args>` (niced, like the brokers) to completion; its stdout, or an error with its stderr. */
async function gregor (args) {
  client = spawn('nice', ['-n', '10', process.execPath, gregorBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  client.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk })
  client.stderr.setEncoding('utf8').on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000) })
  const [code] = await once(client, 'close')
  if (code !== 0) throw new Error(`gregor ${args.join(' ')} exited ${code}: ${stderr}`)
  return stdout
}

/** Fails when any of the cluster's ports is taken: gregor dev's readiness check would find another cluster there. */
async function checkPortsFree () {
  for (const base of Object.values(ports)) {
    for (const port of [base, base + 1, base + 2]) {
      const server = createServer()
      await new Promise((resolve, reject) => { server.once('error', reject).listen(port, '127.0.0.1', resolve) })
        .catch((error) => { throw new Error(`port ${port} is taken (${error.code}): choose another --port-offset`) })
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

async function startDev () {
  await checkPortsFree()
  const child = spawn('nice', ['-n', '10', process.execPath, gregorBin, 'dev', '--dir', join(scratch, 'data'), '--log-level', 'warn',
    '--kafka-port', String(ports.kafka), '--client-port', String(ports.client), '--broker-port', String(ports.broker), '--admin-port', String(ports.admin)], {
    cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', values['heap-snapshots'] ? '--heapsnapshot-signal=SIGUSR2' : '', values.gc ? '--inspect=127.0.0.1:0' : ''].join(' ').trim() },
  })
  dev = { child, brokerPids: [] }
  let output = ''
  const ready = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk
      for (const match of chunk.matchAll(/broker (\d+)\s+pid (\d+)/g)) dev.brokerPids.push(Number(match[2]))
      if (output.includes('ready.')) resolve()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk })
    child.once('exit', (code) => reject(new Error(`gregor dev exited ${code}: ${output}`)))
  })
  await Promise.race([ready, sleep(120_000).then(() => { throw new Error(`gregor dev not ready in 120 s: ${output}`) })])
  log(`gregor dev ready (${gregorDir}), brokers ${dev.brokerPids.join(', ')}`)
}

// ---------------------------------------------------------------- samples

const brokerIds = [1, 2, 3]
const adminUrl = (id) => `http://127.0.0.1:${ports.admin + id - 1}`
const grpcServers = brokerIds.map((id) => `127.0.0.1:${ports.client + id - 1}`).join(',')
const metricsUrls = brokerIds.map(adminUrl).join(',')

/** The unlabelled value of `name` in a Prometheus text exposition; undefined when absent. */
function metricValue (text, name) {
  const match = new RegExp(`^${name}\\s+([-+0-9.eE]+)\\s*$`, 'm').exec(text)
  return match === null ? undefined : Number(match[1])
}

async function sampleBroker (id, pid) {
  const dataDir = join(scratch, 'data', `broker-${id}`)
  const [metrics, du, status] = await Promise.all([
    fetch(`${adminUrl(id)}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(async (response) => await response.text()).catch(() => ''),
    promisify(execFile)('du', ['-sb', dataDir]).then(({ stdout }) => Number(stdout.split('\t')[0])).catch(() => undefined),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''),
  ])
  const vmRssKb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
  return {
    rssBytes: metricValue(metrics, 'process_resident_memory_bytes') ?? (vmRssKb === undefined ? undefined : Number(vmRssKb) * 1024),
    heapUsedBytes: metricValue(metrics, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricValue(metrics, 'nodejs_heap_size_total_bytes'),
    externalBytes: metricValue(metrics, 'nodejs_external_memory_bytes'),
    diskBytes: du,
  }
}

const samples = []
async function sample (phase) {
  const brokers = await Promise.all(brokerIds.map(async (id, index) => await sampleBroker(id, dev.brokerPids[index])))
  const entry = { atS: Math.round(elapsedS() * 10) / 10, phase, brokers }
  samples.push(entry)
  out.write(`${timelineLine(entry)}\n`)
  return entry
}

/** Samples every `--sample-s` while `work` runs (and once when it is done). */
async function sampled (phase, work) {
  let done = false
  let tenthTaken = false
  const loop = (async () => {
    while (!done) {
      const entry = await sample(phase)
      // The first sample past a tenth of the data each broker ends with (every broker holds every record: RF 3).
      if (phase === 'produce' && !tenthTaken && entry.brokers.every((b) => (b.diskBytes ?? 0) >= records * recordBytes / 10)) {
        tenthTaken = true
        await checkpoint(phase, entry)
      }
      await Promise.race([sleep(sampleMs), finished])
    }
  })()
  const finished = work().finally(() => { done = true })
  try {
    return await finished
  } finally {
    await loop
  }
}

const mb = (bytes) => bytes === undefined ? '-' : (bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1)
function timelineLine ({ atS, phase, brokers }) {
  return `${atS.toFixed(1).padStart(7)} s  ${phase.padEnd(13)}  ${brokers.map((b, i) => `b${i + 1} rss ${mb(b.rssBytes).padStart(4)} heap ${mb(b.heapUsedBytes).padStart(5)} ext ${mb(b.externalBytes).padStart(5)} disk ${mb(b.diskBytes).padStart(5)}`).join(' | ')}`
}

/** The DevTools WebSocket URL broker `id` printed on starting its inspector (into its log file). */
async function inspectorUrl (id) {
  const text = await readFile(join(scratch, 'data', `broker-${id}.log`), 'utf8')
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1]
  if (url === undefined) throw new Error(`broker ${id}: no inspector URL in its log (is --inspect allowed in NODE_OPTIONS?)`)
  return url
}

/** A full GC in broker `id`, through the DevTools protocol; resolves when the broker answered. */
async function collectGarbage (id) {
  const socket = new WebSocket(await inspectorUrl(id))
  try {
    await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error(`broker ${id}: inspector connection failed`)) })
    const answered = new Promise((resolve, reject) => {
      socket.onmessage = (event) => { if (JSON.parse(String(event.data)).id === 1) resolve() }
      socket.onclose = () => reject(new Error(`broker ${id}: inspector closed before answering`))
    })
    socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
    await Promise.race([answered, sleep(30_000).then(() => { throw new Error(`broker ${id}: no GC answer in 30 s`) })])
  } finally {
    socket.onclose = null
    socket.close()
  }
}

/** A sample, then a full GC in each broker and its live heap (`heapAfterGcBytes`) added to the sample; snapshots. */
async function checkpoint (phase, entry) {
  entry ??= await sample(phase)
  entry.checkpoint = true
  if (values.gc) {
    await Promise.all(brokerIds.map(async (id, index) => {
      await collectGarbage(id)
      const text = await fetch(`${adminUrl(id)}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(async (response) => await response.text())
      entry.brokers[index].heapAfterGcBytes = metricValue(text, 'nodejs_heap_size_used_bytes')
    }))
    out.write(`${' '.repeat(9)}  ${'  (after GC)'.padEnd(13)}  ${entry.brokers.map((b, i) => `b${i + 1} live heap ${mb(b.heapAfterGcBytes).padStart(5)}`).join(' | ')}\n`)
  }
  await heapSnapshots(phase)
  return entry
}

async function heapSnapshots (label) {
  if (!values['heap-snapshots']) return
  // Counted before asking: a fast snapshot can be on disk before the next line runs.
  const wanted = (await readdir(scratch)).filter((name) => name.endsWith('.heapsnapshot')).length + dev.brokerPids.length
  for (const pid of dev.brokerPids) process.kill(pid, 'SIGUSR2')
  log(`heap snapshots requested (${label})`)
  // A snapshot blocks the broker while it is written: wait for the files before going on.
  const deadlineMs = Date.now() + 120_000
  while ((await readdir(scratch)).filter((name) => name.endsWith('.heapsnapshot')).length < wanted && Date.now() < deadlineMs) await sleep(500)
  await sleep(2_000)
}

// ---------------------------------------------------------------- the run

/** Each broker's figures at rest, at a tenth of its final data, at the end of writes and after the consume. */
function summarize () {
  return brokerIds.map((id, index) => {
    const of = (entry) => entry === undefined ? undefined : { atS: entry.atS, ...entry.brokers[index] }
    const writes = samples.filter((entry) => entry.phase === 'produce' || entry.phase === 'after produce')
    const finalDisk = writes.at(-1)?.brokers[index].diskBytes ?? 0
    const rest = of(samples.find((entry) => entry.phase === 'rest'))
    const tenth = of(writes.find((entry) => entry.checkpoint === true) ?? writes.find((entry) => (entry.brokers[index].diskBytes ?? 0) >= finalDisk / 10))
    const endOfWrites = of(samples.findLast((entry) => entry.phase === 'produce'))
    const afterProduce = of(samples.findLast((entry) => entry.phase === 'after produce'))
    const afterConsume = of(samples.findLast((entry) => entry.phase === 'after consume'))
    // The live heap (after a full GC) where both points have it; else heap used, garbage included.
    const heapField = tenth?.heapAfterGcBytes !== undefined && afterProduce?.heapAfterGcBytes !== undefined ? 'heapAfterGcBytes' : 'heapUsedBytes'
    const peak = (field) => Math.max(...samples.map((entry) => entry.brokers[index][field] ?? 0))
    return {
      broker: id, rest, tenth, endOfWrites, afterProduce, afterConsume,
      peakRssBytes: peak('rssBytes'), peakHeapUsedBytes: peak('heapUsedBytes'),
      diskGrowth: tenth?.diskBytes > 0 && afterProduce?.diskBytes !== undefined ? Math.round(afterProduce.diskBytes / tenth.diskBytes * 10) / 10 : undefined,
      heapGrowthBytes: tenth?.[heapField] !== undefined && afterProduce?.[heapField] !== undefined ? afterProduce[heapField] - tenth[heapField] : undefined,
      heapGrowthOf: heapField,
    }
  })
}

function summaryLines (summary) {
  const cell = (point) => point === undefined ? '-' : `rss ${mb(point.rssBytes)} heap ${mb(point.heapUsedBytes)}${point.heapAfterGcBytes === undefined ? '' : ` (live ${mb(point.heapAfterGcBytes)})`} disk ${mb(point.diskBytes)}`
  return [
    `summary (MB = 10^6 bytes; ${records.toLocaleString('en-US')} records of ${recordBytes} bytes, 3 partitions, RF 3, acks=all; ${gregorDir})`,
    ...summary.map((b) => [
      `broker ${b.broker}: at rest ${cell(b.rest)}`,
      `  at 10% of data ${cell(b.tenth)}  →  after the writes ${cell(b.afterProduce)} (disk ×${b.diskGrowth ?? '-'}, ${b.heapGrowthOf === 'heapAfterGcBytes' ? 'live ' : ''}heap ${b.heapGrowthBytes === undefined ? '-' : `${b.heapGrowthBytes >= 0 ? '+' : ''}${mb(b.heapGrowthBytes)}`} MB)`,
      `  after consuming it all ${cell(b.afterConsume)}; peak rss ${mb(b.peakRssBytes)} heap ${mb(b.peakHeapUsedBytes)}`,
    ].join('\n')),
  ]
}

try {
  if (values['keep-dir'] !== undefined) {
    scratch = resolve(values['keep-dir'])
    await mkdir(scratch, { recursive: true })
  } else {
    scratch = await mkdtemp(join(tmpdir(), 'gregor-memory-'))
  }
  await startDev()
  await gregor(['topics', 'create', '-b', grpcServers, '--topic', 'memory', '--partitions', '3', '--replication-factor', '3'])
  const isrDeadlineMs = Date.now() + 60_000
  for (;;) {
    const described = JSON.parse(await gregor(['topics', 'describe', '-b', grpcServers, '--topic', 'memory', '--json'])).topics
    if (described[0]?.partitions.length === 3 && described[0].partitions.every((p) => p.leader > 0 && p.isr.length === 3)) break
    if (Date.now() > isrDeadlineMs) throw new Error('topic memory: not every partition has a leader and three in-sync replicas after 60 s')
    await sleep(200)
  }
  await sleep(settleMs)
  await checkpoint('rest')
  // An older build's bench prints JSON only and knows neither --json nor --metrics-urls: its usage says which.
  const usageText = await promisify(execFile)(process.execPath, [gregorBin, 'bench', 'produce']).then(({ stderr }) => stderr, (error) => String(error.stderr ?? ''))
  const jsonFlags = usageText.includes('--json') ? ['--json', '--metrics-urls', metricsUrls] : []
  const bench = async (op, extra) => {
    const stdout = await gregor(['bench', op, '-b', grpcServers, '--topic', 'memory', '--records', String(records), '--record-bytes', String(recordBytes),
      '--timeout-ms', '120000', ...jsonFlags, ...extra])
    const result = JSON.parse(stdout.trim().split('\n').at(-1))
    if (result.failedRecords !== 0 || result.records !== records) throw new Error(`gregor bench ${op}: ${result.records} records, ${result.failedRecords} failed (${result.firstError ?? ''})`)
    log(`bench ${op}: ${result.records} records in ${(result.elapsedMs / 1000).toFixed(1)} s, ${result.mbPerSec} MB/s`)
    return result
  }
  const produce = await sampled('produce', async () => await bench('produce', ['--acks', 'all']))
  await sleep(settleMs)
  await checkpoint('after produce')
  const consume = await sampled('consume', async () => await bench('consume', []))
  await sleep(settleMs)
  await checkpoint('after consume')
  const summary = summarize()
  for (const line of summaryLines(summary)) out.write(`${line}\n`)
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ gregorDir, records, recordBytes, samples, summary, produce, consume })}\n`)
  }
} catch (error) {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`)
  process.exitCode = 1
} finally {
  clearTimeout(deadline)
  await cleanup()
}

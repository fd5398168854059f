#!/usr/bin/env node
/**
 * The producing client's CPU per record (issue 12's client figure): produces N keyless records of S random bytes to
 * an existing topic of a running cluster and prints one JSON line with the client's CPU (user + system, from
 * `process.cpuUsage()`) divided by the records acknowledged. On a shared machine records/s is noise; CPU µs per
 * record is the figure to compare, run back to back on the same machine and cluster.
 *
 * Modes:
 *   send      one `producer.send({ topic, messages: [{ value }] })` per record, at most 10,000 unacknowledged: the
 *             loop of `gregor bench produce`, for a before/after of the per-record API.
 *   sendMany  `producer.sendMany(topic, messages)` calls of `--chunk` records each (default 1,000), at most 10,000
 *             records unacknowledged: the bulk path, one promise per call.
 * The CPU counted runs from the first send to the last acknowledgement (the producer is created and the topic's
 * metadata fetched before, with one warm-up record, so connection set-up is not counted); `close` is after.
 *
 * Usage: node scripts/bench/client-produce-cpu.mjs --bootstrap 127.0.0.1:9292,... --topic T
 *          [--records 1000000] [--record-bytes 100] [--mode send|sendMany] [--chunk 1000] [--acks all|leader|none]
 *          [--max-in-flight 1..5] [--batch-bytes B] [--linger-ms L]   (producer settings; the defaults otherwise)
 * Needs the built client (`npx tsc -b`). GREGOR_CLIENT_MODULE=/path/to/client/dist/index.js measures another build
 * of the client against the same cluster (e.g. the commit before a change, built in a scratch copy).
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'

// GREGOR_CLIENT_MODULE: another build of the client (a path to its dist/index.js), to compare builds back to back.
const { Producer } = await import(process.env.GREGOR_CLIENT_MODULE ?? '@gregor/client')

const { values: flags } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9292,127.0.0.1:9293,127.0.0.1:9294' },
    topic: { type: 'string', default: 'bench' },
    records: { type: 'string', default: '1000000' },
    'record-bytes': { type: 'string', default: '100' },
    mode: { type: 'string', default: 'send' },
    chunk: { type: 'string', default: '1000' },
    acks: { type: 'string', default: 'all' },
    'max-in-flight': { type: 'string' },
    'batch-bytes': { type: 'string' },
    'linger-ms': { type: 'string' },
  },
})
const records = Number(flags.records)
const recordBytes = Number(flags['record-bytes'])
const chunk = Number(flags.chunk)
const windowRecords = 10_000
const { topic, mode, acks } = flags
if (mode !== 'send' && mode !== 'sendMany') throw new Error(`--mode must be send or sendMany (got ${mode})`)

const maxInFlight = flags['max-in-flight'] === undefined ? {} : { maxInFlightPerPartition: Number(flags['max-in-flight']) }
const tuning = {
  ...maxInFlight,
  ...(flags['batch-bytes'] === undefined ? {} : { batchBytesMax: Number(flags['batch-bytes']) }),
  ...(flags['linger-ms'] === undefined ? {} : { lingerMs: Number(flags['linger-ms']) }),
}
const producer = new Producer({ bootstrapServers: flags.bootstrap.split(','), acks, ...tuning })
const value = randomBytes(recordBytes)
await producer.send({ topic, messages: [{ value }] })

let outstanding = 0
let acknowledged = 0
let failed = 0
let firstError
let slotFreed
const settled = (count, error) => {
  outstanding -= count
  if (error === undefined) acknowledged += count
  else { failed += count; firstError ??= String(error?.message ?? error) }
  const wake = slotFreed
  slotFreed = undefined
  wake?.()
}
const waitForSlot = () => new Promise((resolve) => { slotFreed = resolve })

const cpuStart = process.cpuUsage()
const startMs = performance.now()
if (mode === 'send') {
  for (let index = 0; index < records; index++) {
    outstanding++
    producer.send({ topic, messages: [{ value }] }).then(() => { settled(1) }, (error) => { settled(1, error) })
    while (outstanding >= windowRecords) await waitForSlot()
  }
} else {
  const messages = new Array(chunk).fill({ value })
  for (let sent = 0; sent < records; sent += chunk) {
    const count = Math.min(chunk, records - sent)
    const batch = count === chunk ? messages : messages.slice(0, count)
    outstanding += count
    producer.sendMany(topic, batch).then(() => { settled(count) }, (error) => { settled(count, error) })
    while (outstanding >= windowRecords) await waitForSlot()
  }
}
while (outstanding > 0) await waitForSlot()
const elapsedMs = performance.now() - startMs
const cpu = process.cpuUsage(cpuStart)
await producer.close()

const cpuMicros = cpu.user + cpu.system
console.log(JSON.stringify({
  mode, topic, records: acknowledged, failedRecords: failed, recordBytes, acks, ...(mode === 'sendMany' ? { chunk } : {}), ...tuning,
  elapsedMs: Math.round(elapsedMs), recordsPerSec: Math.round(acknowledged / (elapsedMs / 1000)),
  cpuUserMs: Math.round(cpu.user / 1000), cpuSystemMs: Math.round(cpu.system / 1000),
  cpuMicrosPerRecord: Math.round(cpuMicros / Math.max(1, acknowledged) * 100) / 100,
  ...(firstError === undefined ? {} : { firstError }),
}))
process.exitCode = failed === 0 ? 0 : 1

#!/usr/bin/env node
/**
 * The clients of a chaos run, as their own process in their own network namespace (so a rule can cut a leader off
 * from its clients and from nothing else): an `acks=all` idempotent Producer and a group Consumer on one topic.
 *
 * Owns: `<dir>/acked.log` (one line per acknowledged record: `ackTimeMs partition offset seq`), `<dir>/failed.log`
 * (one line per record whose send was reported failed: `partition seq errorCode`) and `<dir>/consumed.log` (one line
 * per record the group consumer handed out: `partition offset value`). A record's
 * value is `<partition>:<seq>`, `seq` unique over the run and never sent twice by this process: any second copy in
 * the log is the cluster's doing, not a retry of ours.
 *
 * Talks to chaos.mjs by lines: it reads `stop-producing` and `stop` on stdin and writes JSON lines on stdout
 * (`ready`, `progress` every second, `produced` once the producer is closed, `closed`). Every wait is bounded.
 *
 * Env: GREGOR_CHAOS_BOOTSTRAP, GREGOR_CHAOS_TOPIC, GREGOR_CHAOS_PARTITIONS, GREGOR_CHAOS_DIR, GREGOR_CHAOS_GROUP.
 */
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Consumer, Producer } from '@gregor/client'

const bootstrapServers = (process.env.GREGOR_CHAOS_BOOTSTRAP ?? '').split(',')
const topic = process.env.GREGOR_CHAOS_TOPIC ?? 'chaos'
const partitions = Number(process.env.GREGOR_CHAOS_PARTITIONS ?? 3)
const dir = process.env.GREGOR_CHAOS_DIR ?? '.'
const groupId = process.env.GREGOR_CHAOS_GROUP ?? 'chaos-group'
/** Concurrent sends per partition: with idempotence the producer keeps them in order. */
const workersPerPartition = 2
const recordsPerSend = 5
/** A pause after each acknowledged send: keeps the load light on a machine shared by other work. */
const paceMs = 20
const failureBackoffMs = 100
/** Closing the producer waits for sends in flight; past this the process reports what it has and exits. */
const closeTimeoutMs = 20_000

const emit = (message) => { process.stdout.write(`${JSON.stringify(message)}\n`) }
const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))
const withTimeout = async (promise, ms) => await Promise.race([promise, sleep(ms)])

const ackedLog = createWriteStream(join(dir, 'acked.log'))
const failedLog = createWriteStream(join(dir, 'failed.log'))
const consumedLog = createWriteStream(join(dir, 'consumed.log'))
const counts = { issued: 0, acked: 0, failed: 0, consumed: 0 }
const errors = {}
/** The next offset the group consumer will hand out, by partition. */
const consumedNext = {}

// Client timeouts shorter than the defaults (30 s request, 120 s delivery) so that a run of a few minutes stays
// bounded; they are still long against a failover (about a second), so they do not hide unavailability.
const producer = new Producer({ bootstrapServers, acks: 'all', idempotent: true, requestTimeoutMs: 10_000, deliveryTimeoutMs: 30_000 })
let producing = true

async function produceLoop (partition) {
  while (producing) {
    const seqs = Array.from({ length: recordsPerSend }, () => counts.issued++)
    try {
      const metadata = await producer.send({ topic, messages: seqs.map((seq) => ({ value: `${partition}:${seq}`, partition })) })
      const ackMs = Date.now()
      metadata.forEach((item, i) => { ackedLog.write(`${ackMs} ${item.partition} ${item.offset} ${seqs[i]}\n`) })
      counts.acked += seqs.length
      await sleep(paceMs)
    } catch (error) {
      counts.failed += seqs.length
      const code = error?.code ?? error?.name ?? 'UNKNOWN'
      errors[code] = (errors[code] ?? 0) + 1
      seqs.forEach((seq) => { failedLog.write(`${partition} ${seq} ${code}\n`) })
      process.stderr.write(`${JSON.stringify({ type: 'send-failed', timeMs: Date.now(), partition, seqs: [seqs[0], seqs.at(-1)], code, message: String(error?.message ?? error) })}\n`)
      await sleep(failureBackoffMs)
    }
  }
}

const consumer = new Consumer({ bootstrapServers, groupId, autoOffsetReset: 'earliest', maxWaitMs: 200 })
consumer.subscribe([topic])
const consuming = (async () => {
  for await (const message of consumer) {
    consumedLog.write(`${message.partition} ${Number(message.offset)} ${message.value?.toString() ?? ''}\n`)
    counts.consumed++
    consumedNext[message.partition] = Math.max(consumedNext[message.partition] ?? 0, Number(message.offset) + 1)
  }
})().catch((error) => { emit({ type: 'consumer-error', message: String(error) }) })

const producing$ = Array.from({ length: partitions * workersPerPartition }, async (_, i) => await produceLoop(i % partitions))
const progress = setInterval(() => { emit({ type: 'progress', ...counts, consumedNext, errors }) }, 1_000)
emit({ type: 'ready', pid: process.pid })

let stopping = false
async function stopProducing () {
  if (!producing) return
  producing = false
  await withTimeout(Promise.all(producing$), closeTimeoutMs)
  await withTimeout(producer.close(), closeTimeoutMs)
  emit({ type: 'produced', ...counts, errors })
}

async function stop () {
  if (stopping) return
  stopping = true
  await stopProducing()
  clearInterval(progress)
  await withTimeout(consumer.close(), closeTimeoutMs)
  await withTimeout(consuming, 1_000)
  await Promise.all([ackedLog, failedLog, consumedLog].map(async (stream) => await new Promise((resolve) => stream.end(resolve))))
  emit({ type: 'closed', ...counts, consumedNext, errors })
  process.exit(0)
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stop-producing') stopProducing().catch((error) => emit({ type: 'error', message: String(error) }))
  if (line === 'stop') stop().catch(() => process.exit(1))
}).on('close', () => { stop().catch(() => process.exit(1)) })
process.on('SIGTERM', () => { stop().catch(() => process.exit(1)) })

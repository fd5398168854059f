#!/usr/bin/env node
/**
 * Kafka's C client against Gregor, next to Gregor's own client, in the same run (issue 11's figure): three real
 * brokers (the built CLI; `npm run bench:kafka` builds first), a topic of 3 partitions with RF 3, then
 *   1. kcat (librdkafka) produces N lines of S bytes from a file through the Kafka listeners, `-X linger.ms=5`,
 *      acks=-1 (every line acknowledged by the in-sync replicas);
 *   2. `gregor bench produce` sends the same count and size with acks=all over gRPC, to a second topic.
 * Prints one JSON line per client with records/s and MB/s. kcat's rate includes its start and its final flush: with
 * a million lines that is noise. Bounded: gives up after 10 minutes.
 *
 * Usage: node scripts/bench/kafka-produce.mjs [records=1000000] [recordBytes=100]
 */
import { execFile, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { promisify } from 'node:util'
import { Admin } from '@gregor/client'
import { BrokerProcesses, cliBin, waitFor } from '@gregor/cli'

const records = Number(process.argv[2] ?? 1_000_000)
const recordBytes = Number(process.argv[3] ?? 100)
const deadline = setTimeout(() => { console.error('kafka-produce bench: gave up after 10 minutes'); process.exit(2) }, 600_000)

const scratch = await mkdtemp(join(tmpdir(), 'gregor-kafka-bench-'))
const cluster = await BrokerProcesses.start({ logLevel: 'warn' })
const admin = new Admin({ bootstrapServers: cluster.bootstrapServers })
try {
  await cluster.waitForReady()
  for (const topic of ['bench-kcat', 'bench-gregor']) {
    await waitFor(`topic ${topic}`, async () => { await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]); return true }, { timeoutMs: 30_000, intervalMs: 200 })
  }
  await waitFor('every partition in sync', async () => {
    const described = await admin.describeTopics(['bench-kcat', 'bench-gregor'])
    return described.every((topic) => topic.partitions.every((partition) => partition.leader > 0 && partition.isr.length === 3)) ? true : undefined
  }, { timeoutMs: 30_000, intervalMs: 100 })

  // The input file: N distinct lines of S bytes (a line number, padded), written once, outside the timing.
  const file = join(scratch, 'lines.txt')
  const out = createWriteStream(file)
  const pad = 'x'.repeat(recordBytes)
  for (let i = 0; i < records; i++) {
    const line = `${i} ${pad}`.slice(0, recordBytes)
    if (!out.write(`${line}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')

  const kcatStartedMs = Date.now()
  const kcat = spawn('kcat', ['-b', cluster.kafkaBootstrapServers, '-P', '-t', 'bench-kcat', '-X', 'linger.ms=5', '-X', 'acks=-1', '-l', file], { stdio: ['ignore', 'inherit', 'pipe'] })
  let kcatErr = ''
  kcat.stderr.setEncoding('utf8').on('data', (chunk) => { kcatErr += chunk })
  const [code] = await once(kcat, 'exit')
  const kcatMs = Date.now() - kcatStartedMs
  if (code !== 0) throw new Error(`kcat exited ${code}: ${kcatErr.slice(-2000)}`)
  // Count what the brokers hold (ListOffsets latest through the Kafka listener): every line must have been stored,
  // since kcat reports a failed delivery only on stderr.
  const { stdout: ends } = await promisify(execFile)('kcat', ['-b', cluster.kafkaBootstrapServers, '-Q', '-t', 'bench-kcat:0:-1', '-t', 'bench-kcat:1:-1', '-t', 'bench-kcat:2:-1'])
  const stored = [...ends.matchAll(/offset (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)
  if (stored !== records) throw new Error(`kcat: ${records} lines sent, ${stored} stored:\n${ends}\n${kcatErr.slice(-2000)}`)
  console.log(JSON.stringify({ name: 'kcat-produce', records, recordBytes, acks: -1, lingerMs: 5, ms: kcatMs, recordsPerSec: Math.round(records / (kcatMs / 1000)), mbPerSec: +(records * recordBytes / (kcatMs / 1000) / 1e6).toFixed(1), stored }))

  const { stdout } = await promisify(execFile)(process.execPath, [cliBin, 'bench', 'produce', '--topic', 'bench-gregor', '--records', String(records), '--record-bytes', String(recordBytes), '--acks', 'all', '--json', '-b', cluster.bootstrapServers], { maxBuffer: 16 * 1024 * 1024 })
  console.log(JSON.stringify({ name: 'gregor-bench-produce', output: stdout.trim() }))
} finally {
  admin.close()
  await cluster.stop()
  await rm(scratch, { recursive: true, force: true })
  clearTimeout(deadline)
}

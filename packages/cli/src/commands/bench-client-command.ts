/**
 * `gregor bench produce|consume --topic T --records N --record-bytes S [--acks A]`: client throughput (records/s,
 * MB/s), latency (p50/p99/p99.9/max) and CPU per record (the client's own, and each broker's from its admin `/metrics`
 * read before and after the run; `--metrics-urls`, by default the `gregor dev` brokers' when no servers are given)
 * against a running cluster, printed as a small table, or as one JSON object with `--json` (bench/bench-report.ts).
 *
 * produce: N keyless records of S random bytes through `sendMany`, 1,000 records per call (one promise per call, none
 * per record; batching is still the producer's), at most `--max-in-flight` unacknowledged; each record's latency is
 * its call's, from the call to its acknowledgement. A send may wait `--timeout-ms` for metadata or buffer space (the
 * producer's `maxBlockMs`), and the run stops sending at the first failed call (the producer already retried it
 * within its delivery timeout): every record not acknowledged counts as failed, and the first error is reported. A
 * mistyped topic so ends after one timeout, not after one per window of records.
 * produce --throughput R: open loop (bench/open-loop-produce.ts): R records/s offered on a schedule whatever the
 * acknowledgements do, latency from each record's intended send time; the report says if the client fell behind.
 * consume: reads the topic's partitions from the beginning until N records arrived (failing after `--timeout-ms`
 * without a new record), through the consumer's lazy batch-level path, touching every record's offset and value
 * length (bench/consume-records.ts); latency is the wait of each record: the first of a fetched chunk waited for the
 * chunk, the others their share of reading it, so p50 shows the in-memory path and p99/max the fetch round trips.
 * Throughput counts value bytes only.
 * consume --group G [--consumers N]: N consumers of group G in this process (default 1) subscribe to the topic and
 * share its records as the coordinator assigns them, until N records arrived among them; throughput and latency
 * as above (the elapsed time includes joining the group), plus the records each consumer got and `firstAssignmentMs`:
 * per consumer, from its start (subscribe, the first heartbeat) to owning its first partitions, median and max over
 * the consumers that got any (`consumersAssigned`; with more consumers than partitions some get none). Where the
 * group has committed offsets, consumers resume there, so a rerun needs a fresh group or a `groups reset-offsets`.
 */
import { randomBytes } from 'node:crypto'
import { type Acks, Admin, Consumer, Producer, type TopicPartition } from '@gregor/client'
import { type BenchResult, benchReportLines, throughput } from '../bench/bench-report.js'
import { LatencyHistogram } from '../bench/latency-histogram.js'
import { runOpenLoop } from '../bench/open-loop-produce.js'
import { consumeChunks, consumeTally } from '../bench/consume-records.js'
import { cpuPerRecord, readBrokerCpu } from '../bench/process-cpu.js'
import { brokerMemory, readBrokerMemory } from '../bench/broker-memory.js'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, runClientCommand, tlsOption } from './client-args.js'
import { writeLine } from './client-output.js'

const usage = `usage:
  gregor bench produce|consume --topic T --records N --record-bytes S [--acks all|1|0] [--timeout-ms T] [-b servers]
                               [--metrics-urls URL,URL,...] [--json]
  gregor bench produce ... --throughput R [--max-in-flight N]    open loop: R records/s offered on a schedule
  gregor bench produce ... --linger-ms L                         the producer's lingerMs (default its own, 5)
  gregor bench produce ... --batch-bytes B                       the producer's batchBytesMax (default its own)
  gregor bench consume --group G [--consumers N] --topic T --records N --record-bytes S [--timeout-ms T] [-b servers]
`

/** Sends not yet acknowledged in the produce benchmark, by default. */
const WINDOW_RECORDS = 10_000
/** The admin URLs of `gregor dev`'s brokers: where broker CPU is read when the bench goes to that cluster. */
const devMetricsUrls = [8081, 8082, 8083].map((port) => `http://127.0.0.1:${port}`)
const acksByFlag: Readonly<Record<string, Acks>> = { all: 'all', '-1': 'all', 1: 'leader', leader: 'leader', 0: 'none', none: 'none' }

interface BenchOptions {
  readonly mode: 'produce' | 'consume'
  readonly servers: string[]
  readonly topic: string
  readonly records: number
  readonly recordBytes: number
  readonly acks: Acks
  readonly timeoutMs: number
  /** consume as members of this group; undefined: assign every partition to one consumer. */
  readonly groupId: string | undefined
  readonly consumers: number
  /** Open loop at this many records/s; undefined: closed loop (as fast as the window allows). */
  readonly throughput: number | undefined
  readonly maxInFlight: number
  /** The producer's lingerMs; undefined: its default. */
  readonly lingerMs: number | undefined
  /** The producer's batchBytesMax; undefined: its default. */
  readonly batchBytesMax: number | undefined
  /** Where each broker's `/metrics` is read for its CPU; empty: brokers not measured. */
  readonly metricsUrls: readonly string[]
  readonly json: boolean
}

export async function benchClientCommand (argv: string[]): Promise<number> {
  return await runClientCommand('bench', usage, async () => {
    const options = benchOptions(argv)
    const result = await measured(options, async () => options.mode === 'produce'
      ? await benchProduce(options)
      : options.groupId === undefined ? await benchConsume(options) : await benchGroupConsume(options, options.groupId))
    if (options.json) await writeLine(JSON.stringify(result))
    else for (const line of benchReportLines(result)) await writeLine(line)
    return result.failedRecords === 0 ? 0 : 1
  })
}

function benchOptions (argv: string[]): BenchOptions {
  const [mode, ...rest] = argv
  const { values } = parseCommandArgs(rest, {
    ...bootstrapOption, topic: { type: 'string' }, records: { type: 'string' }, 'record-bytes': { type: 'string' },
    acks: { type: 'string' }, 'timeout-ms': { type: 'string' }, group: { type: 'string' }, consumers: { type: 'string' },
    throughput: { type: 'string' }, 'max-in-flight': { type: 'string' }, 'linger-ms': { type: 'string' }, 'batch-bytes': { type: 'string' }, 'metrics-urls': { type: 'string' }, json: { type: 'boolean' },
  })
  const problems: string[] = []
  if (mode !== 'produce' && mode !== 'consume') problems.push(`expected 'bench produce' or 'bench consume'${mode === undefined ? '' : ` (got '${mode}')`}`)
  if (values.topic === undefined) problems.push('--topic is required')
  const records = integerFlag('records', values.records, problems, 1)
  if (values.records === undefined) problems.push('--records is required')
  const recordBytes = integerFlag('record-bytes', values['record-bytes'], problems, 0) ?? 100
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], problems, 1) ?? 30_000
  const acks = acksByFlag[values.acks ?? 'all']
  if (acks === undefined) problems.push(`--acks must be all, 1 or 0 (got '${values.acks ?? ''}')`)
  const consumers = integerFlag('consumers', values.consumers, problems, 1) ?? 1
  if (values.group !== undefined && mode !== 'consume') problems.push('--group only goes with bench consume')
  if (values.group === '') problems.push('--group must not be empty')
  if (values.consumers !== undefined && values.group === undefined) problems.push('--consumers needs --group')
  const rate = integerFlag('throughput', values.throughput, problems, 1)
  if (values.throughput !== undefined && mode !== 'produce') problems.push('--throughput only goes with bench produce')
  const maxInFlight = integerFlag('max-in-flight', values['max-in-flight'], problems, 1) ?? WINDOW_RECORDS
  const lingerMs = integerFlag('linger-ms', values['linger-ms'], problems, 0)
  if (values['linger-ms'] !== undefined && mode !== 'produce') problems.push('--linger-ms only goes with bench produce')
  const batchBytesMax = integerFlag('batch-bytes', values['batch-bytes'], problems, 1)
  if (values['batch-bytes'] !== undefined && mode !== 'produce') problems.push('--batch-bytes only goes with bench produce')
  const servers = bootstrapServers(values['bootstrap-server'])
  const metricsUrls = metricsUrlsFlag(values['metrics-urls'], values['bootstrap-server'] === undefined && (process.env.GREGOR_BOOTSTRAP_SERVERS ?? '').trim() === '', problems)
  if (problems.length > 0) throw new UsageError(problems)
  return {
    mode: mode === 'produce' ? 'produce' : 'consume', servers,
    topic: values.topic ?? '', records: records ?? 0, recordBytes, acks: acks ?? 'all', timeoutMs,
    groupId: values.group, consumers, throughput: rate, maxInFlight, lingerMs, batchBytesMax, metricsUrls, json: values.json === true,
  }
}

/** `--metrics-urls a,b,c`; absent: the dev cluster's when the bench goes to it, else none; `none`: none. */
function metricsUrlsFlag (flag: string | undefined, devCluster: boolean, problems: string[]): readonly string[] {
  if (flag === undefined) return devCluster ? devMetricsUrls : []
  if (flag.trim() === 'none') return []
  const urls = flag.split(',').map((url) => url.trim()).filter((url) => url !== '')
  for (const url of urls) if (!URL.canParse(url)) problems.push(`--metrics-urls: '${url}' is not a URL (e.g. http://127.0.0.1:8081)`)
  return urls
}

/** Runs one benchmark between two readings of the client's and the brokers' CPU counters. */
async function measured (options: BenchOptions, run: () => Promise<Omit<BenchResult, 'cpu'>>): Promise<BenchResult> {
  const memoryBefore = await readBrokerMemory(options.metricsUrls)
  const before = await readBrokerCpu(options.metricsUrls)
  const clientStart = process.cpuUsage()
  const result = await run()
  const client = process.cpuUsage(clientStart)
  const after = await readBrokerCpu(options.metricsUrls)
  const memory = brokerMemory(memoryBefore, await readBrokerMemory(options.metricsUrls))
  return {
    ...result, cpu: cpuPerRecord(result.records, client, before, after), ...(memory.length === 0 ? {} : { memory }),
    node: { version: process.version, execArgv: process.execArgv },
  }
}

function summary (options: BenchOptions, done: number, elapsedMs: number, latency: LatencyHistogram): Omit<BenchResult, 'failedRecords' | 'cpu'> {
  return {
    mode: options.mode, topic: options.topic, records: done, recordBytes: options.recordBytes,
    elapsedMs: Math.round(elapsedMs),
    ...throughput(done, options.recordBytes, elapsedMs),
    latencyMs: latency.percentiles(),
  }
}

type Measured = Omit<BenchResult, 'cpu'>

async function benchProduce (options: BenchOptions): Promise<Measured> {
  const producer = new Producer({
    bootstrapServers: options.servers, ...tlsOption(), acks: options.acks, maxBlockMs: options.timeoutMs,
    ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
    ...(options.batchBytesMax === undefined ? {} : { batchBytesMax: options.batchBytesMax }),
  })
  const value = randomBytes(options.recordBytes)
  if (options.throughput !== undefined) {
    try {
      // The records due at one look go in one bulk call (bench/open-loop-produce.ts says why).
      const message = { value }
      const run = await runOpenLoop({ ratePerSec: options.throughput, records: options.records, maxInFlight: options.maxInFlight },
        async (count) => { await producer.sendMany(options.topic, new Array<{ value: Buffer }>(count).fill(message)) })
      return {
        ...summary(options, run.acknowledged, run.elapsedMs, run.latency), acks: options.acks, failedRecords: run.failedRecords,
        openLoop: run.report, ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
      }
    } finally {
      await producer.close()
    }
  }
  const latency = new LatencyHistogram()
  let outstanding = 0
  let slotFreed: (() => void) | undefined
  let acknowledged = 0
  let firstError: string | undefined
  const startMs = performance.now()
  try {
    // A counting window, not Promise.race over the outstanding set: race attaches a handler to every pending promise
    // on each call, which made the benchmark itself quadratic and the bottleneck.
    const settled = (count: number): void => {
      outstanding -= count
      const wake = slotFreed
      slotFreed = undefined
      wake?.()
    }
    // The producer's bulk path (issue 12): one promise and one handler pair per call of up to 1,000 records.
    const chunk = Array.from({ length: Math.max(1, Math.min(1_000, options.maxInFlight, options.records)) }, () => ({ value }))
    for (let index = 0; index < options.records && firstError === undefined; index += chunk.length) {
      const count = Math.min(chunk.length, options.records - index)
      const sentMs = performance.now()
      outstanding += count
      producer.sendMany(options.topic, count === chunk.length ? chunk : chunk.slice(0, count)).then(
        () => { latency.record(performance.now() - sentMs, count); acknowledged += count; settled(count) },
        (error: unknown) => { firstError ??= error instanceof Error ? error.message : String(error); settled(count) },
      )
      while (outstanding >= options.maxInFlight) await new Promise<void>((resolve) => { slotFreed = resolve })
    }
    while (outstanding > 0) await new Promise<void>((resolve) => { slotFreed = resolve })
  } finally {
    await producer.close()
  }
  const elapsedMs = performance.now() - startMs
  // Failed: the calls that failed, and the records never sent after the first failure.
  const failedRecords = options.records - acknowledged
  return {
    ...summary(options, acknowledged, elapsedMs, latency), acks: options.acks, failedRecords,
    ...(firstError === undefined ? {} : { firstError }),
  }
}

async function benchConsume (options: BenchOptions): Promise<Measured> {
  const admin = new Admin({ bootstrapServers: options.servers, ...tlsOption() })
  const [description] = await admin.describeTopics([options.topic]).finally(() => { admin.close() })
  const consumer = new Consumer({ bootstrapServers: options.servers, ...tlsOption(), autoOffsetReset: 'earliest' })
  consumer.assign((description?.partitions ?? []).map((info) => ({ topic: options.topic, partition: info.partition, offset: 'earliest' })))
  // The lazy batch-level path, every record touched (bench/consume-records.ts).
  const tally = consumeTally(options.records)
  const idleTimer = setTimeout(() => { consumer.close().catch(() => undefined) }, options.timeoutMs)
  const startMs = performance.now()
  const iterator = consumer.records()
  try {
    await consumeChunks(iterator, tally, () => { idleTimer.refresh() })
  } finally {
    clearTimeout(idleTimer)
    await iterator.return(undefined)
    await consumer.close()
  }
  const elapsedMs = performance.now() - startMs
  const { count, latency } = tally
  const failedRecords = options.records - count
  return {
    ...summary(options, count, elapsedMs, latency), failedRecords,
    ...(failedRecords === 0 ? {} : { firstError: idleTimeoutError(count, options) }),
  }
}

/** Why a consume benchmark stopped short: no record for `--timeout-ms`. */
function idleTimeoutError (count: number, options: BenchOptions): string {
  return `only ${count} records within --timeout-ms ${options.timeoutMs} of the last one`
}

/** One group member of the group benchmark: what it read and when it first owned partitions. */
interface BenchMember {
  readonly consumer: Consumer
  readonly startMs: number
  firstAssignmentMs: number | undefined
  records: number
}

async function benchGroupConsume (options: BenchOptions, groupId: string): Promise<Measured> {
  const tally = consumeTally(options.records)
  const members: BenchMember[] = []
  // Consumer.close is idempotent (every call returns the one close), so stopping twice waits for the same closes.
  const stop = async (): Promise<void> => { await Promise.all(members.map(async (member) => { await member.consumer.close() })) }
  const idleTimer = setTimeout(() => { stop().catch(() => undefined) }, options.timeoutMs)
  const startMs = performance.now()
  /** When the last record arrived: closing (commit, leave) is not part of the throughput. */
  let endMs: number | undefined
  /** Reads until the members together got `records`, then stops all of them. */
  const read = async (member: BenchMember): Promise<void> => {
    const iterator = member.consumer.records()
    try {
      await consumeChunks(iterator, tally, (records) => { member.records += records; idleTimer.refresh() })
    } finally {
      await iterator.return(undefined)
    }
    if (tally.count >= options.records) {
      endMs ??= performance.now()
      await stop()
    }
  }
  let firstError: string | undefined
  try {
    // Each consumer starts reading (and so heartbeating) as soon as it subscribed, as applications started one
    // after another would: later members join a group that already assigned everything to the first ones.
    const reading: Promise<void>[] = []
    for (let index = 0; index < options.consumers; index++) {
      const consumer = new Consumer({
        bootstrapServers: options.servers, ...tlsOption(), groupId, autoOffsetReset: 'earliest', clientId: `gregor-bench-${index + 1}`,
        onPartitionsAssigned: (partitions: TopicPartition[]) => {
          if (partitions.length > 0) member.firstAssignmentMs ??= performance.now() - member.startMs
        },
      })
      const member: BenchMember = { consumer, startMs: performance.now(), firstAssignmentMs: undefined, records: 0 }
      members.push(member)
      consumer.subscribe([options.topic])
      reading.push(read(member))
    }
    for (const outcome of await Promise.allSettled(reading)) {
      if (outcome.status === 'rejected') firstError ??= outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)
    }
  } finally {
    clearTimeout(idleTimer)
    await stop()
  }
  const elapsedMs = (endMs ?? performance.now()) - startMs
  const { count, latency } = tally
  const failedRecords = options.records - count
  const assigned = new LatencyHistogram()
  for (const member of members) if (member.firstAssignmentMs !== undefined) assigned.record(member.firstAssignmentMs)
  const { p50, max } = assigned.percentiles()
  firstError ??= failedRecords === 0 ? undefined : idleTimeoutError(count, options)
  return {
    ...summary(options, count, elapsedMs, latency), failedRecords,
    group: groupId, consumers: options.consumers, recordsPerConsumer: members.map((member) => member.records),
    consumersAssigned: assigned.count, firstAssignmentMs: { median: p50, max },
    ...(firstError === undefined ? {} : { firstError }),
  }
}

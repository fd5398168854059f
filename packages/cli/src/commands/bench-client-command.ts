/**
 * `gregor bench produce|consume --topic T --records N --record-bytes S [--acks A]`: client throughput and latency
 * against a running cluster, printed as one JSON object.
 *
 * produce: N keyless records of S random bytes, each its own `send` (so batching is the producer's, as in an
 * application), at most `WINDOW_RECORDS` unacknowledged; latency is per send, from the call to its acknowledgement.
 * consume: reads the topic's partitions from the beginning until N records arrived (failing after `--timeout-ms`
 * without a new record); latency is the wait of each record, from asking the iterator for it to getting it, so
 * p50 shows the in-memory path and p99/max the fetch round trips. Throughput counts value bytes only.
 */
import { randomBytes } from 'node:crypto'
import { type Acks, Admin, Consumer, Producer } from '@gregor/client'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, runClientCommand } from './client-args.js'
import { latencySummaryMs, writeLine } from './client-output.js'

const usage = `usage: gregor bench produce|consume --topic T --records N --record-bytes S [--acks all|1|0] [--timeout-ms T] [-b servers]
`

/** Sends not yet acknowledged in the produce benchmark. */
const WINDOW_RECORDS = 10_000
const acksByFlag: Readonly<Record<string, Acks>> = { all: 'all', '-1': 'all', 1: 'leader', leader: 'leader', 0: 'none', none: 'none' }

interface BenchOptions {
  readonly mode: 'produce' | 'consume'
  readonly servers: string[]
  readonly topic: string
  readonly records: number
  readonly recordBytes: number
  readonly acks: Acks
  readonly timeoutMs: number
}

export async function benchClientCommand (argv: string[]): Promise<number> {
  return await runClientCommand('bench', usage, async () => {
    const options = benchOptions(argv)
    const result = options.mode === 'produce' ? await benchProduce(options) : await benchConsume(options)
    await writeLine(JSON.stringify(result))
    return result.failedRecords === 0 ? 0 : 1
  })
}

function benchOptions (argv: string[]): BenchOptions {
  const [mode, ...rest] = argv
  const { values } = parseCommandArgs(rest, {
    ...bootstrapOption, topic: { type: 'string' }, records: { type: 'string' }, 'record-bytes': { type: 'string' },
    acks: { type: 'string' }, 'timeout-ms': { type: 'string' },
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
  if (problems.length > 0) throw new UsageError(problems)
  return {
    mode: mode === 'produce' ? 'produce' : 'consume', servers: bootstrapServers(values['bootstrap-server']),
    topic: values.topic ?? '', records: records ?? 0, recordBytes, acks: acks ?? 'all', timeoutMs,
  }
}

interface BenchResult {
  readonly mode: string
  readonly topic: string
  readonly records: number
  readonly recordBytes: number
  readonly failedRecords: number
  readonly elapsedMs: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  readonly latencyMs: ReturnType<typeof latencySummaryMs>
  readonly acks?: Acks
  readonly firstError?: string
}

function summary (options: BenchOptions, done: number, elapsedMs: number, latenciesMs: Float64Array): Omit<BenchResult, 'failedRecords'> {
  const seconds = Math.max(elapsedMs, 1e-3) / 1000
  return {
    mode: options.mode, topic: options.topic, records: done, recordBytes: options.recordBytes,
    elapsedMs: Math.round(elapsedMs),
    recordsPerSec: Math.round(done / seconds),
    mbPerSec: Math.round((done * options.recordBytes) / (1024 * 1024) / seconds * 100) / 100,
    latencyMs: latencySummaryMs(latenciesMs),
  }
}

async function benchProduce (options: BenchOptions): Promise<BenchResult> {
  const producer = new Producer({ bootstrapServers: options.servers, acks: options.acks })
  const value = randomBytes(options.recordBytes)
  const latenciesMs = new Float64Array(options.records)
  let outstanding = 0
  let slotFreed: (() => void) | undefined
  let failedRecords = 0
  let acknowledged = 0
  let firstError: string | undefined
  const startMs = performance.now()
  try {
    // A counting window, not Promise.race over the outstanding set: race attaches a handler to every pending promise
    // on each call, which made the benchmark itself quadratic and the bottleneck.
    const settled = (): void => {
      outstanding--
      const wake = slotFreed
      slotFreed = undefined
      wake?.()
    }
    for (let index = 0; index < options.records; index++) {
      const sentMs = performance.now()
      outstanding++
      // One handler pair per send (no `finally`): the benchmark should cost the client as little as an application.
      producer.send({ topic: options.topic, messages: [{ value }] }).then(
        () => { latenciesMs[acknowledged++] = performance.now() - sentMs; settled() },
        (error: unknown) => { failedRecords++; firstError ??= error instanceof Error ? error.message : String(error); settled() },
      )
      while (outstanding >= WINDOW_RECORDS) await new Promise<void>((resolve) => { slotFreed = resolve })
    }
    while (outstanding > 0) await new Promise<void>((resolve) => { slotFreed = resolve })
  } finally {
    await producer.close()
  }
  const elapsedMs = performance.now() - startMs
  return {
    ...summary(options, acknowledged, elapsedMs, latenciesMs.slice(0, acknowledged)), acks: options.acks, failedRecords,
    ...(firstError === undefined ? {} : { firstError }),
  }
}

async function benchConsume (options: BenchOptions): Promise<BenchResult> {
  const admin = new Admin({ bootstrapServers: options.servers })
  const [description] = await admin.describeTopics([options.topic]).finally(() => { admin.close() })
  const consumer = new Consumer({ bootstrapServers: options.servers, autoOffsetReset: 'earliest' })
  consumer.assign((description?.partitions ?? []).map((info) => ({ topic: options.topic, partition: info.partition, offset: 'earliest' })))
  const latenciesMs = new Float64Array(options.records)
  let count = 0
  const idleTimer = setTimeout(() => { consumer.close() }, options.timeoutMs)
  const startMs = performance.now()
  const iterator = consumer[Symbol.asyncIterator]()
  try {
    while (count < options.records) {
      const askedMs = performance.now()
      const next = await iterator.next()
      if (next.done === true) break
      latenciesMs[count++] = performance.now() - askedMs
      idleTimer.refresh()
    }
  } finally {
    clearTimeout(idleTimer)
    await iterator.return(undefined)
    consumer.close()
  }
  const elapsedMs = performance.now() - startMs
  const failedRecords = options.records - count
  return {
    ...summary(options, count, elapsedMs, latenciesMs.slice(0, count)), failedRecords,
    ...(failedRecords === 0 ? {} : { firstError: `only ${count} records within --timeout-ms ${options.timeoutMs} of the last one` }),
  }
}

/**
 * `gregor bench produce|consume --topic T --records N --record-bytes S [--acks A]`: client throughput and latency
 * against a running cluster, printed as one JSON object.
 *
 * produce: N keyless records of S random bytes, each its own `send` (so batching is the producer's, as in an
 * application), at most `WINDOW_RECORDS` unacknowledged; latency is per send, from the call to its acknowledgement.
 * consume: reads the topic's partitions from the beginning until N records arrived (failing after `--timeout-ms`
 * without a new record); latency is the wait of each record, from asking the iterator for it to getting it, so
 * p50 shows the in-memory path and p99/max the fetch round trips. Throughput counts value bytes only.
 * consume --group G [--consumers N]: N consumers of group G in this process (default 1) subscribe to the topic and
 * share its records as the coordinator assigns them, until N records arrived among them; throughput and latency
 * as above (the elapsed time includes joining the group), plus the records each consumer got and `firstAssignmentMs`:
 * per consumer, from its start (subscribe, the first heartbeat) to owning its first partitions, median and max over
 * the consumers that got any (`consumersAssigned`; with more consumers than partitions some get none). Where the
 * group has committed offsets, consumers resume there, so a rerun needs a fresh group or a `groups reset-offsets`.
 */
import { randomBytes } from 'node:crypto'
import { type Acks, Admin, Consumer, Producer, type TopicPartition } from '@gregor/client'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, runClientCommand } from './client-args.js'
import { latencySummaryMs, writeLine } from './client-output.js'

const usage = `usage:
  gregor bench produce|consume --topic T --records N --record-bytes S [--acks all|1|0] [--timeout-ms T] [-b servers]
  gregor bench consume --group G [--consumers N] --topic T --records N --record-bytes S [--timeout-ms T] [-b servers]
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
  /** consume as members of this group; undefined: assign every partition to one consumer. */
  readonly groupId: string | undefined
  readonly consumers: number
}

export async function benchClientCommand (argv: string[]): Promise<number> {
  return await runClientCommand('bench', usage, async () => {
    const options = benchOptions(argv)
    const result = options.mode === 'produce'
      ? await benchProduce(options)
      : options.groupId === undefined ? await benchConsume(options) : await benchGroupConsume(options, options.groupId)
    await writeLine(JSON.stringify(result))
    return result.failedRecords === 0 ? 0 : 1
  })
}

function benchOptions (argv: string[]): BenchOptions {
  const [mode, ...rest] = argv
  const { values } = parseCommandArgs(rest, {
    ...bootstrapOption, topic: { type: 'string' }, records: { type: 'string' }, 'record-bytes': { type: 'string' },
    acks: { type: 'string' }, 'timeout-ms': { type: 'string' }, group: { type: 'string' }, consumers: { type: 'string' },
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
  if (problems.length > 0) throw new UsageError(problems)
  return {
    mode: mode === 'produce' ? 'produce' : 'consume', servers: bootstrapServers(values['bootstrap-server']),
    topic: values.topic ?? '', records: records ?? 0, recordBytes, acks: acks ?? 'all', timeoutMs,
    groupId: values.group, consumers,
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
  readonly group?: string
  readonly consumers?: number
  /** Records each consumer got, in start order. */
  readonly recordsPerConsumer?: number[]
  /** Consumers that came to own partitions before the end. */
  readonly consumersAssigned?: number
  /** From a consumer's start to owning its first partitions, over the assigned consumers. */
  readonly firstAssignmentMs?: { readonly median: number; readonly max: number }
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
  const idleTimer = setTimeout(() => { consumer.close().catch(() => undefined) }, options.timeoutMs)
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
    await consumer.close()
  }
  const elapsedMs = performance.now() - startMs
  const failedRecords = options.records - count
  return {
    ...summary(options, count, elapsedMs, latenciesMs.slice(0, count)), failedRecords,
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

async function benchGroupConsume (options: BenchOptions, groupId: string): Promise<BenchResult> {
  const latenciesMs = new Float64Array(options.records)
  let count = 0
  const members: BenchMember[] = []
  // Consumer.close is idempotent (every call returns the one close), so stopping twice waits for the same closes.
  const stop = async (): Promise<void> => { await Promise.all(members.map(async (member) => { await member.consumer.close() })) }
  const idleTimer = setTimeout(() => { stop().catch(() => undefined) }, options.timeoutMs)
  const startMs = performance.now()
  /** When the last record arrived: closing (commit, leave) is not part of the throughput. */
  let endMs: number | undefined
  /** Reads until the members together got `records`, then stops all of them. */
  const read = async (member: BenchMember): Promise<void> => {
    const iterator = member.consumer[Symbol.asyncIterator]()
    try {
      while (count < options.records) {
        const askedMs = performance.now()
        const next = await iterator.next()
        if (next.done === true || count >= options.records) break
        latenciesMs[count++] = performance.now() - askedMs
        member.records++
        idleTimer.refresh()
      }
    } finally {
      await iterator.return(undefined)
    }
    if (count >= options.records) {
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
        bootstrapServers: options.servers, groupId, autoOffsetReset: 'earliest', clientId: `gregor-bench-${index + 1}`,
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
  const failedRecords = options.records - count
  const assignedMs = Float64Array.from(members.flatMap((member) => member.firstAssignmentMs === undefined ? [] : [member.firstAssignmentMs]))
  const { p50, max } = latencySummaryMs(assignedMs)
  firstError ??= failedRecords === 0 ? undefined : idleTimeoutError(count, options)
  return {
    ...summary(options, count, elapsedMs, latenciesMs.slice(0, count)), failedRecords,
    group: groupId, consumers: options.consumers, recordsPerConsumer: members.map((member) => member.records),
    consumersAssigned: assignedMs.length, firstAssignmentMs: { median: p50, max },
    ...(firstError === undefined ? {} : { firstError }),
  }
}

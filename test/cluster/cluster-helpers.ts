/**
 * Shared helpers of the multi-process cluster tests: read a whole partition back, describe leaders, produce raw
 * requests for bad-input checks, run the `gregor` CLI as its own process (to the end, or with stdin left open),
 * read a group's committed offsets. Everything talks to real broker processes over real gRPC.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import { Admin, Consumer, type ConsumerMessage, type NewTopic, type Producer } from '@gregor/client'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { BrokerProcesses, type BrokerProcessesOptions, cliBin, waitFor } from '@gregor/cli'
import { clientMethods, unaryCall, type gregor } from '@gregor/protocol'

export async function leadersOf (cluster: BrokerProcesses, topic: string): Promise<Map<number, number>> {
  const admin = new Admin({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress) })
  try {
    const [description] = await admin.describeTopics([topic])
    return new Map((description?.partitions ?? []).map((partition) => [partition.partition, partition.leader]))
  } finally {
    admin.close()
  }
}

export async function describePartitions (cluster: BrokerProcesses, topic: string): Promise<ReadonlyArray<{ partition: number; leader: number; replicas: readonly number[]; isr: readonly number[]; leaderEpoch: number }>> {
  const admin = new Admin({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress) })
  try {
    const [description] = await admin.describeTopics([topic])
    return description?.partitions ?? []
  } finally {
    admin.close()
  }
}

/** One partition of `topic` as described now (e.g. the `__consumer_offsets` partition a group's coordinator owns). */
export async function describePartition (cluster: BrokerProcesses, topic: string, partition: number): Promise<Awaited<ReturnType<typeof describePartitions>>[number] | undefined> {
  return (await describePartitions(cluster, topic)).find((item) => item.partition === partition)
}

/** Waits until every partition of `topic` has a leader and an ISR of `isrSize`. */
export async function waitForIsr (cluster: BrokerProcesses, topic: string, isrSize: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`every partition of ${topic} with a leader and ${isrSize} in sync`, async () => {
    const partitions = await describePartitions(cluster, topic)
    return partitions.length > 0 && partitions.every((partition) => partition.leader > 0 && partition.isr.length === isrSize) ? true : undefined
  }, { timeoutMs, intervalMs: 100 })
}

/**
 * Waits until the controller counts `count` live brokers (registered, unfenced, not shutting down). A restarted
 * broker is ready by its own /readyz a moment before every later decision of the controller sees it unfenced, and a
 * live broker can be fenced for a moment when the controller moves; tests that create topics right after a restart
 * wait here, as an operator would retry INVALID_REPLICATION_FACTOR.
 */
export async function waitForLiveBrokers (cluster: BrokerProcesses, count = 3, timeoutMs = 30_000): Promise<void> {
  const admin = new Admin({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress) })
  try {
    await waitFor(`${count} live brokers`, async () => {
      const { brokers } = await admin.describeCluster()
      return brokers.filter((broker) => !broker.fenced).length >= count ? true : undefined
    }, { timeoutMs, intervalMs: 100 })
  } finally {
    admin.close()
  }
}

/** Processes started by the test, or the bootstrap servers of a cluster it reaches otherwise (docker-compose). */
export type ClusterAddress = BrokerProcesses | readonly string[]

/** The client addresses of the brokers running now (or the given bootstrap servers). */
export function serversOf (cluster: ClusterAddress): string[] {
  return Array.isArray(cluster) ? [...cluster] : (cluster as BrokerProcesses).running().map((broker) => broker.clientAddress)
}

/** Reads partition `partition` of `topic` from `fromOffset` (0) up to `count` records (or fails at the deadline). */
export async function readPartition (
  cluster: ClusterAddress, topic: string, partition: number, count: number, options: { timeoutMs?: number; fromOffset?: number } = {},
): Promise<ConsumerMessage[]> {
  if (count === 0) return []
  return await readPartitionUntil(cluster, topic, partition, (messages) => messages.length >= count, options)
}

/**
 * Reads partition `partition` of `topic` from `fromOffset` (0) until `done(messages so far)` (a compacted log's
 * offsets have gaps, so its readers stop at an offset rather than a count); at `timeoutMs` the read stops short.
 */
export async function readPartitionUntil (
  cluster: ClusterAddress, topic: string, partition: number, done: (messages: readonly ConsumerMessage[]) => boolean,
  options: { timeoutMs?: number; fromOffset?: number } = {},
): Promise<ConsumerMessage[]> {
  const { timeoutMs = 60_000, fromOffset = 0 } = options
  const consumer = new Consumer({ bootstrapServers: serversOf(cluster), maxWaitMs: 200 })
  consumer.assign([{ topic, partition, offset: fromOffset }])
  const messages: ConsumerMessage[] = []
  const timer = setTimeout(() => { consumer.close().catch(() => undefined) }, timeoutMs)
  try {
    for await (const message of consumer) {
      messages.push(message)
      if (done(messages)) break
    }
    return messages
  } finally {
    clearTimeout(timer)
    await consumer.close()
  }
}

/** Creates the topic and waits until each of its partitions has a leader and all its replicas in sync. */
export async function createTopicInSync (cluster: BrokerProcesses, admin: Admin, spec: NewTopic): Promise<void> {
  await admin.createTopics([spec])
  await waitForIsr(cluster, spec.topic, spec.replicationFactor)
}

/** The offsets group `groupId` has committed for `topic`, by partition. */
export async function committedOffsets (admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchOffsets(groupId)
  return new Map(offsets.filter((item) => item.topic === topic).map((item) => [item.partition, item.offset]))
}

export interface CliRun { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** A `gregor` process still running: its stdin is the test's to write and end; output collects as it arrives. */
export interface GregorProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>
  /** Everything printed so far. */
  readonly stdout: string
  readonly stderr: string
  /** The exit code once the process closed its output and exited (null when a signal ended it). */
  readonly closed: Promise<number | null>
}

/**
 * Starts `gregor <args>` as its own process with the cluster in GREGOR_BOOTSTRAP_SERVERS, stdin left open (as
 * `tail -f log | gregor produce` runs it). The caller ends stdin or kills the child by its handle.
 */
export function spawnGregor (cluster: BrokerProcesses, args: readonly string[]): GregorProcess {
  const child = spawn(process.execPath, [cliBin, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GREGOR_BOOTSTRAP_SERVERS: cluster.bootstrapServers },
  })
  const output = { stdout: '', stderr: '' }
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output.stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output.stderr += chunk })
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
  return { child, closed, get stdout () { return output.stdout }, get stderr () { return output.stderr } }
}

/** Runs `gregor <args>` as its own process with `input` on stdin and the cluster in GREGOR_BOOTSTRAP_SERVERS. */
export async function runGregor (cluster: BrokerProcesses, args: readonly string[], input = ''): Promise<CliRun> {
  const gregor = spawnGregor(cluster, args)
  gregor.child.stdin.end(input)
  const code = await gregor.closed
  return { code, stdout: gregor.stdout, stderr: gregor.stderr }
}

/** The non-empty lines of a command's output. */
export function lines (text: string): string[] {
  return text.split('\n').filter((line) => line !== '')
}

/** One raw ClientService call to a given broker, for requests a well-behaved client would never send. */
export async function rawCall<Request, RequestProperties, Response, ResponseProperties> (
  address: string,
  method: { path: string; requestSerialize: (value: RequestProperties) => Buffer; responseDeserialize: (bytes: Buffer) => Response } & Record<string, unknown>,
  request: RequestProperties,
): Promise<Response> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  try {
    return await unaryCall(client, method as never, request as never, { deadlineMs: 10_000 }) as Response
  } finally {
    client.close()
  }
}

export async function produceRaw (address: string, request: gregor.cluster.ProduceRequest.$Properties): Promise<gregor.cluster.ProduceResponse> {
  return await rawCall(address, clientMethods.produce as never, request)
}

/**
 * A ClientService channel to one broker, connected (HTTP/2 settings exchanged) before it is used: a call made on it
 * while the broker is SIGSTOPped is written into the paused process's socket rather than waiting for a handshake.
 */
export async function connectRaw (address: string, timeoutMs = 10_000): Promise<{
  produce: (request: gregor.cluster.ProduceRequest.$Properties, deadlineMs?: number) => Promise<gregor.cluster.ProduceResponse>
  close: () => void
}> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  await new Promise<void>((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (error) => { if (error === undefined || error === null) resolve(); else reject(error) })
  })
  return {
    produce: async (request, deadlineMs = 10_000) =>
      await unaryCall(client, clientMethods.produce as never, request as never, { deadlineMs }) as gregor.cluster.ProduceResponse,
    close: () => { client.close() },
  }
}

/** The latest offset (high watermark) of a partition, asked of the broker at `address`. */
export async function latestOffset (address: string, topic: string, partition: number): Promise<{ errorCode: string; offset: number }> {
  const response = await rawCall(address, clientMethods.listOffsets as never, { partitions: [{ topic, partition, timestamp: -1 }] }) as gregor.cluster.ListOffsetsResponse
  const result = response.partitions[0]
  return { errorCode: result?.errorCode ?? 'NO_RESULT', offset: Number(result?.offset ?? -1) }
}

/**
 * Registers the hooks every cluster test file needs: three brokers started and ready before the tests, an Admin on
 * them, and at the end every broker resumed (a failed test may leave one SIGSTOPped) and stopped by PID.
 * `GREGOR_KEEP_DIR=1` keeps the data directory for a post-mortem.
 */
export function useCluster (onStarted: (cluster: BrokerProcesses, admin: Admin) => void, options: BrokerProcessesOptions = {}): void {
  let cluster: BrokerProcesses | undefined
  let admin: Admin | undefined
  beforeAll(async () => {
    cluster = await BrokerProcesses.start({ logLevel: 'info', ...options })
    await cluster.waitForReady()
    admin = new Admin({ bootstrapServers: cluster.bootstrapServers })
    onStarted(cluster, admin)
  }, 60_000)
  // A test that fails halfway may leave a broker killed or stopped: heal the cluster so one failure stays one failure
  // and does not fail every later test of the file with INVALID_REPLICATION_FACTOR.
  afterEach(async () => {
    if (cluster === undefined) return
    for (const broker of cluster.brokers) {
      if (broker.process === undefined) cluster.startBroker(broker.nodeId)
      else cluster.signal(broker.nodeId, 'SIGCONT')
    }
    await cluster.waitForReady(undefined, 60_000)
    await waitForLiveBrokers(cluster, cluster.brokers.length, 60_000)
  }, 130_000)
  afterAll(async () => {
    admin?.close()
    for (const broker of cluster?.running() ?? []) cluster?.signal(broker.nodeId, 'SIGCONT')
    await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  })
}

export interface AckedRecord { readonly partition: number; readonly offset: number; readonly value: string }

/**
 * The no-loss check of every failover test: each partition read back from offset 0 has contiguous offsets, every
 * acknowledged record sits at the offset it was acknowledged with, nothing appears that was never sent, and nothing
 * appears twice — the idempotent producer's retries of a batch whose acknowledgement was lost are stored once.
 */
export async function expectAckedReadBack (cluster: ClusterAddress, topic: string, partitions: readonly number[], acked: readonly AckedRecord[], sent: ReadonlySet<string>): Promise<void> {
  for (const partition of partitions) {
    const mine = acked.filter((item) => item.partition === partition).sort((a, b) => a.offset - b.offset)
    const end = (mine[mine.length - 1]?.offset ?? -1) + 1
    const read = await readPartition(cluster, topic, partition, end)
    expect(read.map((message) => message.offset)).toEqual(Array.from({ length: end }, (_, i) => i))
    const byOffset = new Map(read.map((message) => [message.offset as number, message.value?.toString()]))
    for (const item of mine) expect(byOffset.get(item.offset), `offset ${item.offset} of partition ${partition}`).toBe(item.value)
    const values = read.map((message) => message.value?.toString() ?? '')
    for (const value of values) expect(sent.has(value), value).toBe(true)
    const seen = new Map<string, number[]>()
    read.forEach((message) => { const value = message.value?.toString() ?? ''; seen.set(value, [...(seen.get(value) ?? []), message.offset as number]) })
    expect([...seen].filter(([, offsets]) => offsets.length > 1).map(([value, offsets]) => `${value}@${offsets.join('/')}`), `partition ${partition} stored twice`).toEqual([])
  }
}

/**
 * The acks=all load of the failover tests: `workers` loops, each sending `recordsPerSend` fresh values per send
 * without pause (or `paceMs` after each send, a production rate for consumers that must keep up), recording every
 * acknowledged record (and every failure) until `stop()`. With `partitions`, each send carries one record to each of
 * partitions 0..partitions-1 (so every partition grows on every send) instead of `recordsPerSend` records the
 * partitioner places. After `markKilled(led)`,
 * `firstAckAfterKillMs` is the time to the first acknowledgement, for a send issued after the kill, that names a
 * partition the victim led: only its successor can give that one (an earlier send's ack may be the victim's own).
 */
export class AcksAllLoad {
  readonly acked: AckedRecord[] = []
  readonly sent = new Set<string>()
  readonly failures: unknown[] = []
  firstAckAfterKillMs = 0
  #killedAtMs = 0
  #victimPartitions: ReadonlySet<number> = new Set()
  #sequence = 0
  #stopped = false
  readonly #workers: Promise<void>[]

  constructor (
    readonly producer: Producer, readonly topic: string,
    options: { workers?: number; recordsPerSend?: number; prefix?: string; paceMs?: number; partitions?: number } = {},
  ) {
    const { partitions, paceMs = 0 } = options
    const perSend = partitions ?? options.recordsPerSend ?? 20
    const prefix = options.prefix ?? 'm'
    this.#workers = Array.from({ length: options.workers ?? 8 }, async () => {
      while (!this.#stopped) {
        const values = Array.from({ length: perSend }, () => `${prefix}-${this.#sequence++}`)
        values.forEach((value) => this.sent.add(value))
        const sentAfterKill = this.#killedAtMs > 0
        const messages = values.map((value, partition) => (partitions === undefined ? { value } : { value, partition }))
        try {
          const metadata = await producer.send({ topic, messages, acks: 'all' })
          metadata.forEach((item, i) => this.acked.push({ partition: item.partition, offset: item.offset, value: values[i] as string }))
          if (sentAfterKill && this.firstAckAfterKillMs === 0 && metadata.some((item) => this.#victimPartitions.has(item.partition))) {
            this.firstAckAfterKillMs = Date.now() - this.#killedAtMs
          }
        } catch (error) {
          this.failures.push(error)
        }
        // A production rate, not a synchronisation.
        if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs))
      }
    })
  }

  /** The victim is dead from now; `partitions` are those it led. */
  markKilled (partitions: Iterable<number>): void {
    this.#victimPartitions = new Set(partitions)
    this.#killedAtMs = Date.now()
  }

  /** Waits until `count` more records than now are acknowledged (failing early on any send failure). */
  async waitForAcks (count: number, what: string, timeoutMs = 30_000): Promise<void> {
    const target = this.acked.length + count
    await waitFor(what, () => {
      if (this.failures.length > 0) throw this.failures[0] as Error
      return this.acked.length >= target ? true : undefined
    }, { timeoutMs })
  }

  /** Stops the loops, waits for the sends in flight, and closes the producer. */
  async stop (): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#workers)
    await this.producer.close()
  }
}

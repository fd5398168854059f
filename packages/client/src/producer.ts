/**
 * `Producer`: `send({ topic, messages })` resolves with where each record landed (KafkaJS's shape), batching records
 * per partition and retrying across leader changes underneath; `sendMany(topic, messages)` is the bulk path, one
 * promise per call and nothing allocated per record, for callers that need no per-record metadata.
 *
 * Owns: the facade over ClusterConnection (metadata), the partitioner and one ProducerSender per acks level in use.
 * A sender owns an accumulator, and a Produce request has a single `acks`, so records sent with different `acks`
 * travel in different batches; there are at most three senders, each bounded by `bufferBytesMax`.
 *
 * `send` waits (up to `maxBlockMs`) for the topic's metadata, then partitions and appends every message in order,
 * then resolves when all of them are acknowledged, or rejects with the first failure (a GregorError). `flush` waits
 * for everything sent so far; `close` flushes and then releases the connections.
 *
 * Both paths write each record into its batch's buffer as it is appended (record-bytes.ts), so what a caller passes
 * is not kept once the call returned, unless the buffer was full: then the remaining messages are appended as space
 * frees up, and the messages must not change until the promise settles.
 */
import { randomInt } from 'node:crypto'
import { type Clock, ErrorCode, GregorError, type Rng, isGregorError, seededRng } from '@gregor/common'
import type { RecordHeader, RecordInput } from '@gregor/records'
import { type ClientConfig, connectionFor } from './admin.js'
import type { ClusterConnection } from './cluster-connection.js'
import { createDefaultPartitioner } from './default-partitioner.js'
import { type TopicInfo, availablePartitions } from './metadata-snapshot.js'
import { type PartitionAndAppendDeps, type PartitionAndAppendInput, RecordRouter, partitionAndAppend } from './partition-and-append.js'
import type { Partitioner } from './partitioner.js'
import type { BatchResult, ProducerBatch, RecordMetadata } from './producer-batch.js'
import type { Appended } from './record-accumulator.js'
import type { RecordField } from './record-bytes.js'
import { type Acks, type ProducerConfig, defaultProducerConfig, validateProducerConfig } from './producer-config.js'
import { ProducerSender } from './producer-sender.js'
import { responseError } from './response-error.js'
import { type Scheduler, systemClock, systemScheduler, systemWallClock } from './scheduler.js'

export type ProducerOptions = ClientConfig & Partial<ProducerConfig>

export interface ProducerDeps {
  /** The cluster the producer talks to (tests: scripted brokers); by default one made from the options. */
  readonly connection?: ClusterConnection
  readonly partitioner?: Partitioner
  readonly clock?: Clock
  readonly wallClock?: Clock
  readonly scheduler?: Scheduler
  readonly rng?: Rng
}

/** Strings are UTF-8 encoded; headers are a record of name → value or a list (which may repeat names). */
export interface ProducerMessage {
  readonly key?: Buffer | string | null
  readonly value: Buffer | string | null
  readonly headers?: Readonly<Record<string, RecordField>> | ReadonlyArray<{ readonly key: string; readonly value: RecordField }>
  /** Sends to this partition instead of asking the partitioner. */
  readonly partition?: number
  /** Create time (epoch ms); the producer's wall clock when absent. */
  readonly timestamp?: number
}

export interface ProducerRecord {
  readonly topic: string
  readonly messages: readonly ProducerMessage[]
  /** Overrides the producer's `acks` for these messages. */
  readonly acks?: Acks
}

export class Producer {
  readonly #config: ProducerConfig
  readonly #connection: ClusterConnection
  readonly #partitioner: Partitioner
  readonly #deps: Required<Omit<ProducerDeps, 'partitioner' | 'connection'>>
  readonly #senders = new Map<Acks, ProducerSender>()
  /** Per sender, the router of each topic, valid while the topic's metadata is the same object (snapshot.ts). */
  readonly #routers = new Map<ProducerSender, Map<string, { readonly topic: TopicInfo; readonly router: RecordRouter }>>()
  #closed = false

  /** Throws INVALID_CONFIG (every problem in `details.problems`) for a bad config. */
  constructor (options: ProducerOptions, deps: ProducerDeps = {}) {
    const { bootstrapServers, requestTimeoutMs, messageBytesMax, requestStallMs, tls, sasl, ...producer } = options
    this.#config = validateProducerConfig({ ...defaultProducerConfig, ...definedOnly(producer), ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) })
    this.#connection = deps.connection ??
      connectionFor({ bootstrapServers, requestTimeoutMs: this.#config.requestTimeoutMs, messageBytesMax, requestStallMs, ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) })
    this.#partitioner = deps.partitioner ?? createDefaultPartitioner()
    this.#deps = {
      clock: deps.clock ?? systemClock,
      wallClock: deps.wallClock ?? systemWallClock,
      scheduler: deps.scheduler ?? systemScheduler,
      rng: deps.rng ?? seededRng(randomInt(2 ** 31)),
    }
  }

  /**
   * Resolves with each message's topic, partition and offset, in message order; rejects with the first failure.
   * Not an async function on purpose: when the topic is known and the buffer has room (the steady state), a send
   * appends synchronously and costs one promise on its batch's result, not an async frame and its awaits.
   */
  send (record: ProducerRecord): Promise<RecordMetadata[]> {
    try {
      if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'producer closed')
      const sender = this.#senderFor(record.acks ?? this.#config.acks)
      const appended: RecordInBatch[] = []
      const known = this.#connection.snapshot.topics.get(record.topic)
      if (known === undefined || known.errorCode !== '' || known.partitions.length === 0) return this.#sendWaiting(sender, record, appended)
      const router = this.#router(known, sender)
      const nowMs = Math.floor(this.#deps.wallClock.nowMs())
      for (const message of record.messages) {
        const batch = router.tryAppend(message, nowMs)
        if (batch === undefined) return this.#sendWaiting(sender, record, appended) // the buffer is full: wait, in order
        appended.push({ batch, index: batch.recordCount - 1 })
      }
      return resultsOf(appended)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Sends `messages` to `topic` in order and resolves once every one of them is acknowledged, with no per-record
   * result (Kafka's per-record futures stay with `send`): one promise per call, and nothing allocated per record
   * while the buffer has room (each record is written into its batch at once). Rejects with the first failure;
   * messages before a refused one (INVALID_REQUEST: not bytes, a string or null) are sent nonetheless. `acks`
   * overrides the producer's for these messages.
   */
  sendMany (topic: string, messages: readonly ProducerMessage[], options: { readonly acks?: Acks } = {}): Promise<void> {
    try {
      if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'producer closed')
      const sender = this.#senderFor(options.acks ?? this.#config.acks)
      const batches = new BatchSet()
      const known = this.#connection.snapshot.topics.get(topic)
      if (known === undefined || known.errorCode !== '' || known.partitions.length === 0) return this.#sendManyWaiting(sender, topic, messages, 0, batches)
      const router = this.#router(known, sender)
      const nowMs = Math.floor(this.#deps.wallClock.nowMs())
      for (let index = 0; index < messages.length; index++) {
        const batch = router.tryAppend(messages[index] as ProducerMessage, nowMs)
        if (batch === undefined) return this.#sendManyWaiting(sender, topic, messages, index, batches)
        batches.add(batch)
      }
      return batches.settled()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The slow path: waits for the topic's metadata and for buffer space; `appended` are the messages already in. */
  async #sendWaiting (sender: ProducerSender, record: ProducerRecord, appended: RecordInBatch[]): Promise<RecordMetadata[]> {
    const topic = await this.#waitForTopic(record.topic)
    const input = this.#appendInput(topic, record, sender)
    for (const message of record.messages.slice(appended.length)) {
      // Only a full buffer makes a record wait (FIFO, up to maxBlockMs); the index is taken when it is appended.
      appended.push(await partitionAndAppend(input.deps, input.of(message)))
    }
    return await resultsOf(appended)
  }

  /** `sendMany`'s slow path, from `messages[from]` on: waits for the topic's metadata and for buffer space. */
  async #sendManyWaiting (sender: ProducerSender, topicName: string, messages: readonly ProducerMessage[], from: number, batches: BatchSet): Promise<void> {
    const topic = await this.#waitForTopic(topicName)
    const router = this.#router(topic, sender)
    const nowMs = Math.floor(this.#deps.wallClock.nowMs())
    for (let index = from; index < messages.length; index++) {
      const message = messages[index] as ProducerMessage
      batches.add(router.tryAppend(message, nowMs) ?? await router.append(message, nowMs))
    }
    await batches.settled()
  }

  /** The router of `topic` into `sender`'s accumulator, made once per topic metadata (a send costs no set-up). */
  #router (topic: TopicInfo, sender: ProducerSender): RecordRouter {
    let routers = this.#routers.get(sender)
    if (routers === undefined) {
      routers = new Map()
      this.#routers.set(sender, routers)
    }
    const cached = routers.get(topic.name)
    if (cached !== undefined && cached.topic === topic) return cached.router
    const router = new RecordRouter({ accumulator: sender.accumulator, partitioner: this.#partitioner }, {
      topic: topic.name, partitionCount: topic.partitions.length, availablePartitions: availablePartitions(topic),
    })
    routers.set(topic.name, { topic, router })
    return router
  }

  #appendInput (topic: TopicInfo, record: ProducerRecord, sender = this.#senderFor(record.acks ?? this.#config.acks)): {
    deps: PartitionAndAppendDeps
    of: (message: ProducerMessage) => PartitionAndAppendInput
  } {
    const partitions = availablePartitions(topic)
    const partitionCount = topic.partitions.length
    const nowMs = Math.floor(this.#deps.wallClock.nowMs())
    return {
      deps: { accumulator: sender.accumulator, partitioner: this.#partitioner },
      of: (message) => message.partition === undefined
        ? { topic: topic.name, record: recordInput(message, nowMs), partitionCount, availablePartitions: partitions }
        : { topic: topic.name, record: recordInput(message, nowMs), partition: message.partition, partitionCount, availablePartitions: partitions },
    }
  }

  /** Sends everything appended so far without lingering and waits until each record is settled. */
  async flush (): Promise<void> {
    await Promise.all([...this.#senders.values()].map(async (sender) => { await sender.accumulator.flush() }))
  }

  /** Flushes, then stops: later sends fail with SHUTTING_DOWN. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const sender of this.#senders.values()) sender.accumulator.close()
    await this.flush()
    for (const sender of this.#senders.values()) sender.close()
    this.#connection.close()
  }

  #senderFor (acks: Acks): ProducerSender {
    let sender = this.#senders.get(acks)
    if (sender === undefined) {
      const config = validateProducerConfig({ ...this.#config, acks })
      sender = new ProducerSender(config, { connection: this.#connection, ...this.#deps })
      this.#senders.set(acks, sender)
    }
    return sender
  }

  /**
   * The topic's metadata, waiting up to `maxBlockMs` while the topic is unknown or has no partitions yet (just
   * created) — Kafka's `max.block.ms` for metadata. Other topic errors, and transport errors at the deadline, throw.
   */
  async #waitForTopic (name: string): Promise<TopicInfo> {
    const deadlineMs = this.#deps.clock.nowMs() + this.#config.maxBlockMs
    for (let attempt = 0; ; attempt++) {
      let failure: unknown
      try {
        const topic = await this.#connection.topic(name, { refresh: attempt > 0 })
        if (topic !== undefined && topic.errorCode === '' && topic.partitions.length > 0) return topic
        failure = new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          topic?.errorMessage !== undefined && topic.errorMessage !== '' ? topic.errorMessage : 'topic not known to the cluster',
          { details: { topic: name, errorCode: topic?.errorCode } })
        const topicError = responseError(topic?.errorCode, topic?.errorMessage, { topic: name })
        if (topicError !== undefined && !topicError.retriable) throw topicError // not retriable: the catch below rethrows it
      } catch (error) {
        if (!isGregorError(error) || !error.retriable) throw error
        failure = error
      }
      const waitMs = Math.min(this.#config.retryBackoffMaxMs, this.#config.retryBackoffMs * 2 ** Math.min(attempt, 10))
      if (this.#deps.clock.nowMs() + waitMs >= deadlineMs) throw failure
      await new Promise<void>((resolve) => { this.#deps.scheduler.setTimer(waitMs, resolve) })
    }
  }
}

function definedOnly<T extends object> (values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>
}

const toBytes = (value: Buffer | string | null | undefined): Buffer | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? Buffer.from(value, 'utf8') : value

const noHeaders: readonly RecordHeader[] = Object.freeze([])

/** A record of a `send`: its batch and its index there. */
type RecordInBatch = Pick<Appended, 'batch' | 'index'>

/** The distinct batches a bulk send went into, in order; one wait for all of them. */
class BatchSet {
  readonly #batches: ProducerBatch[] = []
  readonly #seen = new Set<ProducerBatch>()
  #last: ProducerBatch | undefined

  /** Consecutive records mostly share a batch: only a change of batch costs a lookup. */
  add (batch: ProducerBatch): void {
    if (batch === this.#last) return
    this.#last = batch
    if (this.#seen.has(batch)) return
    this.#seen.add(batch)
    this.#batches.push(batch)
  }

  /** Resolves when every batch is acknowledged; rejects with the first failure. */
  settled (): Promise<void> {
    const batches = this.#batches
    if (batches.length === 0) return Promise.resolve()
    if (batches.length === 1) return (batches[0] as ProducerBatch).result.then(ignore)
    return Promise.all(batches.map((batch) => batch.result)).then(ignore)
  }
}

const ignore = (): void => {}

/** Each appended record's metadata, once its batch is acknowledged: one wait per batch, not per record. */
function resultsOf (appended: readonly RecordInBatch[]): Promise<RecordMetadata[]> {
  if (appended.length === 1) {
    const { batch, index } = appended[0] as RecordInBatch
    return batch.result.then((result) => [batch.metadataAt(index, result)])
  }
  const batches = [...new Set(appended.map((item) => item.batch))]
  return Promise.all(batches.map(async (batch) => await batch.result)).then((results) => {
    const byBatch = new Map(batches.map((batch, i) => [batch, results[i] as BatchResult]))
    return appended.map(({ batch, index }) => batch.metadataAt(index, byBatch.get(batch) as BatchResult))
  })
}

/** A message as the record codec takes it, stamped `nowMs` (epoch ms) when it has no timestamp. */
export function recordInput (message: ProducerMessage, nowMs?: number): RecordInput {
  const headers: readonly RecordHeader[] = message.headers === undefined
    ? noHeaders
    : Array.isArray(message.headers)
      ? [...(message.headers as readonly RecordHeader[])]
      : Object.entries(message.headers).map(([key, value]) => ({ key, value: toBytes(value as Buffer | string | null) }))
  return {
    key: toBytes(message.key),
    value: toBytes(message.value),
    headers,
    ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : nowMs !== undefined ? { timestamp: nowMs } : {}),
  }
}

/**
 * An idempotent `acks=all` producer for one partition, as the simulation's workload: it sends one batch at a time
 * (so its sequence numbers are simple to follow), retries a batch with the same producer id and sequence until it
 * is acknowledged or its delivery timeout passes, and then, as Kafka's producer does after an expired batch whose
 * fate is unknown, starts over with a new producer id (a batch it gave up on may still be stored: that is allowed,
 * but only once).
 *
 * Every record's value is a unique id (`<producer>:<n>`): the invariants find a record stored twice, a record that
 * was never sent, and an acknowledged record that is missing or moved, by id.
 */
import { ErrorCode } from '@gregor/common'
import { buildBatch } from '@gregor/records'
import type { ClusterInvariants } from './cluster-invariants.js'
import { type SimClient, errorCodeOf } from './sim-client.js'

export interface SimProducerOptions {
  readonly name: string
  readonly topic: string
  readonly partition: number
  readonly batchRecordsMax: number
  readonly sendIntervalMs: number
  readonly deliveryTimeoutMs: number
  readonly retryBackoffMs: number
}

/** Answers after which the producer starts over with a new id: its sequence state is no longer trusted. */
const resetCodes: ReadonlySet<string> = new Set([
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.INVALID_PRODUCER_EPOCH, 'UNKNOWN_PRODUCER_ID',
])

export class SimProducer {
  readonly #client: SimClient
  readonly #options: SimProducerOptions
  readonly #invariants: ClusterInvariants
  readonly #trace: (line: string) => void
  #producerId = -1
  #producerEpoch = 0
  #nextSequence = 0
  #nextRecord = 0
  #stopped = false
  acknowledged = 0
  gaveUp = 0
  resets = 0

  constructor (client: SimClient, options: SimProducerOptions, invariants: ClusterInvariants, trace: (line: string) => void) {
    this.#client = client
    this.#options = options
    this.#invariants = invariants
    this.#trace = trace
  }

  get partitionKey (): string { return `${this.#options.topic}-${this.#options.partition}` }

  start (): void {
    void this.#run()
  }

  /** Stops sending new batches (a batch in flight finishes). */
  stop (): void {
    this.#stopped = true
  }

  async #run (): Promise<void> {
    const { sendIntervalMs } = this.#options
    while (!this.#stopped) {
      await this.#client.sleep(sendIntervalMs)
      if (this.#producerId < 0 && !await this.#initProducerId()) continue
      await this.#sendOneBatch()
    }
  }

  async #initProducerId (): Promise<boolean> {
    try {
      const { producerId, producerEpoch } = await this.#client.call(this.#client.randomBroker(), async (api) => await api.initProducerId())
      this.#producerId = producerId
      this.#producerEpoch = producerEpoch
      this.#nextSequence = 0
      return true
    } catch {
      return false
    }
  }

  async #sendOneBatch (): Promise<void> {
    const { name, topic, partition, batchRecordsMax, deliveryTimeoutMs, retryBackoffMs } = this.#options
    const count = 1 + (this.#nextRecord % batchRecordsMax)
    const ids = Array.from({ length: count }, () => `${name}:${this.#nextRecord++}`)
    for (const id of ids) this.#invariants.recordSent(id)
    const baseSequence = this.#nextSequence
    const records = buildBatch(ids.map((id) => ({ value: Buffer.from(id) })), {
      producerId: this.#producerId, producerEpoch: this.#producerEpoch, baseSequence, nowMs: this.#client.process.clock.nowMs(),
    })
    const startedMs = this.#client.process.clock.nowMs()
    while (this.#client.process.clock.nowMs() - startedMs < deliveryTimeoutMs) {
      const code = await this.#attempt(records, ids)
      if (code === '') {
        this.#nextSequence += count
        return
      }
      if (resetCodes.has(code)) break
      await this.#client.sleep(retryBackoffMs)
    }
    // Its fate is unknown (it may be stored): a new producer id, so the next batch cannot be taken for a retry of
    // this one or be refused for a sequence gap.
    this.gaveUp++
    this.resets++
    this.#trace(`${name} gave up on ${ids[0]}..${ids[ids.length - 1]} (seq ${baseSequence}); new producer id`)
    this.#producerId = -1
  }

  /** One attempt; '' when acknowledged. */
  async #attempt (records: Buffer, ids: readonly string[]): Promise<string> {
    const { topic, partition, name } = this.#options
    try {
      const leader = await this.#client.leaderOf(topic, partition)
      if (leader === undefined) return ErrorCode.LEADER_NOT_AVAILABLE
      const response = await this.#client.call(leader.leader, async (api) => await api.produce({
        acks: -1, timeoutMs: 2_000, partitions: [{ topic, partition, records }],
      }))
      const result = response.partitions?.[0]
      const code = result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
      if (code !== '') return code
      const baseOffset = Number(result?.baseOffset ?? -1)
      ids.forEach((id, i) => { this.#invariants.recordAcknowledged(this.partitionKey, baseOffset + i, id) })
      this.acknowledged += ids.length
      this.#trace(`${name} acked ${ids[0]}.. at ${this.partitionKey}@${baseOffset} via ${leader.leader}`)
      return ''
    } catch (error) {
      return errorCodeOf(error)
    }
  }
}

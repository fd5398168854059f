/**
 * An idempotent `acks=all` producer for one partition, as the simulation's workload: it keeps up to `maxInFlight`
 * batches in flight (1..5, as Kafka's idempotent producer; the network reorders them, so the broker's sequence checks
 * and its dedupe window are exercised), retries each batch with the same producer id and sequence until it is
 * acknowledged or its delivery timeout passes, and then, as Kafka's producer does after an expired batch whose fate
 * is unknown, starts over with a new producer id: every batch still in flight under the old id is given up with it (a
 * batch it gave up on may still be stored: that is allowed, but only once).
 *
 * Sequence state per producer id is a "generation": a batch is sent only under the generation it was built in. An
 * OUT_OF_ORDER_SEQUENCE_NUMBER answer to a batch with an older batch of its generation still unacknowledged is
 * expected (that one has not arrived yet) and retried; to the oldest unacknowledged batch it means the broker lost
 * the producer's state, and the generation ends.
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
  /** Batches in flight at once (1..5). */
  readonly maxInFlight: number
}

/** One producer id's sequence state, and its batches not yet acknowledged (by base sequence). */
interface Generation {
  readonly producerId: number
  readonly producerEpoch: number
  nextSequence: number
  readonly unacked: Set<number>
  ended: boolean
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
  #generation: Generation | undefined
  #nextRecord = 0
  #inFlight = 0
  #slotFreed: (() => void) | undefined
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

  /** Stops sending new batches (batches in flight finish). */
  stop (): void {
    this.#stopped = true
    const freed = this.#slotFreed
    this.#slotFreed = undefined
    freed?.()
  }

  async #run (): Promise<void> {
    const { sendIntervalMs, maxInFlight } = this.#options
    while (!this.#stopped) {
      await this.#client.sleep(sendIntervalMs)
      while (this.#inFlight >= maxInFlight) await new Promise<void>((resolve) => { this.#slotFreed = resolve })
      if (this.#stopped) break
      const generation = this.#generation ?? await this.#initProducerId()
      if (generation === undefined) continue
      this.#inFlight++
      void this.#sendBatch(generation).finally(() => {
        this.#inFlight--
        const freed = this.#slotFreed
        this.#slotFreed = undefined
        freed?.()
      })
    }
  }

  async #initProducerId (): Promise<Generation | undefined> {
    try {
      const { producerId, producerEpoch } = await this.#client.call(this.#client.randomBroker(), async (api) => await api.initProducerId())
      this.#generation = { producerId, producerEpoch, nextSequence: 0, unacked: new Set(), ended: false }
      return this.#generation
    } catch {
      return undefined
    }
  }

  async #sendBatch (generation: Generation): Promise<void> {
    const { name, batchRecordsMax, deliveryTimeoutMs, retryBackoffMs } = this.#options
    const count = 1 + (this.#nextRecord % batchRecordsMax)
    const ids = Array.from({ length: count }, () => `${name}:${this.#nextRecord++}`)
    for (const id of ids) this.#invariants.recordSent(id)
    const baseSequence = generation.nextSequence
    generation.nextSequence += count
    generation.unacked.add(baseSequence)
    const records = buildBatch(ids.map((id) => ({ value: Buffer.from(id) })), {
      producerId: generation.producerId, producerEpoch: generation.producerEpoch, baseSequence, nowMs: this.#client.process.clock.nowMs(),
    })
    const startedMs = this.#client.process.clock.nowMs()
    while (!generation.ended && this.#client.process.clock.nowMs() - startedMs < deliveryTimeoutMs) {
      const code = await this.#attempt(records, ids)
      if (code === '') {
        generation.unacked.delete(baseSequence)
        return
      }
      if (generation.ended) break
      const oldest = Math.min(...generation.unacked) === baseSequence
      if (resetCodes.has(code) && (code !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || oldest)) break
      await this.#client.sleep(retryBackoffMs)
    }
    // Its fate is unknown (it may be stored): a new producer id, so no later batch can be taken for a retry of this
    // one or be refused for a sequence gap. The generation's other batches in flight are given up with it.
    this.gaveUp++
    if (generation.ended) return
    generation.ended = true
    this.resets++
    this.#trace(`${name} gave up on ${ids[0]}..${ids[ids.length - 1]} (seq ${baseSequence}); new producer id`)
    if (this.#generation === generation) this.#generation = undefined
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

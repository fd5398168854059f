/**
 * The KafkaJS load of the Kafka-protocol failover tests: send loops, one record per send to an explicit partition
 * (so each acknowledgement names one offset), acks=all, until `stop()`; every acknowledged record and every failure
 * is recorded, for `expectAckedReadBack`.
 */
import type { Producer as KafkaProducer } from 'kafkajs'
import { waitFor } from '@gregor/cli'
import type { AckedRecord } from './cluster-helpers.js'

export class KafkaJsLoad {
  readonly acked: AckedRecord[] = []
  readonly sent = new Set<string>()
  readonly failures: unknown[] = []
  #sequence = 0
  #running = true
  readonly #loops: Promise<void>[]

  constructor (readonly producer: KafkaProducer, workers: number, topic: string, partitions: readonly number[]) {
    this.#loops = Array.from({ length: workers }, async () => {
      while (this.#running) {
        const sequence = this.#sequence++
        const value = `kafkajs-${sequence}`
        const partition = partitions[sequence % partitions.length] as number
        this.sent.add(value)
        try {
          const [metadata] = await producer.send({ topic, acks: -1, messages: [{ value, partition }] })
          if (metadata !== undefined) this.acked.push({ partition, offset: Number(metadata.baseOffset), value })
        } catch (error) {
          this.failures.push(error)
        }
      }
    })
  }

  async waitForAcks (more: number, what: string): Promise<void> {
    const target = this.acked.length + more
    await waitFor(what, () => {
      if (this.failures.length > 0) throw this.failures[0] as Error
      return this.acked.length >= target ? true : undefined
    }, { timeoutMs: 60_000, intervalMs: 20 })
  }

  async stop (): Promise<void> {
    this.#running = false
    await Promise.all(this.#loops)
  }
}

/**
 * The data part of `KafkaBrokerApi` over this broker's replica manager and producer-id allocator: the same produce,
 * fetch, list-offsets and leader-epoch paths as the gRPC ClientService (CRC check, offsets stamped, producer-state
 * sequence checks, acks=all waits, long polls, bytes-in-flight limits, KIP-320 fencing), so a record written through
 * either listener is the same record.
 *
 * Owns: only the translation between the Kafka listener's domain shapes and the replica manager's domain requests
 * (the Kafka listener addresses partitions by name: topic id ''), and the replica manager's '' for "no error".
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import type { ProducerIdAllocator } from '../../producer-id-allocator.js'
import type { ReplicaManager } from '../../replica/replica-manager.js'
import type {
  DataErrorCode, FetchInput, FetchPartitionOutcome, InitProducerIdOutcome, KafkaDataApi, ListOffsetsPartitionInput,
  ListOffsetsPartitionOutcome, OffsetForLeaderEpochPartitionInput, OffsetForLeaderEpochPartitionOutcome, ProduceInput,
  ProducePartitionOutcome,
} from './kafka-data-api.js'

/** Kafka's clients name partitions by topic name (Fetch before v13): no topic id to check. */
const BY_NAME = ''

export interface ReplicaDataApiDeps {
  readonly replicas: Pick<ReplicaManager, 'produce' | 'fetch' | 'listOffsets' | 'offsetForLeaderEpoch'>
  readonly producerIds: Pick<ProducerIdAllocator, 'allocate'>
  /** The name of the topic with this id in the broker's applied metadata image. */
  readonly topicName: (topicId: string) => string | undefined
  /** The broker's topic byte counters, shared with the gRPC listener (`BrokerMetrics`); none in unit tests. */
  readonly topicBytes?: TopicByteCounters
}

/** Record batch bytes produced and fetched by clients (Kafka's BrokerTopicMetrics BytesIn/BytesOut). */
export interface TopicByteCounters {
  topicBytesIn (bytes: number): void
  topicBytesOut (bytes: number): void
}

const EMPTY = new Uint8Array(0)

/** The replica manager's answers carry '' for "no error". */
function codeOf (code: string | null | undefined): DataErrorCode {
  return code === undefined || code === null || code === '' ? null : code as ErrorCode
}

/** Wire counts the replica manager takes as unsigned: a negative one means none. */
function unsigned (value: number): number {
  return Math.max(0, value)
}

export class ReplicaDataApi implements KafkaDataApi {
  readonly #deps: ReplicaDataApiDeps

  constructor (deps: ReplicaDataApiDeps) {
    this.#deps = deps
  }

  async produce (input: ProduceInput): Promise<readonly ProducePartitionOutcome[]> {
    const response = await this.#deps.replicas.produce({
      acks: input.acks, timeoutMs: unsigned(input.timeoutMs),
      partitions: input.partitions.map(({ topic, partition, records }) => ({ topic, partition, topicId: BY_NAME, records })),
    })
    const results = response.partitions ?? []
    let storedBytes = 0
    const outcomes = input.partitions.map(({ topic, partition, records }, i): ProducePartitionOutcome => {
      const result = results[i]
      const errorCode = result === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : codeOf(result.errorCode)
      if (errorCode === null) storedBytes += records.byteLength
      return {
        topic, partition, errorCode,
        errorMessage: result?.errorMessage ?? null,
        baseOffset: Number(result?.baseOffset ?? -1),
        logStartOffset: Number(result?.logStartOffset ?? -1),
        logAppendTimeMs: Number(result?.logAppendTimeMs ?? -1),
      }
    })
    this.#deps.topicBytes?.topicBytesIn(storedBytes)
    return outcomes
  }

  topicName (topicId: string): string | undefined {
    return this.#deps.topicName(topicId)
  }

  async fetch (input: FetchInput): Promise<readonly FetchPartitionOutcome[]> {
    const response = await this.#deps.replicas.fetch({
      maxWaitMs: unsigned(input.maxWaitMs), minBytes: unsigned(input.minBytes), maxBytes: unsigned(input.maxBytes),
      partitions: input.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, topicId: BY_NAME, fetchOffset: p.fetchOffset, partitionMaxBytes: unsigned(p.partitionMaxBytes),
        currentLeaderEpoch: p.currentLeaderEpoch,
      })),
    })
    const results = response.partitions ?? []
    this.#deps.topicBytes?.topicBytesOut(results.reduce((sum, result) => sum + (result.records?.byteLength ?? 0), 0))
    return input.partitions.map(({ topic, partition }, i): FetchPartitionOutcome => {
      const result = results[i]
      return {
        topic, partition,
        errorCode: result === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : codeOf(result.errorCode),
        highWatermark: Number(result?.highWatermark ?? -1),
        logStartOffset: Number(result?.logStartOffset ?? -1),
        records: result?.records ?? EMPTY,
      }
    })
  }

  async listOffsets (partitions: readonly ListOffsetsPartitionInput[]): Promise<readonly ListOffsetsPartitionOutcome[]> {
    const response = await this.#deps.replicas.listOffsets({
      partitions: partitions.map(({ topic, partition, timestamp, currentLeaderEpoch }) => ({ topic, partition, topicId: BY_NAME, timestamp, currentLeaderEpoch })),
    })
    const results = response.partitions ?? []
    return partitions.map(({ topic, partition }, i): ListOffsetsPartitionOutcome => {
      const result = results[i]
      if (result === undefined) return { topic, partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, offset: -1, timestamp: -1, leaderEpoch: -1 }
      return {
        topic, partition, errorCode: codeOf(result.errorCode),
        offset: Number(result.offset ?? -1), timestamp: Number(result.timestamp ?? -1), leaderEpoch: result.leaderEpoch ?? -1,
      }
    })
  }

  initProducerId (): InitProducerIdOutcome {
    try {
      return { errorCode: null, ...this.#deps.producerIds.allocate() }
    } catch (error) {
      return { errorCode: isGregorError(error) ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR, producerId: -1, producerEpoch: -1 }
    }
  }

  async offsetForLeaderEpoch (partitions: readonly OffsetForLeaderEpochPartitionInput[]): Promise<readonly OffsetForLeaderEpochPartitionOutcome[]> {
    return this.#deps.replicas.offsetForLeaderEpoch(partitions).map((result) => ({ ...result, errorCode: codeOf(result.errorCode) }))
  }
}

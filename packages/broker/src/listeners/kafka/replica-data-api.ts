/**
 * The data part of `KafkaBrokerApi` over this broker's replica manager and producer-id allocator: the same produce,
 * fetch and list-offsets paths as the gRPC ClientService (CRC check, offsets stamped, producer-state sequence checks,
 * acks=all waits, long polls, bytes-in-flight limits), so a record written through either listener is the same record.
 *
 * Owns: only the translation between the Kafka listener's domain shapes and the replica manager's, and the KIP-320
 * leader-epoch check of ListOffsets and OffsetForLeaderEpoch, which the replica manager's list offsets does not take.
 */
import { ErrorCode, isGregorError, leaderEpoch } from '@gregor/common'
import type { ProducerIdAllocator } from '../../producer-id-allocator.js'
import type { ReplicaManager, ReplicaState } from '../../replica/replica-manager.js'
import type {
  DataErrorCode, FetchInput, FetchPartitionOutcome, InitProducerIdOutcome, KafkaDataApi, ListOffsetsPartitionInput,
  ListOffsetsPartitionOutcome, OffsetForLeaderEpochPartitionInput, OffsetForLeaderEpochPartitionOutcome, ProduceInput,
  ProducePartitionOutcome,
} from './kafka-data-api.js'

export interface ReplicaDataApiDeps {
  readonly replicas: Pick<ReplicaManager, 'produce' | 'fetch' | 'listOffsets' | 'replicaState' | 'partitionLog'>
  readonly producerIds: Pick<ProducerIdAllocator, 'allocate'>
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

/**
 * KIP-320, as the replica manager checks fetches: no replica here is UNKNOWN_TOPIC_OR_PARTITION, a follower
 * NOT_LEADER_OR_FOLLOWER, an older epoch than the leader's FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH's
 * retriable stand-in NOT_LEADER_OR_FOLLOWER (this leader has not caught up with the image the client saw).
 */
function leaderRefusal (state: ReplicaState | undefined, currentLeaderEpoch: number): ErrorCode | undefined {
  if (state === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  if (state.role !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < state.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH
  if (currentLeaderEpoch > state.leaderEpoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER
  return undefined
}

export class ReplicaDataApi implements KafkaDataApi {
  readonly #deps: ReplicaDataApiDeps

  constructor (deps: ReplicaDataApiDeps) {
    this.#deps = deps
  }

  async produce (input: ProduceInput): Promise<readonly ProducePartitionOutcome[]> {
    const response = await this.#deps.replicas.produce({
      acks: input.acks, timeoutMs: unsigned(input.timeoutMs),
      partitions: input.partitions.map(({ topic, partition, records }) => ({ topic, partition, records })),
    })
    const results = response.partitions ?? []
    return input.partitions.map(({ topic, partition }, i): ProducePartitionOutcome => {
      const result = results[i]
      return {
        topic, partition,
        errorCode: result === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : codeOf(result.errorCode),
        errorMessage: result?.errorMessage ?? null,
        baseOffset: Number(result?.baseOffset ?? -1),
        logStartOffset: Number(result?.logStartOffset ?? -1),
        logAppendTimeMs: Number(result?.logAppendTimeMs ?? -1),
      }
    })
  }

  async fetch (input: FetchInput): Promise<readonly FetchPartitionOutcome[]> {
    const response = await this.#deps.replicas.fetch({
      maxWaitMs: unsigned(input.maxWaitMs), minBytes: unsigned(input.minBytes), maxBytes: unsigned(input.maxBytes),
      partitions: input.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: unsigned(p.partitionMaxBytes),
        currentLeaderEpoch: p.currentLeaderEpoch,
      })),
    })
    const results = response.partitions ?? []
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
    const none = { offset: -1, timestamp: -1, leaderEpoch: -1 }
    const refusals = partitions.map((p) => leaderRefusal(this.#deps.replicas.replicaState(p.topic, p.partition), p.currentLeaderEpoch))
    const asked = partitions.filter((_, i) => refusals[i] === undefined)
    const response = asked.length === 0
      ? { partitions: [] }
      : await this.#deps.replicas.listOffsets({ partitions: asked.map(({ topic, partition, timestamp }) => ({ topic, partition, timestamp })) })
    const results = response.partitions ?? []
    let next = 0
    return partitions.map(({ topic, partition }, i): ListOffsetsPartitionOutcome => {
      const refusal = refusals[i]
      if (refusal !== undefined) return { topic, partition, errorCode: refusal, ...none }
      const result = results[next++]
      if (result === undefined) return { topic, partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, ...none }
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
    return partitions.map(({ topic, partition, currentLeaderEpoch, leaderEpoch: asked }): OffsetForLeaderEpochPartitionOutcome => {
      const undefinedEpoch = { topic, partition, leaderEpoch: -1, endOffset: -1 }
      const refusal = leaderRefusal(this.#deps.replicas.replicaState(topic, partition), currentLeaderEpoch)
      const log = this.#deps.replicas.partitionLog(topic, partition)
      if (refusal !== undefined || log === undefined) return { ...undefinedEpoch, errorCode: refusal ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
      // Kafka's UNDEFINED_EPOCH answer: an epoch below every one this log knows (or none asked) has no end here.
      if (asked < 0) return { ...undefinedEpoch, errorCode: null }
      try {
        const end = log.endOffsetForEpoch(leaderEpoch(asked))
        if (end === undefined) return { ...undefinedEpoch, errorCode: null }
        return { topic, partition, errorCode: null, leaderEpoch: end.epoch, endOffset: end.endOffset }
      } catch (error) {
        return { ...undefinedEpoch, errorCode: isGregorError(error) ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR }
      }
    })
  }
}

/**
 * The data part of `KafkaBrokerApi`: produce, fetch, list offsets, producer ids and offsets for leader epochs, in
 * domain terms (no Kafka struct, no protobuf object). Implemented over the replica manager by `replica-data-api.ts`.
 *
 * Conventions: partitions are addressed by topic name and index; every answer lists the partitions in request order,
 * each with `errorCode` null (no error) or a Gregor `ErrorCode` (the handlers turn it into Kafka's number); offsets,
 * timestamps and epochs the answer does not know are -1, as on Kafka's wire. Record batches are RecordBatch v2 bytes,
 * passed as they are: produce appends the client's bytes (CRC checked, offsets stamped), fetch returns stored bytes.
 */
import type { ErrorCode } from '@gregor/common'

/** A partition's error, or null. */
export type DataErrorCode = ErrorCode | null

export interface ProducePartitionInput {
  readonly topic: string
  readonly partition: number
  /** One or more RecordBatch v2, as the client sent them. */
  readonly records: Uint8Array
}

export interface ProduceInput {
  /** -1 (all in-sync replicas), 1 (the leader) or 0 (no answer wanted); anything else is INVALID_REQUEST per partition. */
  readonly acks: number
  readonly timeoutMs: number
  readonly partitions: readonly ProducePartitionInput[]
}

export interface ProducePartitionOutcome {
  readonly topic: string
  readonly partition: number
  readonly errorCode: DataErrorCode
  readonly errorMessage: string | null
  readonly baseOffset: number
  readonly logStartOffset: number
  /** -1: the topic stamps create time (Gregor's only timestamp type). */
  readonly logAppendTimeMs: number
}

export interface FetchPartitionInput {
  readonly topic: string
  readonly partition: number
  readonly fetchOffset: number
  readonly partitionMaxBytes: number
  /** KIP-320: the leader epoch the client knows, -1 for no check. */
  readonly currentLeaderEpoch: number
}

export interface FetchInput {
  readonly maxWaitMs: number
  readonly minBytes: number
  readonly maxBytes: number
  readonly partitions: readonly FetchPartitionInput[]
}

export interface FetchPartitionOutcome {
  readonly topic: string
  readonly partition: number
  readonly errorCode: DataErrorCode
  readonly highWatermark: number
  readonly logStartOffset: number
  /** Stored RecordBatch v2 bytes, all below the high watermark; empty on error or when there is nothing new. */
  readonly records: Uint8Array
}

/** Kafka's ListOffsets special timestamps. */
export const EARLIEST_TIMESTAMP = -2
export const LATEST_TIMESTAMP = -1
/** KIP-734: the offset and timestamp of the newest timestamp in the log. */
export const MAX_TIMESTAMP = -3

export interface ListOffsetsPartitionInput {
  readonly topic: string
  readonly partition: number
  /** EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, or a time in ms: the first offset whose timestamp is at least it. */
  readonly timestamp: number
  readonly currentLeaderEpoch: number
}

export interface ListOffsetsPartitionOutcome {
  readonly topic: string
  readonly partition: number
  readonly errorCode: DataErrorCode
  /** -1: no such offset (no record that recent, below the high watermark). */
  readonly offset: number
  readonly timestamp: number
  readonly leaderEpoch: number
}

export interface InitProducerIdOutcome {
  readonly errorCode: DataErrorCode
  readonly producerId: number
  readonly producerEpoch: number
}

export interface OffsetForLeaderEpochPartitionInput {
  readonly topic: string
  readonly partition: number
  readonly currentLeaderEpoch: number
  /** The epoch whose end offset is asked for. */
  readonly leaderEpoch: number
}

export interface OffsetForLeaderEpochPartitionOutcome {
  readonly topic: string
  readonly partition: number
  readonly errorCode: DataErrorCode
  /** The largest epoch at most the one asked for that this log knows, -1 when none. */
  readonly leaderEpoch: number
  /** Where that epoch ends in this log (the log end for the current epoch), -1 when unknown. */
  readonly endOffset: number
}

export interface KafkaDataApi {
  /** Appends each partition's batches on its leader here; resolves per `acks` (all: once the high watermark passed them). */
  produce (input: ProduceInput): Promise<readonly ProducePartitionOutcome[]>
  /** Reads below each partition's high watermark, waiting up to `maxWaitMs` for `minBytes`. */
  fetch (input: FetchInput): Promise<readonly FetchPartitionOutcome[]>
  listOffsets (partitions: readonly ListOffsetsPartitionInput[]): Promise<readonly ListOffsetsPartitionOutcome[]>
  /** A producer id for an idempotent (non-transactional) producer. */
  initProducerId (): InitProducerIdOutcome
  offsetForLeaderEpoch (partitions: readonly OffsetForLeaderEpochPartitionInput[]): Promise<readonly OffsetForLeaderEpochPartitionOutcome[]>
  /** The name of the topic with id `topicId` (Fetch v13+ names topics by id), undefined when there is none. */
  topicName (topicId: string): string | undefined
}

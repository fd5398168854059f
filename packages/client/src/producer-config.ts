/**
 * The producer's settings: batching, buffering, compression, acknowledgement and retry timing.
 *
 * Owns: `ProducerConfig`, the frozen `defaultProducerConfig` and `validateProducerConfig`, which reports every problem
 * at once (GregorError INVALID_CONFIG, `details.problems`). Defaults are Kafka's producer defaults except where a
 * comment says why not. Functions (partitioner, clocks) are dependencies, not config.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { BATCH_HEADER_BYTES, COMPRESSION_NAMES, type CompressionName, recordsLimits } from '@gregor/records'

/** When a produce request is acknowledged: by every in-sync replica, by the leader alone, or not at all. */
export type Acks = 'all' | 'leader' | 'none'

export interface ProducerConfig {
  /** Kafka `acks`: 'all' (-1), 'leader' (1) or 'none' (0). */
  readonly acks: Acks
  /** Codec of every batch this producer builds (Kafka `compression.type`). */
  readonly compression: CompressionName
  /** How long a batch that is not full waits for more records before it is ready (Kafka `linger.ms`). */
  readonly lingerMs: number
  /** Target size of a batch, header included; a single larger record still gets a batch of its own. */
  readonly batchBytesMax: number
  /** Bytes of records the producer holds, queued or in flight, before `append` waits (Kafka `buffer.memory`). */
  readonly bufferBytesMax: number
  /** How long `append` waits for buffer space before it fails (Kafka `max.block.ms`). */
  readonly maxBlockMs: number
  /** Upper bound from a record's batch creation to its success or failure, retries included. */
  readonly deliveryTimeoutMs: number
  /** How long one produce request may take before it counts as failed (Kafka `request.timeout.ms`). */
  readonly requestTimeoutMs: number
  /** Backoff before the first retry; doubles per attempt (Kafka `retry.backoff.ms`, KIP-580). */
  readonly retryBackoffMs: number
  /** Cap of the exponential backoff (Kafka `retry.backoff.max.ms`). */
  readonly retryBackoffMaxMs: number
  /**
   * Kafka `enable.idempotence` (default true, as in Kafka 3): with acks 'all', batches carry a producer id and
   * per-partition sequence numbers, so a batch resent after a lost acknowledgement is stored once. Ignored for other
   * acks (Kafka turns it off there too).
   */
  readonly idempotent: boolean
  /**
   * Batches of one partition in flight at once when idempotent (Kafka `max.in.flight.requests.per.connection`, 1..5;
   * the broker remembers a producer's last 5 batches, so a retry of any of them is recognised). Without idempotence
   * it is 1 whatever this says: nothing else keeps a retried batch ahead of the one behind it.
   *
   * Default 5, Kafka's. A broker's Produce requests all go on one ProduceStream (produce-stream.ts), whose messages
   * reach the broker in the order they were written, so pipelined batches of a partition arrive in order (concurrent
   * unary calls would not: HTTP/2 interleaves their frames, and about 45% of concurrent 250 KB produce requests
   * reached the broker out of order here, each then refused OUT_OF_ORDER_SEQUENCE_NUMBER and resent). The sender
   * starts a broker's next Produce once the previous one is written to the connection (producer-sender.ts), and a
   * partition's next batch leaves after `lingerMs` instead of after the previous batch's whole replication.
   */
  readonly maxInFlightPerPartition: number
}

/**
 * Kafka's defaults, with two deliberate choices:
 * - `lingerMs` 5: Kafka 4.0's default (KIP-1030; it was 0 before). A few milliseconds of latency buy far fewer,
 *   fuller batches.
 * - `batchBytesMax` 1 MiB instead of Kafka's 16 KiB: librdkafka's default (`batch.size` 1,000,000). Gregor sends
 *   batches over gRPC, where each message has a fixed cost of tens of microseconds of CPU on both ends (~80–90 µs in
 *   all for a 16 KiB message, research/performance.md), and every batch costs the brokers a round: a leader append and
 *   fdatasync, a fetch response to each follower, a follower append and fdatasync. Measured with three brokers on this
 *   2-core machine (`gregor bench produce --records 1000000 --acks all --batch-bytes B`, 3 partitions RF 3, 100-byte
 *   records, three alternating pairs): 256 KiB → 344k–412k records/s, client 1.30–1.56 and brokers 2.88–3.58 µs of
 *   CPU per record; 1 MiB → 397k–439k, client 0.98–1.13, brokers 2.02–2.46. A batch is a buffer grown by doubling
 *   from what the partition's previous batch came to (producer-batch.ts), not a block of this size taken up front, so
 *   a slow partition's batch stays small; the memory in use is bounded by `bufferBytesMax` whatever the batch size,
 *   and 1 MiB stays below the broker's batch limit (`recordsLimits.batchBytesMax`, Kafka's 1,048,588).
 */
export const defaultProducerConfig: ProducerConfig = Object.freeze({
  acks: 'all',
  idempotent: true,
  compression: 'none',
  lingerMs: 5,
  batchBytesMax: 1024 * 1024,
  bufferBytesMax: 32 * 1024 * 1024,
  maxBlockMs: 60_000,
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  // Kafka uses 100 → 1000 ms. A Gregor leader fails over in about half a second, so a producer backing off to a
  // full second would add most of its own failover time: 50 → 250 ms keeps retries close behind the election
  // (measured with `gregor bench failover`: median first ack after kill -9 fell from ~2 s to ~0.8 s).
  retryBackoffMs: 50,
  retryBackoffMaxMs: 250,
  maxInFlightPerPartition: 5,
})

const acksValues: readonly Acks[] = ['all', 'leader', 'none']
/** Batches a broker remembers per producer and partition (its duplicate detection): the most that may be in flight. */
export const MAX_IN_FLIGHT_PER_PARTITION = 5
/** The smallest batch limit that holds a header and one empty record, so every limit is satisfiable. */
const BATCH_BYTES_MIN = BATCH_HEADER_BYTES + 8

const isInteger = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max

function batchingProblems (config: ProducerConfig): string[] {
  const problems: string[] = []
  const { batchBytesMax, bufferBytesMax } = config
  if (!isInteger(config.lingerMs, 0)) problems.push('lingerMs must be a non-negative integer')
  if (typeof config.idempotent !== 'boolean') problems.push('idempotent must be a boolean')
  if (!isInteger(batchBytesMax, BATCH_BYTES_MIN, recordsLimits.batchBytesMax)) {
    problems.push(`batchBytesMax must be an integer in [${BATCH_BYTES_MIN}, ${recordsLimits.batchBytesMax}]`)
  }
  if (!isInteger(bufferBytesMax, 1)) {
    problems.push('bufferBytesMax must be a positive integer')
  } else if (isInteger(batchBytesMax, BATCH_BYTES_MIN) && bufferBytesMax < batchBytesMax) {
    // Otherwise not even one full batch fits, and every full batch would wait forever.
    problems.push('bufferBytesMax must be at least batchBytesMax')
  }
  if (!isInteger(config.maxBlockMs, 0)) problems.push('maxBlockMs must be a non-negative integer')
  if (!isInteger(config.maxInFlightPerPartition, 1, MAX_IN_FLIGHT_PER_PARTITION)) {
    problems.push(`maxInFlightPerPartition must be an integer in [1, ${MAX_IN_FLIGHT_PER_PARTITION}]`)
  }
  return problems
}

function timingProblems (config: ProducerConfig): string[] {
  const problems: string[] = []
  const { deliveryTimeoutMs, requestTimeoutMs, retryBackoffMs, retryBackoffMaxMs, lingerMs } = config
  if (!isInteger(deliveryTimeoutMs, 1)) problems.push('deliveryTimeoutMs must be a positive integer')
  if (!isInteger(requestTimeoutMs, 1)) problems.push('requestTimeoutMs must be a positive integer')
  if (!isInteger(retryBackoffMs, 0)) problems.push('retryBackoffMs must be a non-negative integer')
  if (!isInteger(retryBackoffMaxMs, 0)) {
    problems.push('retryBackoffMaxMs must be a non-negative integer')
  } else if (isInteger(retryBackoffMs, 0) && retryBackoffMaxMs < retryBackoffMs) {
    problems.push('retryBackoffMaxMs must be at least retryBackoffMs')
  }
  // Kafka's rule: a record must get at least its linger and one full request before it may time out.
  if (isInteger(deliveryTimeoutMs, 1) && isInteger(requestTimeoutMs, 1) && isInteger(lingerMs, 0) &&
    deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    problems.push('deliveryTimeoutMs must be at least lingerMs + requestTimeoutMs')
  }
  return problems
}

function choiceProblems (config: ProducerConfig): string[] {
  const problems: string[] = []
  if (!acksValues.includes(config.acks)) problems.push(`acks must be one of ${acksValues.join(', ')}`)
  if (!COMPRESSION_NAMES.includes(config.compression)) {
    problems.push(`compression must be one of ${COMPRESSION_NAMES.join(', ')}`)
  }
  return problems
}

/** Returns a frozen copy of `config`, or throws GregorError INVALID_CONFIG with every problem in `details.problems`. */
export function validateProducerConfig (config: ProducerConfig): ProducerConfig {
  const problems = [...choiceProblems(config), ...batchingProblems(config), ...timingProblems(config)]
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, 'invalid producer config', { details: { problems } })
  }
  return Object.freeze({ ...config })
}

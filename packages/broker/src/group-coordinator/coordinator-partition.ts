/**
 * One loaded `__consumer_offsets` partition on its leader: the group shard built by replaying the partition, and the
 * write path of its decisions (Kafka's `CoordinatorRuntime` per `CoordinatorContext`).
 *
 * Owns: the shard, the chain of writes in flight, and this load's generation (one leader epoch). A decision's records
 * are replayed into the shard at once (so the next decision sees them, as Kafka's runtime does against its timeline),
 * appended to the partition through the leader's normal acks=all path, and its response is released only when they
 * are committed (the high watermark passed them). A decision that writes nothing still waits for every write issued
 * before it, so no answer ever rests on state that might not survive a failover.
 *
 * Invariants:
 * - A write that fails ends this generation (`failed`): the shard may hold records the log never committed, so every
 *   later answer of this generation fails too (NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE, both retriable) and the
 *   runtime reloads the partition from its log.
 * - Appends are issued in decision order (one produce call each, queued synchronously by the replica manager), so the
 *   log holds the records in the order the shard replayed them.
 */
import { ErrorCode, GregorError, isGregorError, type Logger } from '@gregor/common'
import { type CoordinatorResult, type GroupCoordinatorShard, type GroupRecord, encodeGroupRecord } from '@gregor/coordinator'
import { buildBatch, type RecordInput } from '@gregor/records'

/** Appends the bytes (RecordBatch v2, one or more) to the partition with acks=all; resolves when committed. */
export type PartitionAppend = (records: Buffer) => Promise<void>

/** Batches of coordinator records stay far below `max.message.bytes` of the topic (1 MiB by default). */
const batchBytesTarget = 256 * 1024

export class CoordinatorPartition {
  readonly partition: number
  readonly leaderEpoch: number
  readonly shard: GroupCoordinatorShard
  readonly #append: PartitionAppend
  readonly #log: Logger
  #status: 'loading' | 'active' | 'failed' | 'unloaded' = 'loading'
  #lastWrite: Promise<void> = Promise.resolve()
  #writesInFlight = 0

  constructor (options: { partition: number; leaderEpoch: number; shard: GroupCoordinatorShard; append: PartitionAppend; logger: Logger }) {
    this.partition = options.partition
    this.leaderEpoch = options.leaderEpoch
    this.shard = options.shard
    this.#append = options.append
    this.#log = options.logger
  }

  get status (): 'loading' | 'active' | 'failed' | 'unloaded' { return this.#status }
  get writesInFlight (): number { return this.#writesInFlight }

  activate (): void {
    if (this.#status === 'loading') this.#status = 'active'
  }

  unload (): void {
    this.#status = 'unloaded'
  }

  /** Throws the error a request meets on this partition unless it is active. */
  assertActive (): void {
    if (this.#status === 'active') return
    if (this.#status === 'loading') {
      throw new GregorError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, `the coordinator is loading __consumer_offsets-${this.partition}`)
    }
    if (this.#status === 'failed') {
      throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the coordinator of __consumer_offsets-${this.partition} is reloading after a failed write`)
    }
    throw new GregorError(ErrorCode.NOT_COORDINATOR, `this broker no longer coordinates __consumer_offsets-${this.partition}`)
  }

  /**
   * Applies a decision: replays its records, writes them, and resolves with its response once they (and every write
   * before them) are committed. `onFailure` hears of the first failed write of this generation.
   */
  async complete<Response> (result: CoordinatorResult<Response>, nowMs: number, onFailure: (error: GregorError) => void): Promise<Response> {
    this.assertActive()
    for (const record of result.records) this.shard.replay(record)
    if (result.records.length > 0) {
      const write = this.#write(result.records, nowMs)
      const previous = this.#lastWrite
      this.#writesInFlight++
      this.#lastWrite = Promise.all([previous, write]).then(() => undefined).finally(() => { this.#writesInFlight-- })
      // A failed write fails this generation once, whoever awaits it.
      this.#lastWrite.catch((error: unknown) => {
        if (this.#status === 'failed' || this.#status === 'unloaded') return
        this.#status = 'failed'
        const failure = coordinatorError(error, this.partition)
        this.#log.warn({ partition: this.partition, code: failure.code, err: error }, 'coordinator write failed')
        onFailure(failure)
      })
    }
    try {
      await this.#lastWrite
    } catch (error) {
      throw coordinatorError(error, this.partition)
    }
    // The write committed, but a newer leader may already have taken over: the answer still stands (it is committed).
    if (this.#status === 'failed') this.assertActive()
    return result.response
  }

  async #write (records: readonly GroupRecord[], nowMs: number): Promise<void> {
    const batches: Buffer[] = []
    let pending: RecordInput[] = []
    let pendingBytes = 0
    for (const record of records) {
      const { key, value } = encodeGroupRecord(record)
      const size = key.length + (value?.length ?? 0) + 32
      if (pending.length > 0 && pendingBytes + size > batchBytesTarget) {
        batches.push(buildBatch(pending))
        pending = []
        pendingBytes = 0
      }
      pending.push({ key, value, timestamp: nowMs })
      pendingBytes += size
    }
    if (pending.length > 0) batches.push(buildBatch(pending))
    await this.#append(Buffer.concat(batches))
  }
}

/** The client-facing error for a failed coordinator write (Kafka maps append errors the same way). */
export function coordinatorError (error: unknown, partition: number): GregorError {
  const code = isGregorError(error) ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      return error as GregorError
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.FENCED_LEADER_EPOCH:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return new GregorError(ErrorCode.NOT_COORDINATOR, `__consumer_offsets-${partition} moved: ${message}`)
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.REQUEST_TIMED_OUT:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `__consumer_offsets-${partition} cannot commit: ${message}`)
    case ErrorCode.MESSAGE_TOO_LARGE:
      return new GregorError(ErrorCode.INVALID_REQUEST, `the group records are too large for __consumer_offsets: ${message}`)
    default:
      return new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, `__consumer_offsets-${partition} write failed: ${message}`)
  }
}

/**
 * The leader's side of the data plane: client produce, consumer fetch, list offsets, and follower fetches on the
 * replication stream, each answered per partition in the gRPC response shape (domain errors as `error_code`).
 *
 * Owns: request validation and limits, the acks=all wait and the long-polls (through the bounded
 * `DelayedOperations`, one queue per kind; an acks=all produce takes its place before appending, so a full queue
 * refuses it unappended), the accounting of its bytes in flight (`ByteBudget`: produce records until answered, log
 * reads until answered), and the KIP-595 divergence check. It owns no partition state: it reads `PartitionReplica`s
 * and reports progress to the host, which moves high watermarks, wakes waiters and changes the ISR.
 *
 * Topic ids (KIP-516): a partition request that names a topic id is answered only by the replica of that incarnation
 * of the topic. A topic deleted and re-created under its name starts again at leader epoch 0, so the name and the
 * epochs alone cannot tell a stale client, or a follower still holding the old incarnation, from a current one. An
 * empty id addresses by name only (older clients), as before.
 *
 * Invariants: consumers never see data at or above the high watermark (`read({ maxOffset: highWatermark })`), nor a
 * high watermark below the current leader epoch's start offset (it could be below one already served); an
 * acks=all produce succeeds only once the HW passed its last offset in the leader epoch it was appended in; a
 * follower's fetch offset is recorded before its long-poll, so it counts for the HW at once.
 */
import { ErrorCode, type Clock, isGregorError, leaderEpoch, offset } from '@gregor/common'
import { isInternalTopicName } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import type { ReadBuffers } from '@gregor/storage'
import { walkBatches } from '@gregor/records'
import type { ByteBudget } from './byte-budget.js'
import type { DelayedOperations, WaiterSlot } from './delayed-operations.js'
import type { PartitionReplica } from './partition-replica.js'
import { reserveSequences } from './producer-state.js'
import type { ReplicationConfig } from './replication-config.js'

type Cluster = typeof gregor.cluster
type Props<K extends keyof Cluster> = Cluster[K] extends { prototype: unknown } ? NonNullable<ConstructorParameters<Cluster[K]>[0]> : never
export type ProduceResponse = Props<'ProduceResponse'>
export type ProducePartitionResult = Props<'ProducePartitionResult'>
export type FetchResponse = Props<'FetchResponse'>
export type FetchPartitionResult = Props<'FetchPartitionResult'>
export type ListOffsetsResponse = Props<'ListOffsetsResponse'>
export type ReplicaFetchRequest = Props<'ReplicaFetchRequest'>
export type ReplicaFetchResponse = Props<'ReplicaFetchResponse'>
export type ReplicaFetchPartition = Props<'ReplicaFetchPartition'>
export type ReplicaFetchPartitionResult = Props<'ReplicaFetchPartitionResult'>

// Client requests in domain terms: every field given, validated where they came in (the gRPC ClientService in
// client-service.ts, the Kafka listener's handlers, the group coordinator's own appends), so nothing below guesses a
// default. `topicId` '' addresses the partition by name only (KIP-516: clients that do not know ids).

export interface ProducePartitionRequest {
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  /** One or more RecordBatch v2, as the client built them. */
  readonly records: Uint8Array
}

export interface ProduceRequest {
  /** -1 (all in-sync replicas), 1 or 0; anything else is refused per partition with INVALID_REQUEST. */
  readonly acks: number
  readonly timeoutMs: number
  readonly partitions: readonly ProducePartitionRequest[]
}

export interface FetchPartitionRequest {
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  readonly fetchOffset: number
  /** 0: up to the request's `maxBytes`. */
  readonly partitionMaxBytes: number
  /** KIP-320: -1 for no check. */
  readonly currentLeaderEpoch: number
}

export interface FetchRequest {
  readonly maxWaitMs: number
  readonly minBytes: number
  /** 0: the broker's `fetchBytesMax`. */
  readonly maxBytes: number
  readonly partitions: readonly FetchPartitionRequest[]
}

export interface ListOffsetsPartitionRequest {
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  /** -2 earliest, -1 latest (the high watermark), -3 the log's largest timestamp (KIP-734), else a time in ms. */
  readonly timestamp: number
  /** KIP-320: -1 for no check. */
  readonly currentLeaderEpoch: number
}

export interface ListOffsetsRequest {
  readonly partitions: readonly ListOffsetsPartitionRequest[]
}

export interface OffsetForLeaderEpochPartitionRequest {
  readonly topic: string
  readonly partition: number
  /** KIP-320: -1 for no check. */
  readonly currentLeaderEpoch: number
  readonly leaderEpoch: number
}

export interface OffsetForLeaderEpochPartitionResult {
  readonly topic: string
  readonly partition: number
  readonly errorCode: ErrorCode | ''
  /** The largest epoch at most the one asked that this log knows, -1 when none (Kafka's UNDEFINED_EPOCH). */
  readonly leaderEpoch: number
  /** Where it ends in this log (the log end for the current epoch), -1 when unknown. */
  readonly endOffset: number
}

/** What the leader requests need from the replica manager. */
export interface LeaderRequestsHost {
  readonly config: ReplicationConfig
  readonly clock: Clock
  readonly delayed: DelayedOperations
  /** Broker-wide bytes in flight: produce records until answered, fetch reads until answered. */
  readonly bytes: ByteBudget
  replica (topic: string, partition: number): PartitionReplica | undefined
  /**
   * Whether this broker's metadata image has a topic with `topicId` (KIP-516: UNKNOWN_TOPIC_ID when not,
   * INCONSISTENT_TOPIC_ID when it has but the replica of that name is another incarnation). Absent: treated as not.
   */
  topicIdKnown? (topicId: string): boolean
  /** The leader's log end or a follower's progress changed: move the HW, wake waiters, maybe expand the ISR. */
  onLeaderProgress (replica: PartitionReplica, followerId?: number): void
}

const EARLIEST_TIMESTAMP = -2
const LATEST_TIMESTAMP = -1
/** KIP-734: the first offset that carries the log's largest timestamp. */
const MAX_TIMESTAMP = -3
const EMPTY = new Uint8Array(0)

/** The error of `replica` for a leader-only request, or undefined when it leads. */
function leaderProblem (replica: PartitionReplica | undefined, currentLeaderEpoch = -1): { code: ErrorCode; message: string } | undefined {
  if (replica === undefined) return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: 'unknown partition on this broker' }
  if (replica.role !== 'leader') return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: 'this broker does not lead the partition' }
  // KIP-320: a request from an older epoch is fenced; one from a newer epoch means this broker has not caught up.
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < replica.leaderEpoch) {
    return { code: ErrorCode.FENCED_LEADER_EPOCH, message: 'leader epoch of the request is stale' }
  }
  if (currentLeaderEpoch > replica.leaderEpoch) {
    return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: 'leader epoch of the request is newer than this leader' }
  }
  return undefined
}

/**
 * KIP-516: the refusal of a request naming `topicId` for `replica` when the replica is another incarnation of the
 * topic, or undefined. An empty `topicId` addresses by name only and is never refused here.
 */
function topicIdProblem (host: LeaderRequestsHost, replica: PartitionReplica | undefined, topicId: string): { code: ErrorCode; message: string } | undefined {
  if (topicId === '' || replica === undefined || replica.topicId === topicId) return undefined
  if (host.topicIdKnown?.(topicId) === true) {
    return { code: ErrorCode.INCONSISTENT_TOPIC_ID, message: `topic ${replica.topic} is now topic id ${replica.topicId} on this broker, not ${topicId}` }
  }
  return { code: ErrorCode.UNKNOWN_TOPIC_ID, message: `this broker knows no topic with id ${topicId}` }
}

/** The topic-id refusal (first: a replica of another incarnation says nothing about this one), then `leaderProblem`. */
function partitionProblem (
  host: LeaderRequestsHost, replica: PartitionReplica | undefined, topicId: string, currentLeaderEpoch = -1,
): { code: ErrorCode; message: string } | undefined {
  return topicIdProblem(host, replica, topicId) ?? leaderProblem(replica, currentLeaderEpoch)
}

/** Whether a waiter on `replica` for a request naming `topicId` must wake: the replica is now another incarnation. */
function otherIncarnation (replica: PartitionReplica, topicId: string): boolean {
  return topicId !== '' && replica.topicId !== topicId
}

/**
 * Why `replica`'s high watermark may not be shown to clients yet, or undefined when it may. A new leader learns the
 * true high watermark only once its followers fetch in the new epoch; until then its own may lag behind offsets the
 * previous leader acknowledged and served. Kafka (KIP-207) answers ListOffsets OFFSET_NOT_AVAILABLE, retriable, rather
 * than a "latest" that goes backwards; a consumer fetch is answered the same way, for the same reason (issue 10,
 * defect 10): its high watermark (the consumer's lag and end offset) must not go back across a failover either.
 */
function highWatermarkUnknown (replica: PartitionReplica): string | undefined {
  if (replica.highWatermark >= replica.leaderEpochStartOffset) return undefined
  return `the high watermark ${replica.highWatermark} is below the start offset ${replica.leaderEpochStartOffset} of leader epoch ${replica.leaderEpoch}`
}

function errorOf (error: unknown): { code: ErrorCode; message: string } {
  if (isGregorError(error)) {
    // The log says INVALID_REQUEST for an empty append: to a producer that is a malformed (corrupt) record set.
    return { code: error.code === ErrorCode.INVALID_REQUEST ? ErrorCode.CORRUPT_MESSAGE : error.code, message: error.message }
  }
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: error instanceof Error ? error.message : String(error) }
}

function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export class LeaderRequests {
  readonly #host: LeaderRequestsHost

  constructor (host: LeaderRequestsHost) {
    this.#host = host
  }

  // ---- produce ----

  /**
   * Internal topics (`__consumer_offsets`) are written by the broker itself: as Kafka's `appendRecords`
   * (`internalTopicsAllowed`), a client's produce to one is refused per partition with INVALID_TOPIC_EXCEPTION, on
   * every listener alike; only the group coordinator passes `internalTopicsAllowed`.
   */
  async produce (request: ProduceRequest, options: { internalTopicsAllowed?: boolean } = {}): Promise<ProduceResponse> {
    const { partitions, acks } = request
    const timeoutMs = Math.min(request.timeoutMs, this.#host.config.produceTimeoutMsMax)
    const totalBytes = partitions.reduce((sum, p) => sum + p.records.byteLength, 0)
    let refusal: { code: ErrorCode; message: string } | undefined
    if (acks !== -1 && acks !== 0 && acks !== 1) refusal = { code: ErrorCode.INVALID_REQUEST, message: 'acks must be -1, 0 or 1' }
    if (totalBytes > this.#host.config.requestBytesMax) refusal = { code: ErrorCode.MESSAGE_TOO_LARGE, message: 'produce request larger than requestBytesMax' }
    const bytes = this.#host.bytes
    const heldBytes = refusal === undefined && bytes.tryTake(totalBytes) ? totalBytes : 0
    if (refusal === undefined && heldBytes < totalBytes) refusal = busy(bytes, 'produce request', totalBytes)
    try {
      return { partitions: await this.#producePartitions(partitions, acks, timeoutMs, refusal, options) }
    } finally {
      bytes.release(heldBytes)
    }
  }

  async #producePartitions (
    partitions: ProduceRequest['partitions'], acks: number, timeoutMs: number,
    refusal: { code: ErrorCode; message: string } | undefined, options: { internalTopicsAllowed?: boolean },
  ): Promise<ProducePartitionResult[]> {
    return await Promise.all(partitions.map(async (p) => {
      const base = { topic: p.topic, partition: p.partition, baseOffset: -1, logStartOffset: -1, logAppendTimeMs: -1 }
      if (refusal !== undefined) return { ...base, errorCode: refusal.code, errorMessage: refusal.message }
      if (options.internalTopicsAllowed !== true && isInternalTopicName(base.topic)) {
        return { ...base, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: `topic ${base.topic} is internal: clients may not produce to it` }
      }
      return { ...base, ...await this.#producePartition(base.topic, base.partition, p.topicId, p.records, acks, timeoutMs) }
    }))
  }

  async #producePartition (
    topic: string, partition: number, topicId: string, records: Uint8Array, acks: number, timeoutMs: number,
  ): Promise<Partial<ProducePartitionResult>> {
    const replica = this.#host.replica(topic, partition)
    const problem = partitionProblem(this.#host, replica, topicId)
    if (problem !== undefined || replica === undefined) return { errorCode: problem?.code, errorMessage: problem?.message }
    if (acks === -1 && replica.isr.length < replica.minInsyncReplicas) {
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: 'fewer in-sync replicas than minInsyncReplicas' }
    }
    if (acks !== -1) return await this.#appendAndWait(replica, records, acks, timeoutMs, undefined)
    // acks=all takes its place in the wait queue before appending: refused when full, never after appending.
    const slot = this.#host.delayed.reserve('produce')
    if (slot === undefined) {
      return {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: `too many acks=all produces waiting (produceWaitersMax ${this.#host.config.produceWaitersMax}): nothing was appended; retry`,
      }
    }
    try {
      return await this.#appendAndWait(replica, records, acks, timeoutMs, slot)
    } finally {
      slot.release()
    }
  }

  async #appendAndWait (
    replica: PartitionReplica, records: Uint8Array, acks: number, timeoutMs: number, slot: WaiterSlot | undefined,
  ): Promise<Partial<ProducePartitionResult>> {
    const epoch = replica.leaderEpoch
    const bytes = asBuffer(records)
    let lastOffset: number
    let baseOffset: number
    // Idempotence (KIP-98): sequences are checked and reserved, then the append is queued, with no await between.
    const sequences = reserveSequences(replica.producers, [...walkBatches(bytes)].map((batch) => batch.header))
    if (sequences.kind === 'refused') return { errorCode: sequences.code, errorMessage: sequences.message }
    if (sequences.kind === 'duplicate') {
      // A resend of a batch already in the log: its original offsets, nothing appended (acks=all still waits below).
      try {
        ({ baseOffset, lastOffset } = await sequences.offsets)
      } catch {
        return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'the first attempt of this batch failed; retry it' }
      }
    } else {
      try {
        const appended = await replica.log.append(bytes, { leaderEpoch: leaderEpoch(epoch), nowMs: this.#host.clock.nowMs() })
        lastOffset = appended.lastOffset
        baseOffset = appended.baseOffset
        if (sequences.kind === 'reserved') sequences.settle(baseOffset)
      } catch (error) {
        if (sequences.kind === 'reserved') sequences.settle(undefined)
        const { code, message } = errorOf(error)
        return { errorCode: code, errorMessage: message }
      }
      this.#host.onLeaderProgress(replica)
    }
    const ok = { errorCode: '', baseOffset, logStartOffset: replica.log.logStartOffset }
    if (acks !== -1) return ok
    const stillLeading = (): boolean => replica.role === 'leader' && replica.leaderEpoch === epoch
    await this.#host.delayed.wait({
      kind: 'produce', ...(slot === undefined ? {} : { slot }), keys: [replica.key], timeoutMs,
      ready: () => !stillLeading() || replica.highWatermark > lastOffset,
    })
    if (!stillLeading()) return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: 'leadership moved before the batch was replicated' }
    if (replica.highWatermark > lastOffset) return ok
    return { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'the in-sync replicas did not replicate the batch in time' }
  }

  // ---- consumer fetch ----

  async fetch (request: FetchRequest): Promise<FetchResponse> {
    const { config, clock } = this.#host
    const { partitions, minBytes } = request
    const maxBytes = Math.min(request.maxBytes, config.fetchBytesMax) || config.fetchBytesMax
    const deadlineMs = clock.nowMs() + Math.min(request.maxWaitMs, config.fetchMaxWaitMsMax)
    const held = { bytes: 0 }
    try {
      return await this.#fetchUntil(partitions, maxBytes, minBytes, deadlineMs, held)
    } finally {
      this.#host.bytes.release(held.bytes)
    }
  }

  async #fetchUntil (
    partitions: readonly FetchPartitionRequest[], maxBytes: number, minBytes: number, deadlineMs: number, held: { bytes: number },
  ): Promise<FetchResponse> {
    const { clock } = this.#host
    for (;;) {
      const seenHighWatermarks = partitions.map((p) => this.#host.replica(p.topic, p.partition)?.highWatermark ?? -1)
      const results = await this.#readForConsumer(partitions, maxBytes, held)
      const bytes = results.reduce((sum, r) => sum + (r.records?.byteLength ?? 0), 0)
      const remainingMs = deadlineMs - clock.nowMs()
      // Kafka: min_bytes 0 answers at once; otherwise wait for that many bytes or the deadline.
      if (bytes >= minBytes || remainingMs <= 0 || results.some((r) => r.errorCode !== '')) {
        return { partitions: results }
      }
      // These reads are dropped: nothing is held while waiting.
      this.#host.bytes.release(held.bytes)
      held.bytes = 0
      const ready = (): boolean => partitions.some((p, i) => {
        const replica = this.#host.replica(p.topic, p.partition)
        return replica === undefined || replica.role !== 'leader' || otherIncarnation(replica, p.topicId) ||
          replica.highWatermark > (seenHighWatermarks[i] ?? -1)
      })
      const keys = partitions.map((p) => `${p.topic}-${p.partition}`)
      const woken = await this.#host.delayed.wait({ kind: 'consumerFetch', keys, timeoutMs: remainingMs, ready })
      if (!woken) return { partitions: await this.#readForConsumer(partitions, maxBytes, held) }
    }
  }

  /** Reads each partition below its HW; the bytes read are added to `held` (the caller releases them). */
  async #readForConsumer (partitions: readonly FetchPartitionRequest[], maxBytes: number, held: { bytes: number }): Promise<FetchPartitionResult[]> {
    const results: FetchPartitionResult[] = []
    let remainingBytes = maxBytes
    for (const p of partitions) {
      const { topic, partition, fetchOffset } = p
      const replica = this.#host.replica(topic, partition)
      const base = { topic, partition, highWatermark: -1, logStartOffset: -1, records: EMPTY }
      const problem = partitionProblem(this.#host, replica, p.topicId, p.currentLeaderEpoch)
      if (problem !== undefined || replica === undefined) { results.push({ ...base, errorCode: problem?.code, errorMessage: problem?.message }); continue }
      const unknownHighWatermark = highWatermarkUnknown(replica)
      if (unknownHighWatermark !== undefined) {
        results.push({ ...base, errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, errorMessage: unknownHighWatermark })
        continue
      }
      const state = { highWatermark: replica.highWatermark, logStartOffset: replica.log.logStartOffset }
      if (fetchOffset < state.logStartOffset || fetchOffset > replica.log.logEndOffset) {
        results.push({ ...base, ...state, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, errorMessage: 'fetch offset outside the log' })
        continue
      }
      const bytesMax = Math.min(p.partitionMaxBytes || this.#host.config.fetchBytesMax, remainingBytes)
      if (bytesMax <= 0 || fetchOffset >= state.highWatermark) { results.push({ ...base, ...state, errorCode: '' }); continue }
      const refused = this.#takeReadBytes(bytesMax)
      if (refused !== undefined) { results.push({ ...base, ...state, errorCode: refused.code, errorMessage: refused.message }); continue }
      try {
        const read = await this.#heldRead(bytesMax, held, async () =>
          await replica.log.read({ offset: offset(fetchOffset), bytesMax, maxOffset: offset(state.highWatermark) }))
        remainingBytes -= read.bytes.length
        results.push({ ...base, ...state, errorCode: '', records: read.bytes })
      } catch (error) {
        const { code, message } = errorOf(error)
        results.push({ ...base, ...state, errorCode: code, errorMessage: message })
      }
    }
    return results
  }

  // ---- list offsets ----

  async listOffsets (request: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const results = await Promise.all(request.partitions.map(async (p) => {
      const { topic, partition } = p
      const base = { topic, partition, offset: -1, timestamp: -1, leaderEpoch: -1 }
      const replica = this.#host.replica(topic, partition)
      const problem = partitionProblem(this.#host, replica, p.topicId, p.currentLeaderEpoch)
      if (problem !== undefined || replica === undefined) return { ...base, errorCode: problem?.code, errorMessage: problem?.message }
      const timestamp = p.timestamp
      // KIP-207: no "latest" (nor an offset for a timestamp) that goes backwards after a failover.
      const unknownHighWatermark = highWatermarkUnknown(replica)
      if (timestamp !== EARLIEST_TIMESTAMP && unknownHighWatermark !== undefined) {
        return { ...base, errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, errorMessage: unknownHighWatermark }
      }
      if (timestamp === EARLIEST_TIMESTAMP) return { ...base, errorCode: '', offset: replica.log.logStartOffset, leaderEpoch: replica.leaderEpoch }
      if (timestamp === LATEST_TIMESTAMP) return { ...base, errorCode: '', offset: replica.highWatermark, leaderEpoch: replica.leaderEpoch }
      try {
        const target = timestamp === MAX_TIMESTAMP ? await replica.log.maxTimestamp() : timestamp
        if (timestamp === MAX_TIMESTAMP && target < 0) return { ...base, errorCode: '' } // an empty log
        const found = await replica.log.offsetForTimestamp(target)
        // Only committed data is visible: an offset at or past the HW is "no such offset yet".
        if (found === undefined || found.offset >= replica.highWatermark) return { ...base, errorCode: '' }
        const epoch = replica.log.leaderEpochCache.epochForOffset(found.offset) ?? -1
        return { ...base, errorCode: '', offset: found.offset, timestamp: found.timestamp, leaderEpoch: epoch }
      } catch (error) {
        const { code, message } = errorOf(error)
        return { ...base, errorCode: code, errorMessage: message }
      }
    }))
    return { partitions: results }
  }

  // ---- offsets for leader epochs (KIP-320, consumers) ----

  /**
   * Where each asked epoch ends in the leader's log, so a consumer can tell whether the log it read was truncated
   * under it. An epoch newer than every one the log knows (or a negative one) is Kafka's UNDEFINED_EPOCH answer,
   * -1 and -1, without error. Followers ask within their fetches instead (KIP-595, `replicaFetch`).
   */
  offsetForLeaderEpoch (partitions: readonly OffsetForLeaderEpochPartitionRequest[]): OffsetForLeaderEpochPartitionResult[] {
    return partitions.map((p): OffsetForLeaderEpochPartitionResult => {
      const undefinedEpoch = { topic: p.topic, partition: p.partition, leaderEpoch: -1, endOffset: -1 }
      const replica = this.#host.replica(p.topic, p.partition)
      const problem = leaderProblem(replica, p.currentLeaderEpoch)
      if (problem !== undefined || replica === undefined) return { ...undefinedEpoch, errorCode: problem?.code ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
      if (p.leaderEpoch < 0) return { ...undefinedEpoch, errorCode: '' }
      const end = replica.log.endOffsetForEpoch(leaderEpoch(p.leaderEpoch))
      if (end === undefined) return { ...undefinedEpoch, errorCode: '' }
      return { topic: p.topic, partition: p.partition, errorCode: '', leaderEpoch: end.epoch, endOffset: end.endOffset }
    })
  }

  // ---- follower fetch (ReplicationService) ----

  /**
   * One follower fetch: records each partition's fetch offset (the follower's durable log end) first, so the HW and
   * the acks=all waiters move at once, then long-polls until a partition has data past its fetch offset. With
   * `buffers`, the records are read into that lease's buffers: the caller releases it once the response is copied out
   * (serialized), and keeps no reference to the records after.
   */
  async replicaFetch (request: ReplicaFetchRequest, buffers?: ReadBuffers): Promise<ReplicaFetchResponse> {
    const { config, clock } = this.#host
    const followerId = request.replicaId ?? -1
    // KIP-903: kept per follower for the ISR changes the leader proposes. A registration's raft index is at least 1:
    // 0 is protobuf's unset (a follower that does not send it), so unknown like -1.
    const brokerEpoch = Number(request.brokerEpoch ?? -1) > 0 ? Number(request.brokerEpoch) : -1
    const partitions = request.partitions ?? []
    const early = partitions.map((p) => this.#checkFollowerFetch(followerId, brokerEpoch, p))
    const maxBytes = Math.min(request.maxBytes || config.replicaFetchMaxBytes, config.replicaFetchMaxBytes)
    const deadlineMs = clock.nowMs() + Math.min(request.maxWaitMs ?? 0, config.fetchMaxWaitMsMax)
    const held = { bytes: 0 }
    try {
      return await this.#replicaFetchUntil(partitions, early, maxBytes, request.minBytes ?? 0, deadlineMs, held, buffers?.allocate)
    } finally {
      this.#host.bytes.release(held.bytes)
    }
  }

  async #replicaFetchUntil (
    partitions: readonly ReplicaFetchPartition[], early: readonly (ReplicaFetchPartitionResult | undefined)[], maxBytes: number,
    minBytes: number, deadlineMs: number, held: { bytes: number }, allocate: ((size: number) => Buffer) | undefined,
  ): Promise<ReplicaFetchResponse> {
    const { clock } = this.#host
    let woken = false
    for (;;) {
      const results = await this.#readForFollower(partitions, early, maxBytes, held, allocate)
      const bytes = results.reduce((sum, r) => sum + (r.records?.byteLength ?? 0), 0)
      const remainingMs = deadlineMs - clock.nowMs()
      // An error is a final answer, and so is a wake-up that found nothing to send: waiting again at once would
      // spin (the wait's condition is already true), burning the event loop until the deadline. Found by the
      // whole-cluster simulation, where the spin never yields and the run hangs.
      if (bytes >= minBytes || remainingMs <= 0 || woken || early.some((e) => e !== undefined) ||
        results.some((r) => (r.errorCode ?? '') !== '')) {
        return { partitions: results }
      }
      this.#host.bytes.release(held.bytes)
      held.bytes = 0
      const epochs = partitions.map((p) => this.#host.replica(p.topic ?? '', p.partition ?? 0)?.leaderEpoch ?? -1)
      const ready = (): boolean => partitions.some((p, i) => {
        const replica = this.#host.replica(p.topic ?? '', p.partition ?? 0)
        return replica === undefined || replica.role !== 'leader' || replica.leaderEpoch !== epochs[i] ||
          otherIncarnation(replica, p.topicId ?? '') || replica.log.logEndOffset > (p.fetchOffset ?? 0)
      })
      const keys = partitions.map((p) => `${p.topic ?? ''}-${p.partition ?? 0}`)
      woken = await this.#host.delayed.wait({ kind: 'followerFetch', keys, timeoutMs: remainingMs, ready })
      if (!woken) return { partitions: await this.#readForFollower(partitions, early, maxBytes, held, allocate) }
    }
  }

  /** Validates one partition of a follower fetch and records its progress; a final answer when it gets no data. */
  #checkFollowerFetch (followerId: number, brokerEpoch: number, p: ReplicaFetchPartition): ReplicaFetchPartitionResult | undefined {
    const topic = p.topic ?? ''
    const partition = p.partition ?? 0
    const replica = this.#host.replica(topic, partition)
    const base = { topic, partition, highWatermark: -1, logStartOffset: -1, records: EMPTY }
    // KIP-516: a follower of another incarnation of the topic (it always sends its topic id) gets nothing from this log.
    const problem = partitionProblem(this.#host, replica, p.topicId ?? '', p.currentLeaderEpoch ?? -1)
    if (problem !== undefined || replica === undefined) return { ...base, errorCode: problem?.code }
    if (!replica.replicas.includes(followerId)) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
    const state = { highWatermark: replica.highWatermark, logStartOffset: replica.log.logStartOffset }
    const fetchOffset = p.fetchOffset ?? 0
    const lastFetchedEpoch = p.lastFetchedEpoch ?? -1
    // KIP-595 (and KIP-320 before it): the follower's log forked if our log ends its last epoch below its fetch
    // offset, or that epoch is unknown here. It truncates to our end of that epoch, never to the HW alone.
    if (lastFetchedEpoch >= 0) {
      const end = replica.log.endOffsetForEpoch(leaderEpoch(lastFetchedEpoch))
      // An epoch newer than any this leader knows cannot be on a sound follower (a leader's own epoch is the newest
      // any replica holds): its log is corrupt. Kafka's answer (UNDEFINED_EPOCH) makes it truncate to its HW.
      if (end === undefined) return { ...base, ...state, errorCode: '', divergingEpoch: { epoch: -1, endOffset: -1 } }
      if (end.epoch !== lastFetchedEpoch || end.endOffset < fetchOffset) {
        return { ...base, ...state, errorCode: '', divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } }
      }
    }
    if (fetchOffset < state.logStartOffset || fetchOffset > replica.log.logEndOffset) {
      return { ...base, ...state, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }
    }
    replica.recordFollowerFetch(followerId, fetchOffset, this.#host.clock.nowMs(), brokerEpoch)
    this.#host.onLeaderProgress(replica, followerId)
    return undefined
  }

  async #readForFollower (
    partitions: readonly ReplicaFetchPartition[], early: readonly (ReplicaFetchPartitionResult | undefined)[], maxBytes: number,
    held: { bytes: number }, allocate: ((size: number) => Buffer) | undefined,
  ): Promise<ReplicaFetchPartitionResult[]> {
    const results: ReplicaFetchPartitionResult[] = []
    let remainingBytes = maxBytes
    for (const [i, p] of partitions.entries()) {
      const answered = early[i]
      if (answered !== undefined) { results.push(answered); continue }
      const topic = p.topic ?? ''
      const partition = p.partition ?? 0
      const replica = this.#host.replica(topic, partition)
      const problem = partitionProblem(this.#host, replica, p.topicId ?? '', p.currentLeaderEpoch ?? -1)
      if (problem !== undefined || replica === undefined) { results.push({ topic, partition, errorCode: problem?.code }); continue }
      // The log end before the read: a follower that reaches it holds all the leader had (see caughtUpWithLeader).
      const state = { topic, partition, highWatermark: replica.highWatermark, logStartOffset: replica.log.logStartOffset, logEndOffset: replica.log.logEndOffset }
      const fetchOffset = p.fetchOffset ?? 0
      if (remainingBytes <= 0 || fetchOffset >= replica.log.logEndOffset) { results.push({ ...state, errorCode: '', records: EMPTY }); continue }
      const bytesMax = remainingBytes
      const refused = this.#takeReadBytes(bytesMax)
      if (refused !== undefined) { results.push({ ...state, errorCode: refused.code, records: EMPTY }); continue }
      if (p.verifyRecords === true && await this.#verified(replica, fetchOffset, bytesMax)) {
        // Our copy is the corrupt one: the log reopens (onCorruption) and stops leading; the follower retries.
        results.push({ ...state, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, records: EMPTY })
        continue
      }
      try {
        const read = await this.#heldRead(bytesMax, held, async () =>
          await replica.log.read({ offset: offset(fetchOffset), bytesMax, ...(allocate === undefined ? {} : { allocate }) }))
        remainingBytes -= read.bytes.length
        results.push({ ...state, errorCode: '', records: read.bytes })
      } catch (error) {
        results.push({ ...state, errorCode: errorOf(error).code, records: EMPTY })
      }
    }
    return results
  }

  /**
   * A follower refused what we served from `fetchOffset`: re-reads our copy with full validation. True when it is
   * corrupt or unreadable (an I/O error has already taken the log directory offline), giving back the `bytesMax` taken
   * for the read; false leaves it taken for the read that follows.
   */
  async #verified (replica: PartitionReplica, fetchOffset: number, bytesMax: number): Promise<boolean> {
    let corrupt: boolean
    try {
      corrupt = await replica.log.verify(offset(fetchOffset), bytesMax)
    } catch {
      // The log reported it (onFailure: the directory goes offline); the follower's answer is the retriable code.
      corrupt = true
    }
    if (corrupt) this.#host.bytes.release(bytesMax)
    return corrupt
  }

  // ---- bytes in flight ----

  /** Takes `bytesMax` for a log read from the broker-wide budget; the refusal when it does not fit. */
  #takeReadBytes (bytesMax: number): { code: ErrorCode; message: string } | undefined {
    return this.#host.bytes.tryTake(bytesMax) ? undefined : busy(this.#host.bytes, 'fetch read', bytesMax)
  }

  /** Runs a read that took `bytesMax` up front; keeps what it returned in `held`, gives back the rest. */
  async #heldRead<T extends { bytes: Uint8Array }> (bytesMax: number, held: { bytes: number }, read: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await read()
    } catch (error) {
      this.#host.bytes.release(bytesMax)
      throw error
    }
    const readBytes = result.bytes.byteLength
    // A first batch larger than bytesMax is returned whole (progress): count it all.
    if (readBytes <= bytesMax) this.#host.bytes.release(bytesMax - readBytes)
    else this.#host.bytes.force(readBytes - bytesMax)
    held.bytes += readBytes
    return result
  }
}

/** The refusal of `what` (`bytes` more) when the broker's bytes in flight are at `inFlightBytesMax`. */
function busy (budget: ByteBudget, what: string, bytes: number): { code: ErrorCode; message: string } {
  return {
    code: ErrorCode.REQUEST_TIMED_OUT,
    message: `broker busy: ${what} of ${bytes} bytes does not fit the bytes in flight (${budget.usedBytes} of inFlightBytesMax ${budget.limitBytes}); nothing was done, retry`,
  }
}

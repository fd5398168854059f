/**
 * A fake cluster at the client's transport seam (`BrokerConnection`): three brokers `b1..b3:9092`, topics with one
 * leader per partition, partition logs of real RecordBatch v2 bytes, committed offsets, and a group coordinator
 * whose ConsumerGroupHeartbeat calls wait for the test to answer them (`nextCall`), so a test decides every step of
 * a membership and can check what the client did before it answered.
 *
 * Requests and responses go through the real protobuf codecs of each method, so the client sees decoded messages
 * with proto3 defaults exactly as over gRPC. Automatic answers: FindCoordinator (`coordinatorId`), ListOffsets,
 * Fetch (held, like a long poll, until records are appended or the connection closes), OffsetFetch and OffsetCommit
 * (against `committed`). Any method in `manual` waits for the test instead; so does every other method.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type GrpcMethod, type gregor } from '@gregor/protocol'
import { buildBatch } from '@gregor/records'
import type { BrokerConnection } from '../cluster-connection.js'
import { type MetadataSnapshot, type PartitionLeader, leaderFor, metadataSnapshot } from '../metadata-snapshot.js'
import type { TopicPartition } from '../record-accumulator.js'
import { topicPartitionKey } from '../topic-partition-key.js'
import { flushMicrotasks } from './flush-microtasks.js'

export interface RecordedCall {
  readonly address: string
  /** The method's name, e.g. 'ConsumerGroupHeartbeat'. */
  readonly method: string
  /** The request as the server decodes it. */
  readonly request: any
  respond (response: object): void
  fail (error: unknown): void
  readonly settled: boolean
}

interface StoredBatch { readonly baseOffset: number; readonly nextOffset: number; readonly timestamp: number; readonly bytes: Buffer }

const key = topicPartitionKey

export class FakeCluster implements BrokerConnection {
  readonly requestTimeoutMs = 30_000
  /** Every call, in order. */
  readonly calls: RecordedCall[] = []
  /** Methods always answered by the test even if automatic answers exist. */
  readonly manual = new Set<string>(['ConsumerGroupHeartbeat'])
  coordinatorId = 1
  readonly committed = new Map<string, number>()
  readonly #logs = new Map<string, StoredBatch[]>()
  readonly #logStart = new Map<string, number>()
  readonly #heldFetches: (() => void)[] = []
  #snapshot: MetadataSnapshot
  #closed = false

  /** `topics`: name → partition count; partition p is led by broker (p % 3) + 1. */
  constructor (topics: Readonly<Record<string, number>>) {
    this.#snapshot = metadataSnapshot({
      clusterId: 'fake', controllerId: 1,
      brokers: [1, 2, 3].map((brokerId) => ({ brokerId, host: `b${brokerId}`, port: 9092 })),
      topics: Object.entries(topics).map(([name, count]) => ({
        name, partitions: Array.from({ length: count }, (_, partition) => ({ partition, leader: (partition % 3) + 1, leaderEpoch: 1, replicas: [1], isr: [1] })),
      })),
    })
  }

  get snapshot (): MetadataSnapshot { return this.#snapshot }
  get closed (): boolean { return this.#closed }

  leaderFor (tp: TopicPartition): PartitionLeader | undefined { return leaderFor(this.#snapshot, tp) }

  async metadata (): Promise<MetadataSnapshot> { return this.#snapshot }

  async topic (name: string): Promise<ReturnType<MetadataSnapshot['topics']['get']>> { return this.#snapshot.topics.get(name) }

  close (): void {
    this.#closed = true
    for (const release of this.#heldFetches.splice(0)) release()
    for (const call of this.calls) if (!call.settled) call.fail(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'cancelled', { details: { transport: true } }))
  }

  /** Appends records (values) at the log end of a partition, one batch; returns the first offset. */
  append (topic: string, partition: number, values: readonly string[], timestamp = 1_700_000_000_000): number {
    const log = this.#logs.get(key(topic, partition)) ?? []
    const baseOffset = this.logEnd(topic, partition)
    const bytes = buildBatch(values.map((value) => ({ key: null, value: Buffer.from(value), headers: [], timestamp })), { baseOffset })
    log.push({ baseOffset, nextOffset: baseOffset + values.length, timestamp, bytes })
    this.#logs.set(key(topic, partition), log)
    for (const release of this.#heldFetches.splice(0)) release()
    return baseOffset
  }

  logEnd (topic: string, partition: number): number {
    return this.#logs.get(key(topic, partition))?.at(-1)?.nextOffset ?? this.logStart(topic, partition)
  }

  logStart (topic: string, partition: number): number { return this.#logStart.get(key(topic, partition)) ?? 0 }

  setLogStart (topic: string, partition: number, offset: number): void { this.#logStart.set(key(topic, partition), offset) }

  async callAny<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties,
  ): Promise<Response> {
    return await this.call('any', method, request)
  }

  async call<Request, RequestProperties, Response, ResponseProperties> (
    address: string, method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties,
  ): Promise<Response> {
    if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'connection closed')
    const name = method.path.slice(method.path.lastIndexOf('/') + 1)
    const decoded = method.requestDeserialize(method.requestSerialize(request))
    return await new Promise<Response>((resolve, reject) => {
      let settled = false
      const call: RecordedCall = {
        address, method: name, request: decoded,
        respond: (response) => {
          if (settled) return
          settled = true
          resolve(method.responseDeserialize(method.responseSerialize(response as ResponseProperties)))
        },
        fail: (error) => {
          if (settled) return
          settled = true
          reject(error)
        },
        get settled () { return settled },
      }
      this.calls.push(call)
      if (!this.manual.has(name)) this.#answer(call)
    })
  }

  /** Calls of `method` not answered yet. */
  pending (method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method && !call.settled)
  }

  /** Waits (microtasks only: time does not move) for an unanswered call of `method`; throws if none comes. */
  async nextCall (method: string): Promise<RecordedCall> {
    for (let round = 0; round < 50; round++) {
      const call = this.pending(method)[0]
      if (call !== undefined) return call
      await flushMicrotasks()
    }
    throw new Error(`no ${method} call came`)
  }

  /** Lets queued work run, then returns the unanswered calls of `method` (to check that nothing was sent). */
  async settle (method: string): Promise<RecordedCall[]> {
    await flushMicrotasks(200)
    return this.pending(method)
  }

  #answer (call: RecordedCall): void {
    const request = call.request
    switch (call.method) {
      case 'FindCoordinator':
        call.respond({
          coordinators: (request as gregor.groups.FindCoordinatorRequest).groupIds.map((groupId) => ({
            groupId, nodeId: this.coordinatorId, host: `b${this.coordinatorId}`, port: 9092, partition: 0,
          })),
        })
        return
      case 'OffsetFetch': {
        const partitions = (request as gregor.groups.OffsetFetchRequest).partitions.flatMap((tps) =>
          (tps.partitions ?? []).map((partition) => ({ topic: tps.topic ?? '', partition })))
        call.respond({
          partitions: partitions.map(({ topic, partition }) => ({ topic, partition, offset: this.committed.get(key(topic, partition)) ?? -1 })),
        })
        return
      }
      case 'OffsetCommit': {
        const commit = request as gregor.groups.OffsetCommitRequest
        for (const p of commit.partitions) this.committed.set(key(p.topic ?? '', p.partition ?? 0), p.offset ?? -1)
        call.respond({ partitions: commit.partitions.map((p) => ({ topic: p.topic, partition: p.partition })) })
        return
      }
      case 'ListOffsets':
        call.respond({
          partitions: (request as gregor.cluster.ListOffsetsRequest).partitions.map(({ topic, partition, timestamp }) => ({
            topic, partition, offset: this.#listOffset(topic ?? '', partition ?? 0, timestamp ?? -1),
          })),
        })
        return
      case 'Fetch':
        this.#fetch(call, request as gregor.cluster.FetchRequest)
        return
      default:
    }
  }

  #listOffset (topic: string, partition: number, timestamp: number): number {
    if (timestamp === -2) return this.logStart(topic, partition)
    if (timestamp === -1) return this.logEnd(topic, partition)
    const batch = (this.#logs.get(key(topic, partition)) ?? []).find((b) => b.timestamp >= timestamp)
    return batch?.baseOffset ?? -1
  }

  /**
   * Answers with every batch at or after each fetch offset, or holds the fetch until something is appended (at once,
   * empty, for maxWaitMs 0, as a broker does).
   */
  #fetch (call: RecordedCall, request: gregor.cluster.FetchRequest): void {
    const partitions = request.partitions.map((p) => {
      const batches = (this.#logs.get(key(p.topic ?? '', p.partition ?? 0)) ?? []).filter((b) => b.nextOffset > (p.fetchOffset ?? 0))
      return { topic: p.topic, partition: p.partition, highWatermark: this.logEnd(p.topic ?? '', p.partition ?? 0), records: Buffer.concat(batches.map((b) => b.bytes)) }
    })
    if (partitions.some((p) => p.records.length > 0) || this.#closed || request.maxWaitMs === 0) {
      call.respond({ partitions })
      return
    }
    this.#heldFetches.push(() => { this.#fetch(call, request) })
  }
}

/**
 * The follower side of replication for one leader broker: one bidi ReplicationService.Fetch stream carrying every
 * partition this broker follows from that leader (Kafka's `ReplicaFetcherThread`, one per source broker).
 *
 * Owns: the stream, the set of partitions it fetches and their retry times. It knows nothing about logs: it asks the
 * host for each partition's fetch state and hands each partition result back to the host, which appends durably,
 * truncates on a diverging epoch (KIP-595) and moves the follower's high watermark.
 *
 * Async model: one loop, ONE request in flight at a time: request → response → the host applies every partition
 * result (durably) → next request. So the fetch offset a follower reports is always its durable log end, which is
 * what lets the leader count it for acks=all. A broken or silent stream is replaced, with a new client (the leader's
 * host name is resolved again), after a bounded exponential backoff. A partition whose result was an error waits
 * `replicaFetchBackoffMs` before it is asked for again, so a leader that does not know it leads yet is not spun on.
 */
import * as grpc from '@grpc/grpc-js'
import type { Clock, Logger } from '@gregor/common'
import { channelOptions, replicationMethods, type gregor } from '@gregor/protocol'
import type { ReplicationConfig } from './replication-config.js'

type FetchPartitionProperties = gregor.cluster.ReplicaFetchPartition.$Properties
type FetchRequestProperties = gregor.cluster.ReplicaFetchRequest.$Properties
type FetchResponse = gregor.cluster.ReplicaFetchResponse
type FetchPartitionResult = gregor.cluster.ReplicaFetchPartitionResult.$Properties
type FetchStream = grpc.ClientDuplexStream<FetchRequestProperties, FetchResponse>

/** What the fetcher needs from the replica manager. */
export interface ReplicaFetcherHost {
  /** The partition's fetch state if it still follows `leaderId`; undefined drops it from this fetcher. */
  fetchState (key: string, leaderId: number): FetchPartitionProperties | undefined
  /** Applies one partition's result durably; false when the partition should back off before its next fetch. */
  handleFetchResult (key: string, leaderId: number, sent: FetchPartitionProperties, result: FetchPartitionResult): Promise<boolean>
}

/** Receive window of the replication channel: large responses stream at full speed only with a large window. */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024

export class ReplicaFetcher {
  readonly leaderId: number
  readonly #brokerId: number
  readonly #resolveAddress: () => string | undefined
  readonly #config: ReplicationConfig
  readonly #clock: Clock
  readonly #log: Logger
  readonly #host: ReplicaFetcherHost
  /** Partition key → earliest time (clock ms) it may be fetched again. */
  readonly #partitions = new Map<string, number>()
  #running = true
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #client: grpc.Client | undefined
  #stream: FetchStream | undefined
  #pending: { resolve: (response: FetchResponse) => void; reject: (error: Error) => void } | undefined
  #backoffMs: number

  constructor (deps: {
    brokerId: number; leaderId: number
    /** The leader's BROKER listener, looked up again on every (re)connect: a restarted broker may move. */
    resolveAddress: () => string | undefined
    config: ReplicationConfig; clock: Clock; logger: Logger
    host: ReplicaFetcherHost
  }) {
    this.leaderId = deps.leaderId
    this.#brokerId = deps.brokerId
    this.#resolveAddress = deps.resolveAddress
    this.#config = deps.config
    this.#clock = deps.clock
    this.#log = deps.logger.child({ leaderId: deps.leaderId })
    this.#host = deps.host
    this.#backoffMs = deps.config.reconnectBackoffMsMin
  }

  get partitionCount (): number {
    return this.#partitions.size
  }

  /** Starts (or resumes at once) fetching `key` from this leader. */
  addPartition (key: string): void {
    this.#partitions.set(key, 0)
    this.#loop ??= this.#run()
    this.#wake?.()
  }

  removePartition (key: string): void {
    this.#partitions.delete(key)
  }

  /** Stops the loop and the stream; resolves once the loop has finished its current step. */
  async close (): Promise<void> {
    this.#running = false
    this.#wake?.()
    this.#teardown(new Error('fetcher closed'))
    await this.#loop
  }

  async #run (): Promise<void> {
    while (this.#running) {
      const request = this.#buildRequest()
      if (request === undefined) {
        await this.#sleep(this.#untilNextDueMs())
        continue
      }
      let response: FetchResponse
      try {
        response = await this.#exchange(request)
        this.#backoffMs = this.#config.reconnectBackoffMsMin
      } catch (error) {
        if (!this.#running) break
        this.#log.warn({ err: error instanceof Error ? error.message : String(error), backoffMs: this.#backoffMs }, 'fetch from leader failed')
        this.#teardown(error instanceof Error ? error : new Error(String(error)))
        await this.#sleep(this.#backoffMs)
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#config.reconnectBackoffMsMax)
        continue
      }
      await this.#applyResponse(request, response)
    }
  }

  #buildRequest (): FetchRequestProperties | undefined {
    const nowMs = this.#clock.nowMs()
    const partitions: FetchPartitionProperties[] = []
    for (const [key, retryAtMs] of this.#partitions) {
      if (retryAtMs > nowMs) continue
      const state = this.#host.fetchState(key, this.leaderId)
      if (state === undefined) { this.#partitions.delete(key); continue }
      partitions.push(state)
    }
    if (partitions.length === 0) return undefined
    return {
      replicaId: this.#brokerId,
      maxWaitMs: this.#config.replicaFetchMaxWaitMs,
      minBytes: this.#config.replicaFetchMinBytes,
      maxBytes: this.#config.replicaFetchMaxBytes,
      partitions,
    }
  }

  async #applyResponse (request: FetchRequestProperties, response: FetchResponse): Promise<void> {
    const sent = new Map((request.partitions ?? []).map((p) => [`${p.topic ?? ''}-${p.partition ?? 0}`, p]))
    for (const result of response.partitions) {
      const key = `${result.topic ?? ''}-${result.partition ?? 0}`
      const state = sent.get(key)
      if (state === undefined || !this.#partitions.has(key)) continue
      let ok = false
      try {
        ok = await this.#host.handleFetchResult(key, this.leaderId, state, result)
      } catch (error) {
        this.#log.warn({ key, err: error instanceof Error ? error.message : String(error) }, 'fetch result not applied')
      }
      if (!ok && this.#partitions.has(key)) this.#partitions.set(key, this.#clock.nowMs() + this.#config.replicaFetchBackoffMs)
    }
  }

  #untilNextDueMs (): number {
    if (this.#partitions.size === 0) return this.#config.replicaFetchBackoffMs * 10
    const nowMs = this.#clock.nowMs()
    return Math.max(1, Math.min(...this.#partitions.values()) - nowMs)
  }

  /** Sleeps `ms`, or until a partition is added or the fetcher closes. */
  async #sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#wake = undefined; resolve() }, ms)
      this.#wake = () => { clearTimeout(timer); this.#wake = undefined; resolve() }
    })
  }

  /** Sends one request and waits for its response: the only request in flight on this stream. */
  #exchange (request: FetchRequestProperties): Promise<FetchResponse> {
    const stream = this.#stream ?? this.#open()
    return new Promise<FetchResponse>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('replica fetch response timed out')) },
        this.#config.replicaFetchMaxWaitMs + this.#config.replicaFetchResponseTimeoutMs)
      this.#pending = {
        resolve: (response) => { clearTimeout(timer); this.#pending = undefined; resolve(response) },
        reject: (error) => { clearTimeout(timer); this.#pending = undefined; reject(error) },
      }
      stream.write(request)
    })
  }

  #open (): FetchStream {
    // A new client per connection: grpc-js resolves the leader's name afresh (a restarted container moves).
    const address = this.#resolveAddress()
    if (address === undefined) throw new Error('leader address unknown')
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      ...channelOptions(this.#config.messageBytesMax),
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    })
    const method = replicationMethods.fetch
    const stream: FetchStream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize)
    stream.on('data', (response: FetchResponse) => { if (stream === this.#stream) this.#pending?.resolve(response) })
    const broken = (error: Error): void => { if (stream === this.#stream) this.#teardown(error) }
    stream.on('error', broken)
    stream.on('end', () => { broken(new Error('replication stream ended')) })
    this.#client = client
    this.#stream = stream
    this.#log.debug({ address }, 'replication stream opened')
    return stream
  }

  #teardown (error: Error): void {
    const stream = this.#stream
    this.#stream = undefined
    this.#pending?.reject(error)
    if (stream !== undefined) {
      stream.removeAllListeners('error')
      stream.on('error', () => {})
      stream.cancel()
    }
    this.#client?.close()
    this.#client = undefined
  }
}

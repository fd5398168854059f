/**
 * The client's link to a cluster: gRPC channels to brokers, the metadata they serve, and where each partition's
 * leader is.
 *
 * Owns: one grpc-js Client per broker address, created on first use and reused (a channel multiplexes every call to
 * that broker); the latest MetadataSnapshot, merged per topic as refreshes arrive; the choice of which broker to ask
 * for metadata and admin requests. Starts from the bootstrap servers; once metadata names the brokers, those are
 * candidates too. A call that fails in transport moves on to the next candidate, and the one that answered last is
 * tried first next time. Not owned: retries of produce or fetch (the producer and consumer decide).
 *
 * Bounded: channels are at most one per bootstrap server plus one per broker in metadata. Async model: all calls are
 * independent promises; the snapshot is replaced, never mutated, so a reader never sees half a refresh.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { type GrpcMethod, channelOptions, clientMethods, unaryCall } from '@gregor/protocol'
import {
  type MetadataSnapshot, type PartitionLeader, type TopicInfo, emptySnapshot, leaderFor, mergeSnapshots, metadataSnapshot,
} from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'
import { transportError } from './response-error.js'

export interface ClusterConnectionConfig {
  /** `host:port` of brokers to start from; any one that answers is enough. */
  readonly bootstrapServers: readonly string[]
  /** Deadline of one request, long polls excluded (they add their own wait). */
  readonly requestTimeoutMs: number
  /** Largest gRPC message sent or received (a fetch response carries up to its byte limit plus framing). */
  readonly messageBytesMax: number
}

export const defaultClusterConnectionConfig = Object.freeze({
  requestTimeoutMs: 30_000,
  messageBytesMax: 64 * 1024 * 1024,
})

/**
 * Parses a comma-separated list (or a list) of `host:port`; throws INVALID_CONFIG listing every bad entry, or that
 * the list is empty.
 */
export function parseBootstrapServers (input: string | readonly string[]): string[] {
  const entries = (typeof input === 'string' ? input.split(',') : [...input]).map((entry) => entry.trim()).filter((entry) => entry !== '')
  const problems: string[] = []
  if (entries.length === 0) problems.push('no bootstrap servers given (host:port, comma-separated)')
  for (const entry of entries) {
    const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry)
    const port = match === null ? NaN : Number(match[2])
    if (match === null || port < 1 || port > 65535) problems.push(`bootstrap server '${entry}' is not host:port`)
  }
  if (problems.length > 0) throw new GregorError(ErrorCode.INVALID_CONFIG, problems.join('; '), { details: { problems } })
  return entries
}

/**
 * What the producer, consumer, admin and group components use of a ClusterConnection: the seam where tests put a
 * fake cluster (a Pick of the class, so a plain object with these members fits).
 */
export type BrokerConnection = Pick<ClusterConnection,
  'requestTimeoutMs' | 'snapshot' | 'leaderFor' | 'metadata' | 'topic' | 'call' | 'callAny' | 'close'>

export class ClusterConnection {
  readonly #config: ClusterConnectionConfig
  readonly #clients = new Map<string, grpc.Client>()
  #snapshot: MetadataSnapshot = emptySnapshot
  #preferredAddress: string | undefined
  /** Metadata requests in flight for one topic, by name: at most one per topic. */
  readonly #topicRequests = new Map<string, Promise<MetadataSnapshot>>()
  #closed = false

  constructor (config: ClusterConnectionConfig) {
    this.#config = { ...config, bootstrapServers: parseBootstrapServers(config.bootstrapServers) }
  }

  get requestTimeoutMs (): number { return this.#config.requestTimeoutMs }

  /** The latest metadata (empty until the first `metadata` call answers). */
  get snapshot (): MetadataSnapshot { return this.#snapshot }

  /** The leader of a partition by the latest metadata, if it has one the client can reach. */
  leaderFor (topicPartition: TopicPartition): PartitionLeader | undefined {
    return leaderFor(this.#snapshot, topicPartition)
  }

  /**
   * Asks any reachable broker for the metadata of `topics` (all topics when empty) and merges the answer into the
   * snapshot. Rejects with the transport error of the last broker tried when none answers.
   */
  async metadata (topics: readonly string[] = []): Promise<MetadataSnapshot> {
    const response = await this.callAny(clientMethods.metadata, { topics: [...topics] })
    const fresh = metadataSnapshot(response)
    this.#snapshot = topics.length === 0 ? fresh : mergeSnapshots(this.#snapshot, fresh)
    return fresh
  }

  /** The metadata of one topic from the snapshot, fetched first if the snapshot does not have it yet. */
  async topic (name: string, options: { readonly refresh?: boolean } = {}): Promise<TopicInfo | undefined> {
    if (options.refresh === true || !this.#snapshot.topics.has(name)) {
      // Concurrent first sends to a topic share one request instead of each asking.
      let pending = this.#topicRequests.get(name)
      if (pending === undefined) {
        pending = this.metadata([name]).finally(() => this.#topicRequests.delete(name))
        this.#topicRequests.set(name, pending)
      }
      await pending
    }
    return this.#snapshot.topics.get(name)
  }

  /** A unary call to the broker at `address`; transport failures reject as GregorErrors (`transportError`). */
  async call<Request, RequestProperties, Response, ResponseProperties> (
    address: string,
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    options: { readonly extraWaitMs?: number } = {},
  ): Promise<Response> {
    if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'connection closed')
    try {
      return await unaryCall(this.#clientFor(address), method, request, {
        deadlineMs: this.#config.requestTimeoutMs + (options.extraWaitMs ?? 0),
      })
    } catch (error) {
      throw transportError(error, { address, method: method.path })
    }
  }

  /**
   * A unary call to whichever broker answers first, trying the last one that answered, then the bootstrap servers,
   * then the brokers from metadata. Only transport failures move on; a response (even with error codes) is returned.
   */
  async callAny<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
  ): Promise<Response> {
    let lastError: unknown = new GregorError(ErrorCode.LEADER_NOT_AVAILABLE, 'no broker to ask')
    for (const address of this.#candidates()) {
      try {
        const response = await this.call(address, method, request)
        this.#preferredAddress = address
        return response
      } catch (error) {
        if (isGregorError(error) && error.details.transport !== true) throw error
        lastError = error
      }
    }
    throw lastError
  }

  /** Closes every channel; calls in flight fail with CANCELLED and later calls with SHUTTING_DOWN. */
  close (): void {
    this.#closed = true
    for (const client of this.#clients.values()) client.close()
    this.#clients.clear()
  }

  #candidates (): string[] {
    const known = [...this.#snapshot.brokers.values()].filter((broker) => !broker.fenced).map((broker) => broker.address)
    const ordered = [this.#preferredAddress, ...this.#config.bootstrapServers, ...known]
    return [...new Set(ordered.filter((address): address is string => address !== undefined))]
  }

  #clientFor (address: string): grpc.Client {
    let client = this.#clients.get(address)
    if (client === undefined) {
      client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions(this.#config.messageBytesMax))
      this.#clients.set(address, client)
    }
    return client
  }
}

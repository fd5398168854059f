/**
 * Replication over gRPC: the production `ReplicaFetchTransport` (the follower's ReplicationService.Fetch bidi stream
 * to a leader) and the leader's server side of that stream. The replica manager and its fetchers know neither; the
 * composition root (broker.ts) wires both.
 *
 * Owns: the gRPC clients and streams, their channel options (large receive window, message size limit, keepalive),
 * and the lookup of a leader's BROKER listener in the metadata image, done afresh on every `open` (a restarted broker
 * may have moved; grpc-js resolves the host name again for each new client).
 *
 * Invariants:
 * - A session is one client and one bidi stream with at most one request in flight. A stream error or end rejects
 *   the pending fetch and every later one (the fetcher then closes the session and opens another after a backoff);
 *   a response that arrives with no fetch pending is dropped.
 * - The server answers one stream's requests in order, one at a time; a follower that sends more than
 *   `queuedRequestsMax` unanswered requests breaks the protocol and its stream is cancelled with RESOURCE_EXHAUSTED
 *   rather than queued without bound.
 * The response deadline is the fetcher's, not this module's: the simulation's transport gets the same rule for free.
 */
import * as grpc from '@grpc/grpc-js'
import type { Logger, NodeId } from '@gregor/common'
import type { MetadataImage } from '@gregor/metadata'
import { type BrokerPeers, channelOptions, openBrokerPeers, replicationMethods, serviceDefinition, statusError, type gregor } from '@gregor/protocol'
import { ReadBufferPool, type ReadBuffers } from '@gregor/storage'
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '../replica/leader-requests.js'
import type { ReplicaFetchSession, ReplicaFetchTransport } from '../replica/replica-fetch-transport.js'

type FetchStream = grpc.ClientDuplexStream<ReplicaFetchRequest, gregor.cluster.ReplicaFetchResponse>

/** Receive window of the replication channel: large responses stream at full speed only with a large window. */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024
/** Unanswered requests a follower may have on one stream (the protocol allows one; one more is tolerated). */
const QUEUED_REQUESTS_MAX = 2
/**
 * The leader's read buffers for follower fetches: a follower that keeps up reads a few hundred KB per fetch, which fits;
 * a catch-up read larger than this gets its own allocation. A few are kept free (one per follower stream in flight).
 */
const READ_BUFFER_BYTES = 1024 * 1024
const READ_BUFFERS_FREE_MAX = 8

export interface GrpcReplicaFetchTransportDeps {
  /** The applied metadata image: where a leader's BROKER listener is looked up. */
  readonly image: () => MetadataImage
  /** Largest gRPC message on the stream (ReplicationConfig.messageBytesMax). */
  readonly messageBytesMax: number
  readonly logger: Logger
  /** To dial a leader's BROKER listener with (broker-peers.ts `brokerChannelCredentials`); plaintext by default. */
  readonly credentials?: (leaderId: number) => grpc.ChannelCredentials
}

/** The BROKER listener `host:port` of `brokerId` in `image`, if it is registered with one. */
export function brokerListenerAddress (image: MetadataImage, brokerId: number): string | undefined {
  const listener = image.broker(brokerId as NodeId)?.listeners.find((item) => item.name === 'BROKER')
  return listener === undefined ? undefined : `${listener.host}:${listener.port}`
}

export class GrpcReplicaFetchTransport implements ReplicaFetchTransport {
  readonly #deps: GrpcReplicaFetchTransportDeps
  readonly #log: Logger

  constructor (deps: GrpcReplicaFetchTransportDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'fetcher' })
  }

  open (leaderId: number): ReplicaFetchSession | undefined {
    const address = brokerListenerAddress(this.#deps.image(), leaderId)
    if (address === undefined) return undefined
    return new GrpcReplicaFetchSession(address, this.#deps.messageBytesMax, this.#log.child({ leaderId }), this.#deps.credentials?.(leaderId) ?? grpc.credentials.createInsecure())
  }
}

/** One client and one bidi stream to a leader. */
class GrpcReplicaFetchSession implements ReplicaFetchSession {
  readonly #client: grpc.Client
  readonly #stream: FetchStream
  #pending: { resolve: (response: ReplicaFetchResponse) => void; reject: (error: Error) => void } | undefined
  #broken: Error | undefined

  constructor (address: string, messageBytesMax: number, logger: Logger, credentials: grpc.ChannelCredentials) {
    // A new client per session: grpc-js resolves the leader's name afresh (a restarted container moves).
    this.#client = new grpc.Client(address, credentials, {
      ...channelOptions(messageBytesMax),
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    })
    const method = replicationMethods.fetch
    const stream: FetchStream = this.#client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize)
    stream.on('data', (response: gregor.cluster.ReplicaFetchResponse) => {
      const pending = this.#pending
      this.#pending = undefined
      pending?.resolve(response)
    })
    stream.on('error', (error: Error) => { this.#break(error) })
    stream.on('end', () => { this.#break(new Error('replication stream ended')) })
    this.#stream = stream
    logger.debug({ address }, 'replication stream opened')
  }

  fetch (request: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    if (this.#pending !== undefined) return Promise.reject(new Error('a replica fetch is already in flight'))
    return new Promise<ReplicaFetchResponse>((resolve, reject) => {
      this.#pending = { resolve, reject }
      this.#stream.write(request)
    })
  }

  close (): void {
    if (this.#broken === undefined) {
      this.#break(new Error('replication session closed'))
    }
  }

  #break (error: Error): void {
    if (this.#broken !== undefined) return
    this.#broken = error
    const pending = this.#pending
    this.#pending = undefined
    pending?.reject(error)
    this.#stream.removeAllListeners('error')
    this.#stream.on('error', () => {})
    this.#stream.cancel()
    this.#client.close()
  }
}

/** What the server side needs: the leader's answer to one follower fetch. */
export interface ReplicaFetchHandler {
  /** With `buffers`, the records may be views of that lease's buffers, released by the caller once serialized. */
  handleReplicaFetch (request: ReplicaFetchRequest, buffers?: ReadBuffers): Promise<ReplicaFetchResponse>
}

/**
 * Registers ReplicationService on `server`: each follower stream's requests answered in order by `handler`. A request
 * whose replica id is not the caller's node (`peers`, broker-peers.ts) ends the stream with PERMISSION_DENIED.
 *
 * Each response's records are read into pooled buffers (read-buffer-pool.ts) and the lease is released in the write's
 * callback: grpc-js calls it only after serializing the response, and serializing copies the records (protobufjs
 * copies `bytes` fields into the encoded message, grpc-js copies that into its frame), so nothing references the
 * pooled bytes by then. A response never written (stream closed) never releases its lease: those buffers are left to
 * the garbage collector, never reused.
 */
export function addReplicationService (server: grpc.Server, handler: ReplicaFetchHandler, peers: BrokerPeers = openBrokerPeers): void {
  const readBuffers = new ReadBufferPool({ bufferBytes: READ_BUFFER_BYTES, freeBuffersMax: READ_BUFFERS_FREE_MAX })
  const fetch: grpc.handleBidiStreamingCall<gregor.cluster.ReplicaFetchRequest, ReplicaFetchResponse> = (call) => {
    let chain: Promise<void> = Promise.resolve()
    let queued = 0
    let closed = false
    const claim = peers.claimCheck(call, 'replica fetch')
    call.on('data', (request: gregor.cluster.ReplicaFetchRequest) => {
      if (closed) return
      const refused = claim(request.replicaId)
      if (refused !== undefined) {
        closed = true
        call.emit('error', refused) // grpc-js ends the stream with this status (destroy would send none)
        return
      }
      if (queued >= QUEUED_REQUESTS_MAX) {
        closed = true
        call.emit('error', statusError(grpc.status.RESOURCE_EXHAUSTED, 'more than one replica fetch in flight'))
        call.end()
        return
      }
      queued += 1
      chain = chain.then(async () => {
        const buffers = readBuffers.lease()
        const response = await handler.handleReplicaFetch(request, buffers)
        if (!closed && !call.cancelled) call.write(response, () => { buffers.release() })
      }).catch((error: unknown) => {
        closed = true
        call.destroy(statusError(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)))
      }).finally(() => { queued -= 1 })
    })
    call.on('end', () => {
      void chain.then(() => { if (!closed) { closed = true; call.end() } })
    })
    call.on('cancelled', () => { closed = true })
    call.on('error', () => { closed = true })
  }
  server.addService(serviceDefinition(replicationMethods), { fetch })
}

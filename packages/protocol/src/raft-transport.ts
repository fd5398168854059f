/**
 * Sends raft messages to peer voters over one long-lived gRPC client stream per peer, and receives theirs.
 *
 * Raft tolerates loss, so this transport never queues without bound: a message for a peer whose stream is down, in
 * backoff, or backed up beyond `streamBufferBytesMax` is dropped (and counted). A broken stream is replaced after a
 * bounded exponential backoff with a brand-new client, so the peer's host name is resolved again (a restarted
 * container comes back with a new address). Inbound envelopes from another cluster, from a node that is not a
 * voter, or that fail validation are dropped and logged; they never reach the core.
 */
import * as grpc from '@grpc/grpc-js'
import type { Logger, NodeId } from '@gregor/common'
import { isGregorError } from '@gregor/common'
import type { Message } from '@gregor/raft'
import { type BrokerPeers, brokerChannelCredentials, openBrokerPeers } from './broker-peers.js'
import { channelOptions } from './grpc-method.js'
import { decodeRaftMessage, encodeRaftMessage, type RaftCodecLimits, defaultRaftCodecLimits } from './raft-codec.js'
import { raftSendMethod } from './raft-services.js'
import type { gregor } from './generated.js'

export interface RaftTransportConfig {
  readonly nodeId: NodeId
  readonly clusterId: string
  /** Every voter's `host:port` on the inter-broker listener, this node included. */
  readonly voters: ReadonlyMap<NodeId, string>
  readonly reconnectBackoffMsMin: number
  readonly reconnectBackoffMsMax: number
  /** Bytes a peer stream may hold unsent before further messages to that peer are dropped. */
  readonly streamBufferBytesMax: number
  readonly messageBytesMax: number
}

export const defaultRaftTransportConfig = Object.freeze({
  reconnectBackoffMsMin: 20,
  reconnectBackoffMsMax: 500,
  streamBufferBytesMax: 8 * 1024 * 1024,
  messageBytesMax: 128 * 1024 * 1024,
})

type EnvelopeProperties = gregor.raft.Envelope.$Properties

/** One outbound stream to one peer, replaced on failure. */
class PeerStream {
  #client: grpc.Client | undefined
  #stream: grpc.ClientWritableStream<EnvelopeProperties> | undefined
  #backoffMs: number
  #retryTimer: NodeJS.Timeout | undefined
  #openedAtMs = 0
  dropped = 0

  constructor (
    private readonly peerId: NodeId,
    private readonly address: string,
    private readonly config: RaftTransportConfig,
    private readonly log: Logger,
    private readonly credentials: grpc.ChannelCredentials,
  ) {
    this.#backoffMs = config.reconnectBackoffMsMin
  }

  send (envelope: EnvelopeProperties): void {
    if (this.#retryTimer !== undefined) { this.dropped++; return }
    const stream = this.#stream ?? this.#open()
    if (stream.writableLength > this.config.streamBufferBytesMax) { this.dropped++; return }
    stream.write(envelope)
  }

  close (): void {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#teardown()
  }

  #open (): grpc.ClientWritableStream<EnvelopeProperties> {
    // A new client per connection attempt: grpc-js resolves the name afresh for a new channel. No per-call retry
    // buffer: with grpc-js's (1 MB per call) every envelope of this endless stream was kept until that much was sent,
    // several MB of heap per peer (seen with npm run bench:memory), and a write's callback came once buffered, not sent,
    // so `writableLength` did not bound what waits for the peer. Raft retries by itself.
    const client = new grpc.Client(this.address, this.credentials, { ...channelOptions(this.config.messageBytesMax), 'grpc.per_rpc_retry_buffer_size': 0 })
    const stream = client.makeClientStreamRequest(
      raftSendMethod.path, raftSendMethod.requestSerialize, raftSendMethod.responseDeserialize,
      (error) => { if (error !== null) this.#onBroken(stream, error) },
    )
    stream.on('error', (error: Error) => this.#onBroken(stream, error))
    this.#client = client
    this.#stream = stream
    this.#openedAtMs = performance.now()
    return stream
  }

  #onBroken (stream: grpc.ClientWritableStream<EnvelopeProperties>, error: Error): void {
    if (stream !== this.#stream) return
    // A stream that lived a while was healthy: start the next attempt from the minimum backoff.
    if (performance.now() - this.#openedAtMs > this.config.reconnectBackoffMsMax) this.#backoffMs = this.config.reconnectBackoffMsMin
    this.log.debug({ peerId: this.peerId, err: error.message, backoffMs: this.#backoffMs }, 'peer stream broken')
    this.#teardown()
    this.#retryTimer = setTimeout(() => { this.#retryTimer = undefined }, this.#backoffMs)
    this.#retryTimer.unref()
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.config.reconnectBackoffMsMax)
  }

  #teardown (): void {
    const stream = this.#stream
    this.#stream = undefined
    stream?.removeAllListeners('error')
    stream?.on('error', () => {})
    stream?.cancel()
    this.#client?.close()
    this.#client = undefined
  }
}

export class RaftTransport {
  readonly #peers = new Map<NodeId, PeerStream>()
  readonly #config: RaftTransportConfig
  readonly #log: Logger

  /** `credentials`: to dial each peer's BROKER listener with (broker-peers.ts `brokerChannelCredentials`); plaintext by default. */
  constructor (config: RaftTransportConfig, logger: Logger, credentials: (peerId: NodeId) => grpc.ChannelCredentials = brokerChannelCredentials(undefined)) {
    this.#config = config
    this.#log = logger.child({ component: 'raft-transport' })
    for (const [peerId, address] of config.voters) {
      if (peerId !== config.nodeId) this.#peers.set(peerId, new PeerStream(peerId, address, config, this.#log, credentials(peerId)))
    }
  }

  /** Fire and forget: raft retries what matters, so a message that cannot go now is dropped. */
  send (message: Message): void {
    const peer = this.#peers.get(message.to)
    if (peer === undefined) {
      this.#log.warn({ to: message.to }, 'message for unknown peer dropped')
      return
    }
    peer.send({ clusterId: this.#config.clusterId, message: encodeRaftMessage(message) })
  }

  droppedCount (): number {
    let dropped = 0
    for (const peer of this.#peers.values()) dropped += peer.dropped
    return dropped
  }

  close (): void {
    for (const peer of this.#peers.values()) peer.close()
  }
}

export interface RaftServiceOptions {
  readonly clusterId: string
  readonly nodeId: NodeId
  readonly voters: ReadonlySet<number>
  readonly limits?: RaftCodecLimits
  readonly onMessage: (message: Message) => void
  /**
   * The last open stream from a peer closed (its process died, or the connection broke): a failure hint for Raft
   * (`RawNode.forgetLeader`). Streams carry the sender's id in each message, so a stream that delivered nothing
   * names no peer and gives no hint.
   */
  readonly onPeerGone?: (peerId: NodeId) => void
  readonly logger: Logger
  /** Who may send, and as which node (broker-peers.ts); by default anyone, as any voter. */
  readonly peers?: BrokerPeers
}

/** Registers RaftService.Send on `server`: every valid envelope addressed to this node goes to `onMessage`. */
export function addRaftService (server: grpc.Server, options: RaftServiceOptions): void {
  const log = options.logger.child({ component: 'raft-transport' })
  const limits = options.limits ?? defaultRaftCodecLimits
  // Open inbound streams per peer: a peer reconnecting opens its new stream before the old one is seen to close.
  const openStreams = new Map<NodeId, number>()
  const handler: grpc.handleClientStreamingCall<gregor.raft.Envelope, gregor.raft.StreamAck.$Properties> = (call, callback) => {
    let finished = false
    let peerId: NodeId | undefined
    const claim = (options.peers ?? openBrokerPeers).claimCheck(call, 'raft message')
    const finish = (error: grpc.ServiceError | null): void => {
      if (finished) return
      finished = true
      callback(error, error === null ? {} : undefined)
      if (peerId === undefined) return
      const open = (openStreams.get(peerId) ?? 1) - 1
      if (open > 0) {
        openStreams.set(peerId, open)
        return
      }
      openStreams.delete(peerId)
      log.info({ peerId }, 'raft stream from peer closed')
      options.onPeerGone?.(peerId)
    }
    call.on('data', (envelope: gregor.raft.Envelope) => {
      if (envelope.clusterId !== options.clusterId) {
        log.warn({ clusterId: envelope.clusterId }, 'envelope from another cluster rejected')
        finish(statusError(grpc.status.FAILED_PRECONDITION, 'INCONSISTENT_CLUSTER_ID'))
        call.destroy()
        return
      }
      try {
        const message = decodeRaftMessage(envelope.message ?? {}, options.voters, limits)
        if (message.to !== options.nodeId) throw new Error('message addressed to another node')
        const refused = claim(message.from)
        if (refused !== undefined) {
          finish(refused)
          call.destroy()
          return
        }
        if (peerId === undefined && !finished) {
          peerId = message.from
          openStreams.set(peerId, (openStreams.get(peerId) ?? 0) + 1)
        }
        options.onMessage(message)
      } catch (error) {
        log.warn({ err: isGregorError(error) ? { code: error.code, message: error.message, details: error.details } : String(error) }, 'invalid raft message dropped')
      }
    })
    call.on('end', () => finish(null))
    call.on('error', () => finish(null)) // also a peer killed mid-stream (raft-transport.test.ts)
  }
  server.addService({ send: raftSendMethod } as grpc.ServiceDefinition, { send: handler })
}

export function statusError (code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() })
}

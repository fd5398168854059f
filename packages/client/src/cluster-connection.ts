/**
 * The client's link to a cluster: gRPC channels to brokers, the metadata they serve, and where each partition's
 * leader is.
 *
 * Owns: one transport (a grpc-js Client) per broker address, created on first use and reused (a channel multiplexes
 * every call to that broker), whose Produce requests (`produce`) go on one long-lived ProduceStream
 * (produce-stream.ts); the latest MetadataSnapshot, merged per topic as refreshes arrive; the choice of which broker
 * to ask for metadata and admin requests. Starts from the bootstrap servers; once metadata names the brokers, those
 * are candidates too. A call that fails in transport moves on to the next candidate, and the one that answered last
 * is tried first next time. Not owned: retries of produce or fetch (the producer and consumer decide).
 *
 * Unreachable leaders (a black hole: the TCP connection stays open and nothing answers, as with a paused process or a
 * partitioned host) are left fast, without waiting for a deadline:
 * - Every call has its own deadline (`requestTimeoutMs`, plus the long poll's wait): Kafka's per-attempt
 *   `request.timeout.ms`. The producer's delivery timeout bounds the retries.
 * - A call still unanswered `requestStallMs` after its answer was due makes its broker *suspect* (until it answers
 *   again). A call that names the partition leaders it was sent to (`leaders`) is then watched: the connection asks
 *   other brokers, never a suspect first, for those partitions' metadata every `requestStallMs`, and abandons the call
 *   (a retriable transport error, `details.leaderMoved`) as soon as one of them has another leader or a newer leader
 *   epoch. So a client follows an election within about `requestStallMs` of it.
 * - `callAny` tries suspects last; with `hedge` (reads that may be repeated: Metadata, FindCoordinator) it asks the
 *   next candidate too when one has not answered within `requestStallMs`, and takes the first answer.
 * - Channels use a fast keepalive (`clientKeepalive`) so a dead connection is closed in seconds, not 15 s.
 *
 * Bounded: channels are at most one per bootstrap server plus one per broker in metadata; one stall-driven metadata
 * request at a time. Async model: all calls are independent promises; the snapshot is replaced, never mutated, so a
 * reader never sees half a refresh. Time comes from the injected clock and scheduler only.
 */
import * as grpc from '@grpc/grpc-js'
import { type Clock, ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { type GrpcMethod, type TlsConfig, channelCredentials, channelOptions, clientMethods, type gregor } from '@gregor/protocol'
import {
  type MetadataSnapshot, type PartitionLeader, type TopicInfo, emptySnapshot, leaderFor, mergeSnapshots, metadataSnapshot,
} from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'
import { BrokerSession, type SaslConfig } from './broker-session.js'
import { ProduceStream } from './produce-stream.js'
import { transportError } from './response-error.js'
import { type Scheduler, systemClock, systemScheduler } from './scheduler.js'

export interface ClusterConnectionConfig {
  /** `host:port` of brokers to start from; any one that answers is enough. */
  readonly bootstrapServers: readonly string[]
  /** Deadline of one attempt of a request, long polls excluded (they add their own wait): Kafka `request.timeout.ms`. */
  readonly requestTimeoutMs: number
  /** Largest gRPC message sent or received (a fetch response carries up to its byte limit plus framing). */
  readonly messageBytesMax: number
  /**
   * How long after its answer was due a request may stay unanswered before its broker is suspected and the leaders
   * of the request's partitions are asked of other brokers (again every `requestStallMs` while it stays unanswered).
   * Small, because all it costs is a Metadata request to another broker; an answer still wins if it comes.
   */
  readonly requestStallMs?: number
  /**
   * TLS to brokers whose client listener runs SSL (Kafka's `security.protocol=SSL`): PEM bytes of the CA that signed
   * the brokers' certificates (`ssl.truststore`; absent: the system's roots) and, for mTLS, this client's certificate
   * and key (`ssl.keystore`). Absent: plaintext.
   */
  readonly tls?: TlsConfig
  /**
   * SCRAM login to brokers whose client listener runs SASL_PLAINTEXT or SASL_SSL (Kafka's `sasl.mechanism`,
   * `sasl.jaas.config`): each broker is logged in to on first use and its session token sent on every call.
   */
  readonly sasl?: SaslConfig
}

/**
 * Keepalive of client channels: a PING every second, the connection closed when one is not answered within 2 s. So a
 * connection into a black hole fails its calls (UNAVAILABLE) within 3 s, a backstop behind the stall watch, which
 * follows an election sooner. The timeout is 2 s rather than 1 s so that a broker whose event loop is busy for a
 * second (a large fetch, a GC pause on a loaded host) does not lose every client connection. Gregor's grpc-js
 * brokers accept pings at any rate (see protocol/grpc-method.ts on ENHANCE_YOUR_CALM).
 */
export const clientKeepalive = Object.freeze({ timeMs: 1_000, timeoutMs: 2_000 })

/** Receive window of the channel that carries produce: its stream is long-lived and shared by every request. */
const PRODUCE_FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024

export const defaultClusterConnectionConfig = Object.freeze({
  requestTimeoutMs: 30_000,
  messageBytesMax: 64 * 1024 * 1024,
  requestStallMs: 300,
})

type ProduceRequest = gregor.cluster.ProduceRequest.$Properties
type ProduceResponse = gregor.cluster.ProduceResponse

/** One call in flight on a transport: its answer, and a way to give it up (the promise then rejects). */
export interface TransportCall<Response> {
  readonly response: Promise<Response>
  /** A Produce's: resolves once the request is written to the connection (see ProduceOptions.onWritten). */
  readonly written?: Promise<void>
  cancel (): void
}

/** What the connection needs of a channel to one broker: the seam where unit tests put a scripted broker. */
export interface BrokerTransport {
  unary<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    deadlineMs: number,
  ): TransportCall<Response>
  /**
   * One Produce on the broker's ProduceStream: requests are written in the order of these calls, and `written`
   * resolves once this one is (or once it settles).
   */
  produce (request: ProduceRequest, deadlineMs: number): TransportCall<ProduceResponse>
  close (): void
}

export interface ClusterConnectionDeps {
  /** Opens the transport to one broker; gRPC by default. */
  readonly transport?: (address: string) => BrokerTransport
  readonly clock?: Clock
  readonly scheduler?: Scheduler
}

/** The leader a partition-addressed request was sent to: the request is abandoned once metadata names another. */
export interface SentToLeader extends TopicPartition {
  readonly brokerId: number
  /** -1: compare broker ids only. */
  readonly leaderEpoch: number
}

export interface CallOptions {
  /** A long poll's wait, added to the deadline and to when the answer is due. */
  readonly extraWaitMs?: number
  /** The partitions the request addresses and the leader they were sent to; watched while the call stalls. */
  readonly leaders?: readonly SentToLeader[]
}

/** A Produce's options: its `leaders`, watched as a call's are (there is no long poll), and when it is written. */
export interface ProduceOptions extends Pick<CallOptions, 'leaders'> {
  /**
   * Called once the whole request has been handed to the broker's connection (its last frame queued, so a request
   * sent after this reaches the broker after it), or once the call settles, whichever is first; at once when the
   * transport cannot tell. The producer sends a broker its next Produce only then (producer-sender.ts).
   */
  readonly onWritten?: () => void
}

export interface CallAnyOptions {
  /** Repeatable reads only: also ask the next broker when one has not answered within `requestStallMs`. */
  readonly hedge?: boolean
}

/**
 * grpc-js's Client as a BrokerTransport; the deadline is grpc's own as well as the connection's timer. With `sasl`,
 * calls go through the broker's `BrokerSession` (login first, its token on every call), and the produce stream opens
 * with the session's token.
 */
export function grpcTransport (
  address: string, messageBytesMax: number, credentials = grpc.credentials.createInsecure(), sasl?: SaslConfig,
): BrokerTransport {
  const client = new grpc.Client(address, credentials, channelOptions(messageBytesMax, clientKeepalive))
  const session = sasl === undefined ? undefined : new BrokerSession(client, sasl)
  // Produce goes on one long-lived stream per broker (produce-stream.ts), opened on first use, on a channel of its
  // own without grpc-js's per-call retry buffer: with it, a stream write's callback comes as soon as the message is
  // buffered, before it is sent, and `written` must mean "handed to the connection" (the producer sends the broker's
  // next request only then). (The producer retries by itself.) The stream is shared by every request, hence the
  // channel's large receive window (as the replication stream's). Kept off the shared channel, where these options
  // slowed consumer groups here.
  let produceClient: grpc.Client | undefined
  const produceChannel = (): grpc.Client => {
    produceClient ??= new grpc.Client(address, credentials, {
      ...channelOptions(messageBytesMax, clientKeepalive), 'grpc.per_rpc_retry_buffer_size': 0, 'grpc-node.flow_control_window': PRODUCE_FLOW_CONTROL_WINDOW_BYTES,
    })
    return produceClient
  }
  let produceStream: ProduceStream | undefined
  const produceStreamOf = (): ProduceStream => {
    const method = clientMethods.produceStream
    produceStream ??= new ProduceStream({
      open: session === undefined
        ? () => produceChannel().makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize)
        : async (deadline) => produceChannel().makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, await session.metadata(deadline)),
      onUnauthenticated: () => { session?.forgetToken() },
    })
    return produceStream
  }
  return {
    unary (method, request, deadlineMs) {
      if (session !== undefined) return session.unary(method, request, deadlineMs)
      let call: grpc.ClientUnaryCall | undefined
      const response = new Promise<never>((resolve, reject) => {
        call = client.makeUnaryRequest(
          method.path, method.requestSerialize, method.responseDeserialize, request,
          { deadline: Date.now() + deadlineMs },
          (error, answer) => { if (error !== null || answer === undefined) reject(error ?? new Error('empty response')); else resolve(answer as never) },
        )
      })
      return { response, cancel: () => { call?.cancel() } }
    },
    produce: (request, deadlineMs) => produceStreamOf().send(request, deadlineMs),
    close: () => { produceStream?.close(); client.close(); produceClient?.close() },
  }
}

/** Calls `onWritten` once: when `call` is written, or when it settles (a transport that cannot tell: at once). */
function whenWritten (call: TransportCall<unknown>, onWritten: () => void): void {
  let called = false
  const once = (): void => { if (!called) { called = true; onWritten() } }
  if (call.written === undefined) { once(); return }
  void call.written.then(once)
  call.response.then(once, once)
}

/** A call in flight, as the stall watch sees it. */
interface Outstanding {
  readonly address: string
  /** When its answer is due; past it by `requestStallMs`, the call is stalled. */
  readonly dueMs: number
  readonly leaders: readonly SentToLeader[]
  readonly abandon: (error: GregorError) => void
  /** Gives the call up as a cancelled transport call (on close). */
  readonly cancel: () => void
  /** Its broker was made suspect for it: a call without leaders needs the watch no more. */
  suspected: boolean
}

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
  readonly #config: Required<Omit<ClusterConnectionConfig, 'tls' | 'sasl'>>
  readonly #transports = new Map<string, BrokerTransport>()
  readonly #openTransport: (address: string) => BrokerTransport
  readonly #clock: Clock
  readonly #scheduler: Scheduler
  #snapshot: MetadataSnapshot = emptySnapshot
  #preferredAddress: string | undefined
  /** Metadata requests in flight for one topic, by name: at most one per topic. */
  readonly #topicRequests = new Map<string, Promise<MetadataSnapshot>>()
  readonly #outstanding = new Set<Outstanding>()
  /** Brokers with a stalled call or a transport failure and no answer since. */
  readonly #suspects = new Set<string>()
  #stallTimer: (() => void) | undefined
  #stallTimerAtMs = Number.POSITIVE_INFINITY
  #stallRefreshInFlight = false
  /** When the stall watch last asked for metadata: it asks at most once per `requestStallMs`. */
  #lastStallRefreshMs = Number.NEGATIVE_INFINITY
  #closed = false

  constructor (config: ClusterConnectionConfig, deps: ClusterConnectionDeps = {}) {
    this.#config = {
      ...config,
      bootstrapServers: parseBootstrapServers(config.bootstrapServers),
      requestStallMs: config.requestStallMs ?? defaultClusterConnectionConfig.requestStallMs,
    }
    const problems: string[] = []
    if (!Number.isSafeInteger(this.#config.requestTimeoutMs) || this.#config.requestTimeoutMs < 1) problems.push('requestTimeoutMs must be a positive integer')
    if (!Number.isSafeInteger(this.#config.requestStallMs) || this.#config.requestStallMs < 1) problems.push('requestStallMs must be a positive integer')
    if (problems.length > 0) throw new GregorError(ErrorCode.INVALID_CONFIG, problems.join('; '), { details: { problems } })
    const credentials = channelCredentials(config.tls) // one for every broker: grpc-js shares what it can
    this.#openTransport = deps.transport ?? ((address) => grpcTransport(address, this.#config.messageBytesMax, credentials, config.sasl))
    this.#clock = deps.clock ?? systemClock
    this.#scheduler = deps.scheduler ?? systemScheduler
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
   * snapshot. Suspect brokers are asked last, and a broker slow to answer is hedged. Rejects with the transport error
   * of the last broker tried when none answers.
   */
  async metadata (topics: readonly string[] = []): Promise<MetadataSnapshot> {
    const response = await this.callAny(clientMethods.metadata, { topics: [...topics] }, { hedge: true })
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

  /**
   * A unary call to the broker at `address`, given up after `requestTimeoutMs` (+ `extraWaitMs`); failures reject as
   * GregorErrors (`transportError`). With `leaders`, abandoned early when metadata shows they moved (see the header).
   */
  async call<Request, RequestProperties, Response, ResponseProperties> (
    address: string,
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    options: CallOptions = {},
  ): Promise<Response> {
    return await this.#watched(address, method.path, (deadlineMs) => this.#transportFor(address).unary(method, request, deadlineMs), options)
  }

  /**
   * A Produce to the broker at `address`, on that broker's one ProduceStream (produce-stream.ts): given up, failing
   * and abandoned as `call` is; `onWritten` says when the next Produce to that broker may go.
   */
  async produce (address: string, request: ProduceRequest, options: ProduceOptions = {}): Promise<ProduceResponse> {
    return await this.#watched(address, clientMethods.produce.path, (deadlineMs) => this.#transportFor(address).produce(request, deadlineMs), options)
  }

  /** Starts a transport call (`start` given grpc's deadline) under the connection's timer and stall watch. */
  async #watched<Response> (
    address: string, path: string, start: (deadlineMs: number) => TransportCall<Response>, options: CallOptions & ProduceOptions,
  ): Promise<Response> {
    if (this.#closed) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'connection closed')
    const extraWaitMs = options.extraWaitMs ?? 0
    const timeoutMs = this.#config.requestTimeoutMs + extraWaitMs
    const details = { address, method: path }
    let call: TransportCall<Response>
    try {
      // grpc's deadline a little later than our timer, so the timer (virtual in tests) decides and says why.
      call = start(timeoutMs + 1_000)
    } catch (error) {
      // A channel that cannot even be opened (a malformed address) fails like any transport failure.
      throw transportError(error, details)
    }
    let abandonedWith: GregorError | undefined
    const nowMs = this.#clock.nowMs()
    const outstanding: Outstanding = {
      address,
      dueMs: nowMs + extraWaitMs,
      leaders: options.leaders ?? [],
      suspected: false,
      cancel: () => { call.cancel() },
      abandon: (error) => {
        abandonedWith ??= error
        call.cancel()
      },
    }
    this.#outstanding.add(outstanding)
    this.#armStallTimer()
    if (options.onWritten !== undefined) whenWritten(call, options.onWritten)
    const cancelTimeout = this.#scheduler.setTimer(timeoutMs, () => {
      outstanding.abandon(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'request timed out', {
        retriable: true, details: { ...details, timeoutMs, transport: true },
      }))
    })
    try {
      const response = await call.response
      this.#suspects.delete(address)
      return response
    } catch (error) {
      if (abandonedWith !== undefined) throw abandonedWith
      const failure = transportError(error, details)
      if (failure.details.transport === true) this.#suspects.add(address)
      throw failure
    } finally {
      cancelTimeout()
      this.#outstanding.delete(outstanding)
    }
  }

  /**
   * A unary call to whichever broker answers first, trying the last one that answered, then the bootstrap servers,
   * then the brokers from metadata, suspects last. Only transport failures move on; a response (even with error
   * codes) is returned. With `hedge`, a broker silent for `requestStallMs` gets company: the next one is asked too.
   */
  async callAny<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    options: CallAnyOptions = {},
  ): Promise<Response> {
    const candidates = this.#candidates()
    if (candidates.length === 0) throw new GregorError(ErrorCode.LEADER_NOT_AVAILABLE, 'no broker to ask')
    if (options.hedge !== true) {
      let lastError: unknown
      for (const address of candidates) {
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
    return await this.#hedged(candidates, method, request)
  }

  /** Closes every channel; calls in flight fail with CANCELLED and later calls with SHUTTING_DOWN. */
  close (): void {
    this.#closed = true
    this.#stallTimer?.()
    this.#stallTimer = undefined
    // Cancelled here rather than left to the channel, so their timers (not unref'd) cannot keep the process alive.
    for (const outstanding of [...this.#outstanding]) outstanding.cancel()
    for (const transport of this.#transports.values()) transport.close()
    this.#transports.clear()
  }

  /** `callAny` with hedging: attempts start one `requestStallMs` apart (at once after a failure); first answer wins. */
  async #hedged<Request, RequestProperties, Response, ResponseProperties> (
    candidates: readonly string[],
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
  ): Promise<Response> {
    return await new Promise<Response>((resolve, reject) => {
      let next = 0
      let running = 0
      let settled = false
      let lastError: unknown
      let cancelHedge: (() => void) | undefined
      // Calls still running when another answered are left to finish or time out: they are reads.
      const start = (): void => {
        cancelHedge?.()
        cancelHedge = undefined
        if (settled) return
        const address = candidates[next++]
        if (address === undefined) {
          if (running === 0) {
            settled = true
            reject(lastError)
          }
          return
        }
        running++
        if (next < candidates.length) cancelHedge = this.#scheduler.setTimer(this.#config.requestStallMs, start)
        this.call(address, method, request).then((response) => {
          running--
          if (settled) return
          settled = true
          cancelHedge?.()
          this.#preferredAddress = address
          resolve(response)
        }, (error: unknown) => {
          running--
          if (settled) return
          if (isGregorError(error) && error.details.transport !== true) {
            settled = true
            cancelHedge?.()
            reject(error)
            return
          }
          lastError = error
          start()
        })
      }
      start()
    })
  }

  #candidates (): string[] {
    const known = [...this.#snapshot.brokers.values()].filter((broker) => !broker.fenced).map((broker) => broker.address)
    const ordered = [...new Set([this.#preferredAddress, ...this.#config.bootstrapServers, ...known]
      .filter((address): address is string => address !== undefined))]
    return [...ordered.filter((address) => !this.#suspects.has(address)), ...ordered.filter((address) => this.#suspects.has(address))]
  }

  #transportFor (address: string): BrokerTransport {
    let transport = this.#transports.get(address)
    if (transport === undefined) {
      transport = this.#openTransport(address)
      this.#transports.set(address, transport)
    }
    return transport
  }

  // ---- the stall watch ----

  /** Runs `#checkStalls` when the next call in flight becomes stalled, but asks for metadata at most once per `requestStallMs`. */
  #armStallTimer (): void {
    if (this.#closed || this.#stallRefreshInFlight) return
    let dueMs = Number.POSITIVE_INFINITY
    for (const outstanding of this.#outstanding) {
      if (outstanding.leaders.length > 0 || !outstanding.suspected) dueMs = Math.min(dueMs, outstanding.dueMs + this.#config.requestStallMs)
    }
    const atMs = Math.max(dueMs, this.#lastStallRefreshMs + this.#config.requestStallMs)
    // Already armed at or before then (the common case on a busy producer: one timer, not one per request).
    if (this.#stallTimer !== undefined && this.#stallTimerAtMs <= atMs) return
    this.#stallTimer?.()
    this.#stallTimer = undefined
    this.#stallTimerAtMs = Number.POSITIVE_INFINITY
    if (dueMs === Number.POSITIVE_INFINITY) return
    this.#stallTimerAtMs = atMs
    this.#stallTimer = this.#scheduler.setTimer(Math.max(0, atMs - this.#clock.nowMs()), () => {
      this.#stallTimer = undefined
      this.#stallTimerAtMs = Number.POSITIVE_INFINITY
      this.#checkStalls()
    })
  }

  /**
   * Marks the brokers of stalled calls suspect and, for stalled calls that name their leaders, asks the other
   * brokers for those topics; then abandons every call whose leaders moved, and looks again in `requestStallMs`.
   */
  #checkStalls (): void {
    const nowMs = this.#clock.nowMs()
    const stalled = [...this.#outstanding].filter((outstanding) => nowMs >= outstanding.dueMs + this.#config.requestStallMs)
    for (const outstanding of stalled) {
      this.#suspects.add(outstanding.address)
      outstanding.suspected = true
    }
    const topics = [...new Set(stalled.flatMap((outstanding) => outstanding.leaders.map((leader) => leader.topic)))]
    if (topics.length === 0 || nowMs < this.#lastStallRefreshMs + this.#config.requestStallMs) {
      this.#armStallTimer()
      return
    }
    this.#lastStallRefreshMs = nowMs
    this.#stallRefreshInFlight = true
    this.metadata(topics).then(() => { this.#abandonMoved() }, () => undefined).finally(() => {
      this.#stallRefreshInFlight = false
      this.#armStallTimer()
    })
  }

  /**
   * Abandons stalled calls sent to a leader that the latest metadata no longer names. A call answering in time is
   * left alone even then: its answer (maybe NOT_LEADER_OR_FOLLOWER) is coming, and resending it could store twice
   * what a producer without idempotence sent once.
   */
  #abandonMoved (): void {
    const nowMs = this.#clock.nowMs()
    for (const outstanding of [...this.#outstanding]) {
      if (nowMs < outstanding.dueMs + this.#config.requestStallMs) continue
      const moved = outstanding.leaders.find((sent) => {
        const now = this.leaderFor(sent)
        return now !== undefined && (now.brokerId !== sent.brokerId || (sent.leaderEpoch >= 0 && now.leaderEpoch > sent.leaderEpoch))
      })
      if (moved === undefined) continue
      const now = this.leaderFor(moved)
      outstanding.abandon(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'request abandoned: its partition has a new leader', {
        retriable: true,
        details: {
          address: outstanding.address, transport: true, leaderMoved: true, topic: moved.topic, partition: moved.partition,
          sentToBrokerId: moved.brokerId, leaderId: now?.brokerId, leaderEpoch: now?.leaderEpoch,
        },
      }))
    }
  }
}

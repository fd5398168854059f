/**
 * A Kafka wire-protocol listener: a TCP server whose connections (kafka-connection.ts) speak Kafka's protocol to
 * Kafka's own clients (librdkafka, the Java client, KafkaJS, kcat) and answer through `KafkaHandlers`.
 *
 * Owns: the listening socket and the set of open connections. `start` binds or fails with an error that names the
 * listener (`cannot listen on KAFKA://host:port: ... EADDRINUSE`, as bind-server.ts does for gRPC); `close` stops
 * accepting and cuts every connection (running handlers finish, their answers are dropped). A client's bad input
 * closes that client's connection only; the server keeps serving the others. Its connections report to the
 * `metrics` it is given (the broker passes this listener's view of its registry; by default nothing is measured).
 *
 * TLS (SSL and SASL_SSL listeners): with `tls` options the server is a `tls.Server` and a connection reaches
 * KafkaConnection only once its handshake succeeded; a client that does not speak TLS (a plaintext Kafka client on
 * this port), or whose certificate is refused, fails the handshake and its socket is closed — logged at info (peer,
 * OpenSSL's code and reason, no secrets) and counted by reason (`tlsHandshakeFailed`), never thrown.
 * SASL is not this module's business: on a SASL_* listener the connection authenticates inside the Kafka protocol.
 */
import { type Server, type Socket, createServer } from 'node:net'
import { type TLSSocket, type TlsOptions, createServer as createTlsServer } from 'node:tls'
import type { Logger } from '@gregor/common'
import { KafkaConnection, type KafkaConnectionStatus } from './kafka-connection.js'
import type { KafkaHandlers } from './kafka-handlers.js'
import { type KafkaListenerConfig, validateKafkaListenerConfig } from './kafka-listener-config.js'
import { type KafkaListenerMetrics, kafkaTlsHandshakeFailureReason, noKafkaListenerMetrics } from './kafka-listener-metrics.js'
import { SaslAuthenticator, type SaslOptions } from './sasl/sasl-session.js'

export interface KafkaServerOptions {
  /** The listener's name (`KAFKA`), for logs and errors. */
  readonly listenerName: string
  readonly host: string
  /** 0 picks a free port (tests); read it back from `port`. */
  readonly port: number
  readonly config: KafkaListenerConfig
  readonly handlers: KafkaHandlers
  readonly logger: Logger
  /** Connection and request metrics of this listener (absent: nothing is measured). */
  readonly metrics?: KafkaListenerMetrics
  /**
   * SASL on this listener (security protocol SASL_PLAINTEXT or SASL_SSL): enabled mechanisms and the credential
   * lookup. Absent: no SASL; a connection's principal is its verified client certificate's `User:<CN>` (TLS with
   * client auth), else `User:ANONYMOUS`.
   */
  readonly sasl?: SaslOptions
  /** TLS server options (grpc-credentials.ts `tlsServerOptions`); absent: plaintext TCP. */
  readonly tls?: TlsOptions
}

/** A TLS client that has not finished its handshake by then is cut (node's default is two minutes). */
const tlsHandshakeTimeoutMs = 10_000

export class KafkaServer {
  readonly #server: Server
  readonly #connections = new Set<KafkaConnection>()
  /** TLS only: every accepted TCP socket (under its TLS socket), handshake done or not. */
  readonly #tcpSockets = new Set<Socket>()
  readonly #log: Logger
  #port = 0

  private constructor (options: KafkaServerOptions, config: KafkaListenerConfig) {
    this.#log = options.logger.child({ component: 'kafka-listener', listener: options.listenerName })
    const sasl = options.sasl === undefined ? undefined : new SaslAuthenticator(options.sasl)
    const accept = (socket: Socket): void => {
      const metrics = options.metrics ?? noKafkaListenerMetrics
      const session = sasl?.session((mechanism, outcome) => { metrics.authentication?.(mechanism, outcome) })
      const connection = new KafkaConnection(socket, config, options.handlers, this.#log, metrics, session)
      this.#connections.add(connection)
      socket.on('close', () => { this.#connections.delete(connection) })
    }
    if (options.tls === undefined) {
      this.#server = createServer(accept)
      return
    }
    const server = createTlsServer({ handshakeTimeout: tlsHandshakeTimeoutMs, ...options.tls }, accept)
    // A socket still in its handshake is no KafkaConnection yet: `close` cuts every accepted TCP socket.
    // The peer's address, kept from the TCP connection: a client certificate refused after the handshake has its TLS
    // socket destroyed (no address left) by the time `tlsClientError` reports it.
    const peers = new WeakMap<Socket, string>()
    server.on('connection', (socket: Socket) => {
      peers.set(socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`)
      this.#tcpSockets.add(socket)
      socket.once('close', () => { this.#tcpSockets.delete(socket) })
    })
    server.on('tlsClientError', (error: Error & { code?: string; reason?: string }, socket: TLSSocket) => {
      // A refused client certificate surfaces as a bare ECONNRESET: the verification's code is on the socket.
      const authorizationError = (socket.authorizationError as Error | string | null | undefined) ?? undefined
      const certificateError = authorizationError instanceof Error ? (authorizationError as Error & { code?: string }).code ?? authorizationError.message : authorizationError
      const reason = kafkaTlsHandshakeFailureReason(error.code, certificateError)
      ;(options.metrics ?? noKafkaListenerMetrics).tlsHandshakeFailed?.(reason)
      // OpenSSL's code and reason text name the failure, never key material or a credential.
      this.#log.info({
        // `_parent` is the TCP socket node wrapped (not public API, hence the fallback to the TLS socket's own view).
        source: peers.get((socket as TLSSocket & { _parent?: Socket })._parent as Socket) ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, reason, code: error.code, ...(error.reason === undefined ? {} : { opensslReason: error.reason }),
        ...(certificateError === undefined ? {} : { certificateError }),
      }, 'tls handshake failed')
    })
    this.#server = server
  }

  /** Validates the config, binds, and serves. */
  static async start (options: KafkaServerOptions): Promise<KafkaServer> {
    const server = new KafkaServer(options, validateKafkaListenerConfig(options.config))
    await server.#listen(options)
    return server
  }

  async #listen (options: KafkaServerOptions): Promise<void> {
    const { listenerName, host, port } = options
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => { reject(new Error(`cannot listen on ${listenerName}://${host}:${port}: ${error.message}`)) }
      this.#server.once('error', failed)
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', failed)
        resolve()
      })
    })
    // After a successful bind, an error on the listening socket must not crash the process.
    this.#server.on('error', (error) => { this.#log.error({ error: error.message }, 'kafka listener error') })
    const address = this.#server.address()
    this.#port = typeof address === 'object' && address !== null ? address.port : port
    this.#log.info({ host, port: this.#port }, 'kafka listener started')
  }

  /** The bound port (the chosen one when started with port 0). */
  get port (): number {
    return this.#port
  }

  /** Every open connection's in-flight requests, held bytes and whether reading is paused. */
  connections (): KafkaConnectionStatus[] {
    return [...this.#connections].map((connection) => connection.status())
  }

  /** Stops accepting, cuts every connection and resolves once the listening socket is closed. */
  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
    for (const connection of this.#connections) connection.destroy()
    this.#connections.clear()
    for (const socket of this.#tcpSockets) socket.destroy()
    this.#tcpSockets.clear()
    await closed
    this.#log.info({}, 'kafka listener stopped')
  }
}

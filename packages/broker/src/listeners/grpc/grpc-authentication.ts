/**
 * Who is calling, on one gRPC client listener: the principal of every call, and the SCRAM login of Gregor's client.
 *
 * A call's principal, in order:
 * 1. a session token (call metadata `x-gregor-session`) that this broker issued and that has not expired: the
 *    user who logged in (`User:<name>`); a token this broker does not know (expired, evicted, from before a restart)
 *    is refused with UNAUTHENTICATED, so the client logs in again rather than silently running as anonymous;
 * 2. on a TLS listener, a client certificate that chained to the CA: `User:<CN>` (certificate-principal.ts, the
 *    Kafka listener's rule too);
 * 3. otherwise `User:ANONYMOUS` (Kafka's principal of an unauthenticated connection).
 *
 * Login (SASL_PLAINTEXT / SASL_SSL listeners only) is the SCRAM exchange of the Kafka listener (`ScramServer`, with
 * the same credentials from the metadata image and the same made-up credential for an unknown user), carried by two
 * `Authenticate` calls: client-first opens an exchange (an id, kept `exchangeTimeoutMs`), client-final closes it and
 * returns a random session token valid on this broker for `sessionLifetimeMs`. Exchanges and sessions are bounded
 * (oldest evicted first: an evicted client just logs in again). A refused login answers SASL_AUTHENTICATION_FAILED
 * with Kafka's one message, is logged at info with the user name the client gave, the source address and why (never
 * a password, proof or token) and counted (`observe`).
 *
 * Time and randomness are injected; the state is two maps, touched only on the event loop.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, type Logger } from '@gregor/common'
import { isScramMechanism } from '@gregor/metadata'
import { SESSION_TOKEN_METADATA_KEY, type gregor } from '@gregor/protocol'
import { ANONYMOUS_PRINCIPAL, type Caller, canonicalHost } from '../../security/authorizer.js'
import { certificatePrincipal } from '../../security/certificate-principal.js'
import { SaslAuthenticationFailure, ScramServer } from '../../security/scram-server.js'
import { SaslAuthenticator, type SaslMechanism, type SaslOptions } from '../kafka/sasl/sasl-session.js'

export { ANONYMOUS_PRINCIPAL }

/** The caller of one request, as the authorizer sees it (host: `canonicalHost` of the peer's address). */
export interface CallIdentity extends Caller {
  /** Where the call came from (grpc's peer, address:port), for the log. */
  readonly source: string
}

/** What this module reads of a server call. */
export interface IdentifiedCall {
  readonly metadata: grpc.Metadata
  getPeer (): string
  getAuthContext (): { sslPeerCertificate?: { subject?: Record<string, string | string[] | undefined> } } | null
}

export type AuthenticationObserver = (mechanism: SaslMechanism | 'none', outcome: 'success' | 'failure') => void

export interface GrpcAuthenticationOptions {
  readonly listenerName: string
  /** SCRAM login; absent: the listener has no SASL (Authenticate answers ILLEGAL_SASL_STATE). */
  readonly sasl?: SaslOptions
  readonly nowMs: () => number
  readonly logger: Logger
  readonly observe?: AuthenticationObserver
  readonly randomBytes?: (size: number) => Buffer
  readonly sessionLifetimeMs?: number
  readonly exchangeTimeoutMs?: number
  readonly exchangesMax?: number
  readonly sessionsMax?: number
}

export const defaultGrpcAuthenticationLimits = Object.freeze({
  sessionLifetimeMs: 15 * 60_000,
  exchangeTimeoutMs: 10_000,
  exchangesMax: 1_000,
  sessionsMax: 100_000,
})

type AuthenticateResponse = gregor.security.AuthenticateResponse.$Properties

interface Exchange {
  readonly server: ScramServer
  readonly source: string
  readonly expiresAtMs: number
}

interface Session {
  readonly principal: string
  readonly expiresAtMs: number
}

/** A refused call: gRPC UNAUTHENTICATED, Kafka's code in the details. */
export function unauthenticated (message: string): grpc.ServiceError {
  const details = `${ErrorCode.SASL_AUTHENTICATION_FAILED}: ${message}`
  return Object.assign(new Error(details), { code: grpc.status.UNAUTHENTICATED, details, metadata: new grpc.Metadata() })
}

/** `ipv4:127.0.0.1:53312` / `ipv6:[::1]:53312` → `127.0.0.1` / `::1`, in `canonicalHost`'s form (what ACL hosts are). */
export function peerAddress (peer: string): string {
  const address = peer.replace(/^ipv[46]:/, '')
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.slice(0, Math.max(0, address.lastIndexOf(':')))
  return canonicalHost(host === '' ? address : host)
}

/** How a listener finds the caller of a call: its `GrpcAuthentication`, or (none configured) anonymous callers. */
export type IdentifyCall = (call: IdentifiedCall) => CallIdentity | grpc.ServiceError

export function anonymousCallers (listenerName: string): IdentifyCall {
  return (call) => {
    const source = call.getPeer()
    return { principal: ANONYMOUS_PRINCIPAL, host: peerAddress(source), source, listener: listenerName }
  }
}

export class GrpcAuthentication {
  readonly #options: GrpcAuthenticationOptions
  readonly #log: Logger
  readonly #sasl: SaslAuthenticator | undefined
  readonly #random: (size: number) => Buffer
  readonly #limits: { readonly [K in keyof typeof defaultGrpcAuthenticationLimits]: number }
  readonly #exchanges = new Map<string, Exchange>()
  readonly #sessions = new Map<string, Session>()

  constructor (options: GrpcAuthenticationOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'grpc-authentication', listener: options.listenerName })
    this.#random = options.randomBytes ?? cryptoRandomBytes
    this.#sasl = options.sasl === undefined ? undefined : new SaslAuthenticator({ ...options.sasl, randomBytes: this.#random })
    this.#limits = {
      sessionLifetimeMs: options.sessionLifetimeMs ?? defaultGrpcAuthenticationLimits.sessionLifetimeMs,
      exchangeTimeoutMs: options.exchangeTimeoutMs ?? defaultGrpcAuthenticationLimits.exchangeTimeoutMs,
      exchangesMax: options.exchangesMax ?? defaultGrpcAuthenticationLimits.exchangesMax,
      sessionsMax: options.sessionsMax ?? defaultGrpcAuthenticationLimits.sessionsMax,
    }
  }

  /** Live sessions (for tests and the log). */
  get sessionCount (): number {
    return this.#sessions.size
  }

  /** The caller of `call`, or the refusal to answer it with (a session token this broker does not know). */
  identify (call: IdentifiedCall): CallIdentity | grpc.ServiceError {
    const source = call.getPeer()
    const host = peerAddress(source)
    const token = call.metadata.get(SESSION_TOKEN_METADATA_KEY)[0]
    if (token !== undefined) {
      const session = this.#sessions.get(String(token))
      if (session === undefined || session.expiresAtMs <= this.#options.nowMs()) {
        if (session !== undefined) this.#sessions.delete(String(token))
        this.#log.info({ source, reason: session === undefined ? 'unknown session' : 'session expired' }, 'grpc call refused: no valid session')
        return unauthenticated('session expired or unknown on this broker; authenticate again')
      }
      return { principal: session.principal, host, source, listener: this.#options.listenerName }
    }
    // grpc-js gives the certificate only when it chained to the CA (the TLS socket is `authorized`).
    const principal = certificatePrincipal(call.getAuthContext()?.sslPeerCertificate?.subject) ?? ANONYMOUS_PRINCIPAL
    return { principal, host, source, listener: this.#options.listenerName }
  }

  /** One Authenticate call (see the file comment); never throws. */
  authenticate (request: gregor.security.AuthenticateRequest.$Properties, source: string): AuthenticateResponse {
    const sasl = this.#sasl
    const mechanism = request.mechanism ?? ''
    if (sasl === undefined) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: `listener ${this.#options.listenerName} does not run SASL` }
    }
    const enabled = sasl.options.mechanisms.filter(isScramMechanism)
    const scramMechanism = enabled.find((name) => name === mechanism)
    if (scramMechanism === undefined) {
      this.#failed(mechanism, source, 'unsupported mechanism', undefined, 'none')
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: `Unsupported SASL mechanism ${mechanism}`, enabledMechanisms: [...enabled] }
    }
    const nowMs = this.#options.nowMs()
    const message = request.authBytes ?? new Uint8Array(0)
    const exchangeId = request.exchangeId ?? ''
    let server: ScramServer
    if (exchangeId === '') {
      server = new ScramServer({
        mechanism: scramMechanism,
        credential: (user) => sasl.options.credential(user, scramMechanism),
        unknownUserCredential: (user) => sasl.unknownUserCredential(user, scramMechanism),
        serverNonce: () => sasl.serverNonce(),
      })
    } else {
      const exchange = this.#exchanges.get(exchangeId)
      this.#exchanges.delete(exchangeId)
      if (exchange === undefined || exchange.expiresAtMs <= nowMs || exchange.server.mechanism !== scramMechanism) {
        this.#failed(scramMechanism, source, 'unknown or expired exchange')
        return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'no such SCRAM exchange on this broker (expired?): start again' }
      }
      server = exchange.server
    }
    let answer: Uint8Array
    try {
      answer = server.receive(message)
    } catch (error) {
      if (!(error instanceof SaslAuthenticationFailure)) throw error
      this.#failed(scramMechanism, source, error.reason, error.user)
      return { errorCode: error.code, errorMessage: error.message }
    }
    if (!server.complete) {
      const id = this.#random(18).toString('base64url')
      this.#evictOldest(this.#exchanges, this.#limits.exchangesMax, nowMs)
      this.#exchanges.set(id, { server, source, expiresAtMs: nowMs + this.#limits.exchangeTimeoutMs })
      return { errorCode: '', authBytes: answer, exchangeId: id, complete: false }
    }
    const principal = `User:${server.user as string}`
    const token = this.#random(32).toString('base64url')
    this.#evictOldest(this.#sessions, this.#limits.sessionsMax, nowMs)
    this.#sessions.set(token, { principal, expiresAtMs: nowMs + this.#limits.sessionLifetimeMs })
    this.#options.observe?.(scramMechanism, 'success')
    this.#log.debug({ principal, source, mechanism: scramMechanism }, 'grpc client authenticated')
    return {
      errorCode: '', authBytes: answer, complete: true, sessionToken: token, sessionLifetimeMs: this.#limits.sessionLifetimeMs,
    }
  }

  #failed (mechanism: string, source: string, reason: string, user?: string, counted: SaslMechanism | 'none' = mechanism as SaslMechanism): void {
    this.#options.observe?.(counted, 'failure')
    this.#log.info({ source, mechanism: mechanism.slice(0, 32), reason, ...(user === undefined ? {} : { user: user.slice(0, 256) }) }, 'grpc authentication failed')
  }

  /** Drops expired entries, then the oldest ones, until one more fits under `max` (Maps iterate in insertion order). */
  #evictOldest<T extends { readonly expiresAtMs: number }> (map: Map<string, T>, max: number, nowMs: number): void {
    if (map.size < max) return
    for (const [key, entry] of map) if (entry.expiresAtMs <= nowMs) map.delete(key)
    for (const key of map.keys()) {
      if (map.size < max) break
      map.delete(key)
    }
  }
}

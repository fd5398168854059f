/**
 * SCRAM login to one broker's gRPC client listener (SASL_PLAINTEXT / SASL_SSL), and the session token every call to
 * that broker then carries (call metadata `x-gregor-session`).
 *
 * Owns: the broker's current token and when to renew it. A login is two `Authenticate` calls (client-first,
 * client-final; `ScramClient`); concurrent calls share one login in flight. The token is renewed a tenth of its
 * lifetime before it expires, and at once when a call is refused UNAUTHENTICATED (the broker restarted, or evicted
 * the session): that call is sent once more with the new token. A refused login (wrong password, unknown user,
 * mechanism not enabled, a listener without SASL) rejects with the broker's error code, not retriable, so the
 * caller stops rather than trying broker after broker. Tokens are per broker: each broker of a cluster is logged in
 * to separately, as a Kafka client authenticates each connection.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError } from '@gregor/common'
import { type GrpcMethod, SESSION_TOKEN_METADATA_KEY, securityMethods } from '@gregor/protocol'
import { responseError } from './response-error.js'
import { ScramClient } from './scram-client.js'

/** SASL settings of a client (KafkaJS's `sasl` option; the mechanism in either case, e.g. `scram-sha-256`). */
export interface SaslConfig {
  readonly mechanism: string
  readonly username: string
  readonly password: string
}

interface Token {
  readonly value: string
  /** Renew from then on (wall clock, as grpc deadlines are). */
  readonly renewAtMs: number
}

/** One broker's session, on the grpc-js Client that also carries the broker's other calls. */
export class BrokerSession {
  readonly #client: grpc.Client
  readonly #sasl: SaslConfig
  readonly #mechanism: string
  readonly #nowMs: () => number
  #token: Token | undefined
  #login: Promise<Token> | undefined

  constructor (client: grpc.Client, sasl: SaslConfig, nowMs: () => number = Date.now) {
    this.#client = client
    this.#sasl = sasl
    this.#mechanism = sasl.mechanism.toUpperCase()
    this.#nowMs = nowMs
  }

  /** A unary call with this session's token, logging in first when needed; once more after UNAUTHENTICATED. */
  unary<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    deadlineMs: number,
  ): { response: Promise<Response>, cancel: () => void } {
    const deadline = this.#nowMs() + deadlineMs
    let cancelled = false
    let call: grpc.Call | undefined
    const attempt = async (retry: boolean): Promise<Response> => {
      const token = await this.#currentToken(deadline)
      if (cancelled) throw Object.assign(new Error('call cancelled'), { code: grpc.status.CANCELLED })
      try {
        return await new Promise<Response>((resolve, reject) => {
          const metadata = new grpc.Metadata()
          metadata.set(SESSION_TOKEN_METADATA_KEY, token.value)
          const done = (error: grpc.ServiceError | null, answer?: Response): void => {
            if (error !== null || answer === undefined) reject(error ?? new Error('empty response')); else resolve(answer)
          }
          call = this.#client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, { deadline }, done)
        })
      } catch (error) {
        if ((error as { code?: unknown }).code !== grpc.status.UNAUTHENTICATED || !retry) throw error
        if (this.#token === token) this.#token = undefined
        return await attempt(false)
      }
    }
    return { response: attempt(true), cancel: () => { cancelled = true; call?.cancel() } }
  }

  /**
   * Call metadata carrying this session's token, logging in first when needed (before `deadline`, wall clock): for a
   * long-lived stream, which sends it once when it opens (the produce stream, produce-stream.ts).
   */
  async metadata (deadline: number): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata()
    metadata.set(SESSION_TOKEN_METADATA_KEY, (await this.#currentToken(deadline)).value)
    return metadata
  }

  /** The broker refused the token (UNAUTHENTICATED): the next call or stream logs in again. */
  forgetToken (): void {
    this.#token = undefined
  }

  async #currentToken (deadline: number): Promise<Token> {
    const token = this.#token
    if (token !== undefined && this.#nowMs() < token.renewAtMs) return token
    this.#login ??= this.#logIn(deadline).then((fresh) => {
      this.#token = fresh
      return fresh
    }).finally(() => { this.#login = undefined })
    return await this.#login
  }

  async #logIn (deadline: number): Promise<Token> {
    const scram = new ScramClient(this.#mechanism, this.#sasl.username, this.#sasl.password)
    const first = await this.#authenticate({ mechanism: this.#mechanism, authBytes: scram.clientFirst() }, deadline)
    const finalMessage = await scram.clientFinal(first.authBytes)
    const final = await this.#authenticate({ mechanism: this.#mechanism, authBytes: finalMessage, exchangeId: first.exchangeId }, deadline)
    scram.verifyServerFinal(final.authBytes)
    if (!final.complete || final.sessionToken === '') {
      throw new GregorError(ErrorCode.SASL_AUTHENTICATION_FAILED, 'the broker did not complete the SCRAM exchange')
    }
    const lifetimeMs = Math.max(0, final.sessionLifetimeMs)
    return { value: final.sessionToken, renewAtMs: this.#nowMs() + lifetimeMs - lifetimeMs / 10 }
  }

  async #authenticate (
    request: { mechanism: string, authBytes: Uint8Array, exchangeId?: string }, deadline: number,
  ): Promise<{ authBytes: Uint8Array, exchangeId: string, complete: boolean, sessionToken: string, sessionLifetimeMs: number }> {
    const method = securityMethods.authenticate
    const response = await new Promise<ReturnType<typeof method.responseDeserialize>>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path, method.requestSerialize, method.responseDeserialize, request, { deadline },
        (error, answer) => { if (error !== null || answer === undefined) reject(error ?? new Error('empty response')); else resolve(answer) },
      )
    })
    const refused = responseError(response.errorCode, response.errorMessage, { mechanism: request.mechanism })
    if (refused !== undefined) throw refused
    return {
      authBytes: response.authBytes, exchangeId: response.exchangeId, complete: response.complete,
      sessionToken: response.sessionToken, sessionLifetimeMs: Number(response.sessionLifetimeMs),
    }
  }
}

/**
 * One client connection of a Kafka listener: cuts request frames off the socket, decodes their headers and bodies,
 * runs the handlers and writes the answers.
 *
 * Kafka's rules kept here: a frame is an int32 size and that many bytes; clients pipeline requests and read the
 * answers in request order, so answers are written in request order even when handlers finish out of order; a
 * handler may answer nothing (acks=0 Produce), and its place in the order is skipped. Input that breaks the protocol
 * (a negative size or one over `socketRequestMaxBytes`, a header that does not decode, an unknown API key, a version
 * we lack except for ApiVersions, a body that does not decode, an API without a handler) closes the connection with a
 * warn log line naming the peer and the reason; nothing of it escapes as an exception. ApiVersions at a version we
 * lack is answered in v0 with UNSUPPORTED_VERSION (KIP-511).
 *
 * Limits (kafka-listener-config.ts): no more than `maxInFlightRequestsPerConnection` handlers run at once, and while
 * the connection holds more than `connectionBufferedBytesMax` (requests being handled, answers waiting for their turn
 * or for the socket) no further frame is dispatched and the socket is paused; both resume when answers go out.
 *
 * A handler may ask for the connection to be closed after its request (`closeAfterResponse`), as Kafka closes it
 * for a failed acks=0 Produce, which has no answer to carry the error: once every earlier answer is written the
 * connection is closed, no further frame is dispatched, and later answers are dropped.
 *
 * Closing (either side) cancels nothing: handlers that are running finish, and their answers are dropped.
 *
 * SASL (a listener given a `SaslSession` per connection): until the session is authenticated only ApiVersions,
 * SaslHandshake and SaslAuthenticate are accepted, in frames of at most 512 KiB; any other request, or a larger
 * frame, closes the connection unanswered, as Kafka's SaslServerAuthenticator does.
 *
 * Principal: on a SASL listener the SASL identity (also over TLS with a client certificate, as Kafka); otherwise, on
 * TLS, the verified client certificate's `User:<CN>` (certificate-principal.ts, read once after the handshake); else
 * `User:ANONYMOUS`.
 *
 * Metrics (kafka-listener-metrics.ts): every connection reports its open and its one close (with the reason), the
 * bytes it reads and writes, and each request once received, its errors, and once completed its latency.
 */
import type { Socket } from 'node:net'
import { ErrorCode, type Logger, isGregorError } from '@gregor/common'
import {
  ApiKey, API_NAMES, KafkaReader, type RequestHeader, decodeRequest, decodeRequestHeader, encodeResponse, isApiKey,
} from '@gregor/kafka-protocol'
import { advertisedApis, unsupportedApiVersionsResponse } from './handlers/api-versions.js'
import type { KafkaHandler, KafkaHandlers, KafkaRequestContext } from './kafka-handlers.js'
import type { KafkaListenerConfig } from './kafka-listener-config.js'
import type { SaslSession } from './sasl/sasl-session.js'
import { ANONYMOUS_PRINCIPAL, canonicalHost } from '../../security/authorizer.js'
import { tlsPeerPrincipal } from '../../security/certificate-principal.js'
import {
  KAFKA_UNKNOWN_API, type KafkaConnectionCloseReason, type KafkaListenerMetrics, kafkaApiLabel, kafkaErrorName, responseErrorNames,
} from './kafka-listener-metrics.js'

/** A request's place in the answer order. */
interface Slot {
  /** The request's `api` label and when its frame was cut (performance.now() ms), for the latency histogram. */
  readonly api: string
  readonly startMs: number
  /** Bytes of the request frame, counted until its answer is ready. */
  readonly requestBytes: number
  /** Set when the handler asked to close the connection once this request's answer (if any) is written. */
  closeAfter: { readonly reason: string, readonly fields: Readonly<Record<string, unknown>> } | undefined
  /** undefined: still being handled; null: handled, nothing to send; else the answer's chunks. */
  answer: Buffer[] | null | undefined
  answerBytes: number
}

export interface KafkaConnectionStatus {
  readonly peer: string
  readonly inFlightRequests: number
  readonly bufferedBytes: number
  readonly paused: boolean
}

const SIZE_PREFIX_BYTES = 4

/** Kafka's principal of a connection that did not authenticate (`KafkaPrincipal.ANONYMOUS`). */
export { ANONYMOUS_PRINCIPAL }

/**
 * The largest frame a connection takes before its SASL session is authenticated (Kafka's
 * `sasl.server.max.receive.size`, 512 KiB): an unauthenticated peer cannot make the broker buffer 100 MiB frames.
 */
export const SASL_UNAUTHENTICATED_FRAME_BYTES_MAX = 512 * 1024

/** What a connection accepts before its SASL session is authenticated. */
const beforeAuthentication: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])

export class KafkaConnection {
  readonly #socket: Socket
  readonly #config: KafkaListenerConfig
  readonly #handlers: KafkaHandlers
  readonly #log: Logger
  readonly #metrics: KafkaListenerMetrics
  readonly #peer: string
  /** The peer's address alone, in the one text form ACL hosts are compared with. */
  readonly #peerHost: string
  readonly #sasl: SaslSession | undefined
  /** Without SASL: the principal of the connection (a verified client certificate's, else anonymous). */
  readonly #principal: string
  /** Bytes read and not yet cut into frames, oldest first. */
  #input: Buffer[] = []
  #inputBytes = 0
  /** Requests in arrival order whose answers have not been written yet. */
  #slots: Slot[] = []
  #inFlight = 0
  /** Bytes of requests being handled plus answers not yet flushed to the kernel (counted until the write callback). */
  #heldBytes = 0
  #paused = false
  /** A handler asked to close after its request: no further frame is dispatched. */
  #closing = false
  #closed = false

  constructor (
    socket: Socket, config: KafkaListenerConfig, handlers: KafkaHandlers, log: Logger, metrics: KafkaListenerMetrics, sasl?: SaslSession,
  ) {
    this.#socket = socket
    this.#sasl = sasl
    this.#principal = tlsPeerPrincipal(socket) ?? ANONYMOUS_PRINCIPAL
    this.#config = config
    this.#handlers = handlers
    this.#peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    this.#peerHost = canonicalHost(socket.remoteAddress)
    this.#log = log
    this.#metrics = metrics
    metrics.connectionOpened()
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', (error) => { this.#log.debug({ peer: this.#peer, error: error.message }, 'kafka connection error') })
    socket.on('close', () => { this.#drop('client') })
  }

  get peer (): string {
    return this.#peer
  }

  status (): KafkaConnectionStatus {
    return { peer: this.#peer, inFlightRequests: this.#inFlight, bufferedBytes: this.#bufferedBytes(), paused: this.#paused }
  }

  /** Closes the connection without a log line (by default: the listener is stopping). */
  destroy (reason: KafkaConnectionCloseReason = 'listener_stopped'): void {
    this.#drop(reason)
    this.#socket.destroy()
  }

  #bufferedBytes (): number {
    return this.#heldBytes
  }

  #overLimits (): boolean {
    return this.#inFlight >= this.#config.maxInFlightRequestsPerConnection || this.#bufferedBytes() > this.#config.connectionBufferedBytesMax
  }

  #onData (chunk: Buffer): void {
    if (this.#closed) return
    this.#metrics.bytesIn(chunk.length)
    this.#input.push(chunk)
    this.#inputBytes += chunk.length
    this.#pump()
  }

  /** Cuts and dispatches whole frames while the limits allow, then pauses or resumes reading. */
  #pump (): void {
    while (!this.#closed && !this.#closing && !this.#overLimits() && this.#inputBytes >= SIZE_PREFIX_BYTES) {
      const size = this.#peekSize()
      if (size < 0) return this.#refuse('negative frame size', { size })
      if (size > this.#config.socketRequestMaxBytes) {
        return this.#refuse('frame larger than socketRequestMaxBytes', { size, socketRequestMaxBytes: this.#config.socketRequestMaxBytes })
      }
      if (size > SASL_UNAUTHENTICATED_FRAME_BYTES_MAX && this.#sasl !== undefined && !this.#sasl.authenticated) {
        return this.#refuse('frame larger than allowed before sasl authentication', { size, limit: SASL_UNAUTHENTICATED_FRAME_BYTES_MAX })
      }
      if (this.#inputBytes < SIZE_PREFIX_BYTES + size) break
      const frame = this.#take(SIZE_PREFIX_BYTES + size).subarray(SIZE_PREFIX_BYTES)
      this.#dispatch(frame)
    }
    this.#updateFlow()
  }

  #peekSize (): number {
    const first = this.#input[0] as Buffer
    if (first.length >= SIZE_PREFIX_BYTES) return first.readInt32BE(0)
    return Buffer.concat(this.#input, SIZE_PREFIX_BYTES).readInt32BE(0) // the prefix spans chunks
  }

  /** Removes the first `bytes` bytes of input (a view when they sit in one chunk). */
  #take (bytes: number): Buffer {
    const first = this.#input[0] as Buffer
    let taken: Buffer
    if (first.length >= bytes) {
      taken = first.subarray(0, bytes)
      if (first.length === bytes) this.#input.shift()
      else this.#input[0] = first.subarray(bytes)
    } else {
      const all = Buffer.concat(this.#input, this.#inputBytes)
      taken = all.subarray(0, bytes)
      this.#input = all.length > bytes ? [all.subarray(bytes)] : []
    }
    this.#inputBytes -= bytes
    return taken
  }

  #dispatch (frame: Buffer): void {
    const startMs = performance.now()
    const reader = new KafkaReader(frame)
    let header: RequestHeader
    try {
      header = decodeRequestHeader(reader)
    } catch (error) {
      return this.#refuseRequest(KAFKA_UNKNOWN_API, ErrorCode.INVALID_REQUEST, 'malformed request header', { error: describe(error) })
    }
    const { apiKey, apiVersion, correlationId, clientId } = header
    if (!isApiKey(apiKey)) return this.#refuseRequest(KAFKA_UNKNOWN_API, ErrorCode.INVALID_REQUEST, 'unknown api key', { apiKey, apiVersion, clientId })
    const api = kafkaApiLabel(apiKey)
    if (this.#sasl !== undefined && !this.#sasl.authenticated && !beforeAuthentication.has(apiKey)) {
      return this.#refuseRequest(api, ErrorCode.SASL_AUTHENTICATION_FAILED, 'request before sasl authentication', { api, apiVersion, clientId })
    }
    const slot: Slot = { api, startMs, requestBytes: frame.length, answer: undefined, answerBytes: 0, closeAfter: undefined }
    const context: KafkaRequestContext = {
      apiVersion, correlationId, clientId, peer: this.#peer, peerHost: this.#peerHost,
      principal: this.#sasl === undefined ? this.#principal : this.#sasl.principal ?? ANONYMOUS_PRINCIPAL,
      ...(this.#sasl === undefined ? {} : { sasl: this.#sasl }),
      closeAfterResponse: (reason, fields = {}, errorCodes = []) => {
        if (slot.closeAfter !== undefined || slot.answer !== undefined) return // asked twice, or too late
        slot.closeAfter = { reason, fields }
        if (errorCodes.length > 0) this.#metrics.requestErrors(api, errorCodes.map(kafkaErrorName))
      },
    }
    let run: () => unknown
    let answerVersion = apiVersion
    if (!header.supported) {
      if (apiKey !== ApiKey.ApiVersions) return this.#refuseRequest(api, ErrorCode.UNSUPPORTED_VERSION, 'unsupported api version', { api, apiVersion, clientId })
      answerVersion = 0
      run = () => unsupportedApiVersionsResponse(advertisedApis(Object.keys(this.#handlers).map(Number) as ApiKey[]))
    } else {
      let body: unknown
      try {
        body = decodeRequest(apiKey, apiVersion, reader)
      } catch (error) {
        return this.#refuseRequest(api, ErrorCode.INVALID_REQUEST, 'malformed request body', { api, apiVersion, clientId, error: describe(error) })
      }
      const handler = this.#handlers[apiKey] as KafkaHandler<typeof apiKey> | undefined
      // Kafka answers an API its listener does not enable as it would a version outside the (empty) advertised range.
      if (handler === undefined) return this.#refuseRequest(api, ErrorCode.UNSUPPORTED_VERSION, 'api not served', { api, apiVersion, clientId })
      run = () => handler(body as never, context)
    }
    this.#metrics.requestReceived(api)
    this.#slots.push(slot)
    this.#inFlight++
    this.#heldBytes += frame.length
    // Always asynchronous, so an answer never re-enters #pump while it is cutting frames.
    Promise.resolve().then(run).then(
      (response) => {
        if (this.#closed) return
        let answer: Buffer[] | null = null
        if (response !== undefined) {
          const errors = responseErrorNames(response)
          if (errors.length > 0) this.#metrics.requestErrors(api, errors)
          try {
            answer = encodeResponse({ apiKey, apiVersion: answerVersion, correlationId }, response as never)
          } catch (error) {
            return this.#fail('response does not encode', apiKey, apiVersion, error)
          }
        }
        this.#complete(slot, answer)
      },
      (error: unknown) => { if (!this.#closed) this.#fail('handler failed', apiKey, apiVersion, error) },
    )
  }

  #complete (slot: Slot, answer: Buffer[] | null): void {
    slot.answer = answer
    slot.answerBytes = answer === null ? 0 : answer.reduce((sum, chunk) => sum + chunk.length, 0)
    this.#inFlight--
    this.#heldBytes += slot.answerBytes - slot.requestBytes
    if (slot.closeAfter !== undefined) this.#closing = true
    this.#flush()
    this.#pump()
  }

  /** Writes the answers at the head of the order that are ready; closes after one whose handler asked for it. */
  #flush (): void {
    let corked = false
    let closeAfter: Slot | undefined
    while (this.#slots.length > 0 && (this.#slots[0] as Slot).answer !== undefined) {
      const slot = this.#slots.shift() as Slot
      this.#metrics.requestCompleted(slot.api, (performance.now() - slot.startMs) / 1000)
      if (slot.answer !== null && slot.answer !== undefined) {
        if (!corked) { this.#socket.cork(); corked = true }
        const last = slot.answer.length - 1
        slot.answer.forEach((chunk, index) => {
          if (index < last) this.#socket.write(chunk)
          else this.#socket.write(chunk, () => { this.#flushed(slot.answerBytes) })
        })
        this.#metrics.bytesOut(slot.answerBytes)
      }
      if (slot.closeAfter !== undefined) {
        closeAfter = slot
        break
      }
    }
    if (corked) this.#socket.uncork()
    if (closeAfter !== undefined) this.#closeAfterWrites(closeAfter)
  }

  /** A handler asked to close: the answers written so far still reach the client, nothing after them is sent. */
  #closeAfterWrites (slot: Slot): void {
    this.#log.info({ peer: this.#peer, reason: slot.closeAfter?.reason, api: slot.api, ...slot.closeAfter?.fields }, 'closing kafka connection')
    this.#drop('unanswered_error')
    this.#socket.end(() => { this.#socket.destroy() })
  }

  /** An answer reached the kernel: its bytes no longer count against the limit. */
  #flushed (bytes: number): void {
    if (this.#closed) return
    this.#heldBytes -= bytes
    this.#updateFlow()
  }

  #updateFlow (): void {
    if (this.#closed) return
    const over = this.#overLimits()
    if (over && !this.#paused) {
      this.#paused = true
      this.#socket.pause()
      this.#log.debug({ peer: this.#peer, inFlightRequests: this.#inFlight, bufferedBytes: this.#bufferedBytes() }, 'kafka connection paused')
    } else if (!over && this.#paused) {
      this.#paused = false
      this.#socket.resume()
      this.#log.debug({ peer: this.#peer }, 'kafka connection resumed')
      // Frames that arrived before the pause may already be waiting whole.
      this.#pump()
    }
  }

  /** A request the protocol does not allow: counted as one error of its API (Kafka's name for it), then refused. */
  #refuseRequest (api: string, error: ErrorCode, reason: string, fields: Readonly<Record<string, unknown>>): void {
    this.#metrics.requestReceived(api)
    this.#metrics.requestErrors(api, [error])
    this.#refuse(reason, fields)
  }

  /** Bad input: the client broke the protocol, so it gets no answer and the connection is closed. */
  #refuse (reason: string, fields: Readonly<Record<string, unknown>>): void {
    this.#log.warn({ peer: this.#peer, reason, ...fields }, 'closing kafka connection')
    this.destroy('protocol_violation')
  }

  /** A bug of ours (a handler threw, an answer did not encode): closed with an error line, the broker keeps serving. */
  #fail (reason: string, apiKey: ApiKey, apiVersion: number, error: unknown): void {
    this.#metrics.requestErrors(API_NAMES[apiKey], [ErrorCode.UNKNOWN_SERVER_ERROR])
    this.#log.error({ peer: this.#peer, reason, api: API_NAMES[apiKey], apiVersion, error: describe(error) }, 'closing kafka connection')
    this.destroy('server_error')
  }

  /** Marks the connection closed (the first call reports why) and lets go of everything it holds. */
  #drop (reason: KafkaConnectionCloseReason): void {
    if (!this.#closed) this.#metrics.connectionClosed(reason)
    this.#closed = true
    this.#input = []
    this.#inputBytes = 0
    this.#slots = []
    this.#heldBytes = 0
  }
}

function describe (error: unknown): string {
  if (isGregorError(error)) return `${error.code}: ${error.message}`
  return error instanceof Error ? error.message : String(error)
}

/**
 * What a Kafka listener reports about its connections and requests (Kafka's kafka.network RequestMetrics and
 * socket-server-metrics), as an interface the listener calls: the instruments behind it live elsewhere
 * (metrics/kafka-metrics.ts, prom-client), so the listener and its tests need no metrics library.
 *
 * Owns: the label vocabulary, which is bounded: `api` is a name of the codec's `ApiKey` table or `unknown` (a header
 * that does not decode, a key we do not know); `error` is a Kafka error name or `code_<n>` for a wire code Gregor has
 * no name for; a close `reason` is one of `kafkaConnectionCloseReasons`. Nothing is labelled per client, topic or
 * partition.
 *
 * Also owns the error count of an answer (`responseErrorNames`): every non-zero `errorCode` field of a response body,
 * top-level or per partition, as Kafka's ErrorsPerSec counts its `errorCounts()` (without Kafka's `NONE` series).
 */
import { ErrorCode } from '@gregor/common'
import { API_NAMES, KAFKA_NONE, isApiKey, kafkaErrorCode } from '@gregor/kafka-protocol'

/** The `api` label of a request whose key is unknown or whose header does not decode. */
export const KAFKA_UNKNOWN_API = 'unknown'

/**
 * Why a connection closed: the client left (or its socket failed); it broke the protocol (bad framing, header, key,
 * version or body); a bug of ours (a handler threw, an answer did not encode); a handler asked for it because the
 * request had an error it cannot answer (acks=0 Produce, so the client refreshes its metadata); the listener stopped.
 */
export const kafkaConnectionCloseReasons = ['client', 'protocol_violation', 'server_error', 'unanswered_error', 'listener_stopped'] as const
export type KafkaConnectionCloseReason = typeof kafkaConnectionCloseReasons[number]

export interface KafkaListenerMetrics {
  /** A connection was accepted. */
  connectionOpened (): void
  /** A connection closed; called once per opened connection. */
  connectionClosed (reason: KafkaConnectionCloseReason): void
  /** Bytes read from a client's socket, whole frames or not. */
  bytesIn (bytes: number): void
  /** Bytes of answers handed to a client's socket. */
  bytesOut (bytes: number): void
  /** A request frame was cut off the socket and its header read (`api` is `unknown` when it does not decode). */
  requestReceived (api: string): void
  /** Errors of one request: the error names in its answer, or the one reason it got none (refused, failed). */
  requestErrors (api: string, errors: readonly string[]): void
  /**
   * A request's answer was handed to the socket (or, unanswered, its place in the answer order passed): the time since
   * its frame was cut, which includes waiting behind earlier answers, as Kafka's TotalTimeMs does.
   */
  requestCompleted (api: string, latencySeconds: number): void
  /**
   * A SASL exchange finished (`mechanism` is `none` when it failed before one was chosen). Optional, so listeners
   * without SASL and older implementations need nothing.
   */
  readonly authentication?: (mechanism: string, outcome: 'success' | 'failure') => void
  /**
   * A client was refused in its TLS handshake (SSL and SASL_SSL listeners), before it was a connection: no
   * `connectionOpened` came first. Optional, as `authentication` is.
   */
  readonly tlsHandshakeFailed?: (reason: KafkaTlsHandshakeFailureReason) => void
}

/**
 * Why a TLS handshake failed, from the error the TLS server reports (bounded, unlike OpenSSL's codes): the client
 * spoke no TLS (a plaintext Kafka client, HTTP); its certificate was refused (expired, another CA, none where one is
 * required); it did not finish in time; it left mid-handshake (typically because it refused our certificate: a client
 * sends no alert for that, it closes); anything else.
 */
export const kafkaTlsHandshakeFailureReasons = ['not_tls', 'certificate', 'timeout', 'disconnected', 'other'] as const
export type KafkaTlsHandshakeFailureReason = typeof kafkaTlsHandshakeFailureReasons[number]

const notTlsCodes: ReadonlySet<string> = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL',
])
const disconnectedCodes: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

/**
 * The reason label of a handshake failure: `code` is the error's code (`ERR_SSL_*`, `ERR_TLS_HANDSHAKE_TIMEOUT`,
 * `ECONNRESET`), `certificateError` the socket's `authorizationError` (node verifies a client certificate after the
 * handshake and, when it is refused, destroys the socket: the error is then a bare ECONNRESET and only
 * `authorizationError`, e.g. CERT_HAS_EXPIRED, says why).
 */
export function kafkaTlsHandshakeFailureReason (code: string | undefined, certificateError: string | undefined): KafkaTlsHandshakeFailureReason {
  if (certificateError !== undefined) return 'certificate'
  if (code === undefined) return 'other'
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout'
  if (notTlsCodes.has(code)) return 'not_tls'
  if (/CERTIFICATE|UNKNOWN_CA|CERT_/.test(code)) return 'certificate'
  if (disconnectedCodes.has(code)) return 'disconnected'
  return 'other'
}

/** Reports nothing (the listener's default, and tests that do not look). */
export const noKafkaListenerMetrics: KafkaListenerMetrics = Object.freeze({
  connectionOpened: () => {},
  connectionClosed: () => {},
  bytesIn: () => {},
  bytesOut: () => {},
  requestReceived: () => {},
  requestErrors: () => {},
  requestCompleted: () => {},
})

/** The `api` label of a wire API key. */
export function kafkaApiLabel (apiKey: number): string {
  return isApiKey(apiKey) ? API_NAMES[apiKey] : KAFKA_UNKNOWN_API
}

/** Kafka wire code → name, from Gregor's codes (which carry Kafka's names); the first name of a shared code wins. */
const errorNames: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>()
  for (const code of Object.values(ErrorCode)) {
    const wire = kafkaErrorCode(code)
    if (!names.has(wire) && (wire !== -1 || code === ErrorCode.UNKNOWN_SERVER_ERROR)) names.set(wire, code)
  }
  return names
})()

/** The `error` label of a Kafka wire error code. */
export function kafkaErrorName (code: number): string {
  return errorNames.get(code) ?? `code_${code}`
}

/**
 * The error names of every non-zero `errorCode` in a response body, depth first. Record bytes and strings are not
 * entered, so the walk costs a visit per field of the answer's structure, never per record. It runs on every answer
 * (each Produce and Fetch), so it recurses only into objects and allocates only when it finds an error.
 */
export function responseErrorNames (response: unknown): string[] {
  return (isStructure(response) ? errorNamesIn(response, undefined) : undefined) ?? []
}

function isStructure (value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

function errorNamesIn (value: object, names: string[] | undefined): string[] | undefined {
  if (ArrayBuffer.isView(value)) return names
  if (Array.isArray(value)) {
    for (const item of value as readonly unknown[]) if (isStructure(item)) names = errorNamesIn(item, names)
    return names
  }
  const fields = value as Readonly<Record<string, unknown>>
  for (const field in fields) {
    const child = fields[field]
    if (field === 'errorCode') {
      if (typeof child === 'number' && child !== KAFKA_NONE) (names ??= []).push(kafkaErrorName(child))
    } else if (isStructure(child)) {
      names = errorNamesIn(child, names)
    }
  }
  return names
}

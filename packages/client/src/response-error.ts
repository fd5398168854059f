/**
 * Turns what a broker answers into GregorErrors: a Kafka-named `error_code` from a response ("" = ok), a broker's
 * refusal of a whole call (gRPC PERMISSION_DENIED / UNAUTHENTICATED naming a Kafka error), or a gRPC failure of the
 * call itself (transport: unreachable, deadline, cancelled).
 *
 * Owns: the one mapping from the wire to client errors, so the producer, consumer and admin agree on which failures
 * are retriable and which mean "your metadata is stale". A code this client does not know is kept in
 * `details.errorCode` under UNKNOWN_SERVER_ERROR (not retriable), rather than cast into the ErrorCode set.
 * Pure.
 */
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'

const knownCodes: ReadonlySet<string> = new Set<string>(Object.values(ErrorCode))

/**
 * The codes after which a client must refresh its metadata before trying again (Kafka's InvalidMetadataException
 * family; the topic id codes are KIP-516's: the topic was deleted, or re-created as another topic under its name).
 * Transport failures count too (`isStaleMetadataError`): the broker may be gone, and its partitions led elsewhere.
 */
export const staleMetadataCodes: ReadonlySet<string> = new Set<string>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
])

/** The GregorError for a response's `error_code`, or undefined when it is "" (success). */
export function responseError (
  errorCode: string | null | undefined,
  errorMessage: string | null | undefined,
  details: Readonly<Record<string, unknown>> = {},
): GregorError | undefined {
  if (errorCode === '' || errorCode === null || errorCode === undefined) return undefined
  const message = errorMessage !== null && errorMessage !== undefined && errorMessage !== '' ? errorMessage : errorCode
  if (knownCodes.has(errorCode)) return new GregorError(errorCode as ErrorCode, message, { details })
  return new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, message, { details: { ...details, errorCode } })
}

/** grpc-js status codes we read (kept here so the mapping does not need grpc-js at runtime). */
const GRPC_DEADLINE_EXCEEDED = 4
const GRPC_PERMISSION_DENIED = 7
const GRPC_UNAUTHENTICATED = 16

/**
 * A broker's refusal of a whole call (PERMISSION_DENIED: an authorization failure; UNAUTHENTICATED: a login or
 * session refused), whose details start with a Kafka error name: that error, not retriable and not a transport
 * failure (asking another broker would not help).
 */
function refusalError (grpcCode: number | undefined, error: unknown, details: Readonly<Record<string, unknown>>): GregorError | undefined {
  if (grpcCode !== GRPC_PERMISSION_DENIED && grpcCode !== GRPC_UNAUTHENTICATED) return undefined
  const text = String((error as { details?: unknown }).details ?? '')
  const code = /^([A-Z_]+): /.exec(text)?.[1]
  if (code === undefined || !knownCodes.has(code)) return undefined
  return new GregorError(code as ErrorCode, text.slice(code.length + 2), { cause: error, details: { ...details, grpcCode } })
}

/**
 * The GregorError for a failed gRPC call. A deadline is REQUEST_TIMED_OUT; anything else (UNAVAILABLE, CANCELLED,
 * INTERNAL…) is a retriable REQUEST_TIMED_OUT too, because ErrorCode has no NETWORK_EXCEPTION: `details.transport`
 * marks it so callers refresh metadata, as Kafka does after a NetworkException. Already-mapped errors pass through.
 */
export function transportError (error: unknown, details: Readonly<Record<string, unknown>> = {}): GregorError {
  if (isGregorError(error)) return error
  const grpcCode = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number'
    ? (error as { code: number }).code
    : undefined
  const refused = refusalError(grpcCode, error, details)
  if (refused !== undefined) return refused
  const reason = error instanceof Error ? error.message : String(error)
  const message = grpcCode === GRPC_DEADLINE_EXCEEDED ? 'request timed out' : `broker unreachable: ${reason}`
  return new GregorError(ErrorCode.REQUEST_TIMED_OUT, message, {
    cause: error, retriable: true, details: { ...details, transport: true, grpcCode },
  })
}

/** Whether `error` (a GregorError from this module) means the client's view of leaders may be out of date. */
export function isStaleMetadataError (error: unknown): boolean {
  if (!isGregorError(error)) return false
  return staleMetadataCodes.has(error.code) || error.details.transport === true
}

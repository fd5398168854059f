/**
 * The broker's side of ClientService.ProduceStream: Produce requests on one long-lived bidi stream per client, each
 * numbered by the client (correlation id) and answered with that id as it completes.
 *
 * Owns, per stream: the set of correlation ids in flight (bounded by `inFlightMax`; one owner, this closure) and how
 * the stream ends. Invariants:
 * - Requests are handed to `produce` in the order they arrive, at once, without waiting for earlier answers: the
 *   stream's send order is its arrival order (HTTP/2 keeps one stream's DATA in order), so a producer's pipelined
 *   batches of a partition reach the log in order. Answers are written as each completes (acks=all waits differ per
 *   partition), so they may be out of order: the client matches them by id, never by position.
 * - The caller is identified once, when the stream opens (an unknown or expired session token refuses it
 *   UNAUTHENTICATED, as a unary call is refused); the stream then stays that caller's, as a Kafka connection stays
 *   authenticated by default (`connections.max.reauth.ms` 0, KIP-368). Authorization is `produce`'s own, per request
 *   and per topic, as for the unary Produce, so ACL changes apply to the next request.
 * - A request `produce` cannot serve (an error other than a malformed request) is answered: every partition carries
 *   the Kafka error code, and the stream goes on. A malformed message (no request, an id already in flight, a
 *   partition without a topic) or more than `inFlightMax` unanswered requests ends only this stream, with
 *   INVALID_ARGUMENT or RESOURCE_EXHAUSTED and a message saying why. The message size limit is the listener's
 *   (grpc-js checks every message of a stream against `grpc.max_receive_message_length`).
 * - After the stream ends (either side, or cancelled), answers still to come are dropped.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, isGregorError } from '@gregor/common'
import { PRODUCE_STREAM_IN_FLIGHT_MAX, statusError, type gregor } from '@gregor/protocol'
import type { CallIdentity, IdentifyCall } from './grpc-authentication.js'

type ProduceResponse = gregor.cluster.ProduceResponse.$Properties

export interface ProduceStreamOptions {
  readonly identify: IdentifyCall
  /** One Produce, authorized and measured as the unary Produce is (the same handler). */
  readonly produce: (request: gregor.cluster.ProduceRequest, caller: CallIdentity) => Promise<ProduceResponse> | ProduceResponse
  readonly inFlightMax?: number
}

/** The answer to a request that could not be served: every partition with `error`'s Kafka code. */
export function produceFailed (request: gregor.cluster.ProduceRequest.$Properties, error: unknown): ProduceResponse {
  const errorCode = isGregorError(error) ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR
  const errorMessage = error instanceof Error ? error.message : String(error)
  return {
    partitions: (request.partitions ?? []).map((p) => ({
      topic: p.topic ?? '', partition: p.partition ?? 0, errorCode, errorMessage, baseOffset: -1, logStartOffset: -1, logAppendTimeMs: -1,
    })),
  }
}

export function produceStreamHandler (
  options: ProduceStreamOptions,
): grpc.handleBidiStreamingCall<gregor.cluster.ProduceStreamRequest, gregor.cluster.ProduceStreamResponse.$Properties> {
  const inFlightMax = options.inFlightMax ?? PRODUCE_STREAM_IN_FLIGHT_MAX
  return (call) => {
    const opened = options.identify(call)
    if (opened instanceof Error) {
      call.emit('error', opened) // grpc-js ends the stream with this status
      return
    }
    const inFlight = new Set<number>()
    let closed = false
    let clientDone = false
    const fail = (status: grpc.ServiceError): void => {
      if (closed) return
      closed = true
      call.emit('error', status)
    }
    const answer = (correlationId: number, response: ProduceResponse): void => {
      inFlight.delete(correlationId)
      if (closed || call.cancelled) return
      call.write({ correlationId, response })
      if (clientDone && inFlight.size === 0) { closed = true; call.end() }
    }
    call.on('data', (message: gregor.cluster.ProduceStreamRequest) => {
      if (closed) return
      const { correlationId, request } = message
      if (request === null || request === undefined) { fail(statusError(grpc.status.INVALID_ARGUMENT, `produce stream request ${correlationId} carries no ProduceRequest`)); return }
      if (inFlight.has(correlationId)) { fail(statusError(grpc.status.INVALID_ARGUMENT, `produce stream correlation id ${correlationId} is already in flight`)); return }
      if (inFlight.size >= inFlightMax) { fail(statusError(grpc.status.RESOURCE_EXHAUSTED, `more than ${inFlightMax} produce requests in flight on one stream`)); return }
      inFlight.add(correlationId)
      const produce = request as gregor.cluster.ProduceRequest
      // Called now, not after a tick: the next message's request must reach the log after this one's.
      let served: Promise<ProduceResponse>
      try {
        served = Promise.resolve(options.produce(produce, opened))
      } catch (error) {
        served = Promise.reject(error)
      }
      served.then((response) => { answer(correlationId, response) }, (error: unknown) => {
        if (isGregorError(error) && error.code === ErrorCode.INVALID_REQUEST) {
          fail(statusError(grpc.status.INVALID_ARGUMENT, `produce stream request ${correlationId}: ${error.message}`))
          return
        }
        answer(correlationId, produceFailed(produce, error))
      })
    })
    call.on('end', () => {
      clientDone = true
      if (!closed && inFlight.size === 0) { closed = true; call.end() }
    })
    call.on('cancelled', () => { closed = true })
    call.on('error', () => { closed = true })
  }
}

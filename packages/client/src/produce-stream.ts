/**
 * Produce to one broker on one long-lived ClientService.ProduceStream, instead of one gRPC call (one HTTP/2 stream,
 * headers, metadata and deadline) per request.
 *
 * Owns: the current stream to the broker (opened on first use, again after it breaks) and its requests
 * (`CorrelationTable`: correlation ids in flight, bounded by the broker's PRODUCE_STREAM_IN_FLIGHT_MAX, and a bounded
 * queue of requests waiting for a slot). Each request is numbered; the broker answers each with its number as it
 * completes, possibly out of order (acks=all waits differ per partition), and answers are matched by number.
 *
 * Invariants:
 * - Requests are written in the order `send` is called (a request waiting for a slot or for the stream to open holds
 *   back the ones after it), and HTTP/2 keeps one stream's DATA in order: a producer's pipelined batches of a
 *   partition reach the broker in order.
 * - `written` resolves once the request's message is handed to the HTTP/2 session (the channel has no grpc-js retry
 *   buffer, see cluster-connection.ts), or when the call settles.
 * - A stream that fails or ends fails every request still on it with a transport error (retriable: the producer
 *   resends with the same sequence numbers, so idempotence keeps it exactly-once), and the next `send` opens a new
 *   stream. A stream refused UNAUTHENTICATED (the broker no longer knows the session token, e.g. after its restart)
 *   drops the token first, so the new stream logs in again; a login refused for good rejects with its Kafka error.
 * - Per-request deadlines are the caller's (ClusterConnection's timer, then `cancel`); the stream has none.
 */
import * as grpc from '@grpc/grpc-js'
import { PRODUCE_STREAM_IN_FLIGHT_MAX, type gregor } from '@gregor/protocol'
import { CorrelationTable, type CorrelationLimits } from './correlation-table.js'
import type { TransportCall } from './cluster-connection.js'

type ProduceRequest = gregor.cluster.ProduceRequest.$Properties
type ProduceResponse = gregor.cluster.ProduceResponse
export type ProduceDuplex = grpc.ClientDuplexStream<gregor.cluster.ProduceStreamRequest.$Properties, gregor.cluster.ProduceStreamResponse>

export interface ProduceStreamDeps {
  /** Opens the bidi call (with the session token's metadata: a SCRAM login may come first, before `deadline`). */
  readonly open: (deadline: number) => ProduceDuplex | Promise<ProduceDuplex>
  /** The broker refused the stream's session token: forget it, so the next stream logs in again. */
  readonly onUnauthenticated?: () => void
  readonly limits?: CorrelationLimits
}

/** Requests that may wait for a slot behind the in-flight ones; the producer has at most one waiting per broker. */
const WAITING_MAX = 1_024

interface Entry {
  readonly request: ProduceRequest
  readonly resolve: (response: ProduceResponse) => void
  readonly reject: (error: Error) => void
  readonly written: () => void
}

const emptyResponse = { partitions: [] } as unknown as ProduceResponse

/** A grpc-like failure, so `transportError` maps it as a transport failure (retriable) unless it is a refusal. */
function streamFailure (code: grpc.status, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message), { code, details: message, cause })
}

export class ProduceStream {
  readonly #deps: ProduceStreamDeps
  #current: OneStream | undefined
  #closed = false

  constructor (deps: ProduceStreamDeps) {
    this.#deps = deps
  }

  send (request: ProduceRequest, deadlineMs: number): TransportCall<ProduceResponse> {
    let entry: Entry | undefined
    let written: () => void = () => {}
    const writtenPromise = new Promise<void>((resolve) => { written = resolve })
    const response = new Promise<ProduceResponse>((resolve, reject) => {
      entry = { request, resolve, reject, written }
    })
    const pending = entry as Entry
    if (this.#closed) {
      pending.reject(streamFailure(grpc.status.CANCELLED, 'produce stream closed'))
    } else {
      if (this.#current === undefined || this.#current.broken) {
        this.#current = new OneStream(this.#deps, Date.now() + deadlineMs, (broken) => { if (this.#current === broken) this.#current = undefined })
      }
      this.#current.send(pending)
    }
    let cancelledStream = this.#current
    return {
      response,
      written: writtenPromise,
      cancel: () => {
        cancelledStream?.cancel(pending)
        cancelledStream = undefined
      },
    }
  }

  /** Ends the stream: its requests fail (CANCELLED), later sends too. */
  close (): void {
    this.#closed = true
    this.#current?.fail(streamFailure(grpc.status.CANCELLED, 'produce stream closed'))
    this.#current = undefined
  }
}

/** One bidi call and the requests on it. */
class OneStream {
  readonly #deps: ProduceStreamDeps
  readonly #table: CorrelationTable<Entry>
  readonly #onBroken: (stream: OneStream) => void
  #stream: ProduceDuplex | undefined
  /** Ids assigned before the call was open, to write once it is, in order. */
  #queued: Array<{ readonly id: number, readonly entry: Entry }> = []
  #failure: Error | undefined

  constructor (deps: ProduceStreamDeps, deadline: number, onBroken: (stream: OneStream) => void) {
    this.#deps = deps
    this.#table = new CorrelationTable<Entry>(deps.limits ?? { inFlightMax: PRODUCE_STREAM_IN_FLIGHT_MAX, waitingMax: WAITING_MAX })
    this.#onBroken = onBroken
    let opened: ProduceDuplex | Promise<ProduceDuplex>
    try {
      opened = deps.open(deadline)
    } catch (error) {
      opened = Promise.reject(error)
    }
    if (opened instanceof Promise) {
      opened.then((stream) => { this.#attach(stream) }, (error: unknown) => {
        this.fail(error instanceof Error ? error : new Error(String(error)))
      })
    } else {
      this.#attach(opened)
    }
  }

  get broken (): boolean { return this.#failure !== undefined }

  send (entry: Entry): void {
    if (this.#failure !== undefined) {
      entry.reject(this.#failure)
      return
    }
    const submitted = this.#table.submit(entry)
    if (submitted.outcome === 'send') this.#write(submitted.id, entry)
    else if (submitted.outcome === 'refused') {
      entry.reject(streamFailure(grpc.status.RESOURCE_EXHAUSTED, 'too many produce requests waiting for the stream'))
    }
  }

  cancel (entry: Entry): void {
    if (this.#table.cancel(entry)) entry.reject(streamFailure(grpc.status.CANCELLED, 'call cancelled'))
  }

  /** Fails every request on this stream with `error` and ends the call; a later `send` goes to a new stream. */
  fail (error: Error): void {
    if (this.#failure !== undefined) return
    if ((error as { code?: unknown }).code === grpc.status.UNAUTHENTICATED) {
      this.#deps.onUnauthenticated?.()
      // The broker refused the token, not the requests: retriable, and the next stream logs in afresh.
      error = streamFailure(grpc.status.UNAVAILABLE, `produce stream refused its session: ${error.message}`, error)
    }
    this.#failure = error
    this.#onBroken(this)
    this.#queued = []
    for (const entry of this.#table.clear()) entry.reject(error)
    const stream = this.#stream
    if (stream !== undefined) {
      stream.removeAllListeners('error')
      stream.on('error', () => {})
      stream.cancel()
    }
  }

  #attach (stream: ProduceDuplex): void {
    this.#stream = stream
    if (this.#failure !== undefined) {
      stream.on('error', () => {})
      stream.cancel()
      return
    }
    stream.on('data', (message: gregor.cluster.ProduceStreamResponse) => { this.#answered(message) })
    stream.on('error', (error: Error) => { this.fail(error) })
    stream.on('end', () => { this.fail(streamFailure(grpc.status.UNAVAILABLE, 'produce stream ended by the broker')) })
    const queued = this.#queued
    this.#queued = []
    for (const { id, entry } of queued) this.#write(id, entry)
  }

  #answered (message: gregor.cluster.ProduceStreamResponse): void {
    const { entry, send } = this.#table.answered(message.correlationId)
    entry?.resolve((message.response as ProduceResponse | null | undefined) ?? emptyResponse)
    for (const next of send) this.#write(next.id, next.entry)
  }

  #write (id: number, entry: Entry): void {
    const stream = this.#stream
    if (stream === undefined) {
      this.#queued.push({ id, entry })
      return
    }
    if (!this.#table.live(id)) {
      // Cancelled before it was written: the broker never sees it, so its slot is free now.
      for (const next of this.#table.answered(id).send) this.#write(next.id, next.entry)
      return
    }
    stream.write({ correlationId: id, request: entry.request }, () => { entry.written() })
  }
}

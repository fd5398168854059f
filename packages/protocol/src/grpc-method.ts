/**
 * Typed gRPC method definitions over the protobufjs static codecs: the glue that lets grpc-js carry our generated
 * types with no reflection and no `any`. A method is described once and used by both server and client.
 */
import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs/minimal.js'

/** The static-codec surface of a generated protobufjs message class. */
export interface Codec<Properties, Decoded> {
  encode (message: Properties, writer?: protobuf.Writer): protobuf.Writer
  decode (bytes: Uint8Array): Decoded
}

/**
 * One method: the client writes `RequestProperties` and reads the decoded `Response`; the server reads the decoded
 * `Request` and writes `ResponseProperties`. (grpc-js's own MethodDefinition uses one type per direction.)
 */
export interface GrpcMethod<Request, RequestProperties, Response, ResponseProperties> {
  readonly path: string
  readonly requestStream: boolean
  readonly responseStream: boolean
  readonly requestSerialize: (value: RequestProperties) => Buffer
  readonly requestDeserialize: (bytes: Buffer) => Request
  readonly responseSerialize: (value: ResponseProperties) => Buffer
  readonly responseDeserialize: (bytes: Buffer) => Response
}

export function grpcMethod<Request, RequestProperties, Response, ResponseProperties> (options: {
  path: string
  requestStream: boolean
  responseStream: boolean
  request: Codec<RequestProperties, Request>
  response: Codec<ResponseProperties, Response>
}): GrpcMethod<Request, RequestProperties, Response, ResponseProperties> {
  const serialize = <P>(codec: Codec<P, unknown>) => (value: P): Buffer => encodeMessage(codec, value)
  return {
    path: options.path,
    requestStream: options.requestStream,
    responseStream: options.responseStream,
    requestSerialize: serialize(options.request),
    // Decoding may throw on malformed bytes; grpc-js turns that into an INTERNAL status for the call, never a crash.
    requestDeserialize: (bytes: Buffer) => options.request.decode(bytes),
    responseSerialize: serialize(options.response),
    responseDeserialize: (bytes: Buffer) => options.response.decode(bytes),
  }
}

/** Largest scratch buffer kept between encodes; a larger one (a snapshot, a huge fetch) is dropped after its use. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024
/** The encoder's reused writer, or undefined (none yet, or the last encode threw or outgrew SCRATCH_KEEP_BYTES). */
let scratch: protobuf.Writer | undefined

/**
 * `value` encoded into a buffer of exactly its size, which the caller owns. The encode runs in a reused scratch writer:
 * protobufjs's writer starts at 128 bytes and doubles, so a fresh one allocates (and copies) about twice the message
 * on the way to a 175 KB produce or fetch, all of it external memory that drives V8's full collections; the scratch
 * grows once. Synchronous and not reentrant (an encode calls no user code), so one scratch serves the whole process.
 */
export function encodeMessage<P> (codec: Codec<P, unknown>, value: P): Buffer {
  const writer = scratch ?? protobuf.Writer.create()
  scratch = undefined
  writer.pos = 0
  writer.states = null
  codec.encode(value, writer)
  const length = writer.pos
  const bytes = Buffer.allocUnsafe(length)
  bytes.set(writer.buf.subarray(0, length))
  if (writer.buf.length <= SCRATCH_KEEP_BYTES) scratch = writer
  return bytes
}

/** HTTP/2 keepalive of a channel: a PING every `timeMs` (with or without calls), the connection dropped when one is
 * not answered within `timeoutMs`. */
export interface ChannelKeepalive {
  readonly timeMs: number
  readonly timeoutMs: number
}

/**
 * Between brokers (raft, replication, broker heartbeats): a stopped peer is noticed by the protocols themselves
 * (raft elections, session timeouts), so the keepalive only has to clear dead connections eventually.
 */
export const peerKeepalive: ChannelKeepalive = Object.freeze({ timeMs: 10_000, timeoutMs: 5_000 })

/**
 * Channel options every Gregor channel uses: larger messages than the 4 MiB default for snapshots and fetches, and
 * `keepalive` (`peerKeepalive` unless the caller has a reason: clients use a faster one, client/cluster-connection.ts).
 * Pings are allowed without calls: the brokers are grpc-js servers, which enforce no minimum ping interval (a C-core
 * or Go server, or a proxy, would answer frequent pings with GOAWAY ENHANCE_YOUR_CALM, after which grpc-js doubles
 * the channel's ping interval).
 */
export function channelOptions (messageBytesMax: number, keepalive: ChannelKeepalive = peerKeepalive): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': messageBytesMax,
    'grpc.max_send_message_length': messageBytesMax,
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  }
}

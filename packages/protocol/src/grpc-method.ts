/**
 * Typed gRPC method definitions over the protobufjs static codecs: the glue that lets grpc-js carry our generated
 * types with no reflection and no `any`. A method is described once and used by both server and client.
 */
import * as grpc from '@grpc/grpc-js'
import type { Writer } from 'protobufjs/minimal.js'

/** The static-codec surface of a generated protobufjs message class. */
export interface Codec<Properties, Decoded> {
  encode (message: Properties): Writer
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
  const serialize = <P>(codec: Codec<P, unknown>) => (value: P): Buffer => {
    // A view of the writer's own buffer (the writer is dropped here): no second allocation and copy of the message,
    // which for a produce or fetch of record batches is a copy of every record byte.
    const bytes = codec.encode(value).finish(true)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
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

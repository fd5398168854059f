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
    const bytes = codec.encode(value).finish()
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

/** Channel options every Gregor peer uses: larger messages than the 4 MiB default for snapshots and fetches. */
export function channelOptions (messageBytesMax: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': messageBytesMax,
    'grpc.max_send_message_length': messageBytesMax,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  }
}

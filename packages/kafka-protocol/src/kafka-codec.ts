/**
 * The package's entry points: request and response headers, and bodies routed by API key and version to the
 * generated readers and writers.
 *
 * Frames: a Kafka frame is `int32 size` + header + body. The caller (the listener) cuts frames off the socket and
 * hands `decodeRequestHeader` a reader over one frame *without* its size prefix; `encodeResponse`/`encodeRequest`
 * return whole frames, size prefix included, as chunks for a vectored write.
 *
 * Header versions (Kafka's RequestHeader/ResponseHeader): request header v1 = api key, api version, correlation id,
 * nullable client id (a classic int16-length string even in v2); v2 (flexible API versions) adds tagged fields.
 * Response header v0 = correlation id; v1 (flexible versions) adds tagged fields, except that ApiVersions responses
 * always use v0, so that a client can read the answer to a version it guessed wrong. Request header v0 (no client id)
 * belonged to ControlledShutdown v0 only, which Gregor does not serve; `decodeRequestHeader` never picks it.
 *
 * Errors: a malformed header or body, an unknown API key or an unsupported version throw GregorError INVALID_REQUEST
 * (Kafka's InvalidRequestException: the broker closes the connection), except where the caller answers itself (ApiVersions at an unsupported version, see `decodeRequestHeader`'s `supported`).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import {
  type ApiKey,
  FIRST_FLEXIBLE_VERSIONS,
  isApiKey,
  readRequestBody,
  readResponseBody,
  type RequestBodies,
  type ResponseBodies,
  SUPPORTED_VERSIONS,
  writeRequestBody,
  writeResponseBody,
} from './generated/apis.js'
import { KafkaReader } from './kafka-reader.js'
import { KafkaWriter } from './kafka-writer.js'

const API_VERSIONS_KEY = 18

export interface RequestHeader {
  /** The raw key; `supported` says whether it is one of ours. */
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  /** 1 or 2 (see the module comment). */
  readonly headerVersion: number
  /** Whether Gregor decodes this API at this version (then `decodeRequest` may be called). */
  readonly supported: boolean
}

export interface ResponseHeaderFields {
  readonly apiKey: ApiKey
  readonly apiVersion: number
  readonly correlationId: number
}

export interface RequestHeaderFields extends ResponseHeaderFields {
  readonly clientId: string | null
}

/** Whether `version` of `apiKey` is in Gregor's supported range. */
export function isSupportedVersion (apiKey: number, version: number): apiKey is ApiKey {
  if (!isApiKey(apiKey)) return false
  const range = SUPPORTED_VERSIONS[apiKey]
  return version >= range.minVersion && version <= range.maxVersion
}

function isFlexibleVersion (apiKey: ApiKey, version: number): boolean {
  const first = FIRST_FLEXIBLE_VERSIONS[apiKey]
  return first !== null && version >= first
}

/** Request header version for a key and version; Kafka's flexible ranges apply also above our maximum. */
function requestHeaderVersion (apiKey: number, version: number): number {
  return isApiKey(apiKey) && isFlexibleVersion(apiKey, version) ? 2 : 1
}

function responseHeaderVersion (apiKey: ApiKey, version: number): number {
  return apiKey !== API_VERSIONS_KEY && isFlexibleVersion(apiKey, version) ? 1 : 0
}

/**
 * Reads a request header and leaves `reader` at the body. An unknown key or version is not an error here: the
 * header still carries the correlation id the answer needs (an ApiVersions request at a version we lack gets a v0
 * answer with UNSUPPORTED_VERSION, KIP-511); check `supported` before `decodeRequest`.
 */
export function decodeRequestHeader (reader: KafkaReader): RequestHeader {
  const apiKey = reader.readInt16()
  const apiVersion = reader.readInt16()
  const correlationId = reader.readInt32()
  const clientId = reader.readNullableString(false)
  const headerVersion = requestHeaderVersion(apiKey, apiVersion)
  if (headerVersion === 2) reader.skipTaggedFields()
  return { apiKey, apiVersion, correlationId, clientId, headerVersion, supported: isSupportedVersion(apiKey, apiVersion) }
}

function unsupported (apiKey: number, version: number, code: ErrorCode): GregorError {
  return new GregorError(code, 'unsupported api key or version', { details: { apiKey, apiVersion: version } })
}

/**
 * Decodes a request body. Bytes after the body are left unread (`reader.remaining`), as Kafka's broker leaves them:
 * they cannot mislead the decoder, and refusing them would refuse a client Kafka serves.
 */
export function decodeRequest<K extends ApiKey> (apiKey: K, version: number, reader: KafkaReader): RequestBodies[K] {
  if (!isSupportedVersion(apiKey, version)) throw unsupported(apiKey, version, ErrorCode.INVALID_REQUEST)
  return readRequestBody(apiKey, version, reader)
}

/** Starts a frame: a size placeholder, patched by `finishFrame`. */
function startFrame (): KafkaWriter {
  const writer = new KafkaWriter()
  writer.writeInt32(0)
  return writer
}

function finishFrame (writer: KafkaWriter): Buffer[] {
  const size = writer.length - 4
  const chunks = writer.finish()
  // The placeholder is the first thing written, so it always sits at the start of the first chunk.
  chunks[0]!.writeInt32BE(size, 0)
  return chunks
}

/** A whole response frame (size, header, body) as chunks; large record batches in it are not copied. */
export function encodeResponse<K extends ApiKey> (header: ResponseHeaderFields & { readonly apiKey: K }, body: ResponseBodies[K]): Buffer[] {
  if (!isSupportedVersion(header.apiKey, header.apiVersion)) throw unsupported(header.apiKey, header.apiVersion, ErrorCode.INVALID_REQUEST)
  const writer = startFrame()
  writer.writeInt32(header.correlationId)
  if (responseHeaderVersion(header.apiKey, header.apiVersion) === 1) writer.writeUnsignedVarint(0)
  writeResponseBody(header.apiKey, header.apiVersion, writer, body)
  return finishFrame(writer)
}

/** A whole request frame (size, header, body), for tests and a Kafka-speaking test client. */
export function encodeRequest<K extends ApiKey> (header: RequestHeaderFields & { readonly apiKey: K }, body: RequestBodies[K]): Buffer[] {
  if (!isSupportedVersion(header.apiKey, header.apiVersion)) throw unsupported(header.apiKey, header.apiVersion, ErrorCode.INVALID_REQUEST)
  const writer = startFrame()
  writer.writeInt16(header.apiKey)
  writer.writeInt16(header.apiVersion)
  writer.writeInt32(header.correlationId)
  writer.writeNullableString(header.clientId, false)
  if (requestHeaderVersion(header.apiKey, header.apiVersion) === 2) writer.writeUnsignedVarint(0)
  writeRequestBody(header.apiKey, header.apiVersion, writer, body)
  return finishFrame(writer)
}

/** Reads a response header (the caller knows which request it answers) and returns its correlation id. */
export function decodeResponseHeader (reader: KafkaReader, apiKey: ApiKey, version: number): number {
  const correlationId = reader.readInt32()
  if (responseHeaderVersion(apiKey, version) === 1) reader.skipTaggedFields()
  return correlationId
}

/** Decodes a response body (bytes after it stay unread). A client builds the reader with CORRUPT_MESSAGE as its `malformedCode`. */
export function decodeResponse<K extends ApiKey> (apiKey: K, version: number, reader: KafkaReader): ResponseBodies[K] {
  if (!isSupportedVersion(apiKey, version)) throw unsupported(apiKey, version, reader.malformedCode)
  return readResponseBody(apiKey, version, reader)
}

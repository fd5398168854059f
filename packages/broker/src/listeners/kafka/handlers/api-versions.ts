/**
 * ApiVersions (key 18): the versions of every API this listener decodes (SUPPORTED_VERSIONS), which clients intersect
 * with their own to pick a version per API.
 *
 * Kafka's rules kept here: a version we lack is answered in v0 with UNSUPPORTED_VERSION and our ranges (KIP-511), so
 * the client can retry with one we have (librdkafka steps down, KafkaJS tries v2 → v0); v3+ requests carry the client
 * software name and version, and a malformed one gets INVALID_REQUEST with no ranges (Kafka's ApiVersionsRequest.isValid).
 * Gregor has no feature flags (KIP-584), so the v3 tagged fields (supported/finalized features, their epoch,
 * zk-migration-ready) keep their defaults and, as Kafka writes defaults, are not on the wire.
 */
import { ErrorCode } from '@gregor/common'
import {
  type ApiKey, type ApiVersionsRequest, type ApiVersionsResponse, type ApiVersionsResponseApiVersion, KAFKA_NONE,
  SUPPORTED_VERSIONS, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'

/** Kafka's pattern for the client software name and version (ApiVersionsRequest v3). */
const SOFTWARE_NAME_OR_VERSION = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/

/** Every API the codec decodes, with its range: what a listener serving them all advertises. */
const everyApi: readonly ApiVersionsResponseApiVersion[] = Object.freeze(
  Object.entries(SUPPORTED_VERSIONS).map(([apiKey, range]) => Object.freeze({ apiKey: Number(apiKey) as ApiKey, ...range })),
)

/**
 * The ranges to advertise for the APIs that have a handler: a client must never pick an API the listener would
 * close the connection for (ApiVersions itself is always served).
 */
export function advertisedApis (served: Iterable<ApiKey>): readonly ApiVersionsResponseApiVersion[] {
  const keys = new Set<number>(served)
  return Object.freeze(everyApi.filter((api) => keys.has(api.apiKey) || api.apiKey === 18))
}

function response (errorCode: number, apiKeys: readonly ApiVersionsResponseApiVersion[]): ApiVersionsResponse {
  return { errorCode, apiKeys, throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false }
}

export function handleApiVersions (
  request: ApiVersionsRequest, context: KafkaRequestContext, advertised: readonly ApiVersionsResponseApiVersion[] = everyApi,
): ApiVersionsResponse {
  if (context.apiVersion >= 3 && !(SOFTWARE_NAME_OR_VERSION.test(request.clientSoftwareName) && SOFTWARE_NAME_OR_VERSION.test(request.clientSoftwareVersion))) {
    return response(kafkaErrorCode(ErrorCode.INVALID_REQUEST), [])
  }
  return response(KAFKA_NONE, advertised)
}

/** The body of the v0 answer to an ApiVersions request at a version outside our range. */
export function unsupportedApiVersionsResponse (advertised: readonly ApiVersionsResponseApiVersion[] = everyApi): ApiVersionsResponse {
  return response(kafkaErrorCode(ErrorCode.UNSUPPORTED_VERSION), advertised)
}

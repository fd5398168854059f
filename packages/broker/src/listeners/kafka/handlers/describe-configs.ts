/**
 * DescribeConfigs (key 32, v1-4): topic configs under Kafka's names (`retention.ms`) with their source (a topic
 * override or the default), and a minimal broker resource (this broker only).
 *
 * Kafka's rules kept here: a null key list means every config, else only the named ones (unknown names are left
 * out); an unknown topic is UNKNOWN_TOPIC_OR_PARTITION; a broker resource names a broker id, and only the broker that
 * is asked answers for itself (another id, or a non-number, is INVALID_REQUEST); other resource types (broker
 * loggers, client metrics, groups) are INVALID_REQUEST. Synonyms are not listed; documentation is null.
 */
import { ErrorCode } from '@gregor/common'
import {
  type DescribeConfigsRequest, type DescribeConfigsResource, type DescribeConfigsResponse, type DescribeConfigsResult,
  KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import type { ConfigEntry, KafkaAdminApi } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { kafkaConfigSource, kafkaConfigType } from './config-entries.js'

/** Kafka's ConfigResource.Type. */
export const TOPIC_RESOURCE = 2
export const BROKER_RESOURCE = 4

function describe (api: KafkaAdminApi, resource: DescribeConfigsResource): { configs: readonly ConfigEntry[] } | { error: ErrorCode; message: string } {
  const { resourceType, resourceName } = resource
  if (resourceType === TOPIC_RESOURCE) {
    const configs = api.topicConfigs(resourceName)
    return configs === undefined ? { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic ${resourceName} does not exist` } : { configs }
  }
  if (resourceType === BROKER_RESOURCE) {
    const brokerId = /^\d+$/.test(resourceName) ? Number(resourceName) : Number.NaN
    const configs = Number.isSafeInteger(brokerId) ? api.brokerConfigs(brokerId) : undefined
    return configs === undefined ? { error: ErrorCode.INVALID_REQUEST, message: `broker ${resourceName} is not this broker: ask it directly` } : { configs }
  }
  return { error: ErrorCode.INVALID_REQUEST, message: `resource type ${resourceType} is not served` }
}

export function handleDescribeConfigs (api: KafkaAdminApi, request: DescribeConfigsRequest, _context: KafkaRequestContext): DescribeConfigsResponse {
  const results = request.resources.map((resource): DescribeConfigsResult => {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
    const described = describe(api, resource)
    if ('error' in described) return { ...base, errorCode: kafkaErrorCode(described.error), errorMessage: described.message, configs: [] }
    const wanted = resource.configurationKeys === null ? undefined : new Set(resource.configurationKeys)
    return {
      ...base, errorCode: KAFKA_NONE, errorMessage: null,
      configs: described.configs.filter((entry) => wanted === undefined || wanted.has(entry.name)).map((entry) => ({
        name: entry.name, value: entry.value, readOnly: entry.readOnly, configSource: kafkaConfigSource(entry.source),
        isSensitive: false, synonyms: [], configType: kafkaConfigType(entry.type), documentation: null,
      })),
    }
  })
  return { throttleTimeMs: 0, results }
}

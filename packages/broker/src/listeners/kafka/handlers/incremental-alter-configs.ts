/**
 * IncrementalAlterConfigs (key 44, v0-1): change existing topics' configs (`kafka-configs --alter --add-config`,
 * `--delete-config`); the change reaches every replica of the topic through the metadata log.
 *
 * Kafka's rules kept here: one result per resource, in request order; the same resource twice fails each with
 * INVALID_REQUEST; operations SET 0, DELETE 1 (back to the default), APPEND 2, SUBTRACT 3, any other INVALID_REQUEST.
 * A BROKER (4) resource is INVALID_REQUEST: Gregor's broker configs are static (Kafka answers so for a config that
 * cannot change dynamically); other resource types (broker loggers, client metrics, groups) INVALID_REQUEST. The
 * controller answers the rest per topic: unknown topic UNKNOWN_TOPIC_OR_PARTITION, unknown keys and bad values
 * INVALID_CONFIG, APPEND/SUBTRACT on a non-list config INVALID_REQUEST, internal topics INVALID_REQUEST.
 */
import { ErrorCode } from '@gregor/common'
import {
  type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsResource, type IncrementalAlterConfigsResponse, KAFKA_NONE,
  kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { repeatedNames } from '@gregor/metadata'
import type { AdminFailure, ConfigOperation, KafkaAdminApi, TopicConfigChange } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { checkedOutcomes } from './checked-outcomes.js'
import { BROKER_RESOURCE, TOPIC_RESOURCE } from './describe-configs.js'

const operations: readonly ConfigOperation[] = ['set', 'delete', 'append', 'subtract']

function check (resource: IncrementalAlterConfigsResource, repeated: boolean): TopicConfigChange | AdminFailure {
  const { resourceType, resourceName } = resource
  if (repeated) return { error: ErrorCode.INVALID_REQUEST, message: `resource ${resourceName} appears more than once in the request` }
  if (resourceType === BROKER_RESOURCE) {
    return { error: ErrorCode.INVALID_REQUEST, message: 'broker configs cannot be updated dynamically: they are set when the broker starts' }
  }
  if (resourceType !== TOPIC_RESOURCE) return { error: ErrorCode.INVALID_REQUEST, message: `resource type ${resourceType} is not served` }
  const alterations = []
  for (const { name, configOperation, value } of resource.configs) {
    const operation = operations[configOperation]
    if (operation === undefined) return { error: ErrorCode.INVALID_REQUEST, message: `unknown config operation ${configOperation} for ${name}` }
    alterations.push({ name, operation, value })
  }
  return { name: resourceName, alterations }
}

export async function handleIncrementalAlterConfigs (
  api: KafkaAdminApi, request: IncrementalAlterConfigsRequest, _context: KafkaRequestContext,
): Promise<IncrementalAlterConfigsResponse> {
  const keyOf = (resource: IncrementalAlterConfigsResource): string => `${resource.resourceType}/${resource.resourceName}`
  const repeated = repeatedNames(request.resources.map((resource) => ({ name: keyOf(resource) })))
  const checked = request.resources.map((resource) => check(resource, repeated.has(keyOf(resource))))
  const outcomes = await checkedOutcomes(checked, async (valid) => await api.alterTopicConfigs(valid, { validateOnly: request.validateOnly }))
  const responses = request.resources.map((resource, i) => {
    const outcome = outcomes[i]
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
    return outcome === undefined
      ? { ...base, errorCode: KAFKA_NONE, errorMessage: null }
      : { ...base, errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message }
  })
  return { throttleTimeMs: 0, responses }
}

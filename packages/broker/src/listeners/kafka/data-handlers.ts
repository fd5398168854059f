/**
 * The Kafka handlers of the data family (the data plane: produce, fetch, list offsets, producer ids, offsets for leader epochs), bound to `KafkaDataApi`; one file per API under `handlers/`.
 */
import type { KafkaHandlers } from './kafka-handlers.js'
import type { KafkaDataApi } from './kafka-data-api.js'

export function dataHandlers (_api: KafkaDataApi): KafkaHandlers {
  return {}
}

/**
 * The Kafka handlers of the group family (consumer groups: coordinators, the classic group protocol, KIP-848 heartbeats, offsets), bound to `KafkaGroupApi`; one file per API under `handlers/`.
 */
import type { KafkaHandlers } from './kafka-handlers.js'
import type { KafkaGroupApi } from './kafka-group-api.js'

export function groupHandlers (_api: KafkaGroupApi): KafkaHandlers {
  return {}
}

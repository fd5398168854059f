/**
 * The Kafka handlers of the admin family (topic and cluster administration: create/delete topics, partitions, configs, cluster and quorum descriptions), bound to `KafkaAdminApi`; one file per API under `handlers/`.
 */
import type { KafkaHandlers } from './kafka-handlers.js'
import type { KafkaAdminApi } from './kafka-admin-api.js'

export function adminHandlers (_api: KafkaAdminApi): KafkaHandlers {
  return {}
}

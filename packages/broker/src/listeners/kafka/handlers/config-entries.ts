/**
 * Kafka's numbering of config sources and config types, shared by the answers that list configs (CreateTopics v5+,
 * DescribeConfigs): the domain API names them, the wire numbers them.
 */
import type { ConfigSource, ConfigType } from '../kafka-admin-api.js'

/** Kafka's ConfigSource: DYNAMIC_TOPIC_CONFIG 1, STATIC_BROKER_CONFIG 4, DEFAULT_CONFIG 5. */
export function kafkaConfigSource (source: ConfigSource): number {
  switch (source) {
    case 'topic-override': return 1
    case 'static-broker': return 4
    case 'default': return 5
  }
}

/** Kafka's ConfigType (DescribeConfigs v3+): BOOLEAN 1, STRING 2, INT 3, LONG 5, DOUBLE 6, LIST 7. */
export function kafkaConfigType (type: ConfigType): number {
  switch (type) {
    case 'boolean': return 1
    case 'string': return 2
    case 'int': return 3
    case 'long': return 5
    case 'double': return 6
    case 'list': return 7
  }
}

/** The Kafka wire-protocol listener: server, handlers, the broker API they need and its metadata-image adapter. */
export { KafkaServer, type KafkaServerOptions } from './kafka-server.js'
export type { KafkaConnectionStatus } from './kafka-connection.js'
export { type KafkaHandler, type KafkaHandlers, type KafkaRequestContext, kafkaHandlers } from './kafka-handlers.js'
export type { KafkaBrokerApi, KafkaMetadataApi, ListenerBroker, PartitionMetadata, TopicMetadata } from './kafka-broker-api.js'
export type { KafkaAdminApi } from './kafka-admin-api.js'
export type { KafkaDataApi } from './kafka-data-api.js'
export type { KafkaGroupApi } from './kafka-group-api.js'
export {
  type KafkaListenerConfig, defaultKafkaListenerConfig, kafkaListenerConfigProblems, validateKafkaListenerConfig,
} from './kafka-listener-config.js'
export { MetadataImageApi, type MetadataImageApiOptions, activeControllerId, listenerEndpoints } from './metadata-image-api.js'

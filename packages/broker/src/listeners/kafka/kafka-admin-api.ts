/**
 * The admin part of `KafkaBrokerApi`: topic and cluster administration: create/delete topics, partitions, configs, cluster and quorum descriptions, in domain terms (no Kafka struct, no protobuf object).
 */

// Grows with its handlers (admin-handlers.ts).
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface KafkaAdminApi {}

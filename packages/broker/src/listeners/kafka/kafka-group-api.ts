/**
 * The group part of `KafkaBrokerApi`: consumer groups: coordinators, the classic group protocol, KIP-848 heartbeats, offsets, in domain terms (no Kafka struct, no protobuf object).
 */

// Grows with its handlers (group-handlers.ts).
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface KafkaGroupApi {}

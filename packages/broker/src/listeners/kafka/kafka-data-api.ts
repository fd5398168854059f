/**
 * The data part of `KafkaBrokerApi`: the data plane: produce, fetch, list offsets, producer ids, offsets for leader epochs, in domain terms (no Kafka struct, no protobuf object).
 */

// Grows with its handlers (data-handlers.ts).
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface KafkaDataApi {}

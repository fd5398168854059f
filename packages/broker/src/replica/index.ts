/**
 * The data plane of a broker: partition replicas as leaders and followers (Kafka's ISR protocol with KIP-101/595
 * epoch-based truncation) and the replica fetchers, over injected clock, timers, file system and fetch transport (the
 * gRPC transport and ReplicationService handler live in ../transport/). ARCHITECTURE.md §1.
 */
export { ReplicaManager, type ReplicaManagerDeps, type ReplicaState } from './replica-manager.js'
export type { ReplicaFetchSession, ReplicaFetchTransport } from './replica-fetch-transport.js'
export {
  type ReplicationConfig, defaultReplicationConfig, replicationConfigProblems, validateReplicationConfig,
} from './replication-config.js'
export type {
  FetchPartitionRequest, FetchRequest, FetchResponse, ListOffsetsPartitionRequest, ListOffsetsRequest, ListOffsetsResponse,
  OffsetForLeaderEpochPartitionRequest, OffsetForLeaderEpochPartitionResult, ProducePartitionRequest, ProduceRequest,
  ProduceResponse, ReplicaFetchRequest, ReplicaFetchResponse,
} from './leader-requests.js'

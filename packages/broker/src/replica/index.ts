/**
 * The data plane of a broker: partition replicas as leaders and followers (Kafka's ISR protocol with KIP-101/595
 * epoch-based truncation), the replica fetchers, and the ReplicationService handler. ARCHITECTURE.md §1.
 */
export { ReplicaManager, type ReplicaManagerDeps, type ReplicaState } from './replica-manager.js'
export { addReplicationService } from './replication-service.js'
export {
  type ReplicationConfig, defaultReplicationConfig, replicationConfigProblems, validateReplicationConfig,
} from './replication-config.js'
export type {
  FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, ProduceRequest, ProduceResponse,
  ReplicaFetchRequest, ReplicaFetchResponse,
} from './leader-requests.js'

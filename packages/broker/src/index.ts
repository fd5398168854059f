export {
  RaftDriver, defaultRaftDriverConfig, type RaftDriverConfig, type RaftDriverDeps, type RaftLogStore, type RaftMessageTransport, type StateMachine,
} from './raft-driver.js'
export { AppliedLog } from './applied-log.js'
export { QuorumVoter, type QuorumVoterConfig } from './quorum-voter.js'
export { MetadataQuorum, type MetadataQuorumConfig, type MetadataQuorumDeps, type QuorumStatusView } from './metadata-quorum.js'
export { MetadataStateMachine, type MetadataListener } from './metadata/metadata-state-machine.js'
export { Broker } from './broker.js'
export { type ScramBootstrapCredential, formatScramBootstrap, parseScramBootstrap } from './scram-bootstrap.js'
export { adminTokenCookie } from './admin-server.js'
export {
  validateBrokerConfig, parseListeners, parseVoters, usesTls, type BrokerConfig, type BrokerConfigInput, type ListenerAddress, type SecurityProtocol,
  type SslClientAuth, type SslFilesConfig,
} from './broker-config.js'
export { BrokerMetrics, type BrokerMetricsDeps, type ClientApi, clientApis, metricsRoute } from './metrics/index.js'
// The transport-free parts a composition wires (production in broker.ts; the whole-cluster simulation in packages/sim).
export {
  BrokerNode, type BrokerNodeConfig, type BrokerNodeEnvironment, type BrokerNodeObserver, type BrokerNodeView, type BrokerReadiness,
} from './broker-node.js'
export {
  BrokerLifecycle, Controller, defaultBrokerLifecycleConfig, defaultControllerConfig,
  type ControllerChannel, type HeartbeatHandlers, type HeartbeatSession,
} from './controller/index.js'
export { ReplicaManager, defaultReplicationConfig, type ReplicaFetchSession, type ReplicaFetchTransport, type ReplicationConfig } from './replica/index.js'
export { GroupCoordinatorRuntime, appendCoordinatorRecords, offsetsReplicaOf } from './group-coordinator/index.js'
export { ProducerIdAllocator } from './producer-id-allocator.js'
// The gRPC ClientService's wire edge of the data plane (the simulation's clients speak the same protobuf shapes).
export { fetchRequestFromWire, listOffsetsRequestFromWire, produceRequestFromWire } from './listeners/grpc/client-service.js'

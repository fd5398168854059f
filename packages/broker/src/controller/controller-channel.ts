/**
 * How a broker reaches the active controller, transport-free: production wires gRPC
 * (transport/grpc-controller-channel.ts), the whole-cluster simulation wires its simulated network.
 *
 * Contract: a call that could not reach the controller, or got no answer within its deadline, rejects with
 * NETWORK_EXCEPTION (retriable: the request may or may not have run); any other rejection is a bug to surface. A
 * heartbeat session is one long-lived stream to the controller of the moment: `onBroken` fires once when it breaks
 * (never after `close`), and the controller treats a broken session as a lost connection (it fences the broker after
 * its grace unless the broker is back).
 */
import type { gregor } from '@gregor/protocol'
import type {
  AlterPartitionRequest, AlterTopicConfigsRequest, BrokerHeartbeatRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, ElectLeadersRequest,
  RegisterBrokerRequest,
} from './controller.js'

// Answers arrive decoded, every field present (the wire's defaults filled in).
type RegisterBrokerResponse = gregor.cluster.RegisterBrokerResponse
type BrokerHeartbeatResponse = gregor.cluster.BrokerHeartbeatResponse
type AlterPartitionResponse = gregor.cluster.AlterPartitionResponse
type CreateTopicsResponse = gregor.cluster.CreateTopicsResponse
type DeleteTopicsResponse = gregor.cluster.DeleteTopicsResponse
type CreatePartitionsResponse = gregor.cluster.CreatePartitionsResponse
type ElectLeadersResponse = gregor.cluster.ElectLeadersResponse
type AlterTopicConfigsResponse = gregor.cluster.AlterTopicConfigsResponse
type AlterUserScramCredentialsRequest = gregor.cluster.AlterUserScramCredentialsRequest.$Properties
type AlterUserScramCredentialsResponse = gregor.cluster.AlterUserScramCredentialsResponse
type CreateAclsRequest = gregor.cluster.CreateAclsRequest.$Properties
type CreateAclsResponse = gregor.cluster.CreateAclsResponse
type DeleteAclsRequest = gregor.cluster.DeleteAclsRequest.$Properties
type DeleteAclsResponse = gregor.cluster.DeleteAclsResponse

export interface HeartbeatSession {
  send (heartbeat: BrokerHeartbeatRequest): void
  close (): void
}

export interface HeartbeatHandlers {
  onResponse (response: BrokerHeartbeatResponse): void
  onBroken (reason: string): void
}

export interface ControllerChannel {
  /** Who the controller is now (an address or a node id), undefined while none is known; a change ends a session. */
  target (): string | undefined
  registerBroker (request: RegisterBrokerRequest, deadlineMs: number): Promise<RegisterBrokerResponse>
  /** A heartbeat stream to the current controller; undefined while none is known. */
  openHeartbeats (handlers: HeartbeatHandlers): HeartbeatSession | undefined
  alterPartition (request: AlterPartitionRequest, deadlineMs: number): Promise<AlterPartitionResponse>
  createTopics (request: CreateTopicsRequest, deadlineMs: number): Promise<CreateTopicsResponse>
  deleteTopics (request: DeleteTopicsRequest, deadlineMs: number): Promise<DeleteTopicsResponse>
  createPartitions (request: CreatePartitionsRequest, deadlineMs: number): Promise<CreatePartitionsResponse>
  electLeaders (request: ElectLeadersRequest, deadlineMs: number): Promise<ElectLeadersResponse>
  alterTopicConfigs (request: AlterTopicConfigsRequest, deadlineMs: number): Promise<AlterTopicConfigsResponse>
  alterUserScramCredentials (request: AlterUserScramCredentialsRequest, deadlineMs: number): Promise<AlterUserScramCredentialsResponse>
  createAcls (request: CreateAclsRequest, deadlineMs: number): Promise<CreateAclsResponse>
  deleteAcls (request: DeleteAclsRequest, deadlineMs: number): Promise<DeleteAclsResponse>
  close (): void
}

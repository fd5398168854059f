/**
 * The group part of `KafkaBrokerApi`: consumer groups (coordinators, the classic group protocol, offsets, listing and
 * describing), in domain terms: the coordinator's own request and response types (@gregor/coordinator), no Kafka
 * struct and no protobuf object. Implemented over the group coordinator runtime by `coordinator-group-api.ts`.
 *
 * Contract: a method that fails rejects with a GregorError whose code the handler answers in Kafka's terms
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID, ILLEGAL_GENERATION, ...); the classic protocol's
 * per-request answers carry their code in the response (`errorCode`, '' for success).
 */
import type {
  ClassicGroupDescription, ClassicHeartbeatRequest, ClassicHeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
  LeaveGroupRequest, LeaveGroupResponse, ListedGroup, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
  OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
} from '@gregor/coordinator'

/** The broker that coordinates a group, as clients of this listener dial it. */
export interface CoordinatorAddress {
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

export interface KafkaGroupApi {
  /** Creates `__consumer_offsets` on first use (the answer is then COORDINATOR_NOT_AVAILABLE, retriable). */
  findGroupCoordinator (groupId: string): Promise<CoordinatorAddress>
  /** May wait for the other members (the join phase). */
  joinGroup (request: JoinGroupRequest): Promise<JoinGroupResponse>
  /** A follower's waits for the leader's assignment. */
  syncGroup (request: SyncGroupRequest): Promise<SyncGroupResponse>
  heartbeat (request: ClassicHeartbeatRequest): Promise<ClassicHeartbeatResponse>
  leaveGroup (request: LeaveGroupRequest): Promise<LeaveGroupResponse>
  /** Either group type; `memberEpoch` carries OffsetCommit's generation id (-1: a simple commit). */
  commitOffsets (request: OffsetCommitRequest): Promise<OffsetCommitResponse>
  fetchOffsets (request: OffsetFetchRequest): Promise<OffsetFetchResponse>
  /** The groups this broker coordinates. */
  listGroups (): readonly ListedGroup[]
  /** GROUP_ID_NOT_FOUND for a group that does not exist or is a KIP-848 group. */
  describeGroup (groupId: string): Promise<ClassicGroupDescription>
}

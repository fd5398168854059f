/**
 * The group part of `KafkaBrokerApi`: consumer groups (coordinators, the classic group protocol, KIP-848's consumer
 * group protocol, offsets, listing, describing and deleting), in domain terms: the coordinator's own request and response types (@gregor/coordinator), no Kafka
 * struct and no protobuf object. Implemented over the group coordinator runtime by `coordinator-group-api.ts`.
 *
 * Contract: a method that fails rejects with a GregorError whose code the handler answers in Kafka's terms
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID, ILLEGAL_GENERATION, ...); the classic protocol's
 * per-request answers carry their code in the response (`errorCode`, '' for success).
 */
import type {
  ClassicGroupDescription, ClassicHeartbeatRequest, ClassicHeartbeatResponse, DescribedGroup, GroupResult, HeartbeatRequest,
  HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListedGroup,
  OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
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
  /**
   * KIP-848's heartbeat: joins (epoch 0), keeps or leaves (-1) a member of a consumer group; the answer is the
   * member's epoch and whole current assignment. Request-level failures reject (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
   * UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, INVALID_REQUEST, ...; see consumer-group-heartbeat.ts).
   */
  consumerGroupHeartbeat (request: HeartbeatRequest): Promise<HeartbeatResponse>
  /** A group of either type as the coordinator describes it; GROUP_ID_NOT_FOUND when there is none. */
  describeConsumerGroup (groupId: string): Promise<DescribedGroup>
  /** Deletes a group without members and its offsets: '' deleted, else GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
  deleteGroup (groupId: string): Promise<GroupResult>
  /** Per partition '' or GROUP_SUBSCRIBED_TO_TOPIC; GROUP_ID_NOT_FOUND / NON_EMPTY_GROUP for the whole group reject. */
  deleteOffsets (request: OffsetDeleteRequest): Promise<OffsetDeleteResponse>
  /** The id of topic `name` (KIP-848's APIs name topics by id), undefined when no such topic exists. */
  topicId (name: string): string | undefined
  /** The name of the topic with id `topicId`, undefined when no such topic exists. */
  topicName (topicId: string): string | undefined
}

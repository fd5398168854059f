/**
 * gRPC method definitions of proto/groups.proto: GroupService on the CLIENT listener (coordinator lookup, KIP-848
 * consumer group heartbeat, committed offsets, group admin).
 */
import { grpcMethod } from './grpc-method.js'
import { wire } from './generated.js'

const g = wire.groups
const unary = { requestStream: false, responseStream: false }
const service = '/gregor.groups.GroupService'

export const groupMethods = {
  findCoordinator: grpcMethod({ path: `${service}/FindCoordinator`, ...unary, request: g.FindCoordinatorRequest, response: g.FindCoordinatorResponse }),
  consumerGroupHeartbeat: grpcMethod({ path: `${service}/ConsumerGroupHeartbeat`, ...unary, request: g.ConsumerGroupHeartbeatRequest, response: g.ConsumerGroupHeartbeatResponse }),
  offsetCommit: grpcMethod({ path: `${service}/OffsetCommit`, ...unary, request: g.OffsetCommitRequest, response: g.OffsetCommitResponse }),
  offsetFetch: grpcMethod({ path: `${service}/OffsetFetch`, ...unary, request: g.OffsetFetchRequest, response: g.OffsetFetchResponse }),
  offsetDelete: grpcMethod({ path: `${service}/OffsetDelete`, ...unary, request: g.OffsetDeleteRequest, response: g.OffsetDeleteResponse }),
  resetOffsets: grpcMethod({ path: `${service}/ResetOffsets`, ...unary, request: g.ResetOffsetsRequest, response: g.ResetOffsetsResponse }),
  describeGroups: grpcMethod({ path: `${service}/DescribeGroups`, ...unary, request: g.DescribeGroupsRequest, response: g.DescribeGroupsResponse }),
  deleteGroups: grpcMethod({ path: `${service}/DeleteGroups`, ...unary, request: g.DeleteGroupsRequest, response: g.DeleteGroupsResponse }),
  listGroups: grpcMethod({ path: `${service}/ListGroups`, ...unary, request: g.ListGroupsRequest, response: g.ListGroupsResponse }),
} as const

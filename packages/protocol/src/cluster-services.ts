/**
 * gRPC method definitions of proto/cluster.proto: ClientService (clients → any broker), ControllerService
 * (brokers → the active controller) and ReplicationService (followers → partition leaders).
 */
import type * as grpc from '@grpc/grpc-js'
import { grpcMethod, type GrpcMethod } from './grpc-method.js'
import { wire } from './generated.js'

const c = wire.cluster
const unary = { requestStream: false, responseStream: false }
const bidi = { requestStream: true, responseStream: true }

/**
 * Unanswered requests a client may have on one ClientService.ProduceStream: the broker ends a stream that has more
 * with RESOURCE_EXHAUSTED (a client bug, not load), and Gregor's client keeps a request waiting until one answers.
 * Generous: a broker's requests in flight are bounded by the producer's in-flight batches per partition anyway.
 */
export const PRODUCE_STREAM_IN_FLIGHT_MAX = 256

export const clientMethods = {
  metadata: grpcMethod({ path: '/gregor.cluster.ClientService/Metadata', ...unary, request: c.MetadataRequest, response: c.MetadataResponse }),
  createTopics: grpcMethod({ path: '/gregor.cluster.ClientService/CreateTopics', ...unary, request: c.CreateTopicsRequest, response: c.CreateTopicsResponse }),
  deleteTopics: grpcMethod({ path: '/gregor.cluster.ClientService/DeleteTopics', ...unary, request: c.DeleteTopicsRequest, response: c.DeleteTopicsResponse }),
  produce: grpcMethod({ path: '/gregor.cluster.ClientService/Produce', ...unary, request: c.ProduceRequest, response: c.ProduceResponse }),
  produceStream: grpcMethod({ path: '/gregor.cluster.ClientService/ProduceStream', ...bidi, request: c.ProduceStreamRequest, response: c.ProduceStreamResponse }),
  fetch: grpcMethod({ path: '/gregor.cluster.ClientService/Fetch', ...unary, request: c.FetchRequest, response: c.FetchResponse }),
  listOffsets: grpcMethod({ path: '/gregor.cluster.ClientService/ListOffsets', ...unary, request: c.ListOffsetsRequest, response: c.ListOffsetsResponse }),
  describeCluster: grpcMethod({ path: '/gregor.cluster.ClientService/DescribeCluster', ...unary, request: c.DescribeClusterRequest, response: c.DescribeClusterResponse }),
  initProducerId: grpcMethod({ path: '/gregor.cluster.ClientService/InitProducerId', ...unary, request: c.InitProducerIdRequest, response: c.InitProducerIdResponse }),
  createPartitions: grpcMethod({ path: '/gregor.cluster.ClientService/CreatePartitions', ...unary, request: c.CreatePartitionsRequest, response: c.CreatePartitionsResponse }),
  alterTopicConfigs: grpcMethod({ path: '/gregor.cluster.ClientService/AlterTopicConfigs', ...unary, request: c.AlterTopicConfigsRequest, response: c.AlterTopicConfigsResponse }),
  alterUserScramCredentials: grpcMethod({ path: '/gregor.cluster.ClientService/AlterUserScramCredentials', ...unary, request: c.AlterUserScramCredentialsRequest, response: c.AlterUserScramCredentialsResponse }),
  describeUserScramCredentials: grpcMethod({ path: '/gregor.cluster.ClientService/DescribeUserScramCredentials', ...unary, request: c.DescribeUserScramCredentialsRequest, response: c.DescribeUserScramCredentialsResponse }),
} as const

export const controllerMethods = {
  registerBroker: grpcMethod({ path: '/gregor.cluster.ControllerService/RegisterBroker', ...unary, request: c.RegisterBrokerRequest, response: c.RegisterBrokerResponse }),
  heartbeat: grpcMethod({ path: '/gregor.cluster.ControllerService/Heartbeat', ...bidi, request: c.BrokerHeartbeat, response: c.BrokerHeartbeatResponse }),
  alterPartition: grpcMethod({ path: '/gregor.cluster.ControllerService/AlterPartition', ...unary, request: c.AlterPartitionRequest, response: c.AlterPartitionResponse }),
  createTopics: grpcMethod({ path: '/gregor.cluster.ControllerService/CreateTopics', ...unary, request: c.CreateTopicsRequest, response: c.CreateTopicsResponse }),
  deleteTopics: grpcMethod({ path: '/gregor.cluster.ControllerService/DeleteTopics', ...unary, request: c.DeleteTopicsRequest, response: c.DeleteTopicsResponse }),
  createPartitions: grpcMethod({ path: '/gregor.cluster.ControllerService/CreatePartitions', ...unary, request: c.CreatePartitionsRequest, response: c.CreatePartitionsResponse }),
  electLeaders: grpcMethod({ path: '/gregor.cluster.ControllerService/ElectLeaders', ...unary, request: c.ElectLeadersRequest, response: c.ElectLeadersResponse }),
  alterTopicConfigs: grpcMethod({ path: '/gregor.cluster.ControllerService/AlterTopicConfigs', ...unary, request: c.AlterTopicConfigsRequest, response: c.AlterTopicConfigsResponse }),
  alterUserScramCredentials: grpcMethod({ path: '/gregor.cluster.ControllerService/AlterUserScramCredentials', ...unary, request: c.AlterUserScramCredentialsRequest, response: c.AlterUserScramCredentialsResponse }),
  createAcls: grpcMethod({ path: '/gregor.cluster.ControllerService/CreateAcls', ...unary, request: c.CreateAclsRequest, response: c.CreateAclsResponse }),
  deleteAcls: grpcMethod({ path: '/gregor.cluster.ControllerService/DeleteAcls', ...unary, request: c.DeleteAclsRequest, response: c.DeleteAclsResponse }),
} as const

export const replicationMethods = {
  fetch: grpcMethod({ path: '/gregor.cluster.ReplicationService/Fetch', ...bidi, request: c.ReplicaFetchRequest, response: c.ReplicaFetchResponse }),
} as const

/** A grpc-js service definition from a table of methods (what `server.addService` takes). */
export function serviceDefinition (methods: Record<string, GrpcMethod<unknown, never, unknown, never>>): grpc.ServiceDefinition {
  return methods as unknown as grpc.ServiceDefinition
}

/**
 * Typed unary call on a grpc-js Client: resolves with the decoded response, rejects with the grpc ServiceError
 * (transport failure) — domain errors are in the response's error_code fields.
 */
export async function unaryCall<Request, RequestProperties, Response, ResponseProperties> (
  client: grpc.Client,
  method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
  request: RequestProperties,
  options: { deadlineMs: number },
): Promise<Response> {
  return await new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path, method.requestSerialize, method.responseDeserialize, request,
      { deadline: Date.now() + options.deadlineMs },
      (error, response) => { if (error !== null || response === undefined) reject(error ?? new Error('empty response')); else resolve(response) },
    )
  })
}

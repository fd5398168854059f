/**
 * gRPC method definitions of proto/raft.proto: RaftService (voter to voter) and QuorumService (callers to a voter).
 */
import { grpcMethod } from './grpc-method.js'
import { wire } from './generated.js'

const raft = wire.raft

export const raftSendMethod = grpcMethod({
  path: '/gregor.raft.RaftService/Send', requestStream: true, responseStream: false,
  request: raft.Envelope, response: raft.StreamAck,
})

export const quorumProposeMethod = grpcMethod({
  path: '/gregor.raft.QuorumService/Propose', requestStream: false, responseStream: false,
  request: raft.ProposeRequest, response: raft.ProposeResponse,
})

export const quorumStatusMethod = grpcMethod({
  path: '/gregor.raft.QuorumService/Status', requestStream: false, responseStream: false,
  request: raft.QuorumStatusRequest, response: raft.QuorumStatusResponse,
})

export const quorumReadAppliedMethod = grpcMethod({
  path: '/gregor.raft.QuorumService/ReadApplied', requestStream: false, responseStream: false,
  request: raft.ReadAppliedRequest, response: raft.ReadAppliedResponse,
})

/**
 * QuorumService: what callers ask of a metadata-quorum voter (propose, status, read what was applied), the server
 * side adapter and a small typed client. Domain failures travel as Kafka-named `error_code` strings in the response;
 * gRPC status codes only mean transport failure or a malformed request.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { channelOptions, type GrpcMethod } from './grpc-method.js'
import { quorumProposeMethod, quorumReadAppliedMethod, quorumStatusMethod } from './raft-services.js'
import type { gregor } from './generated.js'

export type QuorumStatus = gregor.raft.QuorumStatusResponse.$Properties

export interface QuorumServiceImplementation {
  /** Resolves with the raft index once the proposal committed and applied; rejects with a GregorError. */
  propose (data: Uint8Array): Promise<{ index: number }>
  status (): QuorumStatus
  readApplied (fromPosition: number, entriesMax: number): { payloads: Uint8Array[]; appliedCount: number }
  /** Current leader, for NOT_CONTROLLER answers. */
  leaderId (): number
}

const readAppliedEntriesMax = 10_000

export function addQuorumService (server: grpc.Server, implementation: QuorumServiceImplementation): void {
  const propose: grpc.handleUnaryCall<gregor.raft.ProposeRequest, gregor.raft.ProposeResponse.$Properties> = (call, callback) => {
    implementation.propose(call.request.data).then(
      ({ index }) => callback(null, { index }),
      (error: unknown) => {
        const code = isGregorError(error) ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR
        const message = error instanceof Error ? error.message : String(error)
        callback(null, { errorCode: code, errorMessage: message, leaderId: implementation.leaderId() })
      },
    )
  }
  const status: grpc.handleUnaryCall<gregor.raft.QuorumStatusRequest, QuorumStatus> = (_call, callback) => {
    callback(null, implementation.status())
  }
  const readApplied: grpc.handleUnaryCall<gregor.raft.ReadAppliedRequest, gregor.raft.ReadAppliedResponse.$Properties> = (call, callback) => {
    const entriesMax = Math.min(call.request.maxEntries || readAppliedEntriesMax, readAppliedEntriesMax)
    callback(null, implementation.readApplied(call.request.fromPosition, entriesMax))
  }
  server.addService(
    { propose: quorumProposeMethod, status: quorumStatusMethod, readApplied: quorumReadAppliedMethod } as grpc.ServiceDefinition,
    { propose, status, readApplied },
  )
}

/** A typed client for one voter's QuorumService. */
export class QuorumClient {
  readonly #client: grpc.Client

  /** `credentials`: channelCredentials of grpc-credentials.ts; plaintext by default. */
  constructor (address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    this.#client = new grpc.Client(address, credentials, channelOptions(64 * 1024 * 1024))
  }

  /** Resolves with the committed index; rejects with a GregorError carrying the server's code and `leaderId`. */
  async propose (data: Uint8Array, deadlineMs = 5_000): Promise<number> {
    const response = await this.#unary(quorumProposeMethod, { data }, deadlineMs)
    if (response.errorCode !== '') {
      throw new GregorError(response.errorCode as ErrorCode, response.errorMessage, { details: { leaderId: response.leaderId } })
    }
    return response.index
  }

  async status (deadlineMs = 2_000): Promise<gregor.raft.QuorumStatusResponse> {
    return await this.#unary(quorumStatusMethod, {}, deadlineMs)
  }

  async readApplied (fromPosition: number, maxEntries: number, deadlineMs = 5_000): Promise<gregor.raft.ReadAppliedResponse> {
    return await this.#unary(quorumReadAppliedMethod, { fromPosition, maxEntries }, deadlineMs)
  }

  close (): void {
    this.#client.close()
  }

  async #unary<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    deadlineMs: number,
  ): Promise<Response> {
    return await new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path, method.requestSerialize, method.responseDeserialize, request,
        new grpc.Metadata(), { deadline: Date.now() + deadlineMs },
        (error, response) => { if (error !== null || response === undefined) reject(error ?? new Error('empty response')); else resolve(response) },
      )
    })
  }
}

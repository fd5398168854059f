/**
 * The production `ControllerChannel`: gRPC to the BROKER listener of whichever voter leads the metadata quorum. One
 * channel per controller address, replaced when the address changes (grpc-js then resolves the host name afresh: a
 * restarted container has a new address). Transport failures that leave the outcome open (UNAVAILABLE,
 * DEADLINE_EXCEEDED, CANCELLED) become NETWORK_EXCEPTION, as the channel contract says.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError } from '@gregor/common'
import { type GrpcMethod, channelOptions, controllerMethods, type gregor, unaryCall } from '@gregor/protocol'
import type { ControllerChannel, HeartbeatHandlers, HeartbeatSession } from '../controller/controller-channel.js'

type HeartbeatStream = grpc.ClientDuplexStream<gregor.cluster.BrokerHeartbeat.$Properties, gregor.cluster.BrokerHeartbeatResponse>

const retriableStatuses: ReadonlySet<unknown> = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED])

export class GrpcControllerChannel implements ControllerChannel {
  readonly #controllerAddress: () => string | undefined
  readonly #messageBytesMax: number
  readonly #credentials: () => grpc.ChannelCredentials
  #client: { address: string; client: grpc.Client } | undefined

  /**
   * `credentials`: to dial the controller now at `controllerAddress` with (broker-peers.ts `brokerChannelCredentials`
   * of its node); plaintext by default.
   */
  constructor (options: { controllerAddress: () => string | undefined; messageBytesMax: number; credentials?: () => grpc.ChannelCredentials }) {
    this.#controllerAddress = options.controllerAddress
    this.#messageBytesMax = options.messageBytesMax
    this.#credentials = options.credentials ?? (() => grpc.credentials.createInsecure())
  }

  target (): string | undefined {
    return this.#controllerAddress()
  }

  #currentClient (): grpc.Client | undefined {
    const address = this.#controllerAddress()
    if (address === undefined) return undefined
    if (this.#client?.address !== address) {
      this.#client?.client.close()
      const client = new grpc.Client(address, this.#credentials(), channelOptions(this.#messageBytesMax))
      this.#client = { address, client }
    }
    return this.#client.client
  }

  async #unary<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties, deadlineMs: number,
  ): Promise<Response> {
    const client = this.#currentClient()
    if (client === undefined) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, 'no controller is known')
    try {
      return await unaryCall(client, method, request, { deadlineMs })
    } catch (error) {
      if (retriableStatuses.has((error as { code?: unknown }).code)) {
        throw new GregorError(ErrorCode.NETWORK_EXCEPTION, `${method.path} failed: ${(error as Error).message}`, { cause: error })
      }
      throw error
    }
  }

  async registerBroker (request: gregor.cluster.RegisterBrokerRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.RegisterBrokerResponse> {
    return await this.#unary(controllerMethods.registerBroker, request, deadlineMs)
  }

  async alterPartition (request: gregor.cluster.AlterPartitionRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.AlterPartitionResponse> {
    return await this.#unary(controllerMethods.alterPartition, request, deadlineMs)
  }

  async createTopics (request: gregor.cluster.CreateTopicsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.CreateTopicsResponse> {
    return await this.#unary(controllerMethods.createTopics, request, deadlineMs)
  }

  async deleteTopics (request: gregor.cluster.DeleteTopicsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.DeleteTopicsResponse> {
    return await this.#unary(controllerMethods.deleteTopics, request, deadlineMs)
  }

  async createPartitions (request: gregor.cluster.CreatePartitionsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.CreatePartitionsResponse> {
    return await this.#unary(controllerMethods.createPartitions, request, deadlineMs)
  }

  async electLeaders (request: gregor.cluster.ElectLeadersRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.ElectLeadersResponse> {
    return await this.#unary(controllerMethods.electLeaders, request, deadlineMs)
  }

  async alterTopicConfigs (request: gregor.cluster.AlterTopicConfigsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.AlterTopicConfigsResponse> {
    return await this.#unary(controllerMethods.alterTopicConfigs, request, deadlineMs)
  }

  async alterUserScramCredentials (request: gregor.cluster.AlterUserScramCredentialsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.AlterUserScramCredentialsResponse> {
    return await this.#unary(controllerMethods.alterUserScramCredentials, request, deadlineMs)
  }

  async createAcls (request: gregor.cluster.CreateAclsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.CreateAclsResponse> {
    return await this.#unary(controllerMethods.createAcls, request, deadlineMs)
  }

  async deleteAcls (request: gregor.cluster.DeleteAclsRequest.$Properties, deadlineMs: number): Promise<gregor.cluster.DeleteAclsResponse> {
    return await this.#unary(controllerMethods.deleteAcls, request, deadlineMs)
  }

  openHeartbeats (handlers: HeartbeatHandlers): HeartbeatSession | undefined {
    const client = this.#currentClient()
    if (client === undefined) return undefined
    const { heartbeat } = controllerMethods
    const stream: HeartbeatStream = client.makeBidiStreamRequest(heartbeat.path, heartbeat.requestSerialize, heartbeat.responseDeserialize)
    let open = true
    const end = (): void => {
      if (!open) return
      open = false
      stream.removeAllListeners()
      stream.on('error', () => {})
      stream.cancel()
    }
    const broken = (reason: string): void => {
      if (!open) return
      end()
      handlers.onBroken(reason)
    }
    stream.on('data', (response: gregor.cluster.BrokerHeartbeatResponse) => { if (open) handlers.onResponse(response) })
    stream.on('error', (error: Error) => { broken(error.message) })
    stream.on('end', () => { broken('stream ended') })
    return {
      send: (request) => { if (open) stream.write(request) },
      close: end,
    }
  }

  close (): void {
    this.#client?.client.close()
    this.#client = undefined
  }
}

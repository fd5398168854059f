/**
 * A `ControllerChannel` for tests in one process: calls go straight to the `Controller` of whichever node this broker
 * believes leads the metadata quorum, answers pass through the wire codecs (so they arrive as gRPC would deliver
 * them, every field present), and deadlines run on the injected timers.
 *
 * As the gRPC channel: a controller that is not reachable (`controllerOf` undefined: stopped, or cut off by the test)
 * or does not answer within the deadline fails the call with NETWORK_EXCEPTION; a heartbeat session is bound to the
 * controller it was opened to, breaks (`onBroken`, once) when that controller becomes unreachable, and its end
 * (break or `close`) is reported to that controller as a lost connection, as the gRPC service does when a stream ends.
 */
import { ErrorCode, GregorError, type NodeId, type Timers, nodeId } from '@gregor/common'
import { type GrpcMethod, controllerMethods } from '@gregor/protocol'
import type { ControllerChannel, HeartbeatHandlers, HeartbeatSession } from '../controller/controller-channel.js'
import type { Controller } from '../controller/controller.js'

export interface InProcessControllerChannelOptions {
  /** The quorum leader as this broker knows it, 0 while unknown. */
  readonly leaderId: () => number
  readonly controllerOf: (brokerId: NodeId) => Controller | undefined
  readonly timers: Timers
}

/** An answer as the caller would get it from the wire: encoded and decoded by the method's own codecs. */
function overTheWire<Request, RequestProperties, Response, ResponseProperties> (
  method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, response: ResponseProperties,
): Response {
  return method.responseDeserialize(method.responseSerialize(response))
}

export class InProcessControllerChannel implements ControllerChannel {
  readonly #options: InProcessControllerChannelOptions

  constructor (options: InProcessControllerChannelOptions) {
    this.#options = options
  }

  target (): string | undefined {
    const leader = this.#options.leaderId()
    return leader === 0 ? undefined : String(leader)
  }

  async #call<T> (deadlineMs: number, handle: (controller: Controller) => Promise<T>): Promise<T> {
    const leader = this.#options.leaderId()
    const controller = leader === 0 ? undefined : this.#options.controllerOf(nodeId(leader))
    if (controller === undefined) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, 'no reachable controller', { details: { leader } })
    return await new Promise<T>((resolve, reject) => {
      const timer = this.#options.timers.setTimeout(() => {
        reject(new GregorError(ErrorCode.NETWORK_EXCEPTION, 'controller call deadline exceeded', { details: { leader, deadlineMs } }))
      }, deadlineMs)
      handle(controller).then(
        (value) => { timer.cancel(); resolve(value) },
        (error: unknown) => { timer.cancel(); reject(error) },
      )
    })
  }

  async registerBroker (request: Parameters<ControllerChannel['registerBroker']>[0], deadlineMs: number): ReturnType<ControllerChannel['registerBroker']> {
    return overTheWire(controllerMethods.registerBroker, await this.#call(deadlineMs, async (controller) => await controller.registerBroker(request)))
  }

  async alterPartition (request: Parameters<ControllerChannel['alterPartition']>[0], deadlineMs: number): ReturnType<ControllerChannel['alterPartition']> {
    return overTheWire(controllerMethods.alterPartition, await this.#call(deadlineMs, async (controller) => await controller.alterPartition(request)))
  }

  async createTopics (request: Parameters<ControllerChannel['createTopics']>[0], deadlineMs: number): ReturnType<ControllerChannel['createTopics']> {
    return overTheWire(controllerMethods.createTopics, await this.#call(deadlineMs, async (controller) => await controller.createTopics(request)))
  }

  async deleteTopics (request: Parameters<ControllerChannel['deleteTopics']>[0], deadlineMs: number): ReturnType<ControllerChannel['deleteTopics']> {
    return overTheWire(controllerMethods.deleteTopics, await this.#call(deadlineMs, async (controller) => await controller.deleteTopics(request)))
  }

  async createPartitions (request: Parameters<ControllerChannel['createPartitions']>[0], deadlineMs: number): ReturnType<ControllerChannel['createPartitions']> {
    return overTheWire(controllerMethods.createPartitions, await this.#call(deadlineMs, async (controller) => await controller.createPartitions(request)))
  }

  async electLeaders (request: Parameters<ControllerChannel['electLeaders']>[0], deadlineMs: number): ReturnType<ControllerChannel['electLeaders']> {
    return overTheWire(controllerMethods.electLeaders, await this.#call(deadlineMs, async (controller) => await controller.electLeaders(request)))
  }

  async alterTopicConfigs (request: Parameters<ControllerChannel['alterTopicConfigs']>[0], deadlineMs: number): ReturnType<ControllerChannel['alterTopicConfigs']> {
    return overTheWire(controllerMethods.alterTopicConfigs, await this.#call(deadlineMs, async (controller) => await controller.alterTopicConfigs(request)))
  }

  async alterUserScramCredentials (request: Parameters<ControllerChannel['alterUserScramCredentials']>[0], deadlineMs: number): ReturnType<ControllerChannel['alterUserScramCredentials']> {
    return overTheWire(controllerMethods.alterUserScramCredentials, await this.#call(deadlineMs, async (controller) => await controller.alterUserScramCredentials(request)))
  }

  async createAcls (request: Parameters<ControllerChannel['createAcls']>[0], deadlineMs: number): ReturnType<ControllerChannel['createAcls']> {
    return overTheWire(controllerMethods.createAcls, await this.#call(deadlineMs, async (controller) => await controller.createAcls(request)))
  }

  async deleteAcls (request: Parameters<ControllerChannel['deleteAcls']>[0], deadlineMs: number): ReturnType<ControllerChannel['deleteAcls']> {
    return overTheWire(controllerMethods.deleteAcls, await this.#call(deadlineMs, async (controller) => await controller.deleteAcls(request)))
  }

  openHeartbeats (handlers: HeartbeatHandlers): HeartbeatSession | undefined {
    const leader = this.#options.leaderId()
    if (leader === 0) return undefined
    const to = nodeId(leader)
    const controller = this.#options.controllerOf(to)
    if (controller === undefined) return undefined
    let open = true
    let sender: { brokerId: NodeId; incarnationId: string } | undefined
    const end = (): void => {
      open = false
      if (sender !== undefined) controller.connectionLost(sender.brokerId, sender.incarnationId)
    }
    const broken = (reason: string): void => {
      if (!open) return
      end()
      handlers.onBroken(reason)
    }
    return {
      send: (heartbeat) => {
        if (!open) return
        if (this.#options.controllerOf(to) !== controller) { broken('controller unreachable'); return }
        sender = { brokerId: nodeId(heartbeat.brokerId ?? 0), incarnationId: heartbeat.incarnationId ?? '' }
        controller.heartbeat(heartbeat).then(
          (response) => { if (open) handlers.onResponse(overTheWire(controllerMethods.heartbeat, response)) },
          (error: unknown) => { broken(error instanceof Error ? error.message : String(error)) },
        )
      },
      close: () => { if (open) end() },
    }
  }

  close (): void {}
}

/**
 * A broker's side of the controller protocol (KRaft's `BrokerLifecycleManager`), on every broker.
 *
 * Owns: registration of this incarnation with the active controller, one long-lived Heartbeat stream to it carrying
 * the metadata applied index every `heartbeatIntervalMs`, the broker's fenced flag as the controller last reported
 * it, controlled shutdown (`want_shut_down` until the controller says `shutdown_ready`), and forwarding AlterPartition
 * and admin requests to whichever broker is controller now.
 *
 * Invariants: at most one heartbeat stream is open; it is torn down and reopened (with bounded backoff) when it
 * breaks, when the controller address changes, or when the controller does not know this incarnation (it then
 * registers again first). Every retry loop is bounded by backoff and, for forwarded requests, by a deadline. `stop()`
 * cancels the stream without a goodbye: to the controller that looks like a dead process, which is what a stopping
 * broker is once its controlled shutdown is done.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError, type Logger, type NodeId } from '@gregor/common'
import { type GrpcMethod, channelOptions, controllerMethods, type gregor, unaryCall } from '@gregor/protocol'
import { type BrokerLifecycleConfig, defaultBrokerLifecycleConfig } from './controller-config.js'

export interface BrokerLifecycleDeps {
  readonly brokerId: NodeId
  readonly incarnationId: string
  readonly clusterId: string
  readonly listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[]
  readonly rack?: string | undefined
  /** BROKER-listener `host:port` of the current Raft leader, undefined while unknown. */
  readonly controllerAddress: () => string | undefined
  readonly appliedIndex: () => number
  readonly heartbeatIntervalMs?: number
  readonly config?: Partial<BrokerLifecycleConfig>
  readonly logger: Logger
}

type HeartbeatStream = grpc.ClientDuplexStream<gregor.cluster.BrokerHeartbeat.$Properties, gregor.cluster.BrokerHeartbeatResponse>

/** Answers that mean "register again": the controller does not know this incarnation (any more). */
const reregisterCodes: ReadonlySet<string> = new Set(['BROKER_ID_NOT_REGISTERED', 'STALE_BROKER_EPOCH'])

const isRetriableStatus = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED
}

export class BrokerLifecycle {
  readonly #deps: BrokerLifecycleDeps
  readonly #config: BrokerLifecycleConfig
  readonly #log: Logger
  readonly #fencedListeners: ((fenced: boolean) => void)[] = []
  readonly #shutdownWaiters = new Set<() => void>()
  #client: { address: string; client: grpc.Client } | undefined
  #running = false
  #registered = false
  #fenced = true
  #wantShutDown = false
  #shutdownReady = false
  #backoffMs: number
  /** Wakes the run loop early (stop, shutdown request). */
  #wake: () => void = () => {}
  #endSession: () => void = () => {}
  #sendHeartbeat: () => void = () => {}

  constructor (deps: BrokerLifecycleDeps) {
    this.#deps = deps
    this.#config = {
      ...defaultBrokerLifecycleConfig,
      ...deps.config,
      ...(deps.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: deps.heartbeatIntervalMs }),
    }
    this.#backoffMs = this.#config.retryBackoffMsMin
    this.#log = deps.logger.child({ component: 'broker-lifecycle' })
  }

  /** As the controller last reported; true until the first answer says otherwise. */
  get fenced (): boolean { return this.#fenced }

  get registered (): boolean { return this.#registered }

  onFencedChange (listener: (fenced: boolean) => void): void {
    this.#fencedListeners.push(listener)
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#run().catch((error: unknown) => { this.#log.error({ err: error }, 'broker lifecycle failed') })
  }

  /** Ends the heartbeat stream without a goodbye and closes the controller channel. */
  stop (): void {
    this.#running = false
    this.#endSession()
    this.#wake()
    this.#client?.client.close()
    this.#client = undefined
    for (const waiter of this.#shutdownWaiters) waiter()
  }

  /** Asks for controlled shutdown; true once the controller says this broker leads nothing, false on timeout. */
  async requestShutdown (timeoutMs: number): Promise<boolean> {
    if (this.#shutdownReady) return true
    if (!this.#running) return false
    this.#wantShutDown = true
    this.#log.info({ brokerId: this.#deps.brokerId }, 'controlled shutdown requested')
    this.#sendHeartbeat()
    return await new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#shutdownWaiters.delete(done)
        resolve(this.#shutdownReady)
      }
      const timer = setTimeout(done, timeoutMs)
      this.#shutdownWaiters.add(done)
    })
  }

  /** A channel to the current controller, kept while its address stays the same; undefined while none is known. */
  controllerClient (): grpc.Client | undefined {
    const address = this.#deps.controllerAddress()
    if (address === undefined) return undefined
    if (this.#client?.address !== address) {
      this.#client?.client.close()
      // A new channel per address: grpc-js resolves the host name afresh (a restarted container has a new address).
      const client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions(this.#config.messageBytesMax))
      this.#client = { address, client }
    }
    return this.#client.client
  }

  async alterPartition (request: gregor.cluster.AlterPartitionRequest.$Properties): Promise<gregor.cluster.AlterPartitionResponse> {
    return await this.#forward(controllerMethods.alterPartition, request, (response) => response.errorCode === ErrorCode.NOT_CONTROLLER)
  }

  async createTopics (request: gregor.cluster.CreateTopicsRequest.$Properties): Promise<gregor.cluster.CreateTopicsResponse> {
    return await this.#forward(controllerMethods.createTopics, request, (response) => allNotController(response.topics))
  }

  async deleteTopics (request: gregor.cluster.DeleteTopicsRequest.$Properties): Promise<gregor.cluster.DeleteTopicsResponse> {
    return await this.#forward(controllerMethods.deleteTopics, request, (response) => allNotController(response.topics))
  }

  async #run (): Promise<void> {
    while (this.#running) {
      const address = this.#deps.controllerAddress()
      const client = this.controllerClient()
      if (address === undefined || client === undefined) {
        await this.#backoff()
      } else if (!this.#registered) {
        if (!await this.#register(client, address)) await this.#backoff()
      } else {
        const healthy = await this.#heartbeatSession(client, address)
        if (!healthy) await this.#backoff()
      }
    }
  }

  async #register (client: grpc.Client, address: string): Promise<boolean> {
    const { brokerId, incarnationId, clusterId, listeners, rack } = this.#deps
    try {
      const response = await unaryCall(client, controllerMethods.registerBroker,
        { brokerId, incarnationId, clusterId, listeners: [...listeners], rack: rack ?? '' },
        { deadlineMs: this.#config.registerDeadlineMs })
      if (response.errorCode !== '') {
        this.#log.debug({ controllerAddress: address, errorCode: response.errorCode, errorMessage: response.errorMessage }, 'registration refused')
        return false
      }
      this.#registered = true
      this.#backoffMs = this.#config.retryBackoffMsMin
      this.#log.info({ brokerId, incarnationId, controllerAddress: address }, 'broker registered')
      return true
    } catch (error) {
      this.#log.debug({ controllerAddress: address, err: error }, 'registration failed')
      return false
    }
  }

  /** Heartbeats over one stream until it breaks or the controller moves; resolves whether it ended in good health. */
  async #heartbeatSession (client: grpc.Client, address: string): Promise<boolean> {
    const { heartbeat } = controllerMethods
    const stream: HeartbeatStream = client.makeBidiStreamRequest(heartbeat.path, heartbeat.requestSerialize, heartbeat.responseDeserialize)
    return await new Promise<boolean>((resolve) => {
      let healthy = true
      const send = (): void => {
        if (this.#deps.controllerAddress() !== address) { end(); return }
        stream.write({
          brokerId: this.#deps.brokerId, incarnationId: this.#deps.incarnationId,
          metadataAppliedIndex: this.#deps.appliedIndex(), wantShutDown: this.#wantShutDown,
        })
      }
      const timer = setInterval(send, this.#config.heartbeatIntervalMs)
      const end = (): void => {
        clearInterval(timer)
        this.#endSession = () => {}
        this.#sendHeartbeat = () => {}
        stream.removeAllListeners()
        stream.on('error', () => {})
        stream.cancel()
        resolve(healthy)
      }
      stream.on('data', (response: gregor.cluster.BrokerHeartbeatResponse) => {
        if (!this.#onHeartbeatResponse(response, address)) { healthy = false; end() }
      })
      stream.on('error', (error: Error) => {
        this.#log.debug({ controllerAddress: address, err: error.message }, 'heartbeat stream broken')
        healthy = false
        end()
      })
      stream.on('end', () => { healthy = false; end() })
      this.#endSession = end
      this.#sendHeartbeat = send
      send()
    })
  }

  /** Applies one answer; false when the session must end (controller moved, or it wants a new registration). */
  #onHeartbeatResponse (response: gregor.cluster.BrokerHeartbeatResponse, address: string): boolean {
    if (response.errorCode === '') {
      this.#backoffMs = this.#config.retryBackoffMsMin
      this.#setFenced(response.fenced)
      if (response.shutdownReady && !this.#shutdownReady) {
        this.#shutdownReady = true
        this.#log.info({ brokerId: this.#deps.brokerId }, 'controlled shutdown ready')
        for (const waiter of this.#shutdownWaiters) waiter()
      }
      return true
    }
    this.#log.debug({ controllerAddress: address, errorCode: response.errorCode }, 'heartbeat refused')
    if (reregisterCodes.has(response.errorCode)) this.#registered = false
    return false
  }

  #setFenced (fenced: boolean): void {
    if (fenced === this.#fenced) return
    this.#fenced = fenced
    this.#log.info({ brokerId: this.#deps.brokerId, fenced }, fenced ? 'broker fenced' : 'broker unfenced')
    for (const listener of this.#fencedListeners) listener(fenced)
  }

  async #backoff (): Promise<void> {
    const delayMs = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#config.retryBackoffMsMax)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#wake = () => {}; resolve() }, delayMs)
      this.#wake = () => { clearTimeout(timer); this.#wake = () => {}; resolve() }
    })
  }

  /** Calls the current controller, following it when it moves, until `requestDeadlineMs` runs out. */
  async #forward<Request, RequestProperties, Response, ResponseProperties> (
    method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>,
    request: RequestProperties,
    notController: (response: Response) => boolean,
  ): Promise<Response> {
    const deadlineMs = Date.now() + this.#config.requestDeadlineMs
    let backoffMs = this.#config.retryBackoffMsMin
    for (;;) {
      const remainingMs = deadlineMs - Date.now()
      if (remainingMs <= 0) {
        throw new GregorError(ErrorCode.REQUEST_TIMED_OUT, `no controller answered ${method.path} in time`)
      }
      const client = this.controllerClient()
      if (client !== undefined) {
        try {
          const response = await unaryCall(client, method, request, { deadlineMs: remainingMs })
          if (!notController(response)) return response
        } catch (error) {
          if (!isRetriableStatus(error)) throw error
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(backoffMs, Math.max(0, deadlineMs - Date.now()))))
      backoffMs = Math.min(backoffMs * 2, this.#config.retryBackoffMsMax)
    }
  }
}

function allNotController (topics: readonly { readonly errorCode?: string | null }[]): boolean {
  return topics.length > 0 && topics.every((topic) => topic.errorCode === ErrorCode.NOT_CONTROLLER)
}

/**
 * A broker's side of the controller protocol (KRaft's `BrokerLifecycleManager`), on every broker.
 *
 * Owns: registration of this incarnation with the active controller, one long-lived Heartbeat stream to it carrying
 * the metadata applied index every `heartbeatIntervalMs`, the broker's fenced flag as the controller last reported
 * it, controlled shutdown (`want_shut_down` until the controller says `shutdown_ready`), the log directory's health
 * (`log_dir_offline`, sent at once when it changes: the controller fences the broker while it is offline), and
 * forwarding AlterPartition
 * and admin requests to whichever broker is controller now.
 *
 * Invariants: at most one heartbeat stream is open; it is torn down and reopened (with bounded backoff) when it
 * breaks, when the controller address changes, or when the controller does not know this incarnation (it then
 * registers again first). Every retry loop is bounded by backoff and, for forwarded requests, by a deadline. `stop()`
 * cancels the stream without a goodbye: to the controller that looks like a dead process, which is what a stopping
 * broker is once its controlled shutdown is done.
 */
import { type Clock, ErrorCode, GregorError, type Logger, type NodeId, type Timers, isGregorError } from '@gregor/common'
import type { gregor } from '@gregor/protocol'
import type { ControllerChannel, HeartbeatSession } from './controller-channel.js'
import { type BrokerLifecycleConfig, defaultBrokerLifecycleConfig } from './controller-config.js'

export interface BrokerLifecycleDeps {
  readonly brokerId: NodeId
  readonly incarnationId: string
  readonly clusterId: string
  readonly listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[]
  readonly rack?: string | undefined
  /** The way to the active controller (gRPC in production, the simulated network in the simulation). */
  readonly channel: ControllerChannel
  readonly appliedIndex: () => number
  /**
   * The id in the broker's log directory (KIP-858), sent with every registration; undefined while it is not known
   * yet (registration waits). Absent: the broker reports none.
   */
  readonly logDirId?: () => string | undefined
  /** Replicas whose log must re-fetch after corruption (issue 10, defect 5), reported in every heartbeat. */
  readonly refetchingReplicas?: () => readonly { readonly topicId: string; readonly partition: number }[]
  /** Whether the broker's log directory is offline now (KIP-858); absent: never. */
  readonly logDirOffline?: () => boolean
  readonly heartbeatIntervalMs?: number
  readonly config?: Partial<BrokerLifecycleConfig>
  readonly clock: Clock
  readonly timers: Timers
  readonly logger: Logger
}

/** Answers that mean "register again": the controller does not know this incarnation (any more). */
const reregisterCodes: ReadonlySet<string> = new Set(['BROKER_ID_NOT_REGISTERED', 'STALE_BROKER_EPOCH'])

const isNetworkError = (error: unknown): boolean => isGregorError(error) && error.code === ErrorCode.NETWORK_EXCEPTION

export class BrokerLifecycle {
  readonly #deps: BrokerLifecycleDeps
  readonly #config: BrokerLifecycleConfig
  readonly #log: Logger
  readonly #fencedListeners: ((fenced: boolean) => void)[] = []
  readonly #shutdownWaiters = new Set<() => void>()
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
    this.#deps.channel.close()
    for (const waiter of this.#shutdownWaiters) waiter()
  }

  /** The log directory's health changed: tell the controller now rather than at the next interval. */
  logDirChanged (): void {
    this.#sendHeartbeat()
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
        timer.cancel()
        this.#shutdownWaiters.delete(done)
        resolve(this.#shutdownReady)
      }
      const timer = this.#deps.timers.setTimeout(done, timeoutMs)
      this.#shutdownWaiters.add(done)
    })
  }

  async alterPartition (request: gregor.cluster.AlterPartitionRequest.$Properties): Promise<gregor.cluster.AlterPartitionResponse> {
    return await this.#forward('alterPartition', async (deadlineMs) => await this.#deps.channel.alterPartition(request, deadlineMs), (response) => response.errorCode === ErrorCode.NOT_CONTROLLER)
  }

  async createTopics (request: gregor.cluster.CreateTopicsRequest.$Properties): Promise<gregor.cluster.CreateTopicsResponse> {
    return await this.#forward('createTopics', async (deadlineMs) => await this.#deps.channel.createTopics(request, deadlineMs), (response) => allNotController(response.topics))
  }

  async deleteTopics (request: gregor.cluster.DeleteTopicsRequest.$Properties): Promise<gregor.cluster.DeleteTopicsResponse> {
    return await this.#forward('deleteTopics', async (deadlineMs) => await this.#deps.channel.deleteTopics(request, deadlineMs), (response) => allNotController(response.topics))
  }

  async createPartitions (request: gregor.cluster.CreatePartitionsRequest.$Properties): Promise<gregor.cluster.CreatePartitionsResponse> {
    return await this.#forward('createPartitions', async (deadlineMs) => await this.#deps.channel.createPartitions(request, deadlineMs), (response) => allNotController(response.topics))
  }

  async alterTopicConfigs (request: gregor.cluster.AlterTopicConfigsRequest.$Properties): Promise<gregor.cluster.AlterTopicConfigsResponse> {
    return await this.#forward('alterTopicConfigs', async (deadlineMs) => await this.#deps.channel.alterTopicConfigs(request, deadlineMs), (response) => allNotController(response.topics))
  }

  async alterUserScramCredentials (request: gregor.cluster.AlterUserScramCredentialsRequest.$Properties): Promise<gregor.cluster.AlterUserScramCredentialsResponse> {
    return await this.#forward('alterUserScramCredentials', async (deadlineMs) => await this.#deps.channel.alterUserScramCredentials(request, deadlineMs), (response) => allNotController(response.results))
  }

  /** CreateAcls at the active controller, forwarded like CreateTopics; one result per creation. */
  async createAcls (request: gregor.cluster.CreateAclsRequest.$Properties): Promise<gregor.cluster.CreateAclsResponse> {
    return await this.#forward('createAcls', async (deadlineMs) => await this.#deps.channel.createAcls(request, deadlineMs), (response) => allNotController(response.results))
  }

  /** DeleteAcls at the active controller, forwarded like DeleteTopics; one result per filter. */
  async deleteAcls (request: gregor.cluster.DeleteAclsRequest.$Properties): Promise<gregor.cluster.DeleteAclsResponse> {
    return await this.#forward('deleteAcls', async (deadlineMs) => await this.#deps.channel.deleteAcls(request, deadlineMs), (response) => allNotController(response.results))
  }

  async electLeaders (request: gregor.cluster.ElectLeadersRequest.$Properties): Promise<gregor.cluster.ElectLeadersResponse> {
    return await this.#forward('electLeaders', async (deadlineMs) => await this.#deps.channel.electLeaders(request, deadlineMs), (response) => response.errorCode === ErrorCode.NOT_CONTROLLER)
  }

  async #run (): Promise<void> {
    while (this.#running) {
      const target = this.#deps.channel.target()
      if (target === undefined) {
        await this.#backoff()
      } else if (!this.#registered) {
        if (!await this.#register(target)) await this.#backoff()
      } else {
        const healthy = await this.#heartbeatSession(target)
        if (!healthy) await this.#backoff()
      }
    }
  }

  async #register (target: string): Promise<boolean> {
    const { brokerId, incarnationId, clusterId, listeners, rack } = this.#deps
    const logDirId = this.#deps.logDirId === undefined ? '' : this.#deps.logDirId()
    if (logDirId === undefined) return false
    try {
      const response = await this.#deps.channel.registerBroker(
        { brokerId, incarnationId, clusterId, listeners: [...listeners], rack: rack ?? '', logDirId },
        this.#config.registerDeadlineMs)
      if (response.errorCode !== '') {
        this.#log.debug({ controller: target, errorCode: response.errorCode, errorMessage: response.errorMessage }, 'registration refused')
        return false
      }
      this.#registered = true
      this.#backoffMs = this.#config.retryBackoffMsMin
      this.#log.info({ brokerId, incarnationId, controller: target }, 'broker registered')
      return true
    } catch (error) {
      // Whatever failed (network or controller), registration is retried after the backoff.
      this.#log.debug({ controller: target, err: error }, 'registration failed')
      return false
    }
  }

  /** Heartbeats over one session until it breaks or the controller moves; resolves whether it ended in good health. */
  async #heartbeatSession (target: string): Promise<boolean> {
    return await new Promise<boolean>((resolve) => {
      let healthy = true
      let session: HeartbeatSession | undefined
      let timer: { cancel: () => void } | undefined
      const end = (): void => {
        timer?.cancel()
        this.#endSession = () => {}
        this.#sendHeartbeat = () => {}
        session?.close()
        resolve(healthy)
      }
      const send = (): void => {
        if (this.#deps.channel.target() !== target) { end(); return }
        session?.send({
          brokerId: this.#deps.brokerId, incarnationId: this.#deps.incarnationId,
          metadataAppliedIndex: this.#deps.appliedIndex(), wantShutDown: this.#wantShutDown,
          logDirOffline: this.#deps.logDirOffline?.() ?? false,
          refetching: [...(this.#deps.refetchingReplicas?.() ?? [])],
        })
      }
      session = this.#deps.channel.openHeartbeats({
        onResponse: (response) => { if (!this.#onHeartbeatResponse(response, target)) { healthy = false; end() } },
        onBroken: (reason) => {
          this.#log.debug({ controller: target, reason }, 'heartbeat stream broken')
          healthy = false
          end()
        },
      })
      if (session === undefined) { healthy = false; end(); return }
      timer = this.#deps.timers.setInterval(send, this.#config.heartbeatIntervalMs)
      this.#endSession = end
      this.#sendHeartbeat = send
      send()
    })
  }

  /** Applies one answer; false when the session must end (controller moved, or it wants a new registration). */
  #onHeartbeatResponse (response: gregor.cluster.BrokerHeartbeatResponse, target: string): boolean {
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
    this.#log.debug({ controller: target, errorCode: response.errorCode }, 'heartbeat refused')
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
      const timer = this.#deps.timers.setTimeout(() => { this.#wake = () => {}; resolve() }, delayMs)
      this.#wake = () => { timer.cancel(); this.#wake = () => {}; resolve() }
    })
  }

  /** Calls the current controller, following it when it moves, until `requestDeadlineMs` runs out. */
  async #forward<Response> (
    name: string,
    call: (deadlineMs: number) => Promise<Response>,
    notController: (response: Response) => boolean,
  ): Promise<Response> {
    const { clock, timers } = this.#deps
    const deadlineMs = clock.nowMs() + this.#config.requestDeadlineMs
    let backoffMs = this.#config.retryBackoffMsMin
    for (;;) {
      const remainingMs = deadlineMs - clock.nowMs()
      if (remainingMs <= 0) {
        throw new GregorError(ErrorCode.REQUEST_TIMED_OUT, `no controller answered ${name} in time`)
      }
      if (this.#deps.channel.target() !== undefined) {
        try {
          const response = await call(remainingMs)
          if (!notController(response)) return response
        } catch (error) {
          if (!isNetworkError(error)) throw error
        }
      }
      await timers.sleep(Math.min(backoffMs, Math.max(0, deadlineMs - clock.nowMs())))
      backoffMs = Math.min(backoffMs * 2, this.#config.retryBackoffMsMax)
    }
  }
}

function allNotController (topics: readonly { readonly errorCode?: string | null }[]): boolean {
  return topics.length > 0 && topics.every((topic) => topic.errorCode === ErrorCode.NOT_CONTROLLER)
}

/**
 * One Gregor broker: the composition root. It owns the start and stop order of every component:
 *
 *   start: metadata quorum (raft voter on the BROKER listener) → controller (active only while this node leads the
 *   quorum) → replica manager (follows the applied metadata image) → client listeners → admin HTTP → broker
 *   lifecycle (register with the controller, heartbeat, get unfenced).
 *   stop (SIGTERM): controlled shutdown (the controller moves this broker's leaderships away) → replica manager
 *   (clean close of every log) → quorum (leadership transfer if it leads) → servers.
 *
 * Nothing here makes decisions: the controller decides from the image, the replica manager acts on it.
 */
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { Server as HttpServer } from 'node:http'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { type ErrorCode, GregorError, type Logger, type NodeId } from '@gregor/common'
import { CONSUMER_OFFSETS_TOPIC, defaultCoordinatorConfig, resolveCoordinatorConfig } from '@gregor/coordinator'
import { encodeMetadataRecords } from '@gregor/metadata'
import { defaultRaftTransportConfig } from '@gregor/protocol'
import { FileHandleCache, defaultLogConfig } from '@gregor/storage'
import { type AdminRoute, startAdminServer } from './admin-server.js'
import { bindServer } from './bind-server.js'
import type { BrokerConfig, ListenerAddress } from './broker-config.js'
import { addClientService } from './client-service.js'
import { ClusterPage, coordinatedGroups } from './cluster-page/index.js'
import { BrokerLifecycle, Controller, addControllerService, defaultControllerConfig } from './controller/index.js'
import { MetadataQuorum } from './metadata-quorum.js'
import { ProducerIdAllocator } from './producer-id-allocator.js'
import { MetadataStateMachine } from './metadata/metadata-state-machine.js'
import { BrokerMetrics, GroupMetrics, leaderElectionsIn, metricsRoute } from './metrics/index.js'
import { ReplicaManager, addReplicationService, defaultReplicationConfig } from './replica/index.js'
import { addGroupService } from './group-service.js'
import { GroupCoordinatorRuntime, appendCoordinatorRecords, offsetsReplicaOf, systemTimer } from './group-coordinator/index.js'

const systemClock = { nowMs: (): number => Date.now() }

/** How long a stopping broker lets requests in flight finish before it cuts every stream. */
const serverShutdownGraceMs = 500

async function shutdownServer (server: grpc.Server, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { server.forceShutdown(); resolve() }, graceMs)
    server.tryShutdown(() => { clearTimeout(timer); resolve() })
  })
}

export class Broker {
  readonly #config: BrokerConfig
  readonly #log: Logger
  /** The un-bound logger, for components that bind their own `component` field. */
  readonly #rootLogger: Logger
  readonly #stateMachine: MetadataStateMachine
  readonly #quorum: MetadataQuorum
  readonly #metrics: BrokerMetrics
  /** This process's incarnation: its registration, its heartbeats, and its producer ids' broker epoch. */
  readonly #incarnationId = randomUUID()
  readonly #servers: grpc.Server[] = []
  #admin: HttpServer | undefined
  #clusterPage: ClusterPage | undefined
  #controller: Controller | undefined
  #lifecycle: BrokerLifecycle | undefined
  #replicas: ReplicaManager | undefined
  #groups: GroupCoordinatorRuntime | undefined
  #files: FileHandleCache | undefined
  #lifecycleStopped = false

  constructor (config: BrokerConfig, logger: Logger) {
    this.#config = config
    this.#log = logger.child({ component: 'broker' })
    this.#rootLogger = logger
    this.#stateMachine = new MetadataStateMachine(logger)
    this.#quorum = new MetadataQuorum({
      nodeId: config.nodeId, clusterId: config.clusterId, voters: config.voters, dataDir: join(config.dataDir, 'metadata'),
    }, { stateMachine: this.#stateMachine, logger })
    // Gauges read the image, raft status and controller at scrape time; /metrics is mounted only after start.
    this.#metrics = new BrokerMetrics({
      brokerId: config.nodeId, image: () => this.#stateMachine.image, quorum: () => this.#quorum.status(),
      controllerActive: () => this.#controller?.isActive ?? false,
    })
  }

  /**
   * Starts every part, or none: a listener that cannot bind (its port taken) undoes what already started, so a
   * half-started broker never lingers as a raft voter that clients cannot reach; the error names the listener.
   */
  async start (): Promise<void> {
    try {
      await this.#start()
    } catch (error) {
      this.#lifecycleStopped = true
      await this.#teardown()
      throw error
    }
  }

  async #start (): Promise<void> {
    const { config } = this
    await mkdir(join(config.dataDir, 'logs'), { recursive: true })
    const brokerServer = new grpc.Server({ 'grpc.max_receive_message_length': defaultRaftTransportConfig.messageBytesMax })
    this.#servers.push(brokerServer)
    await this.#quorum.start(brokerServer)

    const controller = new Controller({
      brokerId: config.nodeId, clusterId: config.clusterId,
      config: { ...defaultControllerConfig, leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs },
      image: () => this.#stateMachine.image,
      propose: async (records) => {
        // Decisions run one at a time on the applied image, so it is the image this batch changes.
        const elections = leaderElectionsIn(this.#stateMachine.image, records)
        await this.#quorum.propose(encodeMetadataRecords(records))
        this.#metrics.leaderElectionsCommitted(elections)
      },
      newId: () => randomUUID(), clock: systemClock, logger: this.#rootLogger,
      activeVoters: () => this.#quorum.activeVoters(),
    })
    this.#controller = controller
    addControllerService(brokerServer, controller, this.#rootLogger)
    this.#quorum.onRoleChange((softState) => {
      if (softState.role === 'leader') controller.activate(); else controller.deactivate()
    })

    const lifecycle = new BrokerLifecycle({
      brokerId: config.nodeId, incarnationId: this.#incarnationId, clusterId: config.clusterId,
      listeners: config.advertisedListeners.filter((listener) => listener.name !== 'ADMIN'), rack: config.rack,
      controllerAddress: () => config.voters.get(this.#quorum.leaderId), appliedIndex: () => this.#quorum.appliedIndex,
      logger: this.#rootLogger,
    })
    this.#lifecycle = lifecycle

    this.#files = new FileHandleCache({ openFilesMax: defaultLogConfig.openFilesMax })
    const replicas = new ReplicaManager({
      brokerId: config.nodeId, dataDir: join(config.dataDir, 'logs'), logConfig: defaultLogConfig, files: this.#files,
      alterPartition: async (request) => await lifecycle.alterPartition(request),
      brokerAddress: (brokerId) => {
        const listener = this.#stateMachine.image.broker(brokerId as NodeId)?.listeners.find((item) => item.name === 'BROKER')
        return listener === undefined ? undefined : `${listener.host}:${listener.port}`
      },
      clock: systemClock, logger: this.#rootLogger,
      config: { ...defaultReplicationConfig, retentionCheckIntervalMs: config.logRetentionCheckIntervalMs, cleanerBackoffMs: config.logCleanerBackoffMs },
      onIsrChange: (previousIsr, isr) => { this.#metrics.isrChanged(previousIsr, isr) },
    })
    this.#replicas = replicas
    addReplicationService(brokerServer, replicas)
    const groups = this.#groups = new GroupCoordinatorRuntime({
      brokerId: config.nodeId,
      config: resolveCoordinatorConfig({
        sessionTimeoutMs: config.groupSessionTimeoutMs,
        heartbeatIntervalMs: config.groupHeartbeatIntervalMs,
        reconcileHeartbeatIntervalMs: Math.min(defaultCoordinatorConfig.reconcileHeartbeatIntervalMs, config.groupHeartbeatIntervalMs),
      }),
      offsetsTopicNumPartitions: config.offsetsTopicNumPartitions,
      offsetsTopicSegmentBytes: config.offsetsTopicSegmentBytes,
      image: () => this.#stateMachine.image,
      replica: (partition) => offsetsReplicaOf(replicas, partition),
      append: async (partition, records) => await appendCoordinatorRecords(replicas, partition, records),
      createOffsetsTopic: async (spec) => {
        const response = await lifecycle.createTopics({ topics: [{ name: CONSUMER_OFFSETS_TOPIC, ...spec }] })
        const result = response.topics[0]
        const code = result?.errorCode ?? ''
        if (code !== '') throw new GregorError(code as ErrorCode, result?.errorMessage ?? code)
      },
      newMemberId: () => randomUUID(), clock: systemClock, timer: systemTimer, logger: this.#rootLogger,
      onDecision: (_groupId, result) => { groupMetrics.decided(result.records) },
    })
    const groupMetrics = new GroupMetrics({
      registry: this.#metrics.registry, shards: () => groups.activeShards(),
      highWatermark: (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark,
    })
    // The coordinator follows leadership of __consumer_offsets as the replica manager has applied it.
    this.#stateMachine.onChange(async (image) => { await replicas.onMetadata(image); await groups.onMetadata() })

    const brokerListener = this.#listener('BROKER')
    await bindServer(brokerServer, brokerListener.name, `${brokerListener.host}:${brokerListener.port}`)
    const producerIds = new ProducerIdAllocator(() => {
      const self = this.#stateMachine.image.broker(config.nodeId)
      return self?.incarnationId === this.#incarnationId ? self.brokerEpoch : 0
    })
    for (const listener of config.listeners.filter((item) => item.name !== 'BROKER' && item.name !== 'ADMIN')) {
      const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
      addClientService(server, listener.name, {
        clusterId: config.clusterId,
        image: () => this.#stateMachine.image,
        quorum: () => this.#quorum.status(),
        createTopics: async (request) => await lifecycle.createTopics(request),
        deleteTopics: async (request) => await lifecycle.deleteTopics(request),
        produce: async (request) => await replicas.produce(request),
        fetch: async (request) => await replicas.fetch(request),
        listOffsets: async (request) => await replicas.listOffsets(request),
        initProducerId: () => producerIds.allocate(),
        metrics: this.#metrics,
      })
      addGroupService(server, listener.name, { runtime: groups, image: () => this.#stateMachine.image, brokerId: config.nodeId })
      await bindServer(server, listener.name, `${listener.host}:${listener.port}`)
      this.#servers.push(server)
    }
    const admin = this.#listener('ADMIN')
    // Each admin feature mounts its own paths here (one line each).
    const adminRoutes = new Map<string, AdminRoute>()
    adminRoutes.set('/metrics', metricsRoute(this.#metrics))
    const clusterPage = this.#clusterPage = new ClusterPage({
      brokerId: config.nodeId, clusterId: config.clusterId, image: () => this.#stateMachine.image, quorum: () => this.#quorum.status(),
      highWatermark: (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark, wallClockMs: () => Date.now(), logger: this.#rootLogger,
      groups: () => coordinatedGroups(groups.activeShards(), (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark),
    })
    for (const [path, route] of clusterPage.routes()) adminRoutes.set(path, route)
    this.#stateMachine.onChange(() => { clusterPage.onMetadataChange() })
    this.#admin = await startAdminServer(admin.host, admin.port, { readiness: () => this.readiness(), routes: adminRoutes, logger: this.#rootLogger })
    lifecycle.start()
    this.#log.info({ nodeId: config.nodeId, listeners: config.listeners }, 'broker started')
  }

  get config (): BrokerConfig { return this.#config }

  readiness (): { ready: boolean; registered: boolean; fenced: boolean; quorumLeaderId: number } {
    const registered = this.#stateMachine.image.broker(this.#config.nodeId) !== undefined
    const fenced = this.#stateMachine.image.broker(this.#config.nodeId)?.fenced ?? true
    const quorumLeaderId = this.#quorum.leaderId
    return { ready: registered && !fenced && quorumLeaderId !== 0, registered, fenced, quorumLeaderId }
  }

  async stop (): Promise<void> {
    const shutdownReady = await Promise.race([this.#lifecycle?.requestShutdown(10_000), this.#quorumLost()])
    this.#lifecycleStopped = true
    this.#log.info({ shutdownReady }, 'controlled shutdown finished')
    await this.#teardown()
    this.#log.info({}, 'broker stopped')
  }

  /** Stops whatever has started, in dependency order; safe on a broker whose start failed halfway. */
  async #teardown (): Promise<void> {
    this.#lifecycle?.stop()
    this.#controller?.deactivate()
    await this.#groups?.close()
    await this.#replicas?.close()
    await this.#quorum.stop()
    // Peers keep long-lived streams open to us (raft transport, follower fetch): tryShutdown would wait for them to
    // notice. Requests in flight get a moment to finish; then the streams are cut, as a dead process would cut them.
    await Promise.all(this.#servers.map(async (server) => { await shutdownServer(server, serverShutdownGraceMs) }))
    this.#clusterPage?.close() // its event streams would keep the admin server from closing
    await new Promise<void>((resolve) => {
      if (this.#admin === undefined) return resolve()
      this.#admin.close(() => resolve())
      this.#admin.closeAllConnections() // keep-alive sockets of scrapers and browsers would hold close() open
    })
    await this.#files?.closeAll()
  }

  /**
   * Resolves `false` once the metadata quorum has no leader: no controller can then commit a leadership move, so
   * waiting out the controlled-shutdown timeout would only delay the exit (the last brokers of a cluster stopping
   * together hit this, once the others are gone).
   */
  async #quorumLost (): Promise<false> {
    while (this.#quorum.leaderId !== 0 && !this.#lifecycleStopped) await new Promise((resolve) => setTimeout(resolve, 100))
    return false
  }

  #listener (name: string): ListenerAddress {
    const listener = this.#config.listeners.find((item) => item.name === name)
    if (listener === undefined) throw new Error(`no ${name} listener`) // validateBrokerConfig guarantees it
    return listener
  }
}

/**
 * One Gregor broker process: the production composition root. It builds the production environment of a
 * `BrokerNode` (level raft store, gRPC raft transport, gRPC controller channel and replica fetch transport, node fs,
 * system timers and clocks, random ids), creates the node, and puts the gRPC services and admin HTTP around it.
 *
 *   start: TLS files (if a listener runs TLS) → raft store → BROKER listener's services (raft, controller,
 *   replication; mTLS between brokers when BROKER runs SSL) → node (log directory, metadata quorum; the controller is
 *   active only while this node leads; the replica manager follows the applied image) → bind the BROKER listener →
 *   client listeners (Kafka's protocol or gRPC, by GREGOR_LISTENER_PROTOCOL_MAP; TLS by
 *   GREGOR_LISTENER_SECURITY_PROTOCOL_MAP) → admin HTTP → broker lifecycle (register with the controller,
 *   heartbeat, get unfenced).
 *   stop (SIGTERM): controlled shutdown (the controller moves this broker's leaderships away) → node (lifecycle,
 *   controller, coordinator, replica manager with a clean close of every log, quorum with a leadership transfer if
 *   it leads, open files) → raft transport and store → servers → admin HTTP.
 *
 * Nothing here makes decisions: the controller decides from the image, the replica manager acts on it; the order
 * of the node's parts is BrokerNode's (broker-node.ts), shared with the whole-cluster simulation.
 */
import { randomInt, randomUUID } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { type Logger, seededRng } from '@gregor/common'
import {
  RaftTransport, addRaftService, brokerCertificateProblems, brokerChannelCredentials, certificateBrokerPeers, defaultRaftTransportConfig,
  openBrokerPeers, readTlsFiles, serverCredentials, tlsServerOptions,
} from '@gregor/protocol'
import { RaftStore, nodeFileSystem } from '@gregor/storage'
import { type AdminRoute, startAdminServer } from './admin-server.js'
import { bindServer } from './bind-server.js'
import { type BrokerConfig, type ListenerAddress, usesTls } from './broker-config.js'
import { BrokerNode, type BrokerReadiness } from './broker-node.js'
import { addClientService } from './listeners/grpc/client-service.js'
import { ClusterPage, coordinatedGroups } from './cluster-page/index.js'
import { defaultBrokerLifecycleConfig } from './controller/index.js'
import { BrokerMetrics, GroupMetrics, KafkaMetrics, authorizationMetrics, leaderElectionsIn, metricsRoute } from './metrics/index.js'
import { defaultReplicationConfig } from './replica/index.js'
import { addGroupService } from './listeners/grpc/group-service.js'
import { GrpcAuthentication, type IdentifyCall } from './listeners/grpc/grpc-authentication.js'
import { addSecurityService } from './listeners/grpc/security-service.js'
import { GrpcAuthenticationMetrics } from './metrics/grpc-authentication-metrics.js'
import { KafkaServer, defaultKafkaListenerConfig, kafkaHandlers } from './listeners/kafka/index.js'
import { kafkaBrokerApi } from './listeners/kafka/broker-kafka-api.js'
import { authorizedHandlers } from './listeners/kafka/authorization/kafka-authorization.js'
import { createAuthorizer } from './security/authorizer.js'
import { systemClock, systemMonotonicClock, systemTimers } from './system/system-timers.js'
import { addControllerService } from './transport/controller-service.js'
import { parseScramBootstrap, runScramBootstrap } from './scram-bootstrap.js'
import { GrpcControllerChannel } from './transport/grpc-controller-channel.js'
import { GrpcReplicaFetchTransport, addReplicationService } from './transport/grpc-replica-fetch-transport.js'

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
  readonly #metrics: BrokerMetrics
  readonly #servers: grpc.Server[] = []
  readonly #kafkaServers: KafkaServer[] = []
  #store: RaftStore | undefined
  #raftTransport: RaftTransport | undefined
  #node: BrokerNode | undefined
  #admin: HttpServer | undefined
  #clusterPage: ClusterPage | undefined
  #stopping = false

  constructor (config: BrokerConfig, logger: Logger) {
    this.#config = config
    this.#log = logger.child({ component: 'broker' })
    this.#rootLogger = logger
    // Gauges read the image, raft status and controller at scrape time; /metrics is mounted only after start.
    this.#metrics = new BrokerMetrics({
      brokerId: config.nodeId, image: () => this.#requireNode().image, quorum: () => this.#node?.quorumStatus(),
      controllerActive: () => this.#node?.controller.isActive ?? false, logSizeBytes: () => this.#node?.replicas.logSizeBytes() ?? 0,
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
      await this.#teardown()
      throw error
    }
  }

  /** The production environment of the broker node: level raft store, gRPC transports, node fs, system timers. */
  async #start (): Promise<void> {
    const { config } = this
    const logger = this.#rootLogger
    const voterIds = [...config.voters.keys()]
    // TLS (docs/security.md): the PEM files are read once, here; the BROKER listener on SSL means mTLS between brokers.
    const tls = config.ssl === undefined ? undefined : await readTlsFiles(config.ssl)
    const listenerTls = (name: string): typeof tls => usesTls(config.listenerSecurityProtocols.get(name)) ? tls : undefined
    const brokerTls = listenerTls('BROKER')
    const certificateProblems = brokerTls === undefined ? [] : brokerCertificateProblems(brokerTls, config.nodeId, Date.now())
    if (certificateProblems.length > 0) {
      throw new Error(`BROKER runs SSL and ${config.ssl?.certFile ?? 'the certificate'} cannot be node ${config.nodeId}'s: ${certificateProblems.join('; ')}`)
    }
    const brokerChannel = brokerChannelCredentials(brokerTls) // node id → credentials that insist on broker-<id>
    const peers = brokerTls === undefined ? openBrokerPeers : certificateBrokerPeers({ members: new Set(voterIds), logger })
    const store = this.#store = await RaftStore.open({ dir: join(config.dataDir, 'metadata'), clusterId: config.clusterId, nodeId: config.nodeId, voters: voterIds, logger })
    const raftTransport = this.#raftTransport = new RaftTransport({ ...defaultRaftTransportConfig, nodeId: config.nodeId, clusterId: config.clusterId, voters: config.voters }, logger, brokerChannel)
    const metrics = this.#metrics
    const node = this.#node = new BrokerNode({
      ...config,
      voters: voterIds,
      listeners: config.advertisedListeners.filter((listener) => listener.name !== 'ADMIN'),
      logDir: join(config.dataDir, 'logs'),
    }, {
      clock: systemClock, monotonicClock: systemMonotonicClock, timers: systemTimers,
      // Election timeouts and placement need spread, not reproducibility across processes.
      rng: seededRng(randomInt(2 ** 31)),
      fs: nodeFileSystem, raftStore: store, raftTransport,
      controllerChannel: (view) => new GrpcControllerChannel({
        controllerAddress: () => config.voters.get(view.quorumLeaderId()), messageBytesMax: defaultBrokerLifecycleConfig.messageBytesMax,
        credentials: () => brokerChannel(view.quorumLeaderId()),
      }),
      replicaFetchTransport: (view) => new GrpcReplicaFetchTransport({
        image: () => view.image(), messageBytesMax: defaultReplicationConfig.messageBytesMax, logger, credentials: brokerChannel,
      }),
      newId: () => randomUUID(), logger,
      observer: {
        controllerDecision: (image, records) => {
          const elections = leaderElectionsIn(image, records)
          return () => { metrics.leaderElectionsCommitted(elections) }
        },
        isrChanged: (previousIsr, isr) => { metrics.isrChanged(previousIsr, isr) },
        groupDecided: (_groupId, result) => { groupMetrics.decided(result.records) },
      },
    })
    const { replicas, groups, lifecycle, producerIds } = node
    const groupMetrics = new GroupMetrics({
      registry: metrics.registry, shards: () => groups.activeShards(),
      highWatermark: (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark,
    })

    const brokerServer = new grpc.Server({ 'grpc.max_receive_message_length': defaultRaftTransportConfig.messageBytesMax, interceptors: [...peers.interceptors] })
    this.#servers.push(brokerServer)
    addRaftService(brokerServer, {
      clusterId: config.clusterId, nodeId: config.nodeId, voters: new Set(voterIds), logger,
      onMessage: (message) => { node.receiveRaft(message) }, onPeerGone: (peerId) => { node.raftPeerGone(peerId) }, peers,
    })
    await node.start()
    addControllerService(brokerServer, node.controller, logger, peers)
    addReplicationService(brokerServer, replicas, peers)

    const brokerListener = this.#listener('BROKER')
    await bindServer(brokerServer, brokerListener.name, `${brokerListener.host}:${brokerListener.port}`, serverCredentials(brokerTls, 'required'))
    // One authorizer for every client listener (GREGOR_ACLS_ENABLED off: allows everything, no ACL is read).
    const authorizer = createAuthorizer({
      config: config.authorization, acls: () => node.image.acls(), logger, metrics: authorizationMetrics(metrics.registry),
    })
    const kafkaMetrics = new KafkaMetrics({ registry: metrics.registry })
    for (const listener of config.listeners.filter((item) => config.listenerProtocols.get(item.name) === 'kafka')) {
      const api = kafkaBrokerApi({
        listenerName: listener.name, clusterId: config.clusterId, brokerId: config.nodeId, node,
        quorumLeaderId: () => node.quorumLeaderId, autoCreateTopicsEnable: config.autoCreateTopicsEnable, topicBytes: metrics, logger,
        aclsEnabled: config.authorization.aclsEnabled,
      })
      const handlers = authorizedHandlers(kafkaHandlers(api), {
        authorizer, listenerName: listener.name, metadata: api.metadata, topicName: (topicId) => node.image.topicById(topicId)?.name,
      })
      const kafkaTls = listenerTls(listener.name)
      this.#kafkaServers.push(await KafkaServer.start({
        listenerName: listener.name, host: listener.host, port: listener.port, config: defaultKafkaListenerConfig, handlers, logger,
        metrics: kafkaMetrics.listener(listener.name),
        ...(kafkaTls === undefined ? {} : { tls: tlsServerOptions(kafkaTls, config.ssl?.clientAuth) }),
        // SASL_PLAINTEXT / SASL_SSL: SCRAM credentials from the metadata image (PLAIN checked against them too).
        ...(config.listenerSecurityProtocols.get(listener.name)?.startsWith('SASL_') === true
          ? { sasl: { mechanisms: config.saslEnabledMechanisms, credential: (user, mechanism) => node.image.scramCredential(user, mechanism) } }
          : {}),
      }))
    }
    const grpcAuthenticationMetrics = new GrpcAuthenticationMetrics(metrics.registry)
    for (const listener of config.listeners.filter((item) => config.listenerProtocols.get(item.name) === 'grpc')) {
      const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
      // Callers by session token (SCRAM login on SASL_* listeners) or client certificate; docs/security.md.
      const authentication = new GrpcAuthentication({
        listenerName: listener.name, nowMs: () => systemClock.nowMs(), logger, observe: grpcAuthenticationMetrics.listener(listener.name),
        ...(config.listenerSecurityProtocols.get(listener.name)?.startsWith('SASL_') === true
          ? { sasl: { mechanisms: config.saslEnabledMechanisms, credential: (user, mechanism) => node.image.scramCredential(user, mechanism) } }
          : {}),
      })
      const identify: IdentifyCall = (call) => authentication.identify(call)
      addSecurityService(server, {
        authentication, identify,
        acls: {
          authorizer, acls: () => node.image.acls(),
          createAcls: async (request) => await lifecycle.createAcls(request), deleteAcls: async (request) => await lifecycle.deleteAcls(request),
        },
      })
      addClientService(server, listener.name, {
        clusterId: config.clusterId,
        image: () => node.image,
        quorum: () => this.#requireQuorumStatus(),
        createTopics: async (request) => await lifecycle.createTopics(request),
        deleteTopics: async (request) => await lifecycle.deleteTopics(request),
        createPartitions: async (request) => await lifecycle.createPartitions(request),
        alterTopicConfigs: async (request) => await lifecycle.alterTopicConfigs(request),
        alterUserScramCredentials: async (request) => await lifecycle.alterUserScramCredentials(request),
        produce: async (request) => await replicas.produce(request),
        fetch: async (request) => await replicas.fetch(request),
        listOffsets: async (request) => await replicas.listOffsets(request),
        initProducerId: () => producerIds.allocate(),
        metrics,
        identify,
        authorizer,
      })
      addGroupService(server, listener.name, { runtime: groups, image: () => node.image, brokerId: config.nodeId, identify, authorizer })
      await bindServer(server, listener.name, `${listener.host}:${listener.port}`, serverCredentials(listenerTls(listener.name), config.ssl?.clientAuth))
      this.#servers.push(server)
    }
    const admin = this.#listener('ADMIN')
    // Each admin feature mounts its own paths here (one line each).
    const adminRoutes = new Map<string, AdminRoute>()
    adminRoutes.set('/metrics', metricsRoute(metrics))
    const clusterPage = this.#clusterPage = new ClusterPage({
      brokerId: config.nodeId, clusterId: config.clusterId, image: () => node.image, quorum: () => this.#requireQuorumStatus(),
      highWatermark: (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark, wallClockMs: () => Date.now(), logger,
      groups: () => coordinatedGroups(groups.activeShards(), (topic, partition) => replicas.replicaState(topic, partition)?.highWatermark),
    })
    for (const [path, route] of clusterPage.routes()) adminRoutes.set(path, route)
    node.onMetadataChange(() => { clusterPage.onMetadataChange() })
    const adminTls = listenerTls('ADMIN')
    this.#admin = await startAdminServer(admin.host, admin.port, {
      readiness: () => this.readiness(), routes: adminRoutes, logger,
      ...(adminTls?.cert === undefined || adminTls.key === undefined ? {} : { tls: { cert: adminTls.cert, key: adminTls.key } }),
      ...(config.adminTokenFile === undefined ? {} : { token: await readAdminToken(config.adminTokenFile) }),
    })
    node.startLifecycle()
    if (config.scramBootstrapFile !== undefined) await this.#startScramBootstrap(config.scramBootstrapFile, node)
    this.#log.info({ nodeId: config.nodeId, listeners: config.listeners }, 'broker started')
  }

  get config (): BrokerConfig { return this.#config }

  /** The first start's SCRAM credentials (scram-bootstrap.ts): a bad file stops the start; creating them runs behind. */
  async #startScramBootstrap (file: string, node: BrokerNode): Promise<void> {
    const marker = join(this.#config.dataDir, 'scram-bootstrap.applied')
    if (await access(marker).then(() => true, () => false)) return
    const credentials = parseScramBootstrap(await readFile(file, 'utf8'))
    void runScramBootstrap({
      credentials, logger: this.#rootLogger,
      exists: (user, mechanism) => node.image.scramCredential(user, mechanism) !== undefined,
      alter: async (upsertions) => (await node.lifecycle.alterUserScramCredentials({ deletions: [], upsertions: [...upsertions] })).results,
      sleep: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
      stopped: () => this.#stopping,
    }).then(async (done) => { if (done) await writeFile(marker, `${new Date().toISOString()}\n`) })
      .catch((error: unknown) => { this.#log.warn({ err: error }, 'scram bootstrap failed') })
  }

  readiness (): BrokerReadiness {
    return this.#node?.readiness() ?? { ready: false, registered: false, fenced: true, quorumLeaderId: 0 }
  }

  async stop (): Promise<void> {
    const shutdownReady = await this.#node?.controlledShutdown(10_000)
    this.#log.info({ shutdownReady }, 'controlled shutdown finished')
    await this.#teardown()
    this.#log.info({}, 'broker stopped')
  }

  /** Stops whatever has started, in dependency order; safe on a broker whose start failed halfway. */
  async #teardown (): Promise<void> {
    this.#stopping = true
    await this.#node?.stop()
    this.#raftTransport?.close()
    await this.#store?.close()
    // Peers keep long-lived streams open to us (raft transport, follower fetch): tryShutdown would wait for them to
    // notice. Requests in flight get a moment to finish; then the streams are cut, as a dead process would cut them.
    await Promise.all(this.#servers.map(async (server) => { await shutdownServer(server, serverShutdownGraceMs) }))
    await Promise.all(this.#kafkaServers.map(async (server) => { await server.close() }))
    this.#clusterPage?.close() // its event streams would keep the admin server from closing
    await new Promise<void>((resolve) => {
      if (this.#admin === undefined) return resolve()
      this.#admin.close(() => resolve())
      this.#admin.closeAllConnections() // keep-alive sockets of scrapers and browsers would hold close() open
    })
  }

  #requireNode (): BrokerNode {
    if (this.#node === undefined) throw new Error('broker not started') // the admin server starts after the node
    return this.#node
  }

  #requireQuorumStatus (): NonNullable<ReturnType<BrokerNode['quorumStatus']>> {
    const status = this.#requireNode().quorumStatus()
    if (status === undefined) throw new Error('metadata quorum not started') // listeners bind after node.start()
    return status
  }

  #listener (name: string): ListenerAddress {
    const listener = this.#config.listeners.find((item) => item.name === name)
    if (listener === undefined) throw new Error(`no ${name} listener`) // validateBrokerConfig guarantees it
    return listener
  }
}

/** The admin token: the file's first line, which must not be empty (an empty token would open every path). */
async function readAdminToken (file: string): Promise<string> {
  const token = (await readFile(file, 'utf8')).split(/\r?\n/)[0]?.trim() ?? ''
  if (token.length < 16) throw new Error(`admin token file ${file}: its first line must hold a token of at least 16 characters`)
  return token
}

/**
 * One broker without its transports: the composition both production (`Broker`, gRPC and files) and the whole-cluster
 * simulation (`packages/sim`, simulated network and disk, virtual time) build. Every effect goes through the injected
 * `BrokerNodeEnvironment`; nothing here knows which world it runs in.
 *
 * Owns the parts and their start and stop order (the order `Broker` had):
 *   start: log directory → metadata quorum (raft driver over the injected store and transport; the controller is
 *   active only while this node leads) → the replica manager and group coordinator follow the applied image.
 *   `startLifecycle()` then registers with the controller, heartbeats and gets unfenced: production calls it once its
 *   listeners are bound, so no client is sent to a port that does not answer yet.
 *   stop: `controlledShutdown` (the controller moves this broker's leaderships away, or the quorum is gone) →
 *   lifecycle → controller → group coordinator → replica manager (clean close of every log) → quorum (leadership
 *   transfer if it leads) → open files. The raft store and transport belong to whoever opened them: close them after.
 *
 * Inbound traffic is the caller's to deliver: raft messages to `receiveRaft`/`raftPeerGone`, controller calls to
 * `controller`, replica fetches to `replicas.handleReplicaFetch`, client calls to `replicas`, `groups`, `producerIds`.
 */
import { type Clock, type ErrorCode, GregorError, type Logger, type NodeId, type Rng, type Timers } from '@gregor/common'
import { CONSUMER_OFFSETS_TOPIC, defaultCoordinatorConfig, resolveCoordinatorConfig, type CoordinatorResult } from '@gregor/coordinator'
import { type MetadataConfig, type MetadataImage, type MetadataRecord, encodeMetadataRecords, validateMetadataConfig } from '@gregor/metadata'
import type { Message } from '@gregor/raft'
import { FileHandleCache, type FileSystem, type LogConfig, defaultLogConfig, mkdirDurable } from '@gregor/storage'
import type { BrokerConfig, ListenerAddress } from './broker-config.js'
import { BrokerLifecycle } from './controller/broker-lifecycle.js'
import type { ControllerChannel } from './controller/controller-channel.js'
import { type BrokerLifecycleConfig, defaultControllerConfig } from './controller/controller-config.js'
import { Controller } from './controller/controller.js'
import { GroupCoordinatorRuntime, appendCoordinatorRecords, offsetsReplicaOf } from './group-coordinator/index.js'
import { loadLogDirId } from './log-dir-id.js'
import { MetadataQuorum, type QuorumStatusView } from './metadata-quorum.js'
import { type MetadataListener, MetadataStateMachine } from './metadata/metadata-state-machine.js'
import { ProducerIdAllocator } from './producer-id-allocator.js'
import type { RaftDriverConfig, RaftLogStore, RaftMessageTransport } from './raft-driver.js'
import { ReplicaManager, type ReplicaFetchTransport, type ReplicationConfig, defaultReplicationConfig } from './replica/index.js'

/** How often an unreadable log directory id is tried again. */
const logDirIdRetryMs = 1000
/** How often a controlled shutdown checks whether the metadata quorum still has a leader. */
const quorumLostPollIntervalMs = 100

/** What one broker is: its identity and settings, as data (it binds nothing; addresses are only advertised). */
export type BrokerNodeConfig = Pick<BrokerConfig,
  'nodeId' | 'clusterId' | 'rack' | 'leaderImbalanceCheckIntervalMs' | 'logRetentionCheckIntervalMs' | 'logCleanerBackoffMs' |
  'groupSessionTimeoutMs' | 'groupHeartbeatIntervalMs' | 'offsetsTopicNumPartitions' | 'offsetsTopicSegmentBytes'> & {
  /** The metadata quorum's voters (ids; how to reach them is the raft transport's business). */
  readonly voters: readonly NodeId[]
  /** The listeners this broker registers with the controller (advertised addresses; ADMIN left out). */
  readonly listeners: readonly ListenerAddress[]
  /** Where the partition logs and their checkpoints live, on `environment.fs`. */
  readonly logDir: string
  /** Overrides of the defaults below, for tests and the simulation (production sets none). */
  readonly controller?: Partial<MetadataConfig>
  readonly lifecycle?: Partial<BrokerLifecycleConfig>
  readonly raft?: { readonly driver?: Partial<RaftDriverConfig>; readonly electionTicks?: number }
  readonly replication?: Partial<ReplicationConfig>
  readonly log?: Partial<LogConfig>
}

/** What the transports built for a node may read of it (built before the node finishes constructing). */
export interface BrokerNodeView {
  readonly nodeId: NodeId
  /** The applied metadata image (broker addresses, partition leaders). */
  image (): MetadataImage
  /** The metadata quorum's leader as this node knows it (the active controller), 0 while unknown. */
  quorumLeaderId (): NodeId
}

/** Observation points for metrics; none of them may throw or change what the node does. */
export interface BrokerNodeObserver {
  /** A controller decision is about to be proposed on `image`; the returned callback runs if it commits. */
  readonly controllerDecision?: (image: MetadataImage, records: readonly MetadataRecord[]) => (() => void) | undefined
  readonly isrChanged?: (previousIsr: readonly number[], isr: readonly number[]) => void
  readonly groupDecided?: (groupId: string | undefined, result: CoordinatorResult<unknown>) => void
}

/** Everything a broker does to the world, injected: production wires real ones, the simulation simulated ones. */
export interface BrokerNodeEnvironment {
  /** Wall clock: record timestamps, session and retention deadlines. */
  readonly clock: Clock
  /** A clock that never jumps: raft proposal deadlines and the shutdown's leadership-transfer wait. */
  readonly monotonicClock: Clock
  readonly timers: Timers
  /** Election timeouts and partition placement. */
  readonly rng: Rng
  readonly fs: FileSystem
  /** Raft's durable state, open already (its contents decide where the quorum and the image start). */
  readonly raftStore: RaftLogStore
  readonly raftTransport: RaftMessageTransport
  readonly controllerChannel: (node: BrokerNodeView) => ControllerChannel
  readonly replicaFetchTransport: (node: BrokerNodeView) => ReplicaFetchTransport
  /** Unique ids: this incarnation's id, topic ids, group member ids. */
  readonly newId: () => string
  readonly logger: Logger
  readonly observer?: BrokerNodeObserver
}

// A type, not an interface: the admin server takes it as a plain record of fields.
export type BrokerReadiness = {
  readonly ready: boolean
  readonly registered: boolean
  readonly fenced: boolean
  readonly quorumLeaderId: number
}

export class BrokerNode {
  readonly nodeId: NodeId
  /** This process's incarnation: its registration, its heartbeats, and its producer ids' broker epoch. */
  readonly incarnationId: string
  readonly controller: Controller
  readonly lifecycle: BrokerLifecycle
  readonly replicas: ReplicaManager
  readonly groups: GroupCoordinatorRuntime
  readonly producerIds: ProducerIdAllocator
  readonly #config: BrokerNodeConfig
  readonly #env: BrokerNodeEnvironment
  readonly #log: Logger
  readonly #stateMachine: MetadataStateMachine
  readonly #quorum: MetadataQuorum
  readonly #files: FileHandleCache
  #started = false
  #stopping = false
  /** The log directory's id (KIP-858), once read or written; registration waits for it. */
  #logDirId: string | undefined

  constructor (config: BrokerNodeConfig, env: BrokerNodeEnvironment) {
    this.#config = config
    this.#env = env
    this.nodeId = config.nodeId
    this.incarnationId = env.newId()
    const { clock, timers, rng, fs, logger, observer } = env
    this.#log = logger.child({ component: 'broker' })
    const stateMachine = this.#stateMachine = new MetadataStateMachine(logger)
    const quorum = this.#quorum = new MetadataQuorum({
      nodeId: config.nodeId, voters: config.voters, ...config.raft,
    }, {
      stateMachine, store: env.raftStore, transport: env.raftTransport, timers, clock: env.monotonicClock, rng, logger,
    })
    const view: BrokerNodeView = {
      nodeId: config.nodeId, image: () => stateMachine.image, quorumLeaderId: () => quorum.leaderId,
    }

    const controllerConfig = validateMetadataConfig({
      ...defaultControllerConfig, ...config.controller, leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
    })
    const controller = this.controller = new Controller({
      brokerId: config.nodeId, clusterId: config.clusterId, config: controllerConfig,
      image: () => stateMachine.image,
      propose: async (records) => {
        // Decisions run one at a time on the applied image, so it is the image this batch changes.
        const committed = observer?.controllerDecision?.(stateMachine.image, records)
        await quorum.propose(encodeMetadataRecords(records))
        committed?.()
      },
      newId: env.newId, clock, timers, rng, logger,
      activeVoters: () => quorum.activeVoters(),
    })
    quorum.onRoleChange((softState) => {
      if (softState.role === 'leader') controller.activate(); else controller.deactivate()
    })

    const lifecycle = this.lifecycle = new BrokerLifecycle({
      brokerId: config.nodeId, incarnationId: this.incarnationId, clusterId: config.clusterId,
      listeners: config.listeners, rack: config.rack,
      channel: env.controllerChannel(view),
      appliedIndex: () => quorum.appliedIndex,
      logDirId: () => this.#logDirId,
      // The replica manager is built below; heartbeats start only with startLifecycle(), after construction.
      logDirOffline: () => this.replicas.logDirOffline,
      refetchingReplicas: () => this.replicas.refetchingReplicas(),
      heartbeatIntervalMs: controllerConfig.brokerHeartbeatIntervalMs,
      ...(config.lifecycle === undefined ? {} : { config: config.lifecycle }),
      clock, timers, logger,
    })

    const logConfig = { ...defaultLogConfig, ...config.log }
    const files = this.#files = new FileHandleCache({ openFilesMax: logConfig.openFilesMax, fs })
    const replicas = this.replicas = new ReplicaManager({
      brokerId: config.nodeId, incarnationId: this.incarnationId, dataDir: config.logDir, logConfig, fs, files,
      onLogDirChange: () => { lifecycle.logDirChanged() },
      alterPartition: async (request) => await lifecycle.alterPartition(request),
      fetchTransport: env.replicaFetchTransport(view),
      clock, timers, logger,
      config: {
        ...defaultReplicationConfig, ...config.replication,
        retentionCheckIntervalMs: config.logRetentionCheckIntervalMs, cleanerBackoffMs: config.logCleanerBackoffMs,
      },
      ...(observer?.isrChanged === undefined ? {} : { onIsrChange: observer.isrChanged }),
    })
    this.groups = new GroupCoordinatorRuntime({
      brokerId: config.nodeId,
      config: resolveCoordinatorConfig({
        sessionTimeoutMs: config.groupSessionTimeoutMs,
        heartbeatIntervalMs: config.groupHeartbeatIntervalMs,
        reconcileHeartbeatIntervalMs: Math.min(defaultCoordinatorConfig.reconcileHeartbeatIntervalMs, config.groupHeartbeatIntervalMs),
      }),
      offsetsTopicNumPartitions: config.offsetsTopicNumPartitions,
      offsetsTopicSegmentBytes: config.offsetsTopicSegmentBytes,
      image: () => stateMachine.image,
      replica: (partition) => offsetsReplicaOf(replicas, partition),
      append: async (partition, records) => { await appendCoordinatorRecords(replicas, partition, records) },
      createOffsetsTopic: async (spec) => {
        const response = await lifecycle.createTopics({ topics: [{ name: CONSUMER_OFFSETS_TOPIC, ...spec }] })
        const result = response.topics[0]
        const code = result?.errorCode ?? ''
        if (code !== '') throw new GregorError(code as ErrorCode, result?.errorMessage ?? code)
      },
      newMemberId: env.newId, clock, timers, logger,
      ...(observer?.groupDecided === undefined ? {} : { onDecision: observer.groupDecided }),
    })
    this.producerIds = new ProducerIdAllocator(() => {
      const self = stateMachine.image.broker(config.nodeId)
      return self?.incarnationId === this.incarnationId ? self.brokerEpoch : 0
    })
  }

  /**
   * Creates the log directory and starts the metadata quorum; from then on the replica manager and the group
   * coordinator follow every applied image. The broker lifecycle waits for `startLifecycle()`.
   */
  async start (): Promise<void> {
    // Durable in its parent: a power loss must not take the new log directory (and every partition in it) away.
    await mkdirDurable(this.#env.fs, this.#config.logDir)
    this.#quorum.start()
    void this.#loadLogDirId()
    this.#started = true
    // Registered after the quorum restored its snapshot, as before: the first image the replicas see is an applied one.
    const { replicas, groups } = this
    this.#stateMachine.onChange(async (image) => { await replicas.onMetadata(image); await groups.onMetadata() })
  }

  /**
   * Reads (or writes) the log directory's id, retrying every `logDirIdRetryMs` while the disk fails: the voter
   * runs meanwhile, and registration waits, since the controller must see the id to know whether this disk is new.
   */
  async #loadLogDirId (): Promise<void> {
    while (!this.#stopping) {
      try {
        this.#logDirId = await loadLogDirId(this.#env.fs, this.#config.logDir, this.nodeId, this.#env.newId)
        return
      } catch (error) {
        this.#log.warn({ err: error, dir: this.#config.logDir }, 'log directory id unreadable')
        await this.#env.timers.sleep(logDirIdRetryMs)
      }
    }
  }

  /** Registers with the controller and heartbeats from now on (production: once the listeners are bound). */
  startLifecycle (): void {
    this.lifecycle.start()
    this.#log.info({ nodeId: this.nodeId, incarnationId: this.incarnationId }, 'broker lifecycle started')
  }

  get image (): MetadataImage { return this.#stateMachine.image }

  /** The metadata quorum's voters and this broker's log directory, as configured (for admin descriptions). */
  get voters (): readonly NodeId[] { return this.#config.voters }
  get logDir (): string { return this.#config.logDir }

  /** Called after every applied metadata batch or snapshot install (see MetadataStateMachine). */
  onMetadataChange (listener: MetadataListener): void {
    this.#stateMachine.onChange(listener)
  }

  /** Raft status; undefined before `start()`. */
  quorumStatus (): QuorumStatusView | undefined {
    return this.#started ? this.#quorum.status() : undefined
  }

  get quorumLeaderId (): NodeId { return this.#quorum.leaderId }

  /** An inbound raft message, from whatever carries them. */
  receiveRaft (message: Message): void {
    this.#quorum.receive(message)
  }

  /** The raft transport saw the last stream from `peerId` close. */
  raftPeerGone (peerId: NodeId): void {
    this.#quorum.peerGone(peerId)
  }

  readiness (): BrokerReadiness {
    const self = this.#stateMachine.image.broker(this.nodeId)
    const registered = self !== undefined
    const fenced = self?.fenced ?? true
    const quorumLeaderId = this.#quorum.leaderId
    return { ready: registered && !fenced && quorumLeaderId !== 0, registered, fenced, quorumLeaderId }
  }

  /**
   * Asks the controller to move this broker's leaderships away; true once it says this broker leads nothing, false
   * on timeout or as soon as the metadata quorum has no leader (then no controller can commit a move, so waiting out
   * the timeout would only delay the exit: the last brokers of a cluster stopping together hit this).
   */
  async controlledShutdown (timeoutMs: number): Promise<boolean> {
    let settled = false
    try {
      return await Promise.race([this.lifecycle.requestShutdown(timeoutMs), this.#quorumLost(() => settled)])
    } finally {
      settled = true
    }
  }

  /** Stops every part, in dependency order; safe on a node whose start failed halfway, and more than once. */
  async stop (): Promise<void> {
    this.#stopping = true
    this.lifecycle.stop()
    this.controller.deactivate()
    await this.groups.close()
    await this.replicas.close()
    await this.#quorum.stop()
    await this.#files.closeAll()
  }

  async #quorumLost (settled: () => boolean): Promise<false> {
    while (this.#quorum.leaderId !== 0 && !this.#stopping && !settled()) await this.#env.timers.sleep(quorumLostPollIntervalMs)
    return false
  }
}

/**
 * One simulated broker machine: its disk (`SimFileSystem`) and raft store outlive incarnations; each `start()` is a
 * new process incarnation: a `BrokerNode`, the same composition production's `Broker` wraps in gRPC (raft driver,
 * metadata state machine, controller, broker lifecycle, replica manager, group coordinator runtime, producer ids),
 * over the incarnation's virtual clock and timers, its view of the simulated disk, and the simulated network (raft
 * messages, the controller channel, replica fetch sessions).
 *
 * `crash()` kills the incarnation: nothing of it runs again (see SimProcess). What survives is exactly what reached
 * the disk; what the disk keeps after a power loss is the disk's business (`disk.crash(rng)`).
 */
import { ErrorCode, GregorError, type Rng, nodeId, seededRng } from '@gregor/common'
import {
  BrokerNode, type Controller, type ControllerChannel, type ReplicaFetchSession, type ReplicaFetchTransport, type ReplicaManager,
  fetchRequestFromWire, produceRequestFromWire,
} from '@gregor/broker'
import type { MetadataImage } from '@gregor/metadata'
import { type GrpcMethod, controllerMethods, type gregor } from '@gregor/protocol'
import type { Message } from '@gregor/raft'
import type { SimScheduler } from '@gregor/raft/testing'
import { SimFileSystem } from '@gregor/storage'
import type { ReplicaView } from './cluster-invariants.js'
import { processFileSystem } from './process-file-system.js'
import type { SimBrokerApi } from './sim-broker-api.js'
import { SimProcess } from './sim-process.js'
import { traceLogger } from './trace-logger.js'
import { SimRaftStore } from './sim-raft-store.js'
import type { SimRpcNetwork } from './sim-rpc-network.js'

const DATA_DIR = '/data/logs'
/** Deadline of a call between brokers on the simulated network (as a gRPC deadline). */
const interBrokerCallDeadlineMs = 5_000
/** Virtual time one disk operation takes. */
const diskLatencyMs = 0.05

export interface SimBrokerOptions {
  readonly id: number
  readonly brokerIds: readonly number[]
  readonly scheduler: SimScheduler
  readonly network: SimRpcNetwork
  readonly seed: number
  /** Mean virtual time an fsync takes (exponential per call; see `processFileSystem`). */
  readonly syncLatencyMeanMs: number
  /** Told when this broker answers a produce request with success on every partition (the nemesis strikes then). */
  readonly onProduceAcknowledged?: () => void
  /** Another broker's running parts, for what the network delivers to it. */
  readonly peer: (brokerId: number) => SimBroker | undefined
  readonly trace: (line: string) => void
}

export class SimBroker {
  readonly id: number
  /** Every disk operation takes a little virtual time (an event of its own), as real I/O does. */
  readonly disk: SimFileSystem
  readonly #options: SimBrokerOptions
  readonly #raftStore: SimRaftStore
  /** Draws each fsync's latency: this machine's disk, across incarnations. */
  readonly #syncLatencyRng: Rng
  #process: SimProcess
  #incarnation = 0
  #parts: BrokerNode | undefined
  /** Committed metadata already reported to the invariants (raft index). */
  #reportedCommitIndex = 0
  #creatingTopic = false

  constructor (options: SimBrokerOptions) {
    this.id = options.id
    this.#options = options
    this.disk = new SimFileSystem({ ioHook: async () => { await new Promise<void>((resolve) => { options.scheduler.after(diskLatencyMs, resolve) }) } })
    this.#raftStore = new SimRaftStore(options.brokerIds.map((id) => nodeId(id)))
    this.#syncLatencyRng = seededRng(options.seed * 7_907 + options.id * 65_537)
    this.#process = new SimProcess(options.scheduler, options.id, 0)
    this.#process.kill()
  }

  get process (): SimProcess { return this.#process }
  get running (): boolean { return this.#parts !== undefined && this.#process.alive }
  get incarnation (): number { return this.#incarnation }

  /** A new incarnation over the same disk and raft store. */
  start (): void {
    this.#process.kill()
    this.#incarnation++
    const process = this.#process = new SimProcess(this.#options.scheduler, this.id, this.#incarnation)
    this.#raftStore.reopen()
    this.#reportedCommitIndex = 0
    this.#parts = this.#compose(process)
    this.#options.trace(`started incarnation ${this.#incarnation}`)
  }

  crash (): void {
    if (this.#parts === undefined) return
    this.#process.kill()
    this.#parts = undefined
    this.#options.trace('crashed')
  }

  /** The incarnation: the production composition (`BrokerNode`) over this machine's simulated world. */
  #compose (process: SimProcess): BrokerNode {
    const { id, brokerIds, seed, network, scheduler } = this.#options
    const rng = seededRng(seed * 7_919 + id * 104_729 + this.#incarnation)
    let ids = 0
    const node = new BrokerNode({
      nodeId: nodeId(id), clusterId: 'sim', rack: '', voters: brokerIds.map((brokerId) => nodeId(brokerId)),
      listeners: [{ name: 'BROKER', host: `broker-${id}`, port: 9093 }, { name: 'CLIENT', host: `broker-${id}`, port: 9092 }],
      logDir: DATA_DIR, leaderImbalanceCheckIntervalMs: 30_000, logRetentionCheckIntervalMs: 300_000, logCleanerBackoffMs: 15_000,
      groupSessionTimeoutMs: 6_000, groupHeartbeatIntervalMs: 500, offsetsTopicNumPartitions: 3, offsetsTopicSegmentBytes: 64 * 1024,
    }, {
      clock: process.clock,
      // Raft deadlines run on time that a wall-clock jump does not move.
      monotonicClock: { nowMs: () => scheduler.nowMs },
      timers: process.timers, rng,
      fs: processFileSystem(this.disk, process, { syncLatencyMs: () => this.#syncLatencyMs() }),
      raftStore: this.#raftStore,
      raftTransport: { send: (message: Message) => { network.send(id, message.to, () => { this.#options.peer(message.to)?.receiveRaft(message) }) } },
      controllerChannel: (view) => new SimControllerChannel(process, network, () => view.quorumLeaderId(), (brokerId) => this.#options.peer(brokerId)?.controller()),
      replicaFetchTransport: () => new SimFetchTransport(process, network, (brokerId) => this.#options.peer(brokerId)?.replicaManager()),
      newId: () => `b${id}-i${this.#incarnation}-${++ids}`,
      logger: traceLogger(this.#options.trace),
    })
    process.run(() => {
      void node.start().then(() => { node.startLifecycle() })
    })
    return node
  }

  /** Exponential around the seed's mean, capped (a single sync cannot stall the run). */
  #syncLatencyMs (): number {
    const meanMs = this.#options.syncLatencyMeanMs
    return Math.min(-Math.log(1 - this.#syncLatencyRng.next()) * meanMs, 20 * meanMs)
  }

  // ---- what the network delivers to this broker ----

  receiveRaft (message: Message): void {
    this.#parts?.receiveRaft(message)
  }

  controller (): Controller | undefined { return this.#parts?.controller }
  replicaManager (): ReplicaManager | undefined { return this.#parts?.replicas }

  /** The client API of this incarnation (undefined while down). */
  api (): SimBrokerApi | undefined {
    const parts = this.#parts
    if (parts === undefined || !this.#process.alive) return undefined
    return {
      image: () => parts.image,
      initProducerId: async () => parts.producerIds.allocate(),
      produce: async (request) => {
        const response = await parts.replicas.produce(produceRequestFromWire(request))
        if ((response.partitions ?? []).every((result) => (result.errorCode ?? '') === '')) this.#options.onProduceAcknowledged?.()
        return response
      },
      fetch: async (request) => await parts.replicas.fetch(fetchRequestFromWire(request)),
      findCoordinator: async (groupId) => await parts.groups.findCoordinator(groupId),
      heartbeat: async (request) => await parts.groups.heartbeat(request),
      commitOffsets: async (request) => await parts.groups.commitOffsets(request),
      fetchOffsets: async (request) => await parts.groups.fetchOffsets(request),
    }
  }

  // ---- what the simulation inspects ----

  image (): MetadataImage | undefined { return this.#parts?.image }

  quorumStatus (): { term: number; role: string; commitIndex: number; leaderId: number } | undefined {
    const status = this.#parts?.quorumStatus()
    return status === undefined ? undefined : { term: status.term, role: status.role, commitIndex: status.commitIndex, leaderId: status.leaderId }
  }

  isController (): boolean {
    return this.running && this.#parts?.controller.isActive === true
  }

  /** Committed raft entries not reported yet, fingerprinted (term and payload). */
  newlyCommittedMetadata (): Array<{ index: number; fingerprint: string }> {
    const status = this.#parts?.quorumStatus()
    if (status === undefined) return []
    const entries = this.#raftStore.committedEntries(this.#reportedCommitIndex + 1, status.commitIndex)
    if (entries.length > 0) this.#reportedCommitIndex = entries[entries.length - 1]?.index ?? this.#reportedCommitIndex
    return entries.map((entry) => ({ index: entry.index, fingerprint: `${entry.term}:${Buffer.from(entry.data).toString('base64')}` }))
  }

  replicaViews (topic: string): ReplicaView[] {
    const parts = this.#parts
    const image = parts?.image
    const topicImage = image?.topic(topic)
    if (parts === undefined || topicImage === undefined) return []
    const views: ReplicaView[] = []
    for (let partition = 0; partition < topicImage.partitionCount; partition++) {
      const state = parts.replicas.replicaState(topic, partition)
      if (state === undefined) continue
      const dir = `${DATA_DIR}/${topic}-${partition}`
      views.push({
        // A replica reopened (log directory recovered, corruption found) starts from disk, as after a restart: its
        // HW may be lower than the last one's.
        brokerId: this.id, incarnation: this.#incarnation * 1_000_000 + state.generation,
        partition: `${topic}-${partition}`, highWatermark: state.highWatermark,
        segments: () => (this.disk.peekDir(dir) ?? []).filter((name) => name.endsWith('.log'))
          .map((name) => ({ name, bytes: this.disk.peekFile(`${dir}/${name}`) ?? new Uint8Array() })),
      })
    }
    return views
  }

  /** Creates the topic once this broker is the active controller; true once the image has it. */
  ensureTopic (topic: string, partitions: number): boolean {
    const parts = this.#parts
    if (parts === undefined) return false
    if (parts.image.topic(topic) !== undefined) return true
    if (parts.image.liveBrokers().length < this.#options.brokerIds.length || this.#creatingTopic) return false
    this.#creatingTopic = true
    parts.controller.createTopics({
      topics: [{ name: topic, partitions, replicationFactor: this.#options.brokerIds.length, configs: { 'min.insync.replicas': '2' } }],
    }).catch(() => {}).finally(() => { this.#creatingTopic = false })
    return false
  }

  /** Every partition of `topic` has a leader and all replicas in its ISR. */
  partitionsSettled (topic: string, replicationFactor: number): boolean {
    const image = this.#parts?.image
    const topicImage = image?.topic(topic)
    if (image === undefined || topicImage === undefined) return false
    return image.partitionsOf(topicImage.topicId).every((partition) => partition.leader >= 0 && partition.isr.length === replicationFactor)
  }

  /** Every replica of `topic` here has its high watermark at its log end, at the leader's. */
  replicasCaughtUp (topic: string): boolean {
    const parts = this.#parts
    const topicImage = parts?.image.topic(topic)
    if (parts === undefined || topicImage === undefined) return false
    for (let partition = 0; partition < topicImage.partitionCount; partition++) {
      const state = parts.replicas.replicaState(topic, partition)
      if (state === undefined || state.highWatermark !== state.logEndOffset) return false
      const leader = this.#options.peer(state.leaderId)?.replicaManager()?.replicaState(topic, partition)
      if (leader === undefined || leader.logEndOffset !== state.logEndOffset) return false
    }
    return true
  }

  /** Bit rot in one of this broker's segment files (of any partition); the flipped file's name, if any. */
  flipRandomByte (
    rng: { int: (min: number, max: number) => number }, allowed: (partitionDir: string) => boolean = () => true,
  ): { path: string; partitionDir: string; position: number } | undefined {
    const dirs = (this.disk.peekDir(DATA_DIR) ?? []).filter((name) => !name.includes('.') && allowed(name))
    if (dirs.length === 0) return undefined
    const dir = `${DATA_DIR}/${dirs[rng.int(0, dirs.length)] as string}`
    const files = (this.disk.peekDir(dir) ?? []).filter((name) => name.endsWith('.log'))
    if (files.length === 0) return undefined
    const path = `${dir}/${files[rng.int(0, files.length)] as string}`
    const size = this.disk.peekFile(path)?.length ?? 0
    if (size === 0) return undefined
    const position = rng.int(0, size)
    this.disk.flipByte(path, position)
    return { path, partitionDir: dir.slice(DATA_DIR.length + 1), position }
  }

  describe (): string {
    if (!this.running) return `b${this.id}:down`
    const status = this.quorumStatus()
    const image = this.image()
    const self = image?.broker(nodeId(this.id))
    const replicas = this.#parts?.replicas
    const partitions = (image?.topics() ?? []).flatMap((topic) => image?.partitionsOf(topic.topicId).map((partition) => {
      const state = replicas?.replicaState(topic.name, partition.partition)
      return `${topic.name.slice(0, 4)}-${partition.partition}{L${partition.leader}e${partition.leaderEpoch} isr=${partition.isr.join(',')} ` +
        `${state === undefined ? 'no-replica' : `${state.role[0] ?? ''} hw=${state.highWatermark} leo=${state.logEndOffset}`}}`
    }) ?? [])
    return `b${this.id}:${status?.role ?? '?'} term=${status?.term ?? 0} commit=${status?.commitIndex ?? 0} ` +
      `applied=${image?.appliedIndex ?? 0} ${self === undefined ? 'unregistered' : self.fenced ? 'fenced' : 'unfenced'} ${partitions.join(' ')}`
  }
}

/** An answer as the caller would get it from the wire: encoded and decoded by the method's own codecs. */
function overTheWire<Request, RequestProperties, Response, ResponseProperties> (
  method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, response: ResponseProperties,
): Response {
  return method.responseDeserialize(method.responseSerialize(response))
}

/** The controller channel over the simulated network: to whichever voter this broker believes leads the quorum. */
class SimControllerChannel implements ControllerChannel {
  readonly #process: SimProcess
  readonly #network: SimRpcNetwork
  readonly #leaderId: () => number
  readonly #controllerOf: (brokerId: number) => Controller | undefined

  constructor (process: SimProcess, network: SimRpcNetwork, leaderId: () => number, controllerOf: (brokerId: number) => Controller | undefined) {
    this.#process = process
    this.#network = network
    this.#leaderId = leaderId
    this.#controllerOf = controllerOf
  }

  target (): string | undefined {
    const leader = this.#leaderId()
    return leader === 0 ? undefined : String(leader)
  }

  async #call<T> (deadlineMs: number, handle: (controller: Controller) => Promise<T>): Promise<T> {
    const leader = this.#leaderId()
    if (leader === 0) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, 'no controller is known')
    return await this.#network.call(this.#process, leader, async () => {
      const controller = this.#controllerOf(leader)
      if (controller === undefined) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, `broker ${leader} is down`)
      return await handle(controller)
    }, Math.min(deadlineMs, interBrokerCallDeadlineMs))
  }

  async registerBroker (request: Parameters<ControllerChannel['registerBroker']>[0], deadlineMs: number): Promise<gregor.cluster.RegisterBrokerResponse> {
    return overTheWire(controllerMethods.registerBroker, await this.#call(deadlineMs, async (controller) => await controller.registerBroker(request)))
  }

  async alterPartition (request: Parameters<ControllerChannel['alterPartition']>[0], deadlineMs: number): Promise<gregor.cluster.AlterPartitionResponse> {
    return overTheWire(controllerMethods.alterPartition, await this.#call(deadlineMs, async (controller) => await controller.alterPartition(request)))
  }

  async createTopics (request: Parameters<ControllerChannel['createTopics']>[0], deadlineMs: number): Promise<gregor.cluster.CreateTopicsResponse> {
    return overTheWire(controllerMethods.createTopics, await this.#call(deadlineMs, async (controller) => await controller.createTopics(request)))
  }

  async deleteTopics (request: Parameters<ControllerChannel['deleteTopics']>[0], deadlineMs: number): Promise<gregor.cluster.DeleteTopicsResponse> {
    return overTheWire(controllerMethods.deleteTopics, await this.#call(deadlineMs, async (controller) => await controller.deleteTopics(request)))
  }

  async createPartitions (request: Parameters<ControllerChannel['createPartitions']>[0], deadlineMs: number): Promise<gregor.cluster.CreatePartitionsResponse> {
    return overTheWire(controllerMethods.createPartitions, await this.#call(deadlineMs, async (controller) => await controller.createPartitions(request)))
  }

  async electLeaders (request: Parameters<ControllerChannel['electLeaders']>[0], deadlineMs: number): Promise<gregor.cluster.ElectLeadersResponse> {
    return overTheWire(controllerMethods.electLeaders, await this.#call(deadlineMs, async (controller) => await controller.electLeaders(request)))
  }

  async alterTopicConfigs (request: Parameters<ControllerChannel['alterTopicConfigs']>[0], deadlineMs: number): Promise<gregor.cluster.AlterTopicConfigsResponse> {
    return overTheWire(controllerMethods.alterTopicConfigs, await this.#call(deadlineMs, async (controller) => await controller.alterTopicConfigs(request)))
  }

  async alterUserScramCredentials (request: Parameters<ControllerChannel['alterUserScramCredentials']>[0], deadlineMs: number): Promise<gregor.cluster.AlterUserScramCredentialsResponse> {
    return overTheWire(controllerMethods.alterUserScramCredentials, await this.#call(deadlineMs, async (controller) => await controller.alterUserScramCredentials(request)))
  }

  async createAcls (request: Parameters<ControllerChannel['createAcls']>[0], deadlineMs: number): Promise<gregor.cluster.CreateAclsResponse> {
    return overTheWire(controllerMethods.createAcls, await this.#call(deadlineMs, async (controller) => await controller.createAcls(request)))
  }

  async deleteAcls (request: Parameters<ControllerChannel['deleteAcls']>[0], deadlineMs: number): Promise<gregor.cluster.DeleteAclsResponse> {
    return overTheWire(controllerMethods.deleteAcls, await this.#call(deadlineMs, async (controller) => await controller.deleteAcls(request)))
  }

  /**
   * A heartbeat "stream": each heartbeat is a message to the controller, each answer a message back. The stream
   * breaks when a heartbeat goes unanswered for a deadline (as a gRPC stream over a dead connection does), and the
   * controller is then told the connection was lost (as the gRPC service does when the stream ends).
   */
  openHeartbeats (handlers: Parameters<ControllerChannel['openHeartbeats']>[0]): ReturnType<ControllerChannel['openHeartbeats']> {
    const leader = this.#leaderId()
    if (leader === 0) return undefined
    let open = true
    let sender: { brokerId: number; incarnationId: string } | undefined
    const lost = (): void => {
      const controller = this.#controllerOf(leader)
      if (sender !== undefined && controller !== undefined) {
        const { brokerId, incarnationId } = sender
        this.#network.send(this.#process.id, leader, () => { controller.connectionLost(nodeId(brokerId), incarnationId) })
      }
    }
    return {
      send: (heartbeat) => {
        if (!open) return
        sender = { brokerId: Number(heartbeat.brokerId), incarnationId: String(heartbeat.incarnationId) }
        this.#call(interBrokerCallDeadlineMs, async (controller) => await controller.heartbeat(heartbeat)).then(
          (response) => { if (open) handlers.onResponse(overTheWire(controllerMethods.heartbeat, response)) },
          (error: unknown) => {
            if (!open) return
            open = false
            lost()
            handlers.onBroken(error instanceof Error ? error.message : String(error))
          },
        )
      },
      close: () => {
        if (!open) return
        open = false
        lost()
      },
    }
  }

  close (): void {}
}

/** Replica fetch sessions over the simulated network: each fetch is a call to the leader's replica manager. */
class SimFetchTransport implements ReplicaFetchTransport {
  readonly #process: SimProcess
  readonly #network: SimRpcNetwork
  readonly #replicasOf: (brokerId: number) => ReplicaManager | undefined

  constructor (process: SimProcess, network: SimRpcNetwork, replicasOf: (brokerId: number) => ReplicaManager | undefined) {
    this.#process = process
    this.#network = network
    this.#replicasOf = replicasOf
  }

  open (leaderId: number): ReplicaFetchSession | undefined {
    let closed = false
    return {
      fetch: async (request) => {
        if (closed) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, 'fetch session closed')
        return await this.#network.call(this.#process, leaderId, async () => {
          const replicas = this.#replicasOf(leaderId)
          if (replicas === undefined) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, `broker ${leaderId} is down`)
          return await replicas.handleReplicaFetch(request)
        }, 60_000)
      },
      close: () => { closed = true },
    }
  }
}

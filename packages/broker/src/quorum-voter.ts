/**
 * A bare metadata-quorum voter (`gregor voter`): the quorum with the AppliedLog state machine and the
 * QuorumService, on one gRPC listener. It runs and tests the quorum alone; brokers embed MetadataQuorum directly.
 *
 * A composition root like broker.ts: it opens the level raft store and the gRPC raft transport, gives them to the
 * quorum with the system timers and clock, and closes them after the quorum stopped.
 */
import { randomInt } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { bindServer } from './bind-server.js'
import { ErrorCode, GregorError, type Logger, type NodeId, seededRng } from '@gregor/common'
import { RaftTransport, addQuorumService, addRaftService, defaultRaftTransportConfig } from '@gregor/protocol'
import { RaftStore } from '@gregor/storage'
import { AppliedLog } from './applied-log.js'
import { MetadataQuorum } from './metadata-quorum.js'
import type { RaftDriverConfig } from './raft-driver.js'
import { systemMonotonicClock, systemTimers } from './system/system-timers.js'

export interface QuorumVoterConfig {
  readonly nodeId: NodeId
  readonly clusterId: string
  readonly voters: ReadonlyMap<NodeId, string>
  /** Where this voter listens (`host:port`). */
  readonly listenAddress: string
  readonly dataDir: string
  readonly driver?: Partial<RaftDriverConfig>
  readonly electionTicks?: number
}

export class QuorumVoter {
  readonly #config: QuorumVoterConfig
  readonly #log: Logger
  readonly #logger: Logger
  #quorum: MetadataQuorum | undefined
  #store: RaftStore | undefined
  #transport: RaftTransport | undefined
  #server: grpc.Server | undefined
  readonly stateMachine = new AppliedLog()

  constructor (config: QuorumVoterConfig, logger: Logger) {
    this.#config = config
    this.#logger = logger
    this.#log = logger.child({ component: 'quorum-voter' })
  }

  /** Starts the quorum and its listener, or neither: a failed bind stops the quorum again (as `Broker.start`). */
  async start (): Promise<void> {
    const { nodeId, clusterId, voters, dataDir } = this.#config
    const voterIds = [...voters.keys()]
    const logger = this.#logger
    const store = this.#store = await RaftStore.open({ dir: dataDir, clusterId, nodeId, voters: voterIds, logger })
    const transport = this.#transport = new RaftTransport({ ...defaultRaftTransportConfig, nodeId, clusterId, voters }, logger)
    const quorum = this.#quorum = new MetadataQuorum({ ...this.#config, voters: voterIds }, {
      stateMachine: this.stateMachine, store, transport, timers: systemTimers, clock: systemMonotonicClock,
      // The seed only spreads election timeouts between voters; it need not be secret or reproducible across runs.
      rng: seededRng(randomInt(2 ** 31)), logger,
    })
    const server = new grpc.Server({ 'grpc.max_receive_message_length': defaultRaftTransportConfig.messageBytesMax })
    this.#server = server
    addRaftService(server, {
      clusterId, nodeId, voters: new Set(voterIds), logger,
      onMessage: (message) => { quorum.receive(message) }, onPeerGone: (peerId) => { quorum.peerGone(peerId) },
    })
    quorum.start()
    addQuorumService(server, {
      propose: async (data) => await quorum.propose(data),
      status: () => this.status(),
      readApplied: (fromPosition, entriesMax) => ({ payloads: this.stateMachine.read(fromPosition, entriesMax), appliedCount: this.stateMachine.count }),
      leaderId: () => quorum.leaderId,
    })
    try {
      await bindServer(server, 'RAFT', this.#config.listenAddress)
    } catch (error) {
      await this.stop(0)
      throw error
    }
    this.#log.info({ nodeId: this.#config.nodeId, listenAddress: this.#config.listenAddress }, 'voter started')
  }

  status (): ReturnType<MetadataQuorum['status']> & { appliedCount: number; appliedDigest: string } {
    return { ...this.#requireQuorum().status(), appliedCount: this.stateMachine.count, appliedDigest: this.stateMachine.digest }
  }

  /** Proposes through this voter; fails with NOT_CONTROLLER (retriable, with leaderId) unless it leads. */
  async propose (data: Uint8Array): Promise<{ index: number }> {
    return await this.#requireQuorum().propose(data)
  }

  async stop (transferTimeoutMs = 2_000): Promise<void> {
    await this.#quorum?.stop(transferTimeoutMs)
    this.#transport?.close()
    await this.#store?.close()
    await new Promise<void>((resolve) => { if (this.#server === undefined) resolve(); else this.#server.tryShutdown(() => resolve()) })
    this.#log.info({}, 'voter stopped')
  }

  #requireQuorum (): MetadataQuorum {
    if (this.#quorum === undefined) throw new GregorError(ErrorCode.LEADER_NOT_AVAILABLE, 'metadata quorum not started')
    return this.#quorum
  }
}

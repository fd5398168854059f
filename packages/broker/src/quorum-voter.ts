/**
 * A bare metadata-quorum voter (`gregor voter`): the quorum with the AppliedLog state machine and the
 * QuorumService, on one gRPC listener. It runs and tests the quorum alone; brokers embed MetadataQuorum directly.
 */
import * as grpc from '@grpc/grpc-js'
import { bindServer } from './bind-server.js'
import type { Logger, NodeId } from '@gregor/common'
import { addQuorumService, defaultRaftTransportConfig } from '@gregor/protocol'
import { AppliedLog } from './applied-log.js'
import { MetadataQuorum } from './metadata-quorum.js'
import type { RaftDriverConfig } from './raft-driver.js'

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
  readonly #quorum: MetadataQuorum
  #server: grpc.Server | undefined
  readonly stateMachine = new AppliedLog()

  constructor (config: QuorumVoterConfig, logger: Logger) {
    this.#config = config
    this.#log = logger.child({ component: 'quorum-voter' })
    this.#quorum = new MetadataQuorum(config, { stateMachine: this.stateMachine, logger })
  }

  /** Starts the quorum and its listener, or neither: a failed bind stops the quorum again (as `Broker.start`). */
  async start (): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': defaultRaftTransportConfig.messageBytesMax })
    this.#server = server
    await this.#quorum.start(server)
    addQuorumService(server, {
      propose: async (data) => await this.#quorum.propose(data),
      status: () => this.status(),
      readApplied: (fromPosition, entriesMax) => ({ payloads: this.stateMachine.read(fromPosition, entriesMax), appliedCount: this.stateMachine.count }),
      leaderId: () => this.#quorum.leaderId,
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
    return { ...this.#quorum.status(), appliedCount: this.stateMachine.count, appliedDigest: this.stateMachine.digest }
  }

  /** Proposes through this voter; fails with NOT_CONTROLLER (retriable, with leaderId) unless it leads. */
  async propose (data: Uint8Array): Promise<{ index: number }> {
    return await this.#quorum.propose(data)
  }

  async stop (transferTimeoutMs = 2_000): Promise<void> {
    await this.#quorum.stop(transferTimeoutMs)
    await new Promise<void>((resolve) => { if (this.#server === undefined) resolve(); else this.#server.tryShutdown(() => resolve()) })
    this.#log.info({}, 'voter stopped')
  }
}

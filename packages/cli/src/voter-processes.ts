/**
 * Runs real `gregor voter` OS processes on loopback addresses for multi-process tests and the quorum benchmark: start,
 * kill -9, SIGTERM, restart with the same data directory, and typed QuorumService clients to each. Every process it
 * starts it ends by PID (ChildProcess.kill), never by name.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { QuorumClient } from '@gregor/protocol'
import { loopbackAddress } from './loopback-address.js'
import { waitFor } from './wait-for.js'

/** The CLI entry; resolved from this file whether it runs from src/ (vitest) or dist/. */
export const cliBin = fileURLToPath(new URL('../bin/gregor.js', import.meta.url))
const cliMain = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export interface VoterProcess {
  readonly nodeId: number
  readonly address: string
  readonly client: QuorumClient
  process: ChildProcess | undefined
}

export class VoterProcesses {
  readonly voters: VoterProcess[] = []
  readonly clusterId = 'test-cluster'
  #dir = ''
  #logLevel = 'info'

  static async start (size: number, options: { logLevel?: string } = {}): Promise<VoterProcesses> {
    if (!existsSync(cliMain)) {
      throw new Error('packages/cli/dist is missing: run `npm run build` (npm test does it first)')
    }
    const cluster = new VoterProcesses()
    cluster.#logLevel = options.logLevel ?? 'info'
    cluster.#dir = await mkdtemp(join(tmpdir(), 'gregor-voters-'))
    for (let nodeId = 1; nodeId <= size; nodeId++) {
      const address = loopbackAddress()
      cluster.voters.push({ nodeId, address, client: new QuorumClient(address), process: undefined })
    }
    for (const voter of cluster.voters) cluster.startVoter(voter.nodeId)
    return cluster
  }

  /** Where each voter keeps its data and its log (`voter-<n>.log`). */
  get dir (): string { return this.#dir }

  get votersFlag (): string {
    return this.voters.map((voter) => `${voter.nodeId}@${voter.address}`).join(',')
  }

  voter (nodeId: number): VoterProcess {
    const voter = this.voters.find((candidate) => candidate.nodeId === nodeId)
    if (voter === undefined) throw new Error(`no voter ${nodeId}`)
    return voter
  }

  startVoter (nodeId: number): void {
    const voter = this.voter(nodeId)
    const child = spawn(process.execPath, [cliBin, 'voter',
      '--node-id', String(nodeId), '--cluster-id', this.clusterId, '--voters', this.votersFlag,
      '--listen', voter.address, '--data-dir', join(this.#dir, `voter-${nodeId}`), '--log-level', this.#logLevel,
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    const log = createWriteStream(join(this.#dir, `voter-${nodeId}.log`), { flags: 'a' })
    child.stdout.pipe(log)
    child.stderr.pipe(log)
    voter.process = child
  }

  /** SIGKILL (or another signal) and wait until the process is gone. */
  async kill (nodeId: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.voter(nodeId).process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
    this.voter(nodeId).process = undefined
  }

  running (): VoterProcess[] {
    return this.voters.filter((voter) => voter.process !== undefined)
  }

  /** The leader as seen by every running voter: the same leader id, which is itself a running leader. */
  async waitForLeader (timeoutMs = 20_000, excluding: readonly number[] = []): Promise<{ leaderId: number; term: number }> {
    return await waitFor('a leader all running voters agree on', async () => {
      const statuses = await Promise.all(this.running().map(async (voter) => await voter.client.status(1_000)))
      const leader = statuses.find((status) => status.role === 'leader' && !excluding.includes(status.nodeId))
      if (leader === undefined) return undefined
      if (!statuses.every((status) => status.leaderId === leader.nodeId && status.term === leader.term)) return undefined
      return { leaderId: leader.nodeId, term: leader.term }
    }, { timeoutMs })
  }

  /** Proposes through whichever voter leads, following NOT_CONTROLLER hints; resolves with the committed index. */
  async propose (data: Uint8Array, timeoutMs = 10_000): Promise<number> {
    return await waitFor('a committed proposal', async () => {
      const { leaderId } = await this.waitForLeader(timeoutMs)
      return await this.voter(leaderId).client.propose(data, 3_000)
    }, { timeoutMs })
  }

  async readApplied (nodeId: number): Promise<string[]> {
    const payloads: string[] = []
    for (;;) {
      const response = await this.voter(nodeId).client.readApplied(payloads.length, 10_000)
      payloads.push(...response.payloads.map((payload) => Buffer.from(payload).toString()))
      if (response.payloads.length === 0 || payloads.length >= response.appliedCount) return payloads
    }
  }

  get dataDir (): string { return this.#dir }

  async stop (): Promise<void> {
    await Promise.all(this.voters.map(async (voter) => await this.kill(voter.nodeId)))
    for (const voter of this.voters) voter.client.close()
    await rm(this.#dir, { recursive: true, force: true })
  }
}

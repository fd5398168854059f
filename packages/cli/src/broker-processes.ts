/**
 * Runs real `gregor broker` OS processes on 127.0.0.1: for `gregor dev`, the multi-process tests and benchmarks.
 * Start, kill (any signal), restart on the same data directory, and wait for readiness through each broker's
 * `/readyz`. Every process it starts it ends by PID (ChildProcess.kill), never by name.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { waitFor } from './wait-for.js'

const cliBin = fileURLToPath(new URL('../bin/gregor.js', import.meta.url))
const cliMain = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export interface BrokerProcess {
  readonly nodeId: number
  readonly clientAddress: string
  readonly brokerAddress: string
  readonly adminUrl: string
  process: ChildProcess | undefined
}

export interface BrokerProcessesOptions {
  readonly count?: number
  /** Where data and logs go; a new temp directory when absent (removed by stop() unless `keepDir`). */
  readonly dir?: string
  readonly logLevel?: string
  /** Fixed ports: broker n uses client+n-1, broker+n-1, admin+n-1; free ports where a base is 0 or not given. */
  readonly ports?: { readonly client: number; readonly broker: number; readonly admin: number }
  /** Write each broker's output to `<dir>/broker-<n>.log` (default) or pass it through to this process. */
  readonly output?: 'file' | 'inherit'
  readonly clusterId?: string
  /** Extra arguments for each broker's node process (e.g. `--cpu-prof` to profile a run). */
  readonly nodeArgs?: readonly string[]
  /** Extra environment for every broker (e.g. `GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS`). */
  readonly env?: Readonly<Record<string, string>>
}

export class BrokerProcesses {
  readonly brokers: BrokerProcess[] = []
  readonly clusterId: string
  readonly #dir: string
  readonly #ownsDir: boolean
  readonly #options: BrokerProcessesOptions

  private constructor (dir: string, ownsDir: boolean, options: BrokerProcessesOptions) {
    this.#dir = dir
    this.#ownsDir = ownsDir
    this.#options = options
    this.clusterId = options.clusterId ?? 'gregor-dev'
  }

  static async start (options: BrokerProcessesOptions = {}): Promise<BrokerProcesses> {
    if (!existsSync(cliMain)) throw new Error('packages/cli/dist is missing: run `npm run build` (npm test does it first)')
    const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'gregor-cluster-'))
    await mkdir(dir, { recursive: true })
    const cluster = new BrokerProcesses(dir, options.dir === undefined, options)
    const count = options.count ?? 3
    for (let nodeId = 1; nodeId <= count; nodeId++) {
      const port = async (base: number | undefined): Promise<number> => base === undefined || base === 0 ? await freePort() : base + nodeId - 1
      cluster.brokers.push({
        nodeId,
        clientAddress: `127.0.0.1:${await port(options.ports?.client)}`,
        brokerAddress: `127.0.0.1:${await port(options.ports?.broker)}`,
        adminUrl: `http://127.0.0.1:${await port(options.ports?.admin)}`,
        process: undefined,
      })
    }
    for (const broker of cluster.brokers) cluster.startBroker(broker.nodeId)
    return cluster
  }

  get dir (): string { return this.#dir }
  get bootstrapServers (): string { return this.brokers.map((broker) => broker.clientAddress).join(',') }

  broker (nodeId: number): BrokerProcess {
    const broker = this.brokers.find((candidate) => candidate.nodeId === nodeId)
    if (broker === undefined) throw new Error(`no broker ${nodeId}`)
    return broker
  }

  startBroker (nodeId: number): void {
    const broker = this.broker(nodeId)
    const voters = this.brokers.map((item) => `${item.nodeId}@${item.brokerAddress}`).join(',')
    const admin = broker.adminUrl.replace('http://', '')
    const child = spawn(process.execPath, [...(this.#options.nodeArgs ?? []), cliBin, 'broker',
      '--node-id', String(nodeId), '--cluster-id', this.clusterId, '--voters', voters,
      '--listeners', `CLIENT://${broker.clientAddress},BROKER://${broker.brokerAddress},ADMIN://${admin}`,
      '--data-dir', join(this.#dir, `broker-${nodeId}`), '--log-level', this.#options.logLevel ?? 'info',
    ], {
      stdio: this.#options.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      // The thread pool size must be set before node starts; see the Dockerfile for why a broker wants more than 4.
      env: { UV_THREADPOOL_SIZE: '64', ...process.env, ...this.#options.env },
    })
    if (this.#options.output !== 'inherit') {
      const log = createWriteStream(join(this.#dir, `broker-${nodeId}.log`), { flags: 'a' })
      child.stdout?.pipe(log)
      child.stderr?.pipe(log)
    }
    broker.process = child
    child.once('exit', () => { if (broker.process === child) broker.process = undefined })
  }

  /** Sends `signal` (SIGKILL by default) and waits until the process is gone. */
  async kill (nodeId: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.broker(nodeId).process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  /** Signals without waiting for exit (SIGSTOP / SIGCONT). */
  signal (nodeId: number, signal: NodeJS.Signals): void {
    this.broker(nodeId).process?.kill(signal)
  }

  running (): BrokerProcess[] {
    return this.brokers.filter((broker) => broker.process !== undefined)
  }

  async isReady (nodeId: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.broker(nodeId).adminUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
      return response.ok
    } catch {
      return false
    }
  }

  async waitForReady (nodeIds: readonly number[] = this.brokers.map((broker) => broker.nodeId), timeoutMs = 30_000): Promise<void> {
    await waitFor(`brokers ${nodeIds.join(',')} ready`, async () => {
      const ready = await Promise.all(nodeIds.map(async (nodeId) => await this.isReady(nodeId)))
      return ready.every(Boolean) ? true : undefined
    }, { timeoutMs, intervalMs: 100 })
  }

  /** SIGTERM every broker (controlled shutdown), SIGKILL what is still running after `graceMs`. */
  async stop (options: { graceMs?: number; keepDir?: boolean } = {}): Promise<void> {
    await Promise.all(this.running().map(async (broker) => {
      const child = broker.process
      if (child === undefined) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 10_000)
      await exited
      clearTimeout(timer)
    }))
    if (this.#ownsDir && options.keepDir !== true) await rm(this.#dir, { recursive: true, force: true })
  }
}

/**
 * Runs real `gregor broker` OS processes on loopback addresses: for `gregor dev`, the multi-process tests and benchmarks.
 * Start, kill (any signal), restart on the same data directory, and wait for readiness through each broker's
 * `/readyz`. Every process it starts it ends by PID (ChildProcess.kill), never by name.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loopbackAddress } from './loopback-address.js'
import { waitFor } from './wait-for.js'

const cliBin = fileURLToPath(new URL('../bin/gregor.js', import.meta.url))
const cliMain = fileURLToPath(new URL('../dist/main.js', import.meta.url))
/**
 * V8 heap options every broker process starts with, as kafka-server-start.sh starts the JVM with KAFKA_HEAP_OPTS
 * (`-Xms`): they must be on node's command line (NODE_OPTIONS refuses this one, and V8 sizes the heap before any
 * code runs). Why: a broker allocates few JS objects but tens of MB of Buffers per second under load (each gRPC
 * message received, each encoded answer), and V8 counts Buffer memory allocated since the last mark-compact against
 * the old generation's free space. With the default ~40 MB limit that starts a full mark-compact every 7–8 MB of
 * Buffers (up to 28 per broker in a 1M-record produce run), long before scavenges, which are rare because so little
 * JS is allocated, free those Buffers. A 128 MB initial old generation lets the scavenges free them: 0 mark-compacts
 * per run and ~20% less broker CPU per record (docs/performance.md). The Dockerfile's CMD uses the same flag.
 */
export const BROKER_NODE_ARGS: readonly string[] = Object.freeze(['--initial-old-space-size=128'])
/** Lines of a broker's log quoted when it does not become ready. */
const logTailLines = 15

export interface BrokerProcess {
  readonly nodeId: number
  /** The KAFKA listener: Kafka's wire protocol, for Kafka's own clients and tools. */
  readonly kafkaAddress: string
  /** The CLIENT listener: Gregor's gRPC API, for `@gregor/client` and the `gregor` CLI. */
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
  /**
   * Fixed ports on 127.0.0.1: broker n uses kafka+n-1, client+n-1, broker+n-1, admin+n-1. Where a base is 0 or not
   * given, a private loopback address of this process (see loopback-address.ts), never an OS-picked ephemeral port.
   */
  readonly ports?: { readonly kafka?: number; readonly client: number; readonly broker: number; readonly admin: number }
  /** Write each broker's output to `<dir>/broker-<n>.log` (default) or pass it through to this process. */
  readonly output?: 'file' | 'inherit'
  readonly clusterId?: string
  /** Extra arguments for each broker's node process (e.g. `--cpu-prof` to profile a run). */
  readonly nodeArgs?: readonly string[]
  /** Extra environment for every broker (e.g. `GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS`). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * TLS (docs/security.md): broker n presents `<certsDir>/broker-<n>.pem|key` and trusts `<certsDir>/ca.pem` (the
   * files `gregor certs create` makes, valid for this process's loopback address: pass it as a `--host`).
   */
  readonly tls?: { readonly certsDir: string; readonly securityProtocolMap: string; readonly clientAuth?: string }
}

/** Whether a listener security protocol map puts ADMIN on HTTPS. */
function adminUsesTls (options: BrokerProcessesOptions): boolean {
  return /(^|,)\s*ADMIN:SSL\s*(,|$)/i.test(options.tls?.securityProtocolMap ?? '')
}

export class BrokerProcesses {
  readonly brokers: BrokerProcess[] = []
  readonly clusterId: string
  readonly #dir: string
  readonly #ownsDir: boolean
  readonly #options: BrokerProcessesOptions
  /** How each broker's last process ended, for the message of a readiness timeout. */
  readonly #exits = new Map<number, string>()

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
      const address = (base: number | undefined): string => base === undefined || base === 0 ? loopbackAddress() : `127.0.0.1:${base + nodeId - 1}`
      cluster.brokers.push({
        nodeId,
        kafkaAddress: address(options.ports?.kafka),
        clientAddress: address(options.ports?.client),
        brokerAddress: address(options.ports?.broker),
        adminUrl: `${adminUsesTls(options) ? 'https' : 'http'}://${address(options.ports?.admin)}`,
        process: undefined,
      })
    }
    for (const broker of cluster.brokers) cluster.startBroker(broker.nodeId)
    return cluster
  }

  get dir (): string { return this.#dir }
  /** The gRPC bootstrap servers (`gregor` CLI, `@gregor/client`). */
  get bootstrapServers (): string { return this.brokers.map((broker) => broker.clientAddress).join(',') }
  /** The Kafka bootstrap servers (kcat, KafkaJS, librdkafka, the Java client). */
  get kafkaBootstrapServers (): string { return this.brokers.map((broker) => broker.kafkaAddress).join(',') }

  broker (nodeId: number): BrokerProcess {
    const broker = this.brokers.find((candidate) => candidate.nodeId === nodeId)
    if (broker === undefined) throw new Error(`no broker ${nodeId}`)
    return broker
  }

  startBroker (nodeId: number): void {
    const broker = this.broker(nodeId)
    const voters = this.brokers.map((item) => `${item.nodeId}@${item.brokerAddress}`).join(',')
    const admin = broker.adminUrl.replace(/^https?:\/\//, '')
    const child = spawn(process.execPath, [...BROKER_NODE_ARGS, ...(this.#options.nodeArgs ?? []), cliBin, 'broker',
      '--node-id', String(nodeId), '--cluster-id', this.clusterId, '--voters', voters,
      '--listeners', `KAFKA://${broker.kafkaAddress},CLIENT://${broker.clientAddress},BROKER://${broker.brokerAddress},ADMIN://${admin}`,
      '--listener-protocol-map', 'KAFKA:kafka,CLIENT:grpc',
      '--data-dir', join(this.#dir, `broker-${nodeId}`), '--log-level', this.#options.logLevel ?? 'info',
      ...(this.#options.tls === undefined ? [] : this.#tlsArgs(nodeId, this.#options.tls)),
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
    this.#exits.delete(nodeId)
    child.once('exit', (code, signal) => {
      if (broker.process !== child) return
      broker.process = undefined
      this.#exits.set(nodeId, signal === null ? `exited with code ${String(code)}` : `killed by ${signal}`)
    })
  }

  #tlsArgs (nodeId: number, tls: NonNullable<BrokerProcessesOptions['tls']>): string[] {
    return ['--listener-security-protocol-map', tls.securityProtocolMap, '--ssl-ca-file', join(tls.certsDir, 'ca.pem'),
      '--ssl-cert-file', join(tls.certsDir, `broker-${nodeId}.pem`), '--ssl-key-file', join(tls.certsDir, `broker-${nodeId}.key`),
      ...(tls.clientAuth === undefined ? [] : ['--ssl-client-auth', tls.clientAuth])]
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
    if (this.#options.tls !== undefined && adminUsesTls(this.#options)) return await this.#isReadyOverHttps(nodeId, this.#options.tls.certsDir)
    try {
      const response = await fetch(`${this.broker(nodeId).adminUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
      return response.ok
    } catch {
      return false
    }
  }

  /** /readyz on an HTTPS admin listener, trusting the cluster's CA (fetch cannot be given a CA). */
  async #isReadyOverHttps (nodeId: number, certsDir: string): Promise<boolean> {
    const url = new URL(`${this.broker(nodeId).adminUrl}/readyz`)
    const ca = await readFile(join(certsDir, 'ca.pem'))
    return await new Promise((resolve) => {
      const request = httpsRequest({ host: url.hostname, port: url.port, path: url.pathname, ca, timeout: 1_000 }, (response) => {
        response.resume()
        resolve(response.statusCode === 200)
      })
      request.on('timeout', () => request.destroy(new Error('timeout')))
      request.on('error', () => resolve(false))
      request.end()
    })
  }

  /**
   * Waits until every broker of `nodeIds` answers /readyz with 200. On timeout the error says, for each broker not
   * ready, whether its process still runs and what its log ended with: a CI failure must be diagnosable from the
   * test output alone, since the data directory is gone by then.
   */
  async waitForReady (nodeIds: readonly number[] = this.brokers.map((broker) => broker.nodeId), timeoutMs = 30_000): Promise<void> {
    let notReady: number[] = []
    try {
      await waitFor(`brokers ${nodeIds.join(',')} ready`, async () => {
        const ready = await Promise.all(nodeIds.map(async (nodeId) => await this.isReady(nodeId)))
        notReady = nodeIds.filter((_, i) => ready[i] !== true)
        return notReady.length === 0 ? true : undefined
      }, { timeoutMs, intervalMs: 100 })
    } catch (error) {
      const reports = await Promise.all(notReady.map(async (nodeId) => await this.#report(nodeId)))
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${reports.join('\n')}`)
    }
  }

  async #report (nodeId: number): Promise<string> {
    const broker = this.broker(nodeId)
    const state = broker.process !== undefined ? `running as pid ${String(broker.process.pid)}` : this.#exits.get(nodeId) ?? 'not started'
    let tail = '(output not kept in a file)'
    if (this.#options.output !== 'inherit') {
      try {
        tail = (await readFile(join(this.#dir, `broker-${nodeId}.log`), 'utf8')).trimEnd().split('\n').slice(-logTailLines).join('\n')
      } catch (error) {
        tail = `(no log: ${error instanceof Error ? error.message : String(error)})`
      }
    }
    return `broker ${nodeId} (client ${broker.clientAddress}, broker ${broker.brokerAddress}, admin ${broker.adminUrl}) not ready, ${state}; its log ends:\n${tail}`
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

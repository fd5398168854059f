/**
 * The docker-compose path as users run it (issue 5): `docker-compose up -d --build` on the repository's Dockerfile
 * and docker-compose.yml, three healthy brokers, a topic with RF 3, acks=all load, `docker kill` of the busiest
 * leader, the producer carrying on, every acknowledged record read back at its offset, `gregor cluster watch
 * --json` showing the new leaders, and `docker start` bringing the broker back into the ISR.
 *
 * The engine (scripts/docker/): Debian's dockerd in a private network namespace with its own data root under a
 * scratch dir, and a locally fabricated `node:20-slim` whose npm cache holds the lockfile (no registry here; the
 * namespace has no way out, so the image build is proven offline). This test installs, starts, seeds and stops it
 * itself; it needs root and fails (never skips) without it.
 *
 * Reaching the brokers: published ports live in the engine's namespace. start-engine.sh links that namespace to
 * ours with a veth pair (the engine at GREGOR_DOCKER_ADDRESS), and compose gets GREGOR_ADVERTISED_HOST set to that
 * address, so the host-facing listeners advertise `<address>:19092` (Kafka's protocol) and `<address>:19292` (gRPC)
 * etc. instead of `localhost:...`. The test process then uses the real client library in-process, and kcat (Kafka's
 * protocol, librdkafka) as a child process, exactly as host-side clients would. Figures are printed as JSON lines.
 *
 * Then the secure variant (docker-compose.secure.yml over docker-compose.yml, docs/security.md) on the same engine and
 * image, under its own project once the plain one is down: `gregor certs bootstrap --host <engine address>` on the
 * host (into the scratch dir, GREGOR_CERTS_DIR, so a developer's ./compose-certs is left alone), the one-shot certs
 * service, three healthy brokers (healthcheck over HTTPS), a topic made with `gregor topics create` over gRPC
 * SASL_SSL, and kcat over SASL_SSL (SCRAM-SHA-512 as the bootstrap admin, the generated CA) producing and consuming;
 * a plaintext kcat on the same port gets nothing.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Admin, Producer } from '@gregor/client'
import { cliBin, waitFor } from '@gregor/cli'
import { AcksAllLoad, expectAckedReadBack } from '../cluster/cluster-helpers.js'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const scriptsDir = `${repoRoot}scripts/docker`
const topic = 'failover'
/** kcat's topic: the load's read-back checks that its topic holds only what the load sent. */
const kcatTopic = 'kcat-failover'
const execFileAsync = promisify(execFile)

// A short scratch path: the engine's unix socket lives in it (108-byte limit).
const scratch = mkdtempSync('/tmp/gregor-dk-')
const project = `gregore2e${process.pid}`
/** The secure variant's project: its own containers, network and volumes. */
const secureProject = `gregorsec${process.pid}`
/** Where `gregor certs bootstrap` writes the secure variant's certificates (GREGOR_CERTS_DIR). */
const certsDir = `${scratch}/certs`
let secureUp = false
/** The engine's address on our side of the veth pair: the brokers' HOST listeners advertise it. */
let engineAddress = ''
let engineEnv: NodeJS.ProcessEnv | undefined
let engineStarted = false
let composeUp = false
let bootstrapServers: string[] = []
/** The HOST listeners: Kafka's protocol from the host. */
let kafkaBootstrapServers = ''
let admin: Admin | undefined

/** Runs a command to completion; a failure throws with its stderr tail, so the reason shows in the test output. */
async function run (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      cwd: repoRoot, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string }
    const tail = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n')
    throw new Error(`${file} ${args.join(' ')} failed: ${failure.message.split('\n')[0] ?? ''}\n${tail}`)
  }
}

async function docker (...args: string[]): Promise<string> {
  return (await run('docker', args, { env: engineEnv })).trim()
}

async function compose (...args: string[]): Promise<string> {
  return await run('docker-compose', ['-p', project, '-f', `${repoRoot}docker-compose.yml`, ...args], { env: engineEnv, timeoutMs: 240_000 })
}

async function secureCompose (...args: string[]): Promise<string> {
  return await run('docker-compose', ['-p', secureProject, '-f', `${repoRoot}docker-compose.yml`, '-f', `${repoRoot}docker-compose.secure.yml`, ...args],
    { env: { ...engineEnv, GREGOR_CERTS_DIR: certsDir }, timeoutMs: 240_000 })
}

/** Waits until the containers' healthchecks pass; a container that exits fails at once, with its state. */
async function waitForHealthy (containers: readonly string[], timeoutMs: number): Promise<void> {
  await waitFor(`${containers.length} healthy brokers`, async () => {
    const states = (await docker('inspect', '-f', '{{.State.Status}} {{.State.Health.Status}}', ...containers)).split('\n')
    if (states.some((state) => state.startsWith('exited'))) throw new Error(`a broker exited: ${states.join(', ')}`)
    return states.every((state) => state === 'running healthy') ? true : undefined
  }, { timeoutMs, intervalMs: 200 })
}

/** kcat (librdkafka) against the HOST listeners, with `input` on stdin; resolves with stdout, rejects on a non-zero exit. */
async function kcat (args: readonly string[], input = '', servers = kafkaBootstrapServers): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', servers, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.once('close', (code) => { code === 0 ? resolve(stdout) : reject(new Error(`kcat ${args.join(' ')} exited ${String(code)}: ${stderr.slice(-2000)}`)) })
    child.stdin.end(input)
  })
}

async function containerOf (nodeId: number): Promise<string> {
  return await compose('ps', '-q', `broker-${nodeId}`).then((out) => out.trim())
}

async function describePartitions (): Promise<ReadonlyArray<{ partition: number; leader: number; isr: readonly number[] }>> {
  const [description] = await (admin as Admin).describeTopics([topic])
  return description?.partitions ?? []
}

async function waitForIsr (size: number, timeoutMs: number): Promise<void> {
  await waitFor(`every partition of ${topic} with a leader and ${size} in sync`, async () => {
    const partitions = await describePartitions()
    return partitions.length === 3 && partitions.every((partition) => partition.leader > 0 && partition.isr.length === size) ? true : undefined
  }, { timeoutMs, intervalMs: 100 })
}

/** `gregor cluster watch --json` from the host: its updates, one JSON object per line, collected as they come. */
function watchCluster (): { child: ChildProcess; updates: Array<{ partitions?: Array<{ topic: string; partition: number; leader: number; isr: number[] }>; events?: Array<{ kind: string; text?: string }> }> } {
  const child = spawn(process.execPath, [cliBin, 'cluster', 'watch', '--json', '--interval-ms', '200', '-b', bootstrapServers.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const updates: ReturnType<typeof watchCluster>['updates'] = []
  let pending = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.trim() !== '') updates.push(JSON.parse(line) as (typeof updates)[number])
  })
  return { child, updates }
}

beforeAll(async () => {
  // Never a skip: a machine that cannot run this test fails it, with the reason.
  if (process.getuid?.() !== 0) throw new Error('the docker-compose test needs root (it installs and runs dockerd in a private network namespace); run npm test as root')
  await run('bash', [`${scriptsDir}/install-engine.sh`], { timeoutMs: 300_000 })
  const exports = await run('bash', [`${scriptsDir}/start-engine.sh`, scratch, project.slice(-12)], { timeoutMs: 90_000 })
  engineStarted = true
  const vars = Object.fromEntries([...exports.matchAll(/^export (\w+)=(.*)$/gm)].map((match) => [match[1] as string, match[2] as string]))
  if (vars.DOCKER_HOST === undefined || vars.GREGOR_DOCKER_ADDRESS === undefined) throw new Error(`start-engine.sh printed no DOCKER_HOST/GREGOR_DOCKER_ADDRESS:\n${exports}`)
  const address = vars.GREGOR_DOCKER_ADDRESS
  engineAddress = address
  engineEnv = { ...process.env, DOCKER_HOST: vars.DOCKER_HOST, GREGOR_ADVERTISED_HOST: address }
  await run('bash', [`${scriptsDir}/seed-base-image.sh`, scratch, repoRoot], { env: engineEnv, timeoutMs: 180_000 })

  const upStartedMs = Date.now()
  composeUp = true
  await compose('up', '-d', '--build')
  const upReturnedMs = Date.now()
  const containers = await Promise.all([1, 2, 3].map(containerOf))
  await waitForHealthy(containers, 60_000)
  const healthyMs = Date.now()
  // The containers start at the end of `up` (after the build): measure from the last start to all healthy.
  const startedAt = (await docker('inspect', '-f', '{{.State.StartedAt}}', ...containers)).split('\n').map((text) => Date.parse(text))
  console.log(JSON.stringify({
    name: 'compose-up',
    upWithBuildMs: upReturnedMs - upStartedMs,
    startToHealthyMs: healthyMs - Math.max(...startedAt),
    upToHealthyMs: healthyMs - upStartedMs,
  }))
  bootstrapServers = [`${address}:19292`, `${address}:29292`, `${address}:39292`]
  kafkaBootstrapServers = `${address}:19092,${address}:29092,${address}:39092`
  admin = new Admin({ bootstrapServers })
}, 420_000)

afterAll(async () => {
  admin?.close()
  const problems: string[] = []
  if (composeUp && process.env.GREGOR_KEEP_DOCKER !== '1') {
    // -t 10: the data is deleted anyway; a broker that lingers after its controlled shutdown is cut off at 10 s.
    await compose('down', '-v', '-t', '10').catch((error: unknown) => problems.push(String(error)))
  }
  if (secureUp && process.env.GREGOR_KEEP_DOCKER !== '1') {
    const downStartedMs = Date.now()
    // -t 2: this case tests no shutdown (the plain one does), and three brokers stopping together wait on a quorum
    // that is going away: 10 s of grace cost the whole 10 s.
    await secureCompose('down', '-v', '-t', '2').then(() => { console.log(JSON.stringify({ name: 'compose-secure-down', downMs: Date.now() - downStartedMs })) },
      (error: unknown) => problems.push(String(error)))
  }
  if (engineStarted && process.env.GREGOR_KEEP_DOCKER !== '1') {
    await run('bash', [`${scriptsDir}/stop-engine.sh`, scratch, '--purge'], { timeoutMs: 120_000 }).catch((error: unknown) => problems.push(String(error)))
  }
  if (process.env.GREGOR_KEEP_DOCKER !== '1') rmSync(scratch, { recursive: true, force: true })
  if (problems.length > 0) throw new Error(`teardown: ${problems.join('\n')}`)
}, 180_000)

describe('docker-compose: three brokers, kill one, watch the failover', () => {
  test('docker kill of the busiest leader under acks=all load: the producer carries on, nothing acknowledged is lost, the broker rejoins', async () => {
    const testStartedMs = Date.now()
    await (admin as Admin).createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }, { topic: kcatTopic, numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(3, 30_000)
    const leaders = new Map((await describePartitions()).map((partition) => [partition.partition, partition.leader]))
    const counts = new Map<number, number>()
    for (const leader of leaders.values()) counts.set(leader, (counts.get(leader) ?? 0) + 1)
    // Ties (3 partitions over 3 brokers) go to the active controller: the hardest case (a controller failover and
    // partition failovers at once), and the same case on every run.
    const { controllerId } = await (admin as Admin).describeCluster()
    const victim = [...counts].sort((a, b) => b[1] - a[1] || Number(b[0] === controllerId) - Number(a[0] === controllerId))[0]?.[0] as number
    const victimContainer = await containerOf(victim)
    const watch = watchCluster()

    const load = new AcksAllLoad(new Producer({ bootstrapServers, lingerMs: 5, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 }), topic)
    try {
      // The watch's events are diffs between its polls: it reports the leader change only if a poll saw the leaders before
      // the kill (a watch process still starting when the failover is done sees the new leaders first, and no event).
      await waitFor('cluster watch to show the leaders before the kill', () => watch.updates.some((update) =>
        (update.partitions ?? []).filter((partition) => partition.topic === topic).length === 3) ? true : undefined, { timeoutMs: 30_000 })
      await load.waitForAcks(2_000, 'load before the kill')
      const killStartedMs = Date.now()
      // `docker kill` returns once the daemon has handled the exit (seconds here): the victim is dead from then on,
      // so acks of sends issued later are its successors' (scripts/docker/failover-bench.mjs times the signal itself).
      await docker('kill', victimContainer)
      const dockerKillMs = Date.now() - killStartedMs
      load.markKilled([...leaders].filter(([, leader]) => leader === victim).map(([partition]) => partition))
      // Kafka's own client from the host, through localhost:19092 while the failover happens: an idempotent acks=all
      // kcat producer (librdkafka retries until its delivery timeout; kcat exits non-zero if any line failed).
      const kcatLines = Array.from({ length: 500 }, (_, i) => `kcat-${i}`)
      const kcatProduce = kcat(['-P', '-t', kcatTopic, '-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'linger.ms=5',
        '-X', 'message.timeout.ms=60000', '-K', ':'], kcatLines.map((line) => `${line}:${line}`).join('\n') + '\n')
        .then(() => undefined, (error: unknown) => error) // awaited below; a failure must not surface unhandled before
      await waitFor('new leaders for every partition', async () => {
        const partitions = await describePartitions()
        return partitions.every((partition) => partition.leader > 0 && partition.leader !== victim) ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 50 })
      // As seen by the Admin: includes its request deadline on the dead broker's address, so later than the failover.
      const newLeadersSeenMs = Date.now() - killStartedMs
      await load.waitForAcks(2_000, 'acks after the failover')
      await waitFor('an ack from a successor', () => load.firstAckAfterKillMs > 0 ? true : undefined, { timeoutMs: 30_000 })

      // `gregor cluster watch --json` saw it too: an update where no partition is led by the victim, and the events.
      await waitFor('cluster watch to show the new leaders', () => watch.updates.some((update) => {
        const mine = (update.partitions ?? []).filter((partition) => partition.topic === topic)
        return mine.length === 3 && mine.every((partition) => partition.leader > 0 && partition.leader !== victim) ? true : undefined
      }) ? true : undefined, { timeoutMs: 10_000 })
      const leaderEvents = watch.updates.flatMap((update) => update.events ?? []).filter((event) => event.kind === 'leader').map((event) => event.text)
      expect(leaderEvents.length).toBeGreaterThan(0)

      const restartedAtMs = Date.now()
      await docker('start', victimContainer)
      await waitForIsr(3, 60_000)
      const rejoinMs = Date.now() - restartedAtMs
      expect(await kcatProduce).toBeUndefined()
      // Read back through the Kafka listener: every kcat line exactly once (idempotence: no duplicate from a retry).
      const consumed = (await kcat(['-C', '-t', kcatTopic, '-o', 'beginning', '-e', '-f', '%k\\n'])).split('\n').filter((key) => key.startsWith('kcat-'))
      expect(consumed.sort()).toEqual([...kcatLines].sort())

      await load.stop()
      expect(load.failures).toEqual([])
      await expectAckedReadBack(bootstrapServers, topic, [0, 1, 2], load.acked, load.sent)
      // `docker stop` delivers SIGTERM to node (exec-form CMD, PID 1): the broker's logs show the controlled shutdown.
      // -t 5: the shutdown takes about a second; a broker still running at 5 s would be SIGKILLed (exit 137).
      const stopStartedMs = Date.now()
      await docker('stop', '-t', '5', victimContainer)
      const stopMs = Date.now() - stopStartedMs
      const exitCode = Number(await docker('inspect', '-f', '{{.State.ExitCode}}', victimContainer))
      const { stdout: logText } = await execFileAsync('docker', ['logs', victimContainer], { env: engineEnv, maxBuffer: 64 * 1024 * 1024 })
      const logLines = logText.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg?: string; signal?: string; shutdownReady?: boolean })
      expect(logLines.some((line) => line.msg === 'shutdown requested' && line.signal === 'SIGTERM')).toBe(true)
      expect(logLines.some((line) => line.msg === 'controlled shutdown finished' && line.shutdownReady === true)).toBe(true)
      expect(exitCode).toBe(0)

      console.log(JSON.stringify({
        name: 'compose-failover', victim, victimWasController: victim === controllerId, dockerKillMs, firstAckAfterDockerKillMs: load.firstAckAfterKillMs, newLeadersSeenMs, rejoinMs, acked: load.acked.length, leaderEvents,
        dockerStop: { stopMs, exitCode, brokerStoppedLogged: logLines.some((line) => line.msg === 'broker stopped') },
        testMs: Date.now() - testStartedMs,
      }))
    } finally {
      await load.stop().catch(() => undefined) // a second stop after the one above is a no-op
      watch.child.kill('SIGTERM')
    }
  }, 240_000)
})

describe('docker-compose.secure.yml: the secure variant, run for real', () => {
  test('certs bootstrap, the certs service, three healthy brokers; kcat over SASL_SSL produces and consumes, plaintext kcat is refused', async () => {
    const testStartedMs = Date.now()
    // One cluster at a time on the engine (same published ports): the plain one goes first, and its volumes with it.
    // Meanwhile the certificates, on the host as the file's header says; the engine's address is the host name
    // clients use (a SAN of each broker certificate).
    admin?.close()
    admin = undefined
    await Promise.all([
      composeUp ? compose('down', '-v', '-t', '10').then(() => { composeUp = false }) : undefined,
      run(process.execPath, [cliBin, 'certs', 'bootstrap', '--dir', certsDir, '--host', engineAddress], { timeoutMs: 60_000 }),
    ])
    const downMs = Date.now() - testStartedMs
    const password = readFileSync(`${certsDir}/admin.password`, 'utf8').trim()
    const upStartedMs = Date.now()
    secureUp = true
    try {
      await secureCompose('up', '-d') // gregor:dev is the image the plain run built
      const containers = await Promise.all([1, 2, 3].map(async (nodeId) => (await secureCompose('ps', '-q', `broker-${nodeId}`)).trim()))
      await waitForHealthy(containers, 60_000)
    } catch (error) {
      // The containers' own words: why the certs service or a broker did not come up.
      const logs = await secureCompose('logs', '--no-color', '--tail', '15').catch((failure: unknown) => String(failure))
      throw new Error(`${String(error)}\n--- secure compose logs ---\n${logs}`)
    }
    const upToHealthyMs = Date.now() - upStartedMs
    // The certs service copied what brokers need, not the CA's key or the password, and exited 0.
    const certsContainer = (await secureCompose('ps', '-a', '-q', 'certs')).trim()
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', certsContainer)).toBe('0')

    const servers = [1, 2, 3].map((nodeId) => `${engineAddress}:${nodeId}9092`).join(',')
    const grpcServers = [1, 2, 3].map((nodeId) => `${engineAddress}:${nodeId}9292`).join(',')
    const secureTopic = 'secure-compose'
    // Gregor's own CLI over the HOST_GRPC listener: TLS with the generated CA, SCRAM-SHA-512 as the admin.
    await run(process.execPath, [cliBin, 'topics', 'create', '--topic', secureTopic, '--partitions', '3', '--replication-factor', '3', '-b', grpcServers,
      '--ssl-ca', `${certsDir}/ca.pem`, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'admin', '--sasl-password', password], { timeoutMs: 30_000 })
    const secure = ['-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=admin',
      '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${certsDir}/ca.pem`]
    const metadata = JSON.parse(await kcat([...secure, '-L', '-J', '-t', secureTopic, '-m', '10'], '', servers)) as {
      brokers: Array<{ name: string }>; topics: Array<{ topic: string; partitions: Array<{ leader: number; isrs: number[] }> }>
    }
    // The HOST listener advertises the engine's address: the address the broker certificates were made for.
    expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual([1, 2, 3].map((nodeId) => `${engineAddress}:${nodeId}9092`))
    const lines = Array.from({ length: 20 }, (_, i) => `secure-${i}`)
    await kcat([...secure, '-P', '-t', secureTopic, '-X', 'acks=all', '-X', 'enable.idempotence=true', '-K', ':'],
      lines.map((line) => `${line}:${line}`).join('\n') + '\n', servers)
    // Read back, and meanwhile plaintext on the SASL_SSL port: no metadata (the TLS handshake fails, the broker closes).
    const [consumedText, plaintext] = await Promise.all([
      kcat([...secure, '-C', '-t', secureTopic, '-o', 'beginning', '-e', '-f', '%k\\n'], '', servers),
      kcat(['-L', '-m', '3'], '', servers).then(() => 'listed', (error: Error) => error.message),
    ])
    const consumed = consumedText.split('\n').filter((key) => key !== '')
    expect(consumed.sort()).toEqual([...lines].sort())
    expect(plaintext).not.toBe('listed')
    expect(plaintext).toMatch(/Disconnected|transport failure|Failed to acquire metadata/)
    console.log(JSON.stringify({ name: 'compose-secure', plainDownAndCertsMs: downMs, secureUpToHealthyMs: upToHealthyMs, clientsMs: Date.now() - upStartedMs - upToHealthyMs, testMs: Date.now() - testStartedMs }))
  }, 180_000)
})

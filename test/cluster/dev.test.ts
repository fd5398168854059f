/**
 * `gregor dev` (what `npm start` runs): three broker processes on loopback that print their PIDs and addresses,
 * answer Kafka's clients (kcat) and Gregor's, and `/readyz`, and stop together on Ctrl-C (SIGINT) with exit code 0.
 * Ports 0 give the `gregor dev` process its own loopback address, so the test does not collide with a cluster a
 * developer already runs on 9092-9094.
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { Admin } from '@gregor/client'
import { cliBin, loopbackAddress, waitFor } from '@gregor/cli'
import { isAlive, killDev, spawnDev } from './dev-process.js'

test('gregor dev starts three brokers, prints their PIDs and addresses, and Ctrl-C stops all three', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-dev-test-'))
  const dev = spawnDev(dir)
  const { child, exited } = dev
  let brokerPids: number[] = []
  try {
    const kafkaBootstrap = await waitFor('gregor dev to say ready', () => /ready\. kafka bootstrap servers: (\S+)/.exec(dev.stdout())?.[1], { timeoutMs: 60_000 })
    const bootstrap = /gregor \(grpc\) bootstrap servers: (\S+)/.exec(dev.stdout())?.[1]
    const brokers = [...dev.stdout().matchAll(/broker (\d) {2}pid (\d+) {2}kafka (\S+) {2}grpc (\S+) {2}admin (\S+)/g)]
    expect(brokers.map((match) => match[1])).toEqual(['1', '2', '3'])
    brokerPids = brokers.map((match) => Number(match[2]))
    expect(brokerPids.every(isAlive)).toBe(true)
    expect(kafkaBootstrap).toBe(brokers.map((match) => match[3]).join(','))
    expect(bootstrap).toBe(brokers.map((match) => match[4]).join(','))
    for (const match of brokers) expect((await fetch(`${match[5] as string}/readyz`)).status).toBe(200)

    // Kafka's own tools find the cluster on the Kafka listener: kcat (librdkafka) lists the three brokers, each named
    // by its address on that same listener.
    const listed = await waitFor('kcat -L to list three brokers', async () => {
      const { stdout: json } = await promisify(execFile)('kcat', ['-b', kafkaBootstrap.split(',')[0] as string, '-L', '-J', '-m', '10'])
      const metadata = JSON.parse(json) as { brokers: Array<{ id: number; name: string }> }
      return metadata.brokers.length === 3 ? metadata : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    expect(listed.brokers.map((broker) => `${broker.id}@${broker.name}`).sort()).toEqual(brokers.map((match) => `${match[1] as string}@${match[3] as string}`))

    const admin = new Admin({ bootstrapServers: bootstrap as string })
    try {
      const { brokers: registered } = await waitFor('three live brokers', async () => {
        const described = await admin.describeCluster()
        return described.brokers.filter((broker) => !broker.fenced).length === 3 ? described : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 })
      expect(registered.map((broker) => broker.brokerId).sort()).toEqual([1, 2, 3])
    } finally {
      admin.close()
    }

    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(dev.stdout()).toContain('stopping the three brokers (controlled shutdown)')
    expect(brokerPids.filter(isAlive)).toEqual([])
  } finally {
    await killDev(dev, brokerPids, dir)
  }
}, 120_000)

test('gregor dev refuses a bad port with exit code 2', async () => {
  const child = spawn(process.execPath, [cliBin, 'dev', '--client-port', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  expect(code).toBe(2)
  expect(stderr).toContain('--client-port must be an integer')
})

test('gregor broker with an invalid configuration lists every problem at once and exits with code 2', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GREGOR_')))
  const child = spawn(process.execPath, [cliBin, 'broker', '--node-id', 'zero', '--listeners', 'CLIENT://127.0.0.1:notaport'], {
    stdio: ['ignore', 'ignore', 'pipe'], env,
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  expect(code).toBe(2)
  const problems = stderr.split('\n').filter((line) => line.startsWith('  - '))
  expect(problems.length).toBeGreaterThanOrEqual(4)
  for (const field of ['node-id', 'cluster-id', 'voters', 'listeners', 'data-dir']) expect(stderr).toContain(field)
})

test('gregor broker whose client port is taken says which listener and exits with code 1, not lingering as a voter', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-port-taken-'))
  const [client, brokerAddress, admin] = [loopbackAddress(), loopbackAddress(), loopbackAddress()] as [string, string, string]
  const [host, port] = client.split(':') as [string, string]
  const occupier = createServer()
  await new Promise<void>((resolve) => occupier.listen(Number(port), host, resolve))
  const child = spawn(process.execPath, [cliBin, 'broker', '--node-id', '1', '--cluster-id', 'port-taken', '--voters', `1@${brokerAddress}`,
    '--listeners', `CLIENT://${client},BROKER://${brokerAddress},ADMIN://${admin}`, '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(code).toBe(1)
    expect(stderr).toContain(`cannot listen on CLIENT://${client}`)
    expect(stderr).toContain('EADDRINUSE')
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await new Promise<void>((resolve) => occupier.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  }
}, 30_000)

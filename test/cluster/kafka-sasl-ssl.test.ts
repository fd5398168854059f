/**
 * SASL_SSL on the Kafka listener of three real broker processes (issue 13, test 1): TLS with certificates made by
 * `gregor certs create`'s code, SCRAM users made with `gregor users create --ssl-ca` over the SSL gRPC listener.
 * kcat (security.protocol=sasl_ssl) and KafkaJS (ssl + sasl) produce and consume; a wrong password is refused with
 * SASL_AUTHENTICATION_FAILED; a client that speaks TLS but no SASL cannot produce, and a plaintext client cannot even
 * start. Also the time a client needs to connect and authenticate (one figure in the log, not asserted).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Kafka, type SASLOptions, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BrokerProcesses, type CreatedCertificates, createCertificates, loopbackHost, waitFor } from '@gregor/cli'
import { runGregor } from './cluster-helpers.js'

const run = promisify(execFile)

let dir: string
let certs: CreatedCertificates
let cluster: BrokerProcesses
let ca: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-sasl-ssl-'))
  certs = await createCertificates({ dir: join(dir, 'certs'), brokers: 3, clients: [], hosts: [loopbackHost()] })
  ca = await readFile(certs.caFile, 'utf8')
  cluster = await BrokerProcesses.start({
    logLevel: 'info', tls: { certsDir: join(dir, 'certs'), securityProtocolMap: 'KAFKA:SASL_SSL,CLIENT:SSL,BROKER:SSL' },
  })
  await cluster.waitForReady(undefined, 60_000)
}, 120_000)

afterAll(async () => {
  await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  await rm(dir, { recursive: true, force: true })
})

const kcatSaslSsl = (mechanism: string, user: string, password: string): string[] => [
  '-b', cluster.kafkaBootstrapServers, '-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${certs.caFile}`,
  '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`,
]

function kafkaJs (sasl: SASLOptions | undefined, retries = 5): Kafka {
  return new Kafka({
    clientId: 'kafka-sasl-ssl-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    ssl: { ca: [ca] }, ...(sasl === undefined ? {} : { sasl }), retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

describe('SASL_SSL on the Kafka listener', () => {
  test('users over SSL gRPC; kcat and KafkaJS with SCRAM over TLS produce and consume; wrong password and no SASL refused', async () => {
    const tls = ['--ssl-ca', certs.caFile]
    expect((await runGregor(cluster, ['users', 'create', '--user', 'alice', '--password', 'alice-secret', '--mechanism', 'SCRAM-SHA-512', ...tls])).code).toBe(0)
    expect((await runGregor(cluster, ['topics', 'create', '--topic', 'secure', '--partitions', '1', '--replication-factor', '3', ...tls])).code).toBe(0)
    // Every broker has applied the credential once kcat can list the cluster through each of them.
    for (const address of cluster.kafkaBootstrapServers.split(',')) {
      await waitFor(`alice to log in on ${address}`, async () => {
        const listed = await run('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret'), '-b', address, '-L', '-J', '-m', '5'], { timeout: 30_000 })
          .then(({ stdout }) => JSON.parse(stdout) as { brokers: unknown[], topics: Array<{ topic: string }> }, () => undefined)
        return listed?.topics.some((topic) => topic.topic === 'secure') === true ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 200 })
    }

    const startedMs = performance.now()
    await run('kcat', ['-b', cluster.kafkaBootstrapServers.split(',')[0] as string, ...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret').slice(2), '-L', '-m', '5'], { timeout: 30_000 })
    console.log(`kcat -L over SASL_SSL (process start, TLS, SCRAM-SHA-512, metadata): ${Math.round(performance.now() - startedMs)} ms`)

    await new Promise<void>((resolve, reject) => {
      const child = execFile('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret'), '-t', 'secure', '-P', '-p', '0'], { timeout: 30_000 },
        (error) => { if (error === null) resolve(); else reject(error) })
      child.stdin?.end('s1\ns2\n')
    })
    const { stdout } = await run('kcat', [...kcatSaslSsl('PLAIN', 'alice', 'alice-secret'), '-t', 'secure', '-C', '-o', 'beginning', '-c', '2', '-e', '-q'], { timeout: 30_000 })
    expect(stdout.split('\n').filter((line) => line !== '')).toEqual(['s1', 's2'])

    const kafka = kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' })
    const producer = kafka.producer()
    const connectStartMs = performance.now()
    await producer.connect()
    console.log(`KafkaJS producer connect over SASL_SSL (TLS, SCRAM-SHA-512, metadata): ${Math.round(performance.now() - connectStartMs)} ms`)
    await producer.send({ topic: 'secure', acks: -1, messages: [{ value: 'j1' }] })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: 'sasl-ssl-group' })
    const seen: string[] = []
    await consumer.connect()
    await consumer.subscribe({ topic: 'secure', fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value?.toString() ?? '') } })
    await waitFor('KafkaJS to read s1, s2, j1', async () => seen.length >= 3 ? true : undefined, { timeoutMs: 30_000 })
    await consumer.disconnect()
    expect(seen).toEqual(['s1', 's2', 'j1'])

    const wrong = kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'nope' }, 0).producer()
    expect((await wrong.connect().then(() => undefined, (error: Error) => error))?.name).toBe('KafkaJSSASLAuthenticationError')
    await wrong.disconnect()
    const kcatWrong = await run('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'nope'), '-L', '-m', '5'], { timeout: 30_000 })
      .then(() => '', (error: { stderr?: string }) => error.stderr ?? '')
    expect(kcatWrong).toMatch(/Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/)

    // TLS without SASL: the first request after ApiVersions closes the connection.
    const noSasl = kafkaJs(undefined, 0).producer()
    expect(await noSasl.connect().then(async () => await noSasl.send({ topic: 'secure', messages: [{ value: 'x' }] })).then(() => undefined, (error: Error) => error))
      .toBeInstanceOf(Error)
    await noSasl.disconnect()
    // Neither TLS nor SASL.
    const plaintext = await run('kcat', ['-b', cluster.kafkaBootstrapServers, '-L', '-m', '5'], { timeout: 30_000 }).then(() => 'listed', () => 'refused')
    expect(plaintext).toBe('refused')
  }, 180_000)
})

/**
 * SASL on the Kafka listener of three real broker processes (issue 13, slice 2), the KAFKA listener SASL_PLAINTEXT
 * (GREGOR_LISTENER_SECURITY_PROTOCOL_MAP): users made with `gregor users create` (over gRPC; the salted password
 * travels, never the password; the metadata log holds StoredKey/ServerKey) log in from kcat (librdkafka 2.0.2) and
 * KafkaJS with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN and produce and consume; a wrong password and an unknown user get
 * SASL_AUTHENTICATION_FAILED; a client without SASL on the SASL port cannot produce; a deleted user is refused.
 */
import { execFile } from 'node:child_process'
import { pbkdf2Sync } from 'node:crypto'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { Kafka, type KafkaConfig, type SASLOptions, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { ErrorCode } from '@gregor/common'
import {
  ApiKey, KafkaReader, type RequestBodies, type ResponseBodies, decodeResponse, decodeResponseHeader, encodeRequest,
} from '@gregor/kafka-protocol'
import { runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

const run = promisify(execFile)

let cluster: BrokerProcesses

useCluster((started) => { cluster = started }, {
  env: { GREGOR_LISTENER_SECURITY_PROTOCOL_MAP: 'KAFKA:SASL_PLAINTEXT', GREGOR_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN' },
})

/** Requests in order on one connection to `address`, each answer decoded; the connection is closed afterwards. */
async function kafkaExchange (address: string, steps: ReadonlyArray<{ apiKey: ApiKey, apiVersion: number, body: unknown }>): Promise<unknown[]> {
  const [host = '127.0.0.1', port = '0'] = address.split(':')
  const socket = connect({ host, port: Number(port) })
  let input = Buffer.alloc(0)
  let closed = false
  const waiters: Array<() => void> = []
  const wake = (): void => { for (const waiter of waiters.splice(0)) waiter() }
  socket.on('data', (chunk: Buffer) => { input = Buffer.concat([input, chunk]); wake() })
  socket.on('close', () => { closed = true; wake() })
  socket.on('error', () => {})
  try {
    const answers: unknown[] = []
    for (const [i, { apiKey, apiVersion, body }] of steps.entries()) {
      socket.write(Buffer.concat(encodeRequest({ apiKey, apiVersion, correlationId: i, clientId: 'kafka-sasl-test' }, body as never)))
      while (!(input.length >= 4 && input.length >= 4 + input.readInt32BE(0))) {
        if (closed) throw new Error(`connection closed before the answer to api ${apiKey}`)
        await new Promise<void>((resolve) => { waiters.push(resolve) })
      }
      const size = input.readInt32BE(0)
      const reader = new KafkaReader(input.subarray(4, 4 + size), 0, undefined, ErrorCode.CORRUPT_MESSAGE)
      input = input.subarray(4 + size)
      expect(decodeResponseHeader(reader, apiKey, apiVersion)).toBe(i)
      answers.push(decodeResponse(apiKey, apiVersion, reader))
    }
    return answers
  } finally {
    socket.destroy()
  }
}

/** The SaslAuthenticate answer to a PLAIN login on `address` (one SaslHandshake v1 + SaslAuthenticate v2). */
async function plainLogin (address: string, user: string, password: string): Promise<ResponseBodies[typeof ApiKey.SaslAuthenticate]> {
  const handshake: RequestBodies[typeof ApiKey.SaslHandshake] = { mechanism: 'PLAIN' }
  const authenticate: RequestBodies[typeof ApiKey.SaslAuthenticate] = { authBytes: Buffer.from(`\u0000${user}\u0000${password}`) }
  const [, answer] = await kafkaExchange(address, [
    { apiKey: ApiKey.SaslHandshake, apiVersion: 1, body: handshake },
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, body: authenticate },
  ])
  return answer as ResponseBodies[typeof ApiKey.SaslAuthenticate]
}

/** Until every broker's image has the credential (or no longer has it): the metadata log reaches them in turn. */
async function waitForLogin (user: string, password: string, errorCode: number): Promise<void> {
  for (const address of cluster.kafkaBootstrapServers.split(',')) {
    await waitFor(`${user} login answering ${errorCode} on ${address}`, async () => {
      return (await plainLogin(address, user, password)).errorCode === errorCode ? true : undefined
    }, { timeoutMs: 20_000, intervalMs: 100 })
  }
}

function kafkaJs (sasl?: SASLOptions, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'kafka-sasl-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 }, ...(sasl === undefined ? {} : { sasl }), ...extra,
  })
}

function kcatSasl (mechanism: string, user: string, password: string): string[] {
  return ['-X', 'security.protocol=sasl_plaintext', '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`]
}

async function kcatProduce (topic: string, lines: readonly string[], sasl: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('kcat', ['-b', cluster.kafkaBootstrapServers, ...sasl, '-t', topic, '-P', '-p', '0'], { timeout: 30_000 }, (error) => {
      if (error === null) resolve()
      else reject(error)
    })
    child.stdin?.end(`${lines.join('\n')}\n`)
  })
}

async function kcatConsume (topic: string, count: number, sasl: readonly string[]): Promise<string[]> {
  const { stdout } = await run('kcat', ['-b', cluster.kafkaBootstrapServers, ...sasl, '-t', topic, '-C', '-o', 'beginning', '-c', String(count), '-e', '-q'], { timeout: 30_000 })
  return stdout.split('\n').filter((line) => line !== '')
}

async function kafkaJsRoundTrip (kafka: Kafka, topic: string, values: readonly string[]): Promise<string[]> {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
  } finally {
    await producer.disconnect()
  }
  const consumer = kafka.consumer({ groupId: `sasl-${topic}-${Math.random().toString(36).slice(2)}` })
  const seen: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value?.toString() ?? '') } })
    await waitFor(`KafkaJS to read back ${values.join(',')}`, async () => values.every((value) => seen.includes(value)) ? true : undefined, { timeoutMs: 30_000 })
  } finally {
    await consumer.disconnect()
  }
  return seen
}

describe('SASL on the Kafka listener of a three-broker cluster', () => {
  test('gregor users create/list, then kcat and KafkaJS with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN produce and consume', async () => {
    const created = await runGregor(cluster, ['users', 'create', '--user', 'alice', '--password', 'alice-secret'])
    expect(created).toMatchObject({ code: 0, stdout: 'Created SCRAM-SHA-256 credential for user alice.\n' })
    expect((await runGregor(cluster, ['users', 'create', '--user', 'bob', '--password', 'bob-secret', '--mechanism', 'SCRAM-SHA-512', '--iterations', '8192'])).code).toBe(0)
    const listed = await runGregor(cluster, ['users', 'list'])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toBe('alice\tSCRAM-SHA-256(iterations=4096)\nbob\tSCRAM-SHA-512(iterations=8192)\n')
    await waitForLogin('alice', 'alice-secret', 0)
    await waitForLogin('bob', 'bob-secret', 0)

    const topic = 'sasl-data'
    expect((await runGregor(cluster, ['topics', 'create', '--topic', topic, '--partitions', '1', '--replication-factor', '3'])).code).toBe(0)
    await waitForIsr(cluster, topic, 3)

    // kcat: alice (SCRAM-SHA-256) writes, bob (SCRAM-SHA-512) reads.
    await kcatProduce(topic, ['k1', 'k2'], kcatSasl('SCRAM-SHA-256', 'alice', 'alice-secret'))
    expect(await kcatConsume(topic, 2, kcatSasl('SCRAM-SHA-512', 'bob', 'bob-secret'))).toEqual(['k1', 'k2'])
    // kcat with PLAIN, checked against alice's SCRAM credential.
    expect(await kcatConsume(topic, 2, kcatSasl('PLAIN', 'alice', 'alice-secret'))).toEqual(['k1', 'k2'])

    // KafkaJS with each mechanism.
    for (const [sasl, value] of [
      [{ mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, 'j256'],
      [{ mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' }, 'j512'],
      [{ mechanism: 'plain', username: 'bob', password: 'bob-secret' }, 'jplain'],
    ] as const) {
      const seen = await kafkaJsRoundTrip(kafkaJs(sasl), topic, [value])
      expect(seen).toEqual(expect.arrayContaining(['k1', 'k2', value]))
    }
  }, 180_000)

  test('a wrong password and an unknown user get SASL_AUTHENTICATION_FAILED (KafkaJS and kcat); a client without SASL cannot produce', async () => {
    expect((await runGregor(cluster, ['users', 'create', '--user', 'carol', '--password', 'carol-secret'])).code).toBe(0)
    await waitForLogin('carol', 'carol-secret', 0)
    const address = cluster.kafkaBootstrapServers.split(',')[0] as string
    // The handshake lists GREGOR_SASL_ENABLED_MECHANISMS in its order; GSSAPI is not among them.
    const [refusedMechanism] = await kafkaExchange(address, [{ apiKey: ApiKey.SaslHandshake, apiVersion: 1, body: { mechanism: 'GSSAPI' } }])
    expect(refusedMechanism).toEqual({ errorCode: 33, mechanisms: ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] })
    for (const [user, password] of [['carol', 'wrong'], ['nobody', 'carol-secret']] as const) {
      const answer = await plainLogin(address, user, password)
      expect(answer.errorCode).toBe(58)
      expect(answer.errorMessage).toBe('Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN')
      for (const mechanism of ['scram-sha-256', 'plain'] as const) {
        const producer = kafkaJs({ mechanism, username: user, password }, { retry: { retries: 0 } }).producer()
        const failure = await producer.connect().then(() => undefined, (error: unknown) => error as Error)
        expect(failure?.name).toBe('KafkaJSSASLAuthenticationError')
        await producer.disconnect()
      }
      const kcat = await run('kcat', ['-b', address, ...kcatSasl('SCRAM-SHA-256', user, password), '-L', '-m', '5'], { timeout: 30_000 })
        .then(() => '', (error: { stderr?: string }) => error.stderr ?? '')
      expect(kcat).toMatch(/Authentication failed/)
    }

    // No SASL at all on the SASL port: ApiVersions is answered, the first Metadata closes the connection.
    const plain = kafkaJs(undefined, { retry: { retries: 0 } }).producer()
    const refused = await plain.connect().then(async () => await plain.send({ topic: 'sasl-data', messages: [{ value: 'x' }] }))
      .then(() => undefined, (error: unknown) => error as Error)
    expect(refused).toBeInstanceOf(Error)
    await plain.disconnect()
    await expect(kafkaExchange(address, [{ apiKey: ApiKey.Metadata, apiVersion: 9, body: { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false } }]))
      .rejects.toThrow('connection closed')
  }, 120_000)

  test('gregor users delete: the user is refused afterwards on every broker', async () => {
    // The password from stdin, off the command line.
    expect((await runGregor(cluster, ['users', 'create', '--user', 'dave', '--password-stdin', '--mechanism', 'SCRAM-SHA-512'], 'dave-secret\n')).code).toBe(0)
    await waitForLogin('dave', 'dave-secret', 0)
    const deleted = await runGregor(cluster, ['users', 'delete', '--user', 'dave'])
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted SCRAM-SHA-512 credential of user dave.\n' })
    await waitForLogin('dave', 'dave-secret', 58)
    expect((await runGregor(cluster, ['users', 'list'])).stdout).not.toContain('dave')
    const again = await runGregor(cluster, ['users', 'delete', '--user', 'dave', '--mechanism', 'SCRAM-SHA-512'])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('does not exist')
    const tooFew = await runGregor(cluster, ['users', 'create', '--user', 'erin', '--password', 'p', '--iterations', '1000'])
    expect(tooFew.code).not.toBe(0)
    expect(tooFew.stderr).toContain('too few iterations')
  }, 120_000)

  test('Kafka\'s AlterUserScramCredentials (51) and DescribeUserScramCredentials (50) on an authenticated connection', async () => {
    expect((await runGregor(cluster, ['users', 'create', '--user', 'admin', '--password', 'admin-secret'])).code).toBe(0)
    await waitForLogin('admin', 'admin-secret', 0)
    const address = cluster.kafkaBootstrapServers.split(',')[1] as string
    const salt = Buffer.from('kafka-admin-client-salt')
    const login = [
      { apiKey: ApiKey.SaslHandshake, apiVersion: 1, body: { mechanism: 'PLAIN' } },
      { apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, body: { authBytes: Buffer.from('\u0000admin\u0000admin-secret') } },
    ]
    const alter: RequestBodies[typeof ApiKey.AlterUserScramCredentials] = {
      deletions: [],
      upsertions: [
        { name: 'frank', mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync('frank-secret', salt, 4096, 64, 'sha512') },
        { name: 'weak', mechanism: 1, iterations: 100, salt, saltedPassword: pbkdf2Sync('weak', salt, 100, 32, 'sha256') },
      ],
    }
    const [, , altered] = await kafkaExchange(address, [...login, { apiKey: ApiKey.AlterUserScramCredentials, apiVersion: 0, body: alter }])
    expect((altered as ResponseBodies[typeof ApiKey.AlterUserScramCredentials]).results.map(({ user, errorCode }) => [user, errorCode]))
      .toEqual([['frank', 0], ['weak', 93]])
    await waitForLogin('frank', 'frank-secret', 0)
    const [, , described] = await kafkaExchange(address, [...login, { apiKey: ApiKey.DescribeUserScramCredentials, apiVersion: 0, body: { users: [{ name: 'frank' }, { name: 'weak' }] } }])
    expect((described as ResponseBodies[typeof ApiKey.DescribeUserScramCredentials]).results).toEqual([
      { user: 'frank', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 4096 }] },
      { user: 'weak', errorCode: 91, errorMessage: 'attempt to describe a user credential that does not exist', credentialInfos: [] },
    ])
    // kcat as frank, with SCRAM-SHA-512.
    const { stdout } = await run('kcat', ['-b', address, ...kcatSasl('SCRAM-SHA-512', 'frank', 'frank-secret'), '-L', '-J'], { timeout: 30_000 })
    expect(JSON.parse(stdout).brokers).toHaveLength(3)
  }, 120_000)
})

/**
 * Security of the gRPC client listener on three real broker processes (issue 13): CLIENT runs SASL_SSL with client
 * certificates requested, BROKER runs mTLS, ACLs are on and `User:admin` is a super user.
 * - SCRAM: a user made with Admin.upsertUserScramCredential logs in (SecurityService.Authenticate, a session token per
 *   broker) with the right password; a wrong password is refused with SASL_AUTHENTICATION_FAILED; a ProduceStream
 *   opened with a token the broker does not know is refused UNAUTHENTICATED.
 * - mTLS: the client certificate's CN is the principal (`admin`'s certificate is the super user; `client`'s is not).
 * - ACLs made and removed with `gregor acls add/remove` (listed back with AclAdmin) are enforced on the gRPC API (Produce
 *   and ProduceStream alike): allowed write, denied read, a topic the caller may not describe looks exactly like one
 *   that does not exist, and a removal takes effect on the next request.
 * - The Kafka listener (SSL, same client-certificate rule) names a certificate's caller the same way: KafkaJS with
 *   `alice`'s certificate is refused on topic `b` until an ACL for `User:alice` allows it; `client`'s still is not.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { AclAdmin, Admin, ClusterConnection, type SaslConfig, type TlsConfig, connectionFor, readTlsFiles } from '@gregor/client'
import { BrokerProcesses, type CreatedCertificates, createCertificates, loopbackHost, waitFor } from '@gregor/cli'
import { ErrorCode } from '@gregor/common'
import { SESSION_TOKEN_METADATA_KEY, channelCredentials, clientMethods } from '@gregor/protocol'
import { buildBatch } from '@gregor/records'
import { type CliRun, runGregor } from './cluster-helpers.js'

let dir: string
let certs: CreatedCertificates
let cluster: BrokerProcesses
let caOnly: TlsConfig
let adminTls: TlsConfig
let superAdmin: Admin
const alice: SaslConfig = { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-grpc-security-'))
  certs = await createCertificates({ dir: join(dir, 'certs'), brokers: 3, clients: ['admin', 'client', 'alice'], hosts: [loopbackHost()] })
  cluster = await BrokerProcesses.start({
    logLevel: 'info',
    tls: { certsDir: join(dir, 'certs'), securityProtocolMap: 'KAFKA:SSL,CLIENT:SASL_SSL,BROKER:SSL', clientAuth: 'requested' },
    env: { GREGOR_ACLS_ENABLED: 'true', GREGOR_SUPER_USERS: 'User:admin' },
  })
  await cluster.waitForReady()
  caOnly = await readTlsFiles({ caFile: certs.caFile })
  const adminFiles = certs.clients.get('admin')
  adminTls = await readTlsFiles({ caFile: certs.caFile, certFile: adminFiles?.certFile, keyFile: adminFiles?.keyFile })
  superAdmin = new Admin({ bootstrapServers: cluster.bootstrapServers, tls: adminTls })
  await superAdmin.upsertUserScramCredential(alice.username, alice.password, { mechanism: alice.mechanism })
  await superAdmin.createTopics([{ topic: 'a', numPartitions: 1, replicationFactor: 3 }, { topic: 'b', numPartitions: 1, replicationFactor: 3 }])
  // Every broker has applied alice's credential: her login works on each one.
  for (const address of cluster.bootstrapServers.split(',')) {
    await waitFor(`alice can log in on ${address}`, async () => {
      const connection = aliceConnection(alice, address)
      try {
        await connection.call(address, clientMethods.metadata, { topics: [] })
        return true
      } catch {
        return undefined
      } finally {
        connection.close()
      }
    }, { timeoutMs: 20_000, intervalMs: 100 })
  }
}, 60_000)

afterAll(async () => {
  superAdmin?.close()
  await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** `gregor <args>` over TLS, as the certificate `identity` (mTLS) or, with `sasl`, as that SCRAM user. */
async function gregor (args: readonly string[], identity: 'admin' | 'client' | 'none', sasl?: SaslConfig): Promise<CliRun> {
  const files = identity === 'none' ? undefined : certs.clients.get(identity)
  return await runGregor(cluster, [
    ...args, '--ssl-ca', certs.caFile, ...(files === undefined ? [] : ['--ssl-cert', files.certFile, '--ssl-key', files.keyFile]),
    ...(sasl === undefined ? [] : ['--sasl-username', sasl.username, '--sasl-password', sasl.password, '--sasl-mechanism', sasl.mechanism]),
  ])
}

function aliceConnection (sasl: SaslConfig, servers = cluster.bootstrapServers): ClusterConnection {
  return new ClusterConnection({ bootstrapServers: servers.split(','), requestTimeoutMs: 10_000, messageBytesMax: 16 * 1024 * 1024, tls: caOnly, sasl })
}

/**
 * One record produced to partition 0 of `topic` as the connection's user (to its leader when metadata names one).
 * `onStream`: on the connection's ProduceStream to that broker (the producer's path; the first broker when the
 * caller may not see the leader), rather than a unary Produce.
 */
async function produceAs (connection: ClusterConnection, topic: string, options: { readonly onStream?: boolean } = {}): Promise<string> {
  await connection.metadata([topic])
  const leader = connection.leaderFor({ topic, partition: 0 })
  const request = { acks: -1, timeoutMs: 5_000, partitions: [{ topic, partition: 0, records: buildBatch([{ value: Buffer.from('x') }], { nowMs: Date.now() }) }] }
  const response = options.onStream === true
    ? await connection.produce(leader?.address ?? cluster.bootstrapServers.split(',')[0] as string, request)
    : leader === undefined
      ? await connection.callAny(clientMethods.produce, request)
      : await connection.call(leader.address, clientMethods.produce, request)
  return response.partitions[0]?.errorCode ?? 'NO_RESULT'
}

describe('authentication on the gRPC client listener', () => {
  test('SCRAM: the right password logs in; a wrong one is refused with SASL_AUTHENTICATION_FAILED', async () => {
    const connection = aliceConnection(alice)
    try {
      const metadata = await connection.callAny(clientMethods.metadata, { topics: [] })
      expect(metadata.clusterId).not.toBe('')
    } finally {
      connection.close()
    }
    const wrong = aliceConnection({ ...alice, password: 'not-her-password' })
    try {
      await expect(wrong.callAny(clientMethods.metadata, { topics: [] })).rejects.toMatchObject({ code: ErrorCode.SASL_AUTHENTICATION_FAILED })
    } finally {
      wrong.close()
    }
    const cli = await gregor(['topics', 'list'], 'none', { ...alice, password: 'not-her-password' })
    expect(cli.code).not.toBe(0)
    expect(cli.stderr).toContain('Authentication failed')
  })

  test('ProduceStream: a session token the broker does not know refuses the stream UNAUTHENTICATED', async () => {
    const address = cluster.bootstrapServers.split(',')[0] as string
    const client = new grpc.Client(address, channelCredentials(caOnly))
    try {
      const metadata = new grpc.Metadata()
      metadata.set(SESSION_TOKEN_METADATA_KEY, 'not-a-session-token')
      const method = clientMethods.produceStream
      const stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, metadata)
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        stream.on('error', resolve)
        stream.on('data', () => {})
        stream.write({ correlationId: 1, request: { acks: -1, partitions: [{ topic: 'a', partition: 0, records: buildBatch([{ value: Buffer.from('x') }], { nowMs: Date.now() }) }] } })
      })
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED)
      expect(status.details).toContain(ErrorCode.SASL_AUTHENTICATION_FAILED)
    } finally {
      client.close()
    }
  })
})

describe('principals and ACLs on the gRPC client listener', () => {
  test('mTLS: the certificate\'s CN is the principal (User:admin is a super user, User:client has no ACL)', async () => {
    expect(await superAdmin.listTopics()).toEqual(expect.arrayContaining(['a', 'b']))
    const clientFiles = certs.clients.get('client')
    const client = new Admin({
      bootstrapServers: cluster.bootstrapServers,
      tls: await readTlsFiles({ caFile: certs.caFile, certFile: clientFiles?.certFile, keyFile: clientFiles?.keyFile }),
    })
    try {
      expect(await client.listTopics()).toEqual([]) // no topic it may DESCRIBE: none listed
      await expect(client.createTopics([{ topic: 'c', numPartitions: 1, replicationFactor: 1 }])).rejects.toMatchObject({ code: ErrorCode.TOPIC_AUTHORIZATION_FAILED })
      await expect(client.describeCluster()).rejects.toMatchObject({ code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })
    } finally {
      client.close()
    }
  })

  test('gregor acls add/remove: allowed write, denied read, hidden topic, removal effective at once', async () => {
    const added = await gregor(['acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'a'], 'admin')
    expect(added.code, added.stderr).toBe(0)
    const adminConnection = connectionFor({ bootstrapServers: cluster.bootstrapServers, tls: adminTls })
    try {
      expect(await new AclAdmin(adminConnection).describeAcls({ resourceType: 'TOPIC', resourceName: 'a' })).toEqual([
        { resourceType: 'TOPIC', resourceName: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'WRITE', permission: 'ALLOW' },
      ])
    } finally {
      adminConnection.close()
    }
    const connection = aliceConnection(alice)
    try {
      // The ACL reaches every broker's image in turn: alice's write works once her leader has it.
      await waitFor('alice may write topic a', async () => (await produceAs(connection, 'a')) === '' ? true : undefined, { timeoutMs: 10_000, intervalMs: 100 })
      const fetched = await connection.callAny(clientMethods.fetch, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1024, partitions: [{ topic: 'a', partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }],
      })
      expect(fetched.partitions[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      // Topic b exists, topic nope does not: alice sees the same answer for both, and only a in a listing.
      const metadata = await connection.callAny(clientMethods.metadata, { topics: ['b', 'nope'] })
      expect(metadata.topics.map(({ errorCode, errorMessage, partitions }) => ({ errorCode, errorMessage, partitions: (partitions ?? []).length })))
        .toEqual([0, 1].map(() => ({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized to DESCRIBE this topic', partitions: 0 })))
      expect((await connection.callAny(clientMethods.metadata, { topics: [] })).topics.map((topic) => topic.name)).toEqual(['a'])
      expect(await produceAs(connection, 'b')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      // The produce stream (logged in with alice's session token) is authorized exactly as Produce.
      expect(await produceAs(connection, 'a', { onStream: true })).toBe('')
      expect(await produceAs(connection, 'b', { onStream: true })).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)

      const removed = await gregor(['acls', 'remove', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'a'], 'admin')
      expect(removed.code, removed.stderr).toBe(0)
      expect(removed.stdout).toContain('Removed 1 ACL')
      // Each broker refuses her from the request after it applied the removal; the leader is the one she writes to.
      await waitFor('alice refused on topic a', async () =>
        (await produceAs(connection, 'a')) === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? true : undefined,
      { timeoutMs: 10_000, intervalMs: 50 })
    } finally {
      connection.close()
    }
  })
})

describe('mTLS principal on the Kafka listener', () => {
  /** A KafkaJS send over SSL with the certificate of `identity`: 'ok' or the Kafka error it failed with. */
  async function kafkaSendAs (identity: 'alice' | 'client', topic: string): Promise<string> {
    const files = certs.clients.get(identity)
    const { ca, cert, key } = await readTlsFiles({ caFile: certs.caFile, certFile: files?.certFile, keyFile: files?.keyFile })
    const kafka = new Kafka({
      clientId: `mtls-${identity}`, brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
      ssl: { ca, cert, key }, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    })
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: identity, partition: 0 }] })
      return 'ok'
    } catch (error) {
      // A topic refused in metadata comes back as a non-retriable error that names the cause in its message.
      const { type, message = '' } = error as { type?: string, message?: string }
      return type ?? (message.includes('Topic authorization failed') ? 'TOPIC_AUTHORIZATION_FAILED' : message)
    } finally {
      await producer.disconnect()
    }
  }

  test('KafkaJS with alice\'s certificate is User:alice: refused on b, then allowed by an ACL for User:alice (client\'s is not)', async () => {
    expect(await kafkaSendAs('alice', 'b')).toBe('TOPIC_AUTHORIZATION_FAILED')
    const added = await gregor(['acls', 'add', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', 'b'], 'admin')
    expect(added.code, added.stderr).toBe(0)
    await waitFor('alice\'s certificate may write topic b', async () => (await kafkaSendAs('alice', 'b')) === 'ok' ? true : undefined,
      { timeoutMs: 10_000, intervalMs: 100 })
    expect(await kafkaSendAs('client', 'b')).toBe('TOPIC_AUTHORIZATION_FAILED')
  })
})

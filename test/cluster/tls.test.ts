/**
 * TLS on every listener of three real broker processes (issue 13, slice 1): KAFKA, CLIENT and BROKER run SSL
 * (GREGOR_LISTENER_SECURITY_PROTOCOL_MAP) with certificates made by `gregor certs create`'s code. The brokers find
 * each other over mTLS (raft, registration, heartbeats, replication: a topic with three replicas gets all three in
 * sync); kcat (librdkafka, security.protocol=ssl) and the `gregor` CLI (--ssl-ca) produce and consume; plaintext
 * clients on the TLS ports are refused and the brokers keep serving. Issue test 2: on the BROKER listener, a process
 * with a certificate of another CA cannot connect at all, a valid client certificate that is not a broker's cannot
 * vote (raft Send), register, append to the metadata log (CreateTopics) or fetch replication traffic, and a broker's
 * certificate cannot speak for another broker — each refusal logged with the principal. And a kill -9 of the
 * controller fails over, and the broker rejoins, with TLS on.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Admin } from '@gregor/client'
import { BrokerProcesses, type CreatedCertificates, createCertificates, loopbackHost, waitFor } from '@gregor/cli'
import type { NodeId, RaftIndex, Term } from '@gregor/common'
import type { Message } from '@gregor/raft'
import {
  type GrpcMethod, type TlsConfig, channelCredentials, controllerMethods, encodeRaftMessage, raftSendMethod, readTlsFiles, replicationMethods,
  unaryCall,
} from '@gregor/protocol'
import { lines, runGregor } from './cluster-helpers.js'

const run = promisify(execFile)
const KCAT = '/usr/bin/kcat'

let dir: string
let certs: CreatedCertificates
let foreign: CreatedCertificates
let cluster: BrokerProcesses
let admin: Admin

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-tls-cluster-'))
  // The brokers listen on this process's private loopback address: their certificates must name it.
  certs = await createCertificates({ dir: join(dir, 'certs'), brokers: 3, clients: ['client'], hosts: [loopbackHost()] })
  foreign = await createCertificates({ dir: join(dir, 'foreign'), brokers: 3, clients: ['client'], hosts: [loopbackHost()] })
  cluster = await BrokerProcesses.start({
    logLevel: 'info', tls: { certsDir: join(dir, 'certs'), securityProtocolMap: 'KAFKA:SSL,CLIENT:SSL,BROKER:SSL' },
  })
  await cluster.waitForReady()
  admin = new Admin({ bootstrapServers: cluster.bootstrapServers, tls: await readTlsFiles({ caFile: certs.caFile }) })
  // Registered and unfenced: every broker reached the controller over mTLS and heartbeats through it.
  await waitFor('3 live brokers', async () => {
    const { brokers } = await admin.describeCluster()
    return brokers.filter((broker) => !broker.fenced).length === 3 ? true : undefined
  }, { timeoutMs: 60_000, intervalMs: 200 })
}, 120_000)

/** Waits until every partition of `topic` has a leader and three replicas in sync (asked over TLS). */
async function waitForIsr3 (topic: string): Promise<void> {
  await waitFor(`every partition of ${topic} with a leader and 3 in sync`, async () => {
    const [description] = await admin.describeTopics([topic])
    const partitions = description?.partitions ?? []
    return partitions.length > 0 && partitions.every((partition) => partition.leader > 0 && partition.isr.length === 3) ? true : undefined
  }, { timeoutMs: 30_000, intervalMs: 100 })
}

afterAll(async () => {
  admin?.close()
  await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  await rm(dir, { recursive: true, force: true })
})

const kcatSsl = (): string[] => ['-b', cluster.kafkaBootstrapServers, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caFile}`]

async function kcatProduce (args: readonly string[], input: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(KCAT, [...args, '-P'], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(input.map((line) => `${line}\n`).join(''))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { code, stderr }
}

describe('clients over TLS', () => {
  test('kcat with security.protocol=ssl produces and consumes; all three replicas stay in sync over mTLS replication', async () => {
    const topic = 'tls-kcat'
    await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 3 }])
    await waitForIsr3(topic)
    const sent = Array.from({ length: 30 }, (_, i) => `k${i}:value-${i}`)
    const produced = await kcatProduce([...kcatSsl(), '-t', topic, '-K', ':'], sent)
    expect(produced.code, produced.stderr).toBe(0)
    const { stdout } = await run(KCAT, [...kcatSsl(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k:%s\n'], { timeout: 60_000 })
    expect(lines(stdout).sort()).toEqual([...sent].sort())
    // Every record reached both followers (replica fetch over mTLS): the ISR is still all three and the high
    // watermark, which advances only once the followers have the records, covers them all.
    await waitForIsr3(topic)
    const offsets = await admin.listOffsets([{ topic, partition: 0 }, { topic, partition: 1 }], 'latest')
    expect(offsets.reduce((sum, item) => sum + item.offset, 0)).toBe(30)
  })

  test('gregor with --ssl-ca creates, produces and consumes; without it the CLI cannot reach the SSL listener', async () => {
    const tls = ['--ssl-ca', certs.caFile]
    const created = await runGregor(cluster, ['topics', 'create', '--topic', 'tls-cli', '--partitions', '1', '--replication-factor', '3', ...tls])
    expect(created.code, created.stderr).toBe(0)
    const produced = await runGregor(cluster, ['produce', '--topic', 'tls-cli', ...tls], 'one\ntwo\nthree\n')
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runGregor(cluster, ['consume', '--topic', 'tls-cli', '--from-beginning', '--max-messages', '3', '--timeout-ms', '30000', ...tls])
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(lines(consumed.stdout)).toEqual(['one', 'two', 'three'])
    // With the client's own certificate too (mTLS is accepted where client auth is not asked for).
    const client = certs.clients.get('client')
    const listed = await runGregor(cluster, ['topics', 'list', '--ssl-ca', certs.caFile, '--ssl-cert', client?.certFile ?? '', '--ssl-key', client?.keyFile ?? ''])
    expect(lines(listed.stdout)).toContain('tls-cli')
    const plain = await runGregor(cluster, ['topics', 'list'])
    expect(plain.code).not.toBe(0)
    const missing = await runGregor(cluster, ['topics', 'list', '--ssl-ca', join(dir, 'nope.pem')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/nope\.pem: ENOENT/)
  }, 120_000)

  test('plaintext clients on the TLS ports are refused, and the brokers keep serving', async () => {
    // A plaintext Kafka client: its ApiVersions request is no TLS ClientHello; the broker closes without an answer.
    const [host = '', port = '0'] = cluster.brokers[0]?.kafkaAddress.split(':') ?? []
    const answer = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
      const socket = connect({ host, port: Number(port) })
      let bytes = 0
      socket.on('connect', () => {
        // Size 10, ApiVersions (18) v0, correlation id 1, client id null: a whole, valid Kafka request.
        socket.write(Buffer.from('0000000a0012000000000001ffff', 'hex'))
      })
      socket.on('data', (chunk: Buffer) => { bytes += chunk.length })
      socket.on('error', () => {})
      socket.on('close', () => { resolve({ bytes, closed: true }) })
      setTimeout(() => { socket.destroy(); resolve({ bytes, closed: false }) }, 10_000).unref()
    })
    expect(answer.closed).toBe(true)
    // Whatever came back was a TLS alert at most, never a Kafka answer (which would start with its 4-byte size).
    expect(answer.bytes).toBeLessThan(16)
    const plainKcat = await run(KCAT, ['-b', cluster.kafkaBootstrapServers, '-L', '-m', '5'], { timeout: 30_000 }).then(() => 0, (error: { code?: number }) => error.code ?? 1)
    expect(plainKcat).not.toBe(0)
    // A plaintext gRPC client on the CLIENT listener.
    const plainAdmin = new Admin({ bootstrapServers: cluster.bootstrapServers, requestTimeoutMs: 3_000 })
    try {
      await expect(plainAdmin.listTopics()).rejects.toThrow()
    } finally {
      plainAdmin.close()
    }
    // Still serving TLS clients, with every broker alive.
    const { stdout } = await run(KCAT, [...kcatSsl(), '-L', '-m', '10'], { timeout: 30_000 })
    expect(stdout).toMatch(/3 brokers/)
    for (const broker of cluster.brokers) expect(await cluster.isReady(broker.nodeId)).toBe(true)
  })
})

describe('failover with TLS on every listener', () => {
  test('kill -9 of the controller: the others elect a new one over mTLS, topics can be created, the killed broker restarts and rejoins', async () => {
    const before = await admin.describeCluster()
    expect(before.controllerId).toBeGreaterThan(0)
    await cluster.kill(before.controllerId)
    const after = await waitFor('a new controller', async () => {
      const description = await admin.describeCluster().catch(() => undefined)
      return description !== undefined && description.controllerId > 0 && description.controllerId !== before.controllerId ? description : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    expect(after.controllerId).not.toBe(before.controllerId)
    await admin.createTopics([{ topic: 'tls-after-failover', numPartitions: 1, replicationFactor: 2 }])
    cluster.startBroker(before.controllerId)
    await cluster.waitForReady([before.controllerId], 60_000)
    await waitFor('3 live brokers again', async () => {
      const { brokers } = await admin.describeCluster()
      return brokers.filter((broker) => !broker.fenced).length === 3 ? true : undefined
    }, { timeoutMs: 60_000, intervalMs: 200 })
    await waitForIsr3('tls-kcat') // the restarted broker caught up over mTLS replication
  }, 150_000)
})

const heartbeatMessage = (from: number, to: number): Message => ({
  type: 'heartbeat', from: from as NodeId, to: to as NodeId, term: 1 as Term, logTerm: 0 as Term, index: 0 as RaftIndex,
  entries: [], commitIndex: 0 as RaftIndex, reject: false, rejectHint: 0 as RaftIndex, context: new Uint8Array(0),
})

type Outcome = 'ok' | grpc.status

/** A raw client of broker 1's BROKER listener with the given identity: each call answers its gRPC outcome. */
function brokerListenerClient (tls: TlsConfig | undefined): {
  raftSend: (from: number) => Promise<Outcome>
  unary: <Request, RequestProperties, Response, ResponseProperties>(method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties) => Promise<Outcome>
  stream: <Request, RequestProperties, Response, ResponseProperties>(method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties) => Promise<Outcome>
  close: () => void
} {
  const client = new grpc.Client(cluster.broker(1).brokerAddress, channelCredentials(tls))
  const outcome = (error: { code?: number } | null): Outcome => error === null ? 'ok' : (error.code ?? grpc.status.UNKNOWN)
  return {
    raftSend: async (from) => await new Promise<Outcome>((resolve) => {
      const call = client.makeClientStreamRequest(raftSendMethod.path, raftSendMethod.requestSerialize, raftSendMethod.responseDeserialize,
        { deadline: Date.now() + 10_000 }, (error) => { resolve(outcome(error)) })
      call.on('error', () => {})
      call.write({ clusterId: cluster.clusterId, message: encodeRaftMessage(heartbeatMessage(from, 1)) })
      call.end()
    }),
    unary: async (method, request) => await unaryCall(client, method, request, { deadlineMs: 10_000 }).then(() => 'ok' as const, (error: { code?: number }) => outcome(error)),
    // A bidi stream's outcome: its first answer (ok) or the status that ended it.
    stream: async (method, request) => await new Promise<Outcome>((resolve) => {
      const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, { deadline: Date.now() + 10_000 })
      call.on('data', () => { resolve('ok'); call.cancel() })
      call.on('error', (error: { code?: number }) => { resolve(outcome(error)) })
      call.on('end', () => { resolve(grpc.status.UNKNOWN) })
      call.write(request)
    }),
    close: () => { client.close() },
  }
}

async function identity (set: CreatedCertificates, who: 'client' | number): Promise<TlsConfig> {
  const files = who === 'client' ? set.clients.get('client') : set.brokers.get(who)
  // Trust this cluster's CA (so the handshake can succeed on our side); present the identity of `set`.
  const own = await readTlsFiles({ ...files })
  return { ...(await readTlsFiles({ caFile: certs.caFile })), ...own }
}

describe('broker identity on the BROKER listener (issue test 2)', () => {
  const registration = (brokerId: number): Record<string, unknown> => ({
    brokerId, incarnationId: 'impostor', clusterId: cluster.clusterId, rack: '', logDirId: 'impostor-dir',
    listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }],
  })
  const replicaFetch = (replicaId: number): Record<string, unknown> => ({ replicaId, maxWaitMs: 0, minBytes: 0, maxBytes: 1024, partitions: [] })

  test('a certificate of another CA, or none, cannot even connect', async () => {
    for (const tls of [await identity(foreign, 2), await identity(foreign, 'client'), await readTlsFiles({ caFile: certs.caFile }), undefined]) {
      const peer = brokerListenerClient(tls)
      try {
        expect(await peer.raftSend(2)).toBe(grpc.status.UNAVAILABLE)
        expect(await peer.unary(controllerMethods.registerBroker, registration(2) as never)).toBe(grpc.status.UNAVAILABLE)
        expect(await peer.stream(replicationMethods.fetch, replicaFetch(2) as never)).toBe(grpc.status.UNAVAILABLE)
      } finally {
        peer.close()
      }
    }
  })

  test('a valid client certificate that is not a broker\'s cannot vote, register, append to the metadata log or fetch replication traffic', async () => {
    const peer = brokerListenerClient(await identity(certs, 'client'))
    try {
      expect(await peer.raftSend(2)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.unary(controllerMethods.registerBroker, registration(4) as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.unary(controllerMethods.createTopics, { topics: [{ name: 'sneaky', numPartitions: 1, replicationFactor: 1 }] } as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.stream(controllerMethods.heartbeat, { brokerId: 2, incarnationId: 'impostor' } as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.stream(replicationMethods.fetch, replicaFetch(2) as never)).toBe(grpc.status.PERMISSION_DENIED)
    } finally {
      peer.close()
    }
    expect((await admin.listTopics()).includes('sneaky')).toBe(false)
  })

  test('a broker\'s certificate cannot speak for another broker: raft, RegisterBroker, heartbeat, AlterPartition, replica fetch', async () => {
    const peer = brokerListenerClient(await identity(certs, 3))
    try {
      expect(await peer.raftSend(2)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.unary(controllerMethods.registerBroker, registration(2) as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.stream(controllerMethods.heartbeat, { brokerId: 2, incarnationId: 'impostor' } as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.unary(controllerMethods.alterPartition, { brokerId: 2, topicId: 'x', partition: 0, leaderEpoch: 0, newIsr: [2] } as never)).toBe(grpc.status.PERMISSION_DENIED)
      expect(await peer.stream(replicationMethods.fetch, replicaFetch(2) as never)).toBe(grpc.status.PERMISSION_DENIED)
      // Speaking for itself, the same certificate is served (an empty replica fetch answers).
      expect(await peer.stream(replicationMethods.fetch, replicaFetch(3) as never)).toBe('ok')
    } finally {
      peer.close()
    }
    // The refusals are in broker 1's log with the principal and the source address, and the cluster is unharmed.
    const log = await readFile(join(cluster.dir, 'broker-1.log'), 'utf8')
    const refusals = lines(log).filter((line) => line.includes('inter-broker call refused')).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(refusals.some((entry) => entry.principal === 'User:CN=client' && typeof entry.source === 'string')).toBe(true)
    expect(refusals.some((entry) => entry.principal === 'User:CN=broker-3' && entry.claimedNodeId === 2)).toBe(true)
    const { brokers } = await admin.describeCluster()
    expect(brokers.map((broker) => `${broker.brokerId}:${broker.fenced ? 'fenced' : 'live'}`).sort()).toEqual(['1:live', '2:live', '3:live'])
  })
})

/**
 * The credentials factory (protocol/grpc-credentials.ts) and broker identity by mTLS (protocol/broker-peers.ts) over
 * real gRPC on 127.0.0.1, with certificates made by `gregor certs create`'s code (openssl): plaintext stays plaintext;
 * a TLS listener refuses plaintext clients and clients that do not trust it; Kafka's ssl.client.auth none, requested
 * and required; and on an mTLS BROKER listener only a member broker's certificate gets in, speaking for its own node.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { type Logger, type NodeId, type RaftIndex, type Term, silentLogger } from '@gregor/common'
import type { Message } from '@gregor/raft'
import {
  type TlsClientAuth, type TlsConfig, QuorumClient, addQuorumService, addRaftService, brokerCertificateProblems, brokerChannelCredentials, brokerNodeIdOf, certificateBrokerPeers, channelCredentials,
  encodeRaftMessage, raftSendMethod, readTlsFiles, serverCredentials,
} from '@gregor/protocol'
import { type CreatedCertificates, createCertificates } from '@gregor/cli'

let dir: string
let certs: CreatedCertificates
let foreign: CreatedCertificates
const cleanups: Array<() => void> = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-tls-'))
  certs = await createCertificates({ dir: join(dir, 'cluster'), brokers: 3, clients: ['client'] })
  foreign = await createCertificates({ dir: join(dir, 'foreign'), brokers: 3, clients: ['client'] })
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })
afterEach(() => { for (const cleanup of cleanups.splice(0).reverse()) cleanup() })

async function tlsOf (set: CreatedCertificates, who: 'ca-only' | `broker-${number}` | 'client'): Promise<TlsConfig> {
  if (who === 'ca-only') return await readTlsFiles({ caFile: set.caFile })
  const files = who === 'client' ? set.clients.get('client') : set.brokers.get(brokerNodeIdOf(who) ?? 0)
  return await readTlsFiles({ caFile: set.caFile, ...files })
}

/** A QuorumService; `seen` gets the CN of each caller's verified certificate (undefined: none verified). */
async function statusServer (credentials: grpc.ServerCredentials): Promise<{ address: string; seen: Array<string | undefined> }> {
  const seen: Array<string | undefined> = []
  const server = new grpc.Server({
    interceptors: [(_method, call) => {
      const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN
      seen.push(Array.isArray(cn) ? cn[0] : cn)
      return new grpc.ServerInterceptingCall(call)
    }],
  })
  addQuorumService(server, {
    propose: async () => await Promise.reject(new Error('unused')),
    status: () => ({ leaderId: 7 }),
    readApplied: () => ({ payloads: [], appliedCount: 0 }),
    leaderId: () => 7,
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => { if (error === null) resolve(bound); else reject(error) })
  })
  cleanups.push(() => { server.forceShutdown() })
  return { address: `127.0.0.1:${port}`, seen }
}

async function statusVia (address: string, credentials: grpc.ChannelCredentials): Promise<'ok' | grpc.status> {
  const client = new QuorumClient(address, credentials)
  try {
    await client.status(3_000)
    return 'ok'
  } catch (error) {
    return (error as grpc.ServiceError).code
  } finally {
    client.close()
  }
}

describe('credentials factory', () => {
  test('without TLS settings both sides are plaintext, as before', async () => {
    const { address } = await statusServer(serverCredentials(undefined))
    expect(await statusVia(address, channelCredentials(undefined))).toBe('ok')
  })

  test('a TLS listener serves clients that trust its CA, and refuses plaintext clients and clients of another CA', async () => {
    const { address } = await statusServer(serverCredentials(await tlsOf(certs, 'broker-1')))
    expect(await statusVia(address, channelCredentials(await tlsOf(certs, 'ca-only')))).toBe('ok')
    expect(await statusVia(address, channelCredentials(undefined))).toBe(grpc.status.UNAVAILABLE)
    expect(await statusVia(address, channelCredentials(await tlsOf(foreign, 'ca-only')))).toBe(grpc.status.UNAVAILABLE)
  })

  test.each<[TlsClientAuth, 'ok' | grpc.status, 'ok' | grpc.status, 'ok' | grpc.status]>([
    // clientAuth,  no client certificate,   this CA's certificate, another CA's certificate
    ['none', 'ok', 'ok', 'ok'],
    ['requested', 'ok', 'ok', 'ok'],
    ['required', grpc.status.UNAVAILABLE, 'ok', grpc.status.UNAVAILABLE],
  ])('ssl.client.auth %s: no certificate → %s, the CA\'s → %s, another CA\'s → %s', async (clientAuth, anonymous, member, stranger) => {
    const { address, seen } = await statusServer(serverCredentials(await tlsOf(certs, 'broker-1'), clientAuth))
    const trustOnly = await tlsOf(certs, 'ca-only')
    expect(await statusVia(address, channelCredentials(trustOnly))).toBe(anonymous)
    expect(await statusVia(address, channelCredentials(await tlsOf(certs, 'client')))).toBe(member)
    const strangerIdentity = await tlsOf(foreign, 'client')
    expect(await statusVia(address, channelCredentials({ ...trustOnly, ...(strangerIdentity.cert === undefined ? {} : { cert: strangerIdentity.cert }), ...(strangerIdentity.key === undefined ? {} : { key: strangerIdentity.key }) })))
      .toBe(stranger)
    // Only a certificate that chains to the CA is ever seen, and only when it was asked for.
    expect(seen).toEqual(clientAuth === 'none' ? [undefined, undefined, undefined] : clientAuth === 'requested' ? [undefined, 'client', undefined] : ['client'])
  })

  test('a server that checks client certificates needs a CA; files that cannot be read are named', async () => {
    const identity = await tlsOf(certs, 'broker-1')
    expect(() => serverCredentials({ ...(identity.cert === undefined ? {} : { cert: identity.cert }), ...(identity.key === undefined ? {} : { key: identity.key }) }, 'required'))
      .toThrow(/needs a CA/)
    expect(() => serverCredentials({ ca: identity.ca ?? Buffer.alloc(0) })).toThrow(/certificate and key/)
    await expect(readTlsFiles({ caFile: join(dir, 'missing.pem') })).rejects.toThrow(/CA file .*missing\.pem: ENOENT/)
    await expect(readTlsFiles({ certFile: certs.brokers.get(1)?.certFile })).rejects.toThrow(/certificate and its key go together/)
    const empty = join(dir, 'empty.pem')
    await writeFile(empty, '')
    expect(await readTlsFiles({ caFile: empty })).toEqual({ ca: Buffer.alloc(0) })
  })
})

const heartbeat = (from: number, to: number): Message => ({
  type: 'heartbeat', from: from as NodeId, to: to as NodeId, term: 1 as Term, logTerm: 0 as Term, index: 0 as RaftIndex,
  entries: [], commitIndex: 0 as RaftIndex, reject: false, rejectHint: 0 as RaftIndex, context: new Uint8Array(0),
})

/** A logger that keeps what it is given, to check what a refusal logs. */
function recordingLogger (lines: Array<Record<string, unknown>>): Logger {
  const logger: Logger = {
    ...silentLogger,
    child: () => logger,
    warn: (fields: object, message?: string) => { lines.push({ ...fields, message }) },
  } as unknown as Logger
  return logger
}

describe('broker identity on an mTLS BROKER listener', () => {
  async function raftReceiver (logLines: Array<Record<string, unknown>> = []): Promise<{ address: string; received: Message[] }> {
    const received: Message[] = []
    const peers = certificateBrokerPeers({ members: new Set([1, 2, 3]), logger: recordingLogger(logLines) })
    const server = new grpc.Server({ interceptors: [...peers.interceptors] })
    addRaftService(server, { clusterId: 'c1', nodeId: 1 as NodeId, voters: new Set([1, 2, 3]), onMessage: (message) => received.push(message), logger: silentLogger, peers })
    const credentials = serverCredentials(await tlsOf(certs, 'broker-1'), 'required')
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => { if (error === null) resolve(bound); else reject(error) })
    })
    cleanups.push(() => { server.forceShutdown() })
    return { address: `127.0.0.1:${port}`, received }
  }

  /** Sends one raft heartbeat from `from` to node 1 and ends the stream: the call's outcome. */
  async function sendRaft (address: string, tls: TlsConfig, from: number): Promise<'ok' | grpc.status> {
    const client = new grpc.Client(address, channelCredentials(tls))
    try {
      return await new Promise((resolve) => {
        const call = client.makeClientStreamRequest(raftSendMethod.path, raftSendMethod.requestSerialize, raftSendMethod.responseDeserialize,
          { deadline: Date.now() + 5_000 }, (error) => { resolve(error === null ? 'ok' : error.code) })
        call.on('error', () => {})
        call.write({ clusterId: 'c1', message: encodeRaftMessage(heartbeat(from, 1)) })
        call.end()
      })
    } finally {
      client.close()
    }
  }

  test('a member broker speaks for its own node; for another node, as a client, as a non-member or from another CA it is refused', async () => {
    const logLines: Array<Record<string, unknown>> = []
    const { address, received } = await raftReceiver(logLines)
    expect(await sendRaft(address, await tlsOf(certs, 'broker-2'), 2)).toBe('ok')
    expect(received.map((message) => message.from)).toEqual([2])
    expect(await sendRaft(address, await tlsOf(certs, 'broker-3'), 2)).toBe(grpc.status.PERMISSION_DENIED)
    expect(await sendRaft(address, await tlsOf(certs, 'client'), 2)).toBe(grpc.status.PERMISSION_DENIED)
    const outsider = await createCertificates({ dir: join(dir, 'cluster'), brokers: 4, clients: [] }) // same CA, node 4 is no member
    expect(await sendRaft(address, await tlsOf(outsider, 'broker-4'), 4)).toBe(grpc.status.PERMISSION_DENIED)
    expect(await sendRaft(address, { ...(await tlsOf(certs, 'ca-only')), ...withoutCa(await tlsOf(foreign, 'broker-2')) }, 2)).toBe(grpc.status.UNAVAILABLE)
    expect(await sendRaft(address, await tlsOf(certs, 'ca-only'), 2)).toBe(grpc.status.UNAVAILABLE) // no certificate at all
    expect(received.map((message) => message.from)).toEqual([2])
    // Each refusal is logged with the principal and where it came from, and nothing else of the certificate.
    expect(logLines.map(({ principal, source, message }) => ({ principal, source: typeof source, message }))).toEqual([
      { principal: 'User:CN=broker-3', source: 'string', message: 'inter-broker call refused: claimed node is not the certificate\'s' },
      { principal: 'User:CN=client', source: 'string', message: 'inter-broker call refused: not a cluster member' },
      { principal: 'User:CN=broker-4', source: 'string', message: 'inter-broker call refused: not a cluster member' },
    ])
  })

  test('a broker dialling node N accepts only broker-N\'s certificate as the server, and dials plaintext without TLS', async () => {
    const { address } = await statusServer(serverCredentials(await tlsOf(certs, 'broker-2'), 'required'))
    const dial = brokerChannelCredentials(await tlsOf(certs, 'broker-1'))
    expect(await statusVia(address, dial(2))).toBe('ok')
    expect(dial(2)).toBe(dial(2)) // made once per node
    expect(await statusVia(address, dial(3))).toBe(grpc.status.UNAVAILABLE) // broker-2's certificate is not broker-3
    const plain = await statusServer(serverCredentials(undefined))
    expect(await statusVia(plain.address, brokerChannelCredentials(undefined)(2))).toBe('ok')
  })

  test('a broker refuses to start as node N with a certificate that is not broker-N\'s or not valid now', async () => {
    const two = await tlsOf(certs, 'broker-2')
    expect(brokerCertificateProblems(two, 2, Date.now())).toEqual([])
    expect(brokerCertificateProblems(two, 3, Date.now())).toEqual(['its CN is broker-2, but node 3 must present CN=broker-3'])
    expect(brokerCertificateProblems(await tlsOf(certs, 'client'), 1, Date.now())).toEqual(['its CN is client, but node 1 must present CN=broker-1'])
    expect(brokerCertificateProblems(two, 2, Date.now() + 400 * 24 * 3600 * 1000)[0]).toMatch(/^it is valid from .* to .*, not now$/)
    expect(brokerCertificateProblems({ cert: Buffer.from('junk') }, 2, Date.now())[0]).toMatch(/not a PEM certificate/)
  })

  test('the broker principal rule: CN broker-<N> is node N, nothing else is a node', () => {
    expect(brokerNodeIdOf('broker-12')).toBe(12)
    for (const cn of ['broker-0', 'broker-01', 'broker-', 'Broker-1', 'broker-1 ', 'client', 'broker-1.example']) expect(brokerNodeIdOf(cn)).toBeUndefined()
  })
})

function withoutCa (tls: TlsConfig): TlsConfig {
  return { ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }) }
}

/**
 * The Kafka listener with TLS (kafka-server.ts `tls`, options from protocol `tlsServerOptions`) over real sockets:
 * a TLS client is answered; a plaintext Kafka client is refused at the handshake, logged, and never crashes the
 * server; `close` does not wait for a client stuck in its handshake. Every handshake failure is logged at info with the
 * peer and OpenSSL's code, and counted by reason in the listener's metrics (`tlsHandshakeFailed`). With client certificates requested, a request's
 * principal is the verified certificate's `User:<CN>` (no certificate, or one of another CA: `User:ANONYMOUS`); on a
 * SASL listener the certificate names no principal (the SASL login does).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { type Socket, connect as connectTcp } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Logger } from '@gregor/common'
import { ApiKey } from '@gregor/kafka-protocol'
import { readTlsFiles, tlsServerOptions, type TlsConfig } from '@gregor/protocol'
import { createCertificates, waitFor } from '@gregor/cli'
import { handleApiVersions } from '../../packages/broker/src/listeners/kafka/handlers/api-versions.js'
import { KafkaServer, defaultKafkaListenerConfig } from '../../packages/broker/src/listeners/kafka/index.js'
import { type KafkaListenerMetrics, type KafkaTlsHandshakeFailureReason, noKafkaListenerMetrics } from '../../packages/broker/src/listeners/kafka/kafka-listener-metrics.js'
import { RawKafkaClient } from '../../packages/broker/src/listeners/kafka/testing/raw-kafka-client.js'
import type { KafkaHandlers } from '../../packages/broker/src/listeners/kafka/kafka-handlers.js'

let dir: string
let brokerTls: TlsConfig
let caOnly: TlsConfig
let alice: TlsConfig
let foreignAlice: TlsConfig
const infoLines: Array<{ fields: Record<string, unknown>; message: string }> = []

function infoLogger (): Logger {
  const none = (): void => {}
  const logger: Logger = {
    child: () => logger, trace: none, debug: none, warn: none, error: none,
    info: (fields: Record<string, unknown>, message: string) => { infoLines.push({ fields, message }) },
  } as unknown as Logger
  return logger
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-kafka-tls-'))
  const certs = await createCertificates({ dir, brokers: 1, clients: ['alice'] })
  const foreign = await createCertificates({ dir: join(dir, 'foreign'), brokers: 0, clients: ['alice'] })
  brokerTls = await readTlsFiles({ caFile: certs.caFile, ...certs.brokers.get(1) })
  caOnly = await readTlsFiles({ caFile: certs.caFile })
  alice = await readTlsFiles({ caFile: certs.caFile, ...certs.clients.get('alice') })
  foreignAlice = await readTlsFiles({ caFile: certs.caFile, certFile: foreign.clients.get('alice')?.certFile, keyFile: foreign.clients.get('alice')?.keyFile })
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** The handshake failures the listener reported, by reason. */
const tlsFailures: KafkaTlsHandshakeFailureReason[] = []
const metrics: KafkaListenerMetrics = { ...noKafkaListenerMetrics, tlsHandshakeFailed: (reason) => { tlsFailures.push(reason) } }

async function startTlsServer (clientAuth?: 'required'): Promise<KafkaServer> {
  return await KafkaServer.start({
    listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig,
    handlers: { [ApiKey.ApiVersions]: handleApiVersions }, logger: infoLogger(), tls: tlsServerOptions(brokerTls, clientAuth), metrics,
  })
}

const apiVersions = (): Buffer => RawKafkaClient.frame(ApiKey.ApiVersions, 0, 7, {} as never)

/** Writes `request` on `socket` and resolves with the first whole answer frame, or 'closed'. */
async function answerOf (socket: Socket, request: Buffer): Promise<Buffer | 'closed'> {
  return await new Promise((resolve) => {
    let input = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk])
      if (input.length >= 4 && input.length >= 4 + input.readInt32BE(0)) { resolve(input.subarray(4, 4 + input.readInt32BE(0))); socket.destroy() }
    })
    socket.on('error', () => {})
    socket.on('close', () => { resolve('closed') })
    socket.write(request)
  })
}

describe('Kafka listener with TLS', () => {
  test('a TLS client is answered; a plaintext Kafka client is cut at the handshake and logged; the server keeps serving', async () => {
    const server = await startTlsServer()
    try {
      const tlsClient = connectTls({ host: '127.0.0.1', port: server.port, ca: caOnly.ca, servername: 'localhost' })
      const answer = await answerOf(tlsClient, apiVersions())
      expect(answer).not.toBe('closed')
      expect((answer as Buffer).readInt32BE(0)).toBe(7) // the correlation id of our request
      tlsFailures.length = 0
      const plain = connectTcp({ host: '127.0.0.1', port: server.port })
      expect(await answerOf(plain, apiVersions())).toBe('closed')
      expect(infoLines.some((line) => line.message === 'tls handshake failed' && typeof line.fields.source === 'string' &&
        line.fields.reason === 'not_tls' && line.fields.code === 'ERR_SSL_WRONG_VERSION_NUMBER')).toBe(true)
      expect(tlsFailures).toEqual(['not_tls'])
      const again = connectTls({ host: '127.0.0.1', port: server.port, ca: caOnly.ca, servername: 'localhost' })
      expect(await answerOf(again, apiVersions())).not.toBe('closed')
    } finally {
      await server.close()
    }
  })

  test('client certificates required: no certificate, or one of another CA, is refused in the handshake, logged and counted as certificate', async () => {
    const server = await startTlsServer('required')
    try {
      tlsFailures.length = 0
      infoLines.length = 0
      const refused = async (client: TlsConfig): Promise<void> => {
        const socket = connectTls({ host: '127.0.0.1', port: server.port, ca: client.ca, cert: client.cert, key: client.key, servername: 'localhost' })
        expect(await answerOf(socket, apiVersions())).toBe('closed')
      }
      await refused(caOnly)
      await refused(foreignAlice)
      await waitFor('both failures counted', () => tlsFailures.length === 2 ? true : undefined, { timeoutMs: 5_000 })
      expect(tlsFailures).toEqual(['certificate', 'certificate'])
      const logged = infoLines.filter((line) => line.message === 'tls handshake failed')
      expect(logged.map((line) => line.fields.reason)).toEqual(['certificate', 'certificate'])
      // The foreign certificate: node refuses it after the handshake (a bare ECONNRESET), the verification says why.
      expect(logged.some((line) => line.fields.certificateError === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe(true)
      expect(JSON.stringify(logged)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/)
      expect(await answerOf(connectTls({ host: '127.0.0.1', port: server.port, ca: alice.ca, cert: alice.cert, key: alice.key, servername: 'localhost' }), apiVersions())).not.toBe('closed')
      expect(tlsFailures).toHaveLength(2)
    } finally {
      await server.close()
    }
  })

  test('close does not wait for a client that never finishes its handshake', async () => {
    const server = await startTlsServer()
    const silent = connectTcp({ host: '127.0.0.1', port: server.port })
    silent.on('error', () => {})
    await new Promise<void>((resolve) => silent.once('connect', () => { resolve() }))
    const closedAt = Date.now()
    await server.close()
    expect(Date.now() - closedAt).toBeLessThan(2_000) // not the 10 s handshake timeout
    silent.destroy()
  })

  test('client certificates requested: a verified certificate is User:<CN>; none, or a foreign one, is anonymous; SASL wins', async () => {
    const principals: string[] = []
    const handlers: KafkaHandlers = {
      [ApiKey.ApiVersions]: (request, context) => {
        principals.push(context.principal ?? '')
        return handleApiVersions(request, context)
      },
    }
    const asked = async (server: KafkaServer, client: TlsConfig): Promise<string | undefined> => {
      const socket = connectTls({ host: '127.0.0.1', port: server.port, ca: client.ca, cert: client.cert, key: client.key, servername: 'localhost' })
      expect(await answerOf(socket, apiVersions())).not.toBe('closed')
      return principals.pop()
    }
    const options = {
      listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, handlers, logger: infoLogger(),
      tls: tlsServerOptions(brokerTls, 'requested'),
    }
    const server = await KafkaServer.start(options)
    try {
      expect(await asked(server, alice)).toBe('User:alice')
      expect(await asked(server, caOnly)).toBe('User:ANONYMOUS')
      expect(await asked(server, foreignAlice)).toBe('User:ANONYMOUS') // requested, not required: admitted, unverified
    } finally {
      await server.close()
    }
    const saslServer = await KafkaServer.start({ ...options, sasl: { mechanisms: ['PLAIN'], credential: () => undefined } })
    try {
      expect(await asked(saslServer, alice)).toBe('User:ANONYMOUS') // before the SASL login: not alice's certificate
    } finally {
      await saslServer.close()
    }
  })
})

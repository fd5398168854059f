/**
 * SASL on a Kafka listener over real sockets with a bare client: the gate before authentication, the handshake's
 * refusals, PLAIN and SCRAM exchanges inside SaslAuthenticate, the principal handlers see, the close after a failure,
 * the log line (no secrets) and the outcome reported to the listener's metrics.
 */
import { pbkdf2Sync } from 'node:crypto'
import { type Logger, silentLogger } from '@gregor/common'
import { ApiKey } from '@gregor/kafka-protocol'
import { type ScramCredential, type ScramMechanism, clientKey, digest, hmac, scramCredentialFromSaltedPassword, scramHash } from '@gregor/metadata'
import { afterEach, describe, expect, test } from 'vitest'
import { handleApiVersions } from '../handlers/api-versions.js'
import { handleSaslAuthenticate } from '../handlers/sasl-authenticate.js'
import { handleSaslHandshake } from '../handlers/sasl-handshake.js'
import type { KafkaHandlers } from '../kafka-handlers.js'
import { defaultKafkaListenerConfig } from '../kafka-listener-config.js'
import { type KafkaListenerMetrics, noKafkaListenerMetrics } from '../kafka-listener-metrics.js'
import { KafkaServer } from '../kafka-server.js'
import { RawKafkaClient } from '../testing/raw-kafka-client.js'
import type { SaslMechanism } from './sasl-session.js'

const salt = Buffer.from('gregor-salt')
function credentialFor (mechanism: ScramMechanism, password: string): ScramCredential {
  const hash = scramHash(mechanism)
  return scramCredentialFromSaltedPassword(hash, salt, pbkdf2Sync(password, salt, 4096, hash.bytes, hash.name), 4096)
}
const users: Record<string, Partial<Record<ScramMechanism, ScramCredential>>> = {
  alice: { 'SCRAM-SHA-256': credentialFor('SCRAM-SHA-256', 'alice-secret') },
  bob: { 'SCRAM-SHA-512': credentialFor('SCRAM-SHA-512', 'bob-secret') },
}

const servers: KafkaServer[] = []
const clients: RawKafkaClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(servers.splice(0).map(async (server) => { await server.close() }))
})

interface Seen { principals: string[], outcomes: string[], logs: Record<string, unknown>[] }

async function start (mechanisms: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']): Promise<{ client: RawKafkaClient, seen: Seen }> {
  const seen: Seen = { principals: [], outcomes: [], logs: [] }
  const handlers: KafkaHandlers = {
    [ApiKey.ApiVersions]: handleApiVersions,
    [ApiKey.SaslHandshake]: handleSaslHandshake,
    [ApiKey.SaslAuthenticate]: handleSaslAuthenticate,
    [ApiKey.Heartbeat]: (_request, context) => {
      seen.principals.push(context.principal ?? '')
      return { throttleTimeMs: 0, errorCode: 0 }
    },
  }
  const logger: Logger = {
    ...silentLogger,
    child: () => logger,
    info: (fields) => { seen.logs.push(fields) },
    warn: (fields) => { seen.logs.push(fields) },
  }
  const metrics: KafkaListenerMetrics = {
    ...noKafkaListenerMetrics,
    authentication: (mechanism, outcome) => { seen.outcomes.push(`${mechanism}:${outcome}`) },
  }
  const server = await KafkaServer.start({
    listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, handlers, logger, metrics,
    sasl: { mechanisms, credential: (user, mechanism) => users[user]?.[mechanism] },
  })
  servers.push(server)
  const client = await RawKafkaClient.connect(server.port)
  clients.push(client)
  return { client, seen }
}

let correlation = 0
async function handshake (client: RawKafkaClient, mechanism: string, version = 1) {
  client.write(RawKafkaClient.frame(ApiKey.SaslHandshake, version, ++correlation, { mechanism }))
  return (await client.response(ApiKey.SaslHandshake, version)).body
}
async function authenticate (client: RawKafkaClient, token: string | Buffer, version = 2) {
  client.write(RawKafkaClient.frame(ApiKey.SaslAuthenticate, version, ++correlation, { authBytes: Buffer.from(token) }))
  return (await client.response(ApiKey.SaslAuthenticate, version)).body
}
async function heartbeat (client: RawKafkaClient) {
  client.write(RawKafkaClient.frame(ApiKey.Heartbeat, 4, ++correlation, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }))
  return (await client.response(ApiKey.Heartbeat, 4)).body
}

async function closed (client: RawKafkaClient): Promise<boolean> {
  await expect(client.nextFrame(5_000)).rejects.toThrow('connection closed')
  return client.isClosed
}

/** A SCRAM client (RFC 5802) through SaslAuthenticate. */
async function scramLogin (client: RawKafkaClient, mechanism: ScramMechanism, user: string, password: string) {
  const hash = scramHash(mechanism)
  const clientFirstBare = `n=${user},r=clientnonce`
  const first = await authenticate(client, `n,,${clientFirstBare}`)
  if (first.errorCode !== 0) return first
  const serverFirst = first.authBytes.toString()
  const fields = Object.fromEntries(serverFirst.split(',').map((field) => [field[0], field.slice(2)]))
  const salted = pbkdf2Sync(password, Buffer.from(fields.s as string, 'base64'), Number(fields.i), hash.bytes, hash.name)
  const withoutProof = `c=biws,r=${fields.r as string}`
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
  const key = clientKey(hash, salted)
  const signature = hmac(hash, digest(hash, key), authMessage)
  const proof = Buffer.from(key.map((byte, i) => byte ^ (signature[i] as number)))
  const final = await authenticate(client, `${withoutProof},p=${proof.toString('base64')}`)
  if (final.errorCode === 0) {
    expect(final.authBytes.toString()).toBe(`v=${hmac(hash, hmac(hash, salted, 'Server Key'), authMessage).toString('base64')}`)
  }
  return final
}

describe('SASL on a Kafka listener', () => {
  test('before authentication only ApiVersions and the SASL APIs are served; anything else closes the connection', async () => {
    const { client, seen } = await start()
    client.write(RawKafkaClient.frame(ApiKey.ApiVersions, 3, ++correlation, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }))
    const versions = (await client.response(ApiKey.ApiVersions, 3)).body
    expect(versions.apiKeys.map((api) => api.apiKey)).toEqual(expect.arrayContaining([17, 36]))
    client.write(RawKafkaClient.frame(ApiKey.Heartbeat, 4, ++correlation, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }))
    expect(await closed(client)).toBe(true)
    expect(seen.principals).toEqual([])
    expect(seen.logs).toContainEqual(expect.objectContaining({ reason: 'request before sasl authentication', api: 'Heartbeat' }))
  })

  test('before authentication a frame over 512 KiB closes the connection; after it, the listener limit applies', async () => {
    const big = Buffer.alloc(600 * 1024, 0x61)
    const { client, seen } = await start()
    await handshake(client, 'PLAIN')
    client.write(RawKafkaClient.frame(ApiKey.SaslAuthenticate, 2, ++correlation, { authBytes: big }))
    expect(await closed(client)).toBe(true)
    expect(seen.logs).toContainEqual(expect.objectContaining({ reason: 'frame larger than allowed before sasl authentication' }))
    const { client: authenticated } = await start()
    await handshake(authenticated, 'PLAIN')
    expect((await authenticate(authenticated, '\u0000alice\u0000alice-secret')).errorCode).toBe(0)
    // Once authenticated the same frame is read and answered (no re-authentication: ILLEGAL_SASL_STATE), and the
    // connection stays open.
    expect((await authenticate(authenticated, big)).errorCode).toBe(34)
    expect((await heartbeat(authenticated)).errorCode).toBe(0)
  })

  test('SCRAM-SHA-256: the handshake lists the mechanisms, the exchange completes, and requests carry User:alice', async () => {
    const { client, seen } = await start()
    expect(await handshake(client, 'SCRAM-SHA-256')).toEqual({ errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] })
    expect((await scramLogin(client, 'SCRAM-SHA-256', 'alice', 'alice-secret')).errorCode).toBe(0)
    expect((await heartbeat(client)).errorCode).toBe(0)
    expect(seen.principals).toEqual(['User:alice'])
    expect(seen.outcomes).toEqual(['SCRAM-SHA-256:success'])
    // No re-authentication: a second handshake is ILLEGAL_SASL_STATE, and the connection stays authenticated.
    expect((await handshake(client, 'PLAIN')).errorCode).toBe(34)
    expect((await heartbeat(client)).errorCode).toBe(0)
  })

  test('SCRAM-SHA-512 for bob', async () => {
    const { client, seen } = await start()
    await handshake(client, 'SCRAM-SHA-512')
    expect((await scramLogin(client, 'SCRAM-SHA-512', 'bob', 'bob-secret')).errorCode).toBe(0)
    expect((await heartbeat(client)).errorCode).toBe(0)
    expect(seen.principals).toEqual(['User:bob'])
  })

  test('SaslAuthenticate v0 framing works the same', async () => {
    const { client } = await start()
    await handshake(client, 'PLAIN')
    client.write(RawKafkaClient.frame(ApiKey.SaslAuthenticate, 0, ++correlation, { authBytes: Buffer.from('\u0000alice\u0000alice-secret') }))
    expect((await client.response(ApiKey.SaslAuthenticate, 0)).body.errorCode).toBe(0)
    expect((await heartbeat(client)).errorCode).toBe(0)
  })

  test('PLAIN is checked against the SCRAM credential (SHA-256, else SHA-512)', async () => {
    for (const [user, password] of [['alice', 'alice-secret'], ['bob', 'bob-secret']] as const) {
      const { client, seen } = await start()
      expect((await handshake(client, 'PLAIN')).errorCode).toBe(0)
      const answer = await authenticate(client, `\u0000${user}\u0000${password}`)
      expect([answer.errorCode, answer.errorMessage]).toEqual([0, null])
      expect((await heartbeat(client)).errorCode).toBe(0)
      expect(seen.principals).toEqual([`User:${user}`])
    }
  })

  test.each([
    ['SCRAM, wrong password', 'SCRAM-SHA-256', 'alice', 'nope'],
    ['SCRAM, unknown user', 'SCRAM-SHA-256', 'mallory', 'alice-secret'],
    ['SCRAM, user without a credential for the mechanism', 'SCRAM-SHA-512', 'alice', 'alice-secret'],
    ['PLAIN, wrong password', 'PLAIN', 'alice', 'nope'],
    ['PLAIN, unknown user', 'PLAIN', 'mallory', 'alice-secret'],
  ] as const)('%s: SASL_AUTHENTICATION_FAILED with Kafka\'s message, logged without secrets, then closed', async (_what, mechanism, user, password) => {
    const { client, seen } = await start()
    await handshake(client, mechanism)
    const answer = mechanism === 'PLAIN'
      ? await authenticate(client, `\u0000${user}\u0000${password}`)
      : await scramLogin(client, mechanism, user, password)
    expect(answer.errorCode).toBe(58)
    expect(answer.errorMessage).toBe(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`)
    expect(await closed(client)).toBe(true)
    expect(seen.outcomes).toEqual([`${mechanism}:failure`])
    const line = seen.logs.find((fields) => fields.reason === 'sasl authentication failed')
    expect(line).toMatchObject({ user, mechanism, peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) })
    expect(JSON.stringify(seen.logs)).not.toContain(password)
  })

  test('an unsupported mechanism gets UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes', async () => {
    const { client, seen } = await start(['SCRAM-SHA-512'])
    expect(await handshake(client, 'GSSAPI')).toEqual({ errorCode: 33, mechanisms: ['SCRAM-SHA-512'] })
    expect(await closed(client)).toBe(true)
    expect(seen.outcomes).toEqual(['none:failure'])
  })

  test('PLAIN not enabled is refused too', async () => {
    const { client } = await start(['SCRAM-SHA-256'])
    expect((await handshake(client, 'PLAIN')).errorCode).toBe(33)
  })

  test('a SaslAuthenticate pipelined behind a PLAIN one still being checked fails both, and the connection closes', async () => {
    const { client, seen } = await start()
    await handshake(client, 'PLAIN')
    // One write, so both frames are cut from one chunk: the second is dispatched while the first's PBKDF2 runs.
    client.write(Buffer.concat([
      RawKafkaClient.frame(ApiKey.SaslAuthenticate, 2, ++correlation, { authBytes: Buffer.from('\u0000alice\u0000alice-secret') }),
      RawKafkaClient.frame(ApiKey.SaslAuthenticate, 2, ++correlation, { authBytes: Buffer.from('\u0000bob\u0000bob-secret') }),
    ]))
    // The second is out of turn (ILLEGAL_SASL_STATE); it aborts the first, whose answer (in request order, first)
    // is ILLEGAL_SASL_STATE too and closes the connection before the second's is written.
    expect((await client.response(ApiKey.SaslAuthenticate, 2)).body.errorCode).toBe(34)
    expect(await closed(client)).toBe(true)
    expect(seen.outcomes).toEqual(['PLAIN:failure'])
  })

  test('SaslAuthenticate before SaslHandshake is ILLEGAL_SASL_STATE and closes', async () => {
    const { client } = await start()
    expect((await authenticate(client, 'n,,n=alice,r=x')).errorCode).toBe(34)
    expect(await closed(client)).toBe(true)
  })

  test('SaslHandshake v0 (raw tokens) is refused with UNSUPPORTED_VERSION and closes', async () => {
    const { client } = await start()
    expect((await handshake(client, 'PLAIN', 0)).errorCode).toBe(35)
    expect(await closed(client)).toBe(true)
  })

  test('a listener without SASL answers the SASL APIs with ILLEGAL_SASL_STATE and serves as User:ANONYMOUS', async () => {
    const principals: string[] = []
    const server = await KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, logger: silentLogger,
      handlers: {
        [ApiKey.ApiVersions]: handleApiVersions,
        [ApiKey.SaslHandshake]: handleSaslHandshake,
        [ApiKey.Heartbeat]: (_request, context) => { principals.push(context.principal ?? ''); return { throttleTimeMs: 0, errorCode: 0 } },
      },
    })
    servers.push(server)
    const client = await RawKafkaClient.connect(server.port)
    clients.push(client)
    expect((await handshake(client, 'PLAIN')).errorCode).toBe(34)
    expect((await heartbeat(client)).errorCode).toBe(0)
    expect(principals).toEqual(['User:ANONYMOUS'])
  })
})

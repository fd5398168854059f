/**
 * The gRPC listener's authentication: a SCRAM login with Gregor's client (`ScramClient`) against credentials made as
 * the controller makes them; wrong password, unknown user and unsupported mechanism refused (and counted, with no
 * secret in the log); the session token's principal, expiry and eviction; certificate and anonymous principals.
 */
import { pbkdf2Sync } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, type Logger } from '@gregor/common'
import { ScramClient } from '@gregor/client'
import { type ScramCredential, type ScramMechanism, scramCredentialFromSaltedPassword, scramHash } from '@gregor/metadata'
import { SESSION_TOKEN_METADATA_KEY } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { ANONYMOUS_PRINCIPAL, GrpcAuthentication, type IdentifiedCall, peerAddress } from './grpc-authentication.js'

const salt = Buffer.from('0123456789abcdef')
function credentialFor (mechanism: ScramMechanism, password: string): ScramCredential {
  const hash = scramHash(mechanism)
  return scramCredentialFromSaltedPassword(hash, salt, pbkdf2Sync(password, salt, 4096, hash.bytes, hash.name), 4096)
}
const credentials = new Map([['alice\nSCRAM-SHA-256', credentialFor('SCRAM-SHA-256', 'alice-secret')], ['alice\nSCRAM-SHA-512', credentialFor('SCRAM-SHA-512', 'alice-secret')]])

function setUp (options: { sessionLifetimeMs?: number, sessionsMax?: number, sasl?: boolean } = {}) {
  let nowMs = 1_000
  let counter = 0
  const logs: unknown[] = []
  const outcomes: string[] = []
  const logger = { child: () => logger, info: (fields: unknown) => logs.push(fields), debug: () => {}, warn: () => {}, error: () => {} } as unknown as Logger
  const auth = new GrpcAuthentication({
    listenerName: 'CLIENT', nowMs: () => nowMs, logger,
    randomBytes: (size) => Buffer.alloc(size, ++counter),
    observe: (mechanism, outcome) => outcomes.push(`${mechanism}:${outcome}`),
    ...(options.sasl === false ? {} : { sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], credential: (user, mechanism) => credentials.get(`${user}\n${mechanism}`) } }),
    ...(options.sessionLifetimeMs === undefined ? {} : { sessionLifetimeMs: options.sessionLifetimeMs }),
    ...(options.sessionsMax === undefined ? {} : { sessionsMax: options.sessionsMax }),
  })
  return { auth, logs, outcomes, advance: (ms: number) => { nowMs += ms } }
}

async function logIn (auth: GrpcAuthentication, mechanism: string, user: string, password: string) {
  const client = new ScramClient(mechanism, user, password)
  const first = auth.authenticate({ mechanism, authBytes: client.clientFirst() }, 'ipv4:127.0.0.1:5000')
  if (first.errorCode !== '') return first
  const final = auth.authenticate({ mechanism, authBytes: await client.clientFinal(first.authBytes as Uint8Array), exchangeId: first.exchangeId as string }, 'ipv4:127.0.0.1:5000')
  if (final.errorCode === '') client.verifyServerFinal(final.authBytes as Uint8Array)
  return final
}

function callWith (token?: string, cn?: string, peer = 'ipv4:127.0.0.1:5000'): IdentifiedCall {
  const metadata = new grpc.Metadata()
  if (token !== undefined) metadata.set(SESSION_TOKEN_METADATA_KEY, token)
  return { metadata, getPeer: () => peer, getAuthContext: () => (cn === undefined ? {} : { sslPeerCertificate: { subject: { CN: cn } } }) }
}

describe('GrpcAuthentication', () => {
  test.each(['SCRAM-SHA-256', 'SCRAM-SHA-512'])('%s: the right password gets a token whose calls are User:alice', async (mechanism) => {
    const { auth, outcomes } = setUp()
    const final = await logIn(auth, mechanism, 'alice', 'alice-secret')
    expect(final).toMatchObject({ errorCode: '', complete: true, sessionLifetimeMs: 15 * 60_000 })
    expect(auth.identify(callWith(final.sessionToken as string))).toEqual({ principal: 'User:alice', host: '127.0.0.1', source: 'ipv4:127.0.0.1:5000', listener: 'CLIENT' })
    expect(outcomes).toEqual([`${mechanism}:success`])
  })

  test('a wrong password and an unknown user get the same SASL_AUTHENTICATION_FAILED; logged without secrets, counted', async () => {
    const { auth, logs, outcomes } = setUp()
    const wrong = await logIn(auth, 'SCRAM-SHA-256', 'alice', 'nope')
    const unknown = await logIn(auth, 'SCRAM-SHA-256', 'mallory', 'nope')
    expect(wrong).toEqual({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: expect.stringContaining('invalid credentials') })
    expect(unknown).toEqual(wrong)
    expect(outcomes).toEqual(['SCRAM-SHA-256:failure', 'SCRAM-SHA-256:failure'])
    expect(logs).toEqual([
      { source: 'ipv4:127.0.0.1:5000', mechanism: 'SCRAM-SHA-256', reason: 'wrong proof', user: 'alice' },
      { source: 'ipv4:127.0.0.1:5000', mechanism: 'SCRAM-SHA-256', reason: 'unknown user', user: 'mallory' },
    ])
    expect(JSON.stringify(logs)).not.toContain('nope')
  })

  test('PLAIN or an unknown mechanism is UNSUPPORTED_SASL_MECHANISM with the SCRAM ones; no SASL is ILLEGAL_SASL_STATE', async () => {
    const { auth } = setUp()
    expect(auth.authenticate({ mechanism: 'PLAIN', authBytes: Buffer.from('\u0000alice\u0000alice-secret') }, 'x'))
      .toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, enabledMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] })
    expect((await logIn(setUp({ sasl: false }).auth, 'SCRAM-SHA-256', 'alice', 'alice-secret')).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
  })

  test('client-final with an unknown exchange id is ILLEGAL_SASL_STATE; an exchange is used once', async () => {
    const { auth } = setUp()
    const client = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret')
    const first = auth.authenticate({ mechanism: 'SCRAM-SHA-256', authBytes: client.clientFirst() }, 'x')
    const finalBytes = await client.clientFinal(first.authBytes as Uint8Array)
    expect(auth.authenticate({ mechanism: 'SCRAM-SHA-256', authBytes: finalBytes, exchangeId: 'made-up' }, 'x').errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
    expect(auth.authenticate({ mechanism: 'SCRAM-SHA-256', authBytes: finalBytes, exchangeId: first.exchangeId as string }, 'x').errorCode).toBe('')
    expect(auth.authenticate({ mechanism: 'SCRAM-SHA-256', authBytes: finalBytes, exchangeId: first.exchangeId as string }, 'x').errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
  })

  test('an expired, evicted or made-up token is UNAUTHENTICATED, never anonymous', async () => {
    const { auth, advance } = setUp({ sessionLifetimeMs: 1_000, sessionsMax: 1 })
    const first = (await logIn(auth, 'SCRAM-SHA-256', 'alice', 'alice-secret')).sessionToken as string
    const second = (await logIn(auth, 'SCRAM-SHA-256', 'alice', 'alice-secret')).sessionToken as string
    expect(auth.sessionCount).toBe(1)
    expect(auth.identify(callWith(first))).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('SASL_AUTHENTICATION_FAILED') })
    expect(auth.identify(callWith('made-up'))).toMatchObject({ code: grpc.status.UNAUTHENTICATED })
    expect(auth.identify(callWith(second))).toMatchObject({ principal: 'User:alice' })
    advance(1_000)
    expect(auth.identify(callWith(second))).toMatchObject({ code: grpc.status.UNAUTHENTICATED })
  })

  test('a verified client certificate is User:<CN>; nothing is User:ANONYMOUS; a token wins over the certificate', async () => {
    const { auth } = setUp()
    expect(auth.identify(callWith(undefined, 'carol', 'ipv6:[::1]:7000'))).toEqual({ principal: 'User:carol', host: '::1', source: 'ipv6:[::1]:7000', listener: 'CLIENT' })
    expect(auth.identify(callWith())).toMatchObject({ principal: ANONYMOUS_PRINCIPAL })
    const token = (await logIn(auth, 'SCRAM-SHA-256', 'alice', 'alice-secret')).sessionToken as string
    expect(auth.identify(callWith(token, 'carol'))).toMatchObject({ principal: 'User:alice' })
  })

  test('peer addresses in the form ACL hosts are written in', () => {
    expect(peerAddress('ipv4:10.0.0.7:5000')).toBe('10.0.0.7')
    expect(peerAddress('ipv6:[::1]:5000')).toBe('::1')
    expect(peerAddress('ipv6:[::ffff:127.0.0.1]:5000')).toBe('127.0.0.1')
  })
})

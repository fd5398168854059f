/**
 * The SCRAM server against the RFC test vectors (RFC 7677 for SHA-256, RFC 5802's SHA-1 one for the key schedule),
 * a client written here from the RFC for SHA-512, and every refusal: wrong password, unknown user (same message,
 * same shape of exchange), nonce, channel binding, authzid, malformed and out-of-turn messages.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { ErrorCode } from '@gregor/common'
import {
  type ScramCredential, type ScramHash, type ScramMechanism, clientKey, digest, hmac, scramCredentialFromSaltedPassword, scramHash,
} from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import { SaslAuthenticationFailure, ScramServer, authenticationFailedMessage } from './scram-server.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value)

function credentialFor (mechanism: ScramMechanism, password: string, salt: Buffer, iterations = 4096): ScramCredential {
  const hash = scramHash(mechanism)
  return scramCredentialFromSaltedPassword(hash, salt, pbkdf2Sync(password, salt, iterations, hash.bytes, hash.name), iterations)
}

const rfcSalt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64')

function server (options: { mechanism?: ScramMechanism, users?: Record<string, ScramCredential>, nonce?: string } = {}): ScramServer {
  const mechanism = options.mechanism ?? 'SCRAM-SHA-256'
  const users = options.users ?? { user: credentialFor(mechanism, 'pencil', rfcSalt) }
  return new ScramServer({
    mechanism,
    credential: (user) => users[user],
    unknownUserCredential: () => credentialFor(mechanism, 'made-up', Buffer.from('fake salt')),
    serverNonce: () => options.nonce ?? '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  })
}

/** A SCRAM client from RFC 5802 §3, for any hash. */
function clientFinal (
  hash: ScramHash, password: string, clientFirstBare: string, serverFirst: string, gs2Header = 'n,,', nonce?: string,
): { message: string, serverSignature: string } {
  const fields = Object.fromEntries(serverFirst.split(',').map((field) => [field[0], field.slice(2)]))
  const salted = pbkdf2Sync(password, Buffer.from(fields.s as string, 'base64'), Number(fields.i), hash.bytes, hash.name)
  const withoutProof = `c=${Buffer.from(gs2Header).toString('base64')},r=${nonce ?? fields.r as string}`
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
  const key = clientKey(hash, salted)
  const signature = hmac(hash, digest(hash, key), authMessage)
  const proof = Buffer.from(key.map((byte, i) => byte ^ (signature[i] as number)))
  const serverSignature = hmac(hash, hmac(hash, salted, 'Server Key'), authMessage).toString('base64')
  return { message: `${withoutProof},p=${proof.toString('base64')}`, serverSignature }
}

function expectFailure (run: () => unknown, mechanism = 'SCRAM-SHA-256'): SaslAuthenticationFailure {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(SaslAuthenticationFailure)
    const failure = error as SaslAuthenticationFailure
    expect(failure.code).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    expect(failure.message).toBe(authenticationFailedMessage(mechanism))
    return failure
  }
  throw new Error('expected a SASL authentication failure')
}

describe('ScramServer', () => {
  test('RFC 7677 SCRAM-SHA-256 example, message for message', () => {
    const scram = server()
    expect(text(scram.receive(bytes('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'))))
      .toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    expect(scram.complete).toBe(false)
    expect(text(scram.receive(bytes('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='))))
      .toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')
    expect(scram.complete).toBe(true)
    expect(scram.user).toBe('user')
  })

  test('RFC 5802 SCRAM-SHA-1 example: the key schedule gives its proof and server signature', () => {
    const sha1: ScramHash = { name: 'sha1', bytes: 20 }
    const { message, serverSignature } = clientFinal(sha1, 'pencil', 'n=user,r=fyko+d2lbbFgONRv9qkxdawL',
      'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096')
    expect(message).toBe('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=')
    expect(serverSignature).toBe('rmF9pqV8S7suAoZWja4dJRkFsKQ=')
  })

  test('SCRAM-SHA-512 with an RFC client, an escaped user name and an authzid naming the user', () => {
    const mechanism = 'SCRAM-SHA-512'
    const scram = server({ mechanism, users: { 'a,b=c': credentialFor(mechanism, 'sekrit', Buffer.from('salt-512'), 8192) }, nonce: 'srv' })
    const clientFirstBare = 'n=a=2Cb=3Dc,r=cli'
    const gs2 = 'n,a=a=2Cb=3Dc,'
    const serverFirst = text(scram.receive(bytes(gs2 + clientFirstBare)))
    expect(serverFirst).toBe(`r=clisrv,s=${Buffer.from('salt-512').toString('base64')},i=8192`)
    const { message, serverSignature } = clientFinal(scramHash(mechanism), 'sekrit', clientFirstBare, serverFirst, gs2)
    expect(text(scram.receive(bytes(message)))).toBe(`v=${serverSignature}`)
    expect(scram.user).toBe('a,b=c')
  })

  test('a wrong password fails at the proof with Kafka\'s message', () => {
    const scram = server()
    const serverFirst = text(scram.receive(bytes('n,,n=user,r=abc')))
    const failure = expectFailure(() => scram.receive(bytes(clientFinal(scramHash('SCRAM-SHA-256'), 'wrong', 'n=user,r=abc', serverFirst).message)))
    expect(failure.reason).toBe('wrong proof')
    expect(failure.user).toBe('user')
    expect(scram.complete).toBe(false)
    // Failed for good: a retry on the same exchange is refused too.
    expectFailure(() => scram.receive(bytes('n,,n=user,r=abc')))
  })

  test('an unknown user gets a server-first like anyone (stable salt) and the same failure at the end', () => {
    const first = text(server().receive(bytes('n,,n=nobody,r=abc')))
    expect(first).toMatch(/^r=abc%hvYDpWUa2RaTCAfuxFIlj\)hNlF\$k0,s=[A-Za-z0-9+/=]+,i=4096$/)
    expect(text(server().receive(bytes('n,,n=nobody,r=abc')))).toBe(first)
    const scram = server()
    scram.receive(bytes('n,,n=nobody,r=abc'))
    // Even the made-up credential's own password does not log an unknown user in.
    const failure = expectFailure(() => scram.receive(bytes(clientFinal(scramHash('SCRAM-SHA-256'), 'made-up', 'n=nobody,r=abc', first).message)))
    expect(failure.reason).toBe('unknown user')
  })

  test.each([
    ['channel binding requested (p=)', 'p=tls-unique,,n=user,r=abc'],
    ['client supports channel binding (y)', 'y,,n=user,r=abc'],
    ['authzid of another user', 'n,a=admin,n=user,r=abc'],
    ['no nonce', 'n,,n=user'],
    ['bad escape in the name', 'n,,n=us=er,r=abc'],
    ['empty name', 'n,,n=,r=abc'],
    ['mandatory extension', 'n,,n=user,r=abc,m=x'],
    ['delegation token', 'n,,n=user,r=abc,tokenauth=true'],
    ['nonce with a control character', 'n,,n=user,r=a\u0001b'],
    ['not SCRAM at all', 'hello'],
  ])('client-first refused: %s', (_what, message) => {
    expectFailure(() => server().receive(bytes(message)))
  })

  test('client-first that is not UTF-8 is refused', () => {
    expectFailure(() => server().receive(Uint8Array.of(0x6e, 0x2c, 0x2c, 0xff)))
  })

  test.each([
    ['another nonce', (m: string) => m.replace('r=abc%', 'r=abd%')],
    ['channel binding not repeating the header', (m: string) => m.replace('c=biws', `c=${Buffer.from('n,a=user,').toString('base64')}`)],
    ['no proof', (m: string) => m.slice(0, m.indexOf(',p='))],
    ['a short proof', (m: string) => `${m.slice(0, m.indexOf(',p='))},p=AAAA`],
    ['a proof that is not base64', (m: string) => `${m.slice(0, m.indexOf(',p='))},p=!!!!`],
  ])('client-final refused: %s', (_what, tamper) => {
    const scram = server()
    const serverFirst = text(scram.receive(bytes('n,,n=user,r=abc')))
    const { message } = clientFinal(scramHash('SCRAM-SHA-256'), 'pencil', 'n=user,r=abc', serverFirst)
    expectFailure(() => scram.receive(bytes(tamper(message))))
  })

  test('librdkafka < 2.2 repeats its nonce in front of the combined one: accepted in exactly that form', () => {
    const hash = scramHash('SCRAM-SHA-256')
    const scram = server({ nonce: 'srv' })
    const serverFirst = text(scram.receive(bytes('n,,n=user,r=cli')))
    // What librdkafka 2.0.2 sends (and signs): c=biws,r=<its nonce><the combined nonce>.
    const librdkafka = clientFinal(hash, 'pencil', 'n=user,r=cli', serverFirst, 'n,,', 'clicli' + 'srv')
    expect(librdkafka.message).toContain('r=cliclisrv,')
    expect(text(scram.receive(bytes(librdkafka.message)))).toBe(`v=${librdkafka.serverSignature}`)
    // Any other prefix is refused.
    const other = server({ nonce: 'srv' })
    const otherFirst = text(other.receive(bytes('n,,n=user,r=cli')))
    expectFailure(() => other.receive(bytes(clientFinal(hash, 'pencil', 'n=user,r=cli', otherFirst, 'n,,', 'xclisrv').message)))
  })

  test('the proof check is the RFC\'s: StoredKey = H(proof XOR HMAC(StoredKey, AuthMessage))', () => {
    // Independent of the module's helpers: the stored key the RFC client implies must be what the server stores.
    const salted = pbkdf2Sync('pencil', rfcSalt, 4096, 32, 'sha256')
    const stored = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest()
    expect(Buffer.from(credentialFor('SCRAM-SHA-256', 'pencil', rfcSalt).storedKey)).toEqual(stored)
  })
})

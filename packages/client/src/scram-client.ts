/**
 * The client side of one SCRAM exchange (RFC 5802, RFC 7677): client-first → (server-first) → client-final →
 * (server-final), for SCRAM-SHA-256 and SCRAM-SHA-512, as Kafka's `ScramSaslClient` runs it.
 *
 * Rules kept: no channel binding (GS2 header `n,,`); the user name escapes `,` and `=` (saslname); the server's nonce
 * must extend ours; the iteration count must be at least 4096 (a server asking for fewer is refused, as Kafka's
 * client refuses it); the server's signature in server-final is checked in constant time, so a client knows it talked
 * to a server that holds the credential. PBKDF2 runs on libuv's thread pool. The client nonce is injectable for tests.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { ErrorCode, GregorError } from '@gregor/common'
import { type ScramMechanismName, SCRAM_MECHANISMS } from './scram-salted-password.js'

const hashes: Readonly<Record<ScramMechanismName, { readonly name: string, readonly bytes: number }>> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
}

/** Kafka's lower bound on SCRAM iterations (`ScramMechanism.minIterations`). */
const minIterations = 4096

function failed (message: string): GregorError {
  return new GregorError(ErrorCode.SASL_AUTHENTICATION_FAILED, message)
}

export class ScramClient {
  readonly #hash: { readonly name: string, readonly bytes: number }
  readonly #user: string
  readonly #password: string
  readonly #clientNonce: string
  #clientFirstBare = ''
  #expectedServerSignature: Buffer | undefined

  constructor (mechanism: string, user: string, password: string, clientNonce: string = randomBytes(24).toString('base64')) {
    const hash = hashes[mechanism as ScramMechanismName]
    if (hash === undefined) {
      throw new GregorError(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `unknown SCRAM mechanism ${mechanism} (${SCRAM_MECHANISMS.join(' or ')})`)
    }
    if (user === '' || password === '') throw new GregorError(ErrorCode.INVALID_CONFIG, 'SASL needs a user name and a password')
    this.#hash = hash
    this.#user = user
    this.#password = password
    this.#clientNonce = clientNonce
  }

  clientFirst (): Uint8Array {
    const name = this.#user.replaceAll('=', '=3D').replaceAll(',', '=2C')
    this.#clientFirstBare = `n=${name},r=${this.#clientNonce}`
    return Buffer.from(`n,,${this.#clientFirstBare}`, 'utf8')
  }

  /** The client-final message for the server's server-first; throws SASL_AUTHENTICATION_FAILED on a bad one. */
  async clientFinal (serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = Buffer.from(serverFirstBytes).toString('utf8')
    const fields = new Map(serverFirst.split(',').map((field) => [field.slice(0, 1), field.slice(2)] as const))
    const nonce = fields.get('r')
    const salt = fields.get('s')
    const iterations = Number(fields.get('i'))
    if (nonce === undefined || salt === undefined || !Number.isSafeInteger(iterations)) throw failed('malformed server-first message')
    if (!nonce.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) throw failed('the server nonce does not extend the client nonce')
    if (iterations < minIterations) throw failed(`the server asked for ${iterations} iterations, fewer than ${minIterations}`)
    const hash = this.#hash
    const salted = await new Promise<Buffer>((resolve, reject) => {
      pbkdf2(Buffer.from(this.#password, 'utf8'), Buffer.from(salt, 'base64'), iterations, hash.bytes, hash.name, (error, key) => {
        if (error === null) resolve(key)
        else reject(error)
      })
    })
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`
    const clientKey = createHmac(hash.name, salted).update('Client Key').digest()
    const storedKey = createHash(hash.name).update(clientKey).digest()
    const clientSignature = createHmac(hash.name, storedKey).update(authMessage).digest()
    const proof = Buffer.alloc(hash.bytes)
    for (let i = 0; i < hash.bytes; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number)
    const serverKey = createHmac(hash.name, salted).update('Server Key').digest()
    this.#expectedServerSignature = createHmac(hash.name, serverKey).update(authMessage).digest()
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8')
  }

  /** Checks server-final: the server proved it knows the credential; throws SASL_AUTHENTICATION_FAILED otherwise. */
  verifyServerFinal (serverFinalBytes: Uint8Array): void {
    const serverFinal = Buffer.from(serverFinalBytes).toString('utf8')
    if (serverFinal.startsWith('e=')) throw failed(`the server refused: ${serverFinal.slice(2, 200)}`)
    const expected = this.#expectedServerSignature
    const signature = serverFinal.startsWith('v=') ? Buffer.from(serverFinal.slice(2), 'base64') : Buffer.alloc(0)
    if (expected === undefined || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw failed('the server\'s signature is wrong: it does not hold this user\'s credential')
    }
  }
}

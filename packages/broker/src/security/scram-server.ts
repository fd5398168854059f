/**
 * The server side of one SCRAM exchange (RFC 5802, RFC 7677; Kafka's `ScramSaslServer`): client-first →
 * server-first → client-final → server-final, for SCRAM-SHA-256 and SCRAM-SHA-512.
 *
 * Rules kept: channel binding is not offered, so the GS2 header must be `n` (a `y` or `p=` client is refused, as
 * Kafka refuses it); an authorization id must be empty or the user itself; the client-final's nonce must be the
 * client's nonce followed by ours (or, for librdkafka < 2.2, the client's nonce in front of that: see #clientFinal),
 * and its channel-binding field must be the GS2 header the client sent; the mandatory
 * `m=` extension and Kafka's delegation-token extension (`tokenauth`) are refused; the proof is checked in constant
 * time (`timingSafeEqual` of StoredKey against H(proof XOR ClientSignature)).
 *
 * Unknown users: the exchange runs to the end against a made-up credential (salt and keys derived from a secret and
 * the name, so repeated attempts see the same salt), and fails at the proof like a wrong password. Every failure
 * throws `SaslAuthenticationFailure` with Kafka's one message, so no answer tells whether the user exists; the
 * failure's `reason` (no secrets) is for the broker's log only.
 *
 * Pure and synchronous: credentials come from the injected lookup, the server nonce from the injected generator;
 * HMAC, hashes and comparisons are Node's crypto.
 */
import { timingSafeEqual } from 'node:crypto'
import { ErrorCode, GregorError } from '@gregor/common'
import { type ScramCredential, type ScramMechanism, digest, hmac, scramHash } from '@gregor/metadata'

/** Kafka's message for every credential failure (`SaslServerAuthenticator`); it names only the mechanism. */
export function authenticationFailedMessage (mechanism: string): string {
  return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`
}

/** A refused exchange: the client gets SASL_AUTHENTICATION_FAILED and Kafka's message; `reason` is logged only. */
export class SaslAuthenticationFailure extends GregorError {
  readonly reason: string
  /** The user name the client gave, when it got that far (for the log). */
  readonly user: string | undefined
  constructor (mechanism: string, reason: string, user?: string) {
    super(ErrorCode.SASL_AUTHENTICATION_FAILED, authenticationFailedMessage(mechanism))
    this.reason = reason
    this.user = user
  }
}

export interface ScramServerOptions {
  readonly mechanism: ScramMechanism
  /** The user's stored credential for this mechanism, or undefined. */
  readonly credential: (user: string) => ScramCredential | undefined
  /** What an unknown user is challenged with, the same for every attempt on one name. */
  readonly unknownUserCredential: (user: string) => ScramCredential
  /** The server's part of the nonce: printable ASCII without `,` (RFC 5802), fresh per exchange. */
  readonly serverNonce: () => string
}

type State =
  | { readonly step: 'client-first' }
  | {
    readonly step: 'client-final'
    readonly user: string
    readonly known: boolean
    readonly credential: ScramCredential
    readonly gs2Header: string
    readonly clientNonce: string
    readonly nonce: string
    readonly clientFirstBare: string
    readonly serverFirst: string
  }
  | { readonly step: 'complete', readonly user: string }
  | { readonly step: 'failed' }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()
/** RFC 5802 `printable`: %x21-2B / %x2D-7E. */
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export class ScramServer {
  readonly #options: ScramServerOptions
  #state: State = { step: 'client-first' }

  constructor (options: ScramServerOptions) {
    this.#options = options
  }

  get mechanism (): ScramMechanism {
    return this.#options.mechanism
  }

  /** True once the client's proof was checked and server-final produced. */
  get complete (): boolean {
    return this.#state.step === 'complete'
  }

  /** The authenticated user name (set once complete). */
  get user (): string | undefined {
    return this.#state.step === 'complete' ? this.#state.user : undefined
  }

  /** One client message in, the server's answer out; throws SaslAuthenticationFailure on anything wrong. */
  receive (message: Uint8Array): Uint8Array {
    try {
      switch (this.#state.step) {
        case 'client-first': return encoder.encode(this.#clientFirst(decode(message, this.mechanism)))
        case 'client-final': return encoder.encode(this.#clientFinal(this.#state, decode(message, this.mechanism)))
        default: throw this.#fail(`message after the exchange was ${this.#state.step}`)
      }
    } catch (error) {
      this.#state = { step: 'failed' }
      throw error
    }
  }

  #fail (reason: string): SaslAuthenticationFailure {
    const user = this.#state.step === 'client-final' || this.#state.step === 'complete' ? this.#state.user : undefined
    return new SaslAuthenticationFailure(this.mechanism, reason, user)
  }

  #clientFirst (message: string): string {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const match = /^([^,]*),([^,]*),(.*)$/s.exec(message)
    if (match === null) throw this.#fail('malformed client-first message')
    const [, flag, authzField, clientFirstBare] = match as unknown as [string, string, string, string]
    if (flag !== 'n') throw this.#fail(`channel binding flag ${flag.slice(0, 8)} (only n is supported)`)
    const fields = clientFirstBare.split(',')
    const [nameField, nonceField, ...extensions] = fields
    if (nameField === undefined || !nameField.startsWith('n=') || nonceField === undefined || !nonceField.startsWith('r=')) {
      throw this.#fail('malformed client-first message')
    }
    const user = this.#saslName(nameField.slice(2))
    if (authzField !== '') {
      if (!authzField.startsWith('a=') || this.#saslName(authzField.slice(2)) !== user) {
        throw this.#fail('authorization id is not the authenticated user')
      }
    }
    for (const extension of extensions) {
      if (extension.startsWith('m=')) throw this.#fail('mandatory extension')
      if (extension.startsWith('tokenauth=')) throw this.#fail('delegation tokens are not supported')
    }
    const clientNonce = nonceField.slice(2)
    if (!NONCE.test(clientNonce)) throw this.#fail('malformed client nonce')
    const serverNonce = this.#options.serverNonce()
    if (!NONCE.test(serverNonce)) throw new Error('the server nonce must be printable ASCII without a comma')
    const stored = this.#options.credential(user)
    const credential = stored ?? this.#options.unknownUserCredential(user)
    const nonce = clientNonce + serverNonce
    const serverFirst = `r=${nonce},s=${Buffer.from(credential.salt).toString('base64')},i=${credential.iterations}`
    this.#state = {
      step: 'client-final', user, known: stored !== undefined, credential,
      gs2Header: `${flag},${authzField},`, clientNonce, nonce, clientFirstBare, serverFirst,
    }
    return serverFirst
  }

  #clientFinal (state: Extract<State, { step: 'client-final' }>, message: string): string {
    const proofAt = message.lastIndexOf(',p=')
    if (proofAt < 0) throw this.#fail('client-final message without a proof')
    const withoutProof = message.slice(0, proofAt)
    const [channelField, nonceField] = withoutProof.split(',')
    if (channelField === undefined || !channelField.startsWith('c=') || nonceField === undefined || !nonceField.startsWith('r=')) {
      throw this.#fail('malformed client-final message')
    }
    const channel = channelField.slice(2)
    if (!BASE64.test(channel) || Buffer.from(channel, 'base64').toString('utf8') !== state.gs2Header) {
      throw this.#fail('channel binding does not repeat the GS2 header')
    }
    const nonce = nonceField.slice(2)
    // librdkafka before 2.2 (Debian's kcat runs 2.0.2) repeats its own nonce in front of the combined one; Kafka
    // accepted that with an `endsWith` check. Gregor accepts exactly that form besides the RFC's, nothing else.
    if (nonce !== state.nonce && nonce !== state.clientNonce + state.nonce) throw this.#fail('nonce mismatch')
    const hash = scramHash(this.mechanism)
    const proofText = message.slice(proofAt + 3)
    const proof = BASE64.test(proofText) ? Buffer.from(proofText, 'base64') : Buffer.alloc(0)
    if (proof.length !== hash.bytes) throw this.#fail('malformed proof')
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`
    const clientSignature = hmac(hash, state.credential.storedKey, authMessage)
    const clientKey = Buffer.alloc(hash.bytes)
    for (let i = 0; i < hash.bytes; i++) clientKey[i] = (proof[i] as number) ^ (clientSignature[i] as number)
    const matches = timingSafeEqual(digest(hash, clientKey), state.credential.storedKey)
    if (!matches || !state.known) throw this.#fail(state.known ? 'wrong proof' : 'unknown user')
    this.#state = { step: 'complete', user: state.user }
    return `v=${hmac(hash, state.credential.serverKey, authMessage).toString('base64')}`
  }

  /** RFC 5802 saslname: `,` and `=` travel as `=2C` and `=3D`; any other `=` is malformed. */
  #saslName (text: string): string {
    if (text.length === 0 || /=(?!2C|3D)/.test(text)) throw this.#fail('malformed user name')
    return text.replaceAll('=2C', ',').replaceAll('=3D', '=')
  }
}

function decode (message: Uint8Array, mechanism: string): string {
  try {
    return utf8.decode(message)
  } catch {
    throw new SaslAuthenticationFailure(mechanism, 'message is not UTF-8')
  }
}

/**
 * One connection's SASL state on a SASL_PLAINTEXT or SASL_SSL listener (Kafka's `SaslServerAuthenticator`):
 * SaslHandshake picks a mechanism, SaslAuthenticate carries its tokens, and once the exchange completes the
 * connection has a principal (`User:<name>`).
 *
 * States: awaiting-handshake → awaiting-authenticate (mechanism chosen) → [authenticating, while PLAIN's PBKDF2 runs]
 * → authenticated; any failure → failed. A
 * handshake out of turn or an authenticate before the handshake is ILLEGAL_SASL_STATE; a mechanism the listener does
 * not enable is UNSUPPORTED_SASL_MECHANISM with the enabled list; a failed exchange is SASL_AUTHENTICATION_FAILED with
 * Kafka's one message. Each of those ends the connection (the caller closes it after the answer), as in Kafka.
 * Re-authentication (KIP-368) is not offered: after success, further SASL requests are ILLEGAL_SASL_STATE.
 *
 * Owns `SaslOptions` (a listener's mechanisms and its view of the credentials) and the made-up credential an unknown
 * user is challenged with. Randomness (server nonces, the unknown-user secret) is injectable for tests.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { ErrorCode } from '@gregor/common'
import {
  SCRAM_ITERATIONS_DEFAULT, type ScramCredential, type ScramMechanism, digest, isScramMechanism, scramHash,
} from '@gregor/metadata'
import { authenticatePlain } from './plain-authenticator.js'
import { SaslAuthenticationFailure, ScramServer } from '../../../security/scram-server.js'

export const saslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type SaslMechanism = typeof saslMechanisms[number]

export interface SaslOptions {
  /** Enabled mechanisms, in the order the handshake answer lists them (Kafka's `sasl.enabled.mechanisms`). */
  readonly mechanisms: readonly SaslMechanism[]
  /** The user's SCRAM credential for a mechanism: a lookup over the broker's metadata image. */
  readonly credential: (user: string, mechanism: ScramMechanism) => ScramCredential | undefined
  /** Random bytes (default: crypto.randomBytes); tests inject their own. */
  readonly randomBytes?: (size: number) => Buffer
}

/** What one SASL request answers: a Kafka error code (as Gregor's ErrorCode) or the next server token. */
export type SaslStep =
  | { readonly ok: true, readonly token: Uint8Array, readonly complete: boolean }
  | {
    readonly ok: false
    readonly code: ErrorCode
    readonly message: string
    /** For the log only: why, and the user name the client gave (never a password or a proof). */
    readonly reason: string
    readonly user?: string
  }

/** Told once per finished exchange: its mechanism (or `none` before one was chosen) and whether it succeeded. */
export type SaslOutcomeObserver = (mechanism: SaslMechanism | 'none', outcome: 'success' | 'failure') => void

export type SaslState = 'awaiting-handshake' | 'awaiting-authenticate' | 'authenticating' | 'authenticated' | 'failed'

/** Per listener: the secret behind unknown users' made-up credentials. */
export class SaslAuthenticator {
  readonly options: SaslOptions
  readonly #random: (size: number) => Buffer
  readonly #unknownUserSecret: Buffer

  constructor (options: SaslOptions) {
    this.options = options
    this.#random = options.randomBytes ?? randomBytes
    this.#unknownUserSecret = this.#random(32)
  }

  /** A fresh connection's state; `observe` hears each exchange's outcome (for the listener's metrics). */
  session (observe: SaslOutcomeObserver = () => {}): SaslSession {
    return new SaslSession(this, observe)
  }

  /** Stable per name, so probing one name twice sees the same salt; the keys match no password in practice. */
  unknownUserCredential (user: string, mechanism: ScramMechanism): ScramCredential {
    const hash = scramHash(mechanism)
    const derive = (label: string): Buffer => createHmac('sha256', this.#unknownUserSecret).update(`${label}\u0000${user}`).digest()
    return {
      salt: derive('salt'),
      storedKey: digest(hash, derive('stored')),
      serverKey: digest(hash, derive('server')),
      iterations: SCRAM_ITERATIONS_DEFAULT,
    }
  }

  /** 24 random bytes as base64 (printable, no comma): the server's part of a SCRAM nonce. */
  serverNonce (): string {
    return this.#random(24).toString('base64')
  }
}

export class SaslSession {
  readonly #authenticator: SaslAuthenticator
  readonly #observe: SaslOutcomeObserver
  #state: SaslState = 'awaiting-handshake'
  #mechanism: SaslMechanism | undefined
  #scram: ScramServer | undefined
  #principal: string | undefined

  constructor (authenticator: SaslAuthenticator, observe: SaslOutcomeObserver) {
    this.#authenticator = authenticator
    this.#observe = observe
  }

  get state (): SaslState {
    return this.#state
  }

  get authenticated (): boolean {
    return this.#state === 'authenticated'
  }

  /** `User:<name>` once authenticated. */
  get principal (): string | undefined {
    return this.#principal
  }

  get mechanism (): SaslMechanism | undefined {
    return this.#mechanism
  }

  get enabledMechanisms (): readonly SaslMechanism[] {
    return this.#authenticator.options.mechanisms
  }

  handshake (mechanism: string): SaslStep {
    if (this.#state !== 'awaiting-handshake') {
      return this.#refuse(ErrorCode.ILLEGAL_SASL_STATE, `SaslHandshake while ${this.#state}`, 'unexpected SaslHandshake')
    }
    const enabled = this.enabledMechanisms.find((name) => name === mechanism)
    if (enabled === undefined) {
      return this.#refuse(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unsupported SASL mechanism ${mechanism}`, 'unsupported mechanism')
    }
    this.#mechanism = enabled
    this.#state = 'awaiting-authenticate'
    if (isScramMechanism(enabled)) {
      const authenticator = this.#authenticator
      this.#scram = new ScramServer({
        mechanism: enabled,
        credential: (user) => authenticator.options.credential(user, enabled),
        unknownUserCredential: (user) => authenticator.unknownUserCredential(user, enabled),
        serverNonce: () => authenticator.serverNonce(),
      })
    }
    return { ok: true, token: new Uint8Array(0), complete: false }
  }

  async authenticate (token: Uint8Array): Promise<SaslStep> {
    if (this.#state !== 'awaiting-authenticate') {
      return this.#refuse(ErrorCode.ILLEGAL_SASL_STATE, `SaslAuthenticate while ${this.#state}`, 'unexpected SaslAuthenticate')
    }
    try {
      if (this.#scram !== undefined) {
        const answer = this.#scram.receive(token)
        if (this.#scram.complete) this.#succeed(this.#scram.user as string)
        return { ok: true, token: answer, complete: this.authenticated }
      }
      const options = this.#authenticator.options
      // PLAIN's PBKDF2 runs off the event loop: a SaslAuthenticate pipelined meanwhile is out of turn.
      this.#state = 'authenticating'
      const user = await authenticatePlain(token, {
        credential: options.credential,
        unknownUserCredential: (name) => this.#authenticator.unknownUserCredential(name, 'SCRAM-SHA-256'),
      })
      // An out-of-turn request failed the session meanwhile: this exchange does not authenticate it any more.
      if (this.#state !== 'authenticating') {
        return { ok: false, code: ErrorCode.ILLEGAL_SASL_STATE, message: 'SASL exchange aborted by an out-of-turn request', reason: 'aborted', user }
      }
      this.#succeed(user)
      return { ok: true, token: new Uint8Array(0), complete: true }
    } catch (error) {
      if (!(error instanceof SaslAuthenticationFailure)) throw error
      return this.#refuse(error.code, error.message, error.reason, error.user)
    }
  }

  #succeed (user: string): void {
    this.#state = 'authenticated'
    this.#principal = `User:${user}`
    this.#observe(this.#mechanism ?? 'none', 'success')
  }

  /** Ends the exchange; an authenticated connection stays authenticated (Kafka answers, and keeps it open). */
  #refuse (code: ErrorCode, message: string, reason: string, user?: string): SaslStep {
    if (this.#state !== 'authenticated') {
      this.#state = 'failed'
      this.#observe(this.#mechanism ?? 'none', 'failure')
    }
    return { ok: false, code, message, reason, ...(user === undefined ? {} : { user }) }
  }
}

/**
 * SASL/PLAIN (RFC 4616; Kafka's `PlainSaslServer`) checked against the SCRAM credentials of the metadata log.
 *
 * Kafka checks PLAIN against passwords in its static JAAS file; Gregor keeps one user store, so a PLAIN password is
 * checked by deriving the user's SCRAM credential from it (the stored salt and iterations, SCRAM-SHA-256 when the user
 * has it, else SCRAM-SHA-512) and comparing StoredKey in constant time. A user needs a SCRAM credential to log in
 * with PLAIN, and the password still never reaches the metadata log.
 *
 * Message: `authzid NUL authcid NUL password`; the authorization id must be empty or the user; user and password
 * must not be empty. An unknown user costs the same PBKDF2 as a known one (against a made-up credential) and fails
 * with the same message. PBKDF2 runs on the thread pool (`saltedPassword`), never on the event loop.
 */
import { timingSafeEqual } from 'node:crypto'
import { type ScramCredential, type ScramMechanism, clientKey, digest, scramHash } from '@gregor/metadata'
import { saltedPassword } from './salted-password.js'
import { SaslAuthenticationFailure } from '../../../security/scram-server.js'

export interface PlainCredentials {
  /** The user's stored credential for one mechanism, or undefined. */
  readonly credential: (user: string, mechanism: ScramMechanism) => ScramCredential | undefined
  readonly unknownUserCredential: (user: string) => ScramCredential
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The user name once the password checks out; throws SaslAuthenticationFailure otherwise. */
export async function authenticatePlain (message: Uint8Array, credentials: PlainCredentials): Promise<string> {
  let user: string | undefined
  const fail = (reason: string): SaslAuthenticationFailure => new SaslAuthenticationFailure('PLAIN', reason, user)
  let text: string
  try {
    text = utf8.decode(message)
  } catch {
    throw fail('message is not UTF-8')
  }
  const parts = text.split('\u0000')
  if (parts.length !== 3) throw fail('malformed PLAIN message')
  const [authzid, name, password] = parts as [string, string, string]
  user = name
  if (user === '' || password === '') throw fail('empty user name or password')
  if (authzid !== '' && authzid !== user) throw fail('authorization id is not the authenticated user')
  const mechanism: ScramMechanism = credentials.credential(user, 'SCRAM-SHA-256') !== undefined ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512'
  const stored = credentials.credential(user, mechanism)
  const credential = stored ?? credentials.unknownUserCredential(user)
  const hash = scramHash(stored === undefined ? 'SCRAM-SHA-256' : mechanism)
  const salted = await saltedPassword(hash, password, credential.salt, credential.iterations)
  const storedKey = digest(hash, clientKey(hash, salted))
  const matches = storedKey.length === credential.storedKey.length && timingSafeEqual(storedKey, credential.storedKey)
  if (!matches || stored === undefined) throw fail(stored === undefined ? 'unknown user' : 'wrong password')
  return user
}

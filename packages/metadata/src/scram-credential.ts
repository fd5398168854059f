/**
 * SCRAM credentials (RFC 5802, RFC 7677; Kafka's `ScramCredential` and `ScramFormatter`): what the metadata log keeps
 * of a user's password, and the derivations both ends of a SCRAM exchange need.
 *
 * Owns: the mechanisms Gregor offers (`SCRAM-SHA-256`, `SCRAM-SHA-512`), their iteration bounds (Kafka's: at least
 * 4096, at most 16384), and the key schedule: SaltedPassword = PBKDF2(password, salt, i); ClientKey =
 * HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key").
 * A stored credential is (salt, StoredKey, ServerKey, iterations): enough to verify a client's proof and to prove
 * the server knows it, never enough to log in as the user, and never the password.
 *
 * Every primitive is Node's `crypto` hashing (no randomness: the metadata package stays pure); nothing is hand-rolled.
 * All synchronous and deterministic. PBKDF2 itself (the salted password) runs where a password is given: the client
 * (`scram-salted-password.ts`) and the broker's PLAIN check (`sasl/salted-password.ts`), on libuv's thread pool.
 */
import { createHash, createHmac } from 'node:crypto'

export const scramMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type ScramMechanism = typeof scramMechanisms[number]

/** Kafka's bounds (`ScramMechanism.minIterations()`, `AlterUserScramCredentials`' 16384 ceiling). */
export const SCRAM_ITERATIONS_MIN = 4096
export const SCRAM_ITERATIONS_MAX = 16384
/** Kafka's default for new credentials (`kafka-configs --add-config SCRAM-SHA-256=[password=...]`). */
export const SCRAM_ITERATIONS_DEFAULT = 4096
/** Salt bytes a new credential gets (Kafka: 64 random bytes via its SecureRandom formatter). */
export const SCRAM_SALT_BYTES = 32

/** The digest behind a mechanism, as Node's crypto names it, and its output size. */
export interface ScramHash {
  readonly name: 'sha1' | 'sha256' | 'sha512'
  readonly bytes: number
}

const hashes: Readonly<Record<ScramMechanism, ScramHash>> = Object.freeze({
  'SCRAM-SHA-256': Object.freeze({ name: 'sha256', bytes: 32 }),
  'SCRAM-SHA-512': Object.freeze({ name: 'sha512', bytes: 64 }),
})

export function isScramMechanism (value: unknown): value is ScramMechanism {
  return typeof value === 'string' && (scramMechanisms as readonly string[]).includes(value)
}

export function scramHash (mechanism: ScramMechanism): ScramHash {
  return hashes[mechanism]
}

/** What the metadata image keeps per user and mechanism. */
export interface ScramCredential {
  readonly salt: Uint8Array
  readonly storedKey: Uint8Array
  readonly serverKey: Uint8Array
  readonly iterations: number
}

export const hmac = (hash: ScramHash, key: Uint8Array, data: Uint8Array | string): Buffer =>
  createHmac(hash.name, key).update(data).digest()

export const digest = (hash: ScramHash, data: Uint8Array): Buffer => createHash(hash.name).update(data).digest()

export const clientKey = (hash: ScramHash, salted: Uint8Array): Buffer => hmac(hash, salted, 'Client Key')
export const serverKey = (hash: ScramHash, salted: Uint8Array): Buffer => hmac(hash, salted, 'Server Key')

/** The stored credential for a salted password (what the controller derives from AlterUserScramCredentials). */
export function scramCredentialFromSaltedPassword (
  hash: ScramHash, salt: Uint8Array, salted: Uint8Array, iterations: number,
): ScramCredential {
  return Object.freeze({
    salt: Uint8Array.from(salt),
    storedKey: digest(hash, clientKey(hash, salted)),
    serverKey: serverKey(hash, salted),
    iterations,
  })
}

/**
 * AlterUserScramCredentials (Kafka's API 51, KRaft `ScramControlManager`): upsert and delete users' SCRAM
 * credentials, one UserScramCredential or RemoveUserScramCredential record per change.
 *
 * What arrives is what Kafka's client sends: per upsertion the salt, the salted password (PBKDF2 output) and the
 * iteration count, never the password; the controller derives StoredKey and ServerKey from the salted password and
 * only those reach the log. Kafka's rules and codes: an empty user name UNACCEPTABLE_CREDENTIAL; a mechanism other
 * than SCRAM-SHA-256/512 UNSUPPORTED_SASL_MECHANISM; iterations outside [4096, 16384], an empty salt or a salted
 * password of the wrong size UNACCEPTABLE_CREDENTIAL; the same user and mechanism twice in one request
 * DUPLICATE_RESOURCE; deleting a credential that does not exist RESOURCE_NOT_FOUND. Results are per user, as in
 * Kafka's response: a user with any failed alteration gets that error and none of its changes; other users are
 * unaffected.
 *
 * Pure and deterministic (HMAC and hashes only; no randomness, no I/O).
 */
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import type { MetadataImage } from './metadata-image.js'
import { type MetadataRecord, metadataLimits } from './metadata-record.js'
import {
  SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, type ScramMechanism, isScramMechanism, scramCredentialFromSaltedPassword, scramHash,
} from './scram-credential.js'

export interface ScramCredentialDeletion {
  readonly name: string
  readonly mechanism: string
}

export interface ScramCredentialUpsertion extends ScramCredentialDeletion {
  readonly iterations: number
  readonly salt: Uint8Array
  readonly saltedPassword: Uint8Array
}

export interface AlterUserScramCredentialsInput {
  readonly deletions: readonly ScramCredentialDeletion[]
  readonly upsertions: readonly ScramCredentialUpsertion[]
}

export interface AlterUserScramCredentialResult {
  readonly name: string
  /** Absent: every change of this user is in `records`. */
  readonly error?: GregorError
}

export interface AlterUserScramCredentialsDecision {
  /** One result per user named in the request, in order of first appearance (deletions first, as Kafka reads them). */
  readonly results: readonly AlterUserScramCredentialResult[]
  readonly records: readonly MetadataRecord[]
}

const saltBytesMax = 128

function checkName (name: string): void {
  if (name.length === 0) throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, 'username must not be empty')
  if (name.length > metadataLimits.userNameLengthMax || /[\p{Cc}]/u.test(name)) {
    throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, `username must be 1 to ${metadataLimits.userNameLengthMax} printable characters`)
  }
}

function checkMechanism (mechanism: string): ScramMechanism {
  if (!isScramMechanism(mechanism)) throw new GregorError(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `unknown SCRAM mechanism ${mechanism}`)
  return mechanism
}

function upsertionRecord (upsertion: ScramCredentialUpsertion): MetadataRecord {
  const mechanism = checkMechanism(upsertion.mechanism)
  const hash = scramHash(mechanism)
  const { iterations, salt, saltedPassword } = upsertion
  if (!Number.isSafeInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN) {
    throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, `too few iterations (at least ${SCRAM_ITERATIONS_MIN})`)
  }
  if (iterations > SCRAM_ITERATIONS_MAX) {
    throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, `too many iterations (at most ${SCRAM_ITERATIONS_MAX})`)
  }
  if (salt.length === 0 || salt.length > saltBytesMax) {
    throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, `the salt must hold 1 to ${saltBytesMax} bytes`)
  }
  if (saltedPassword.length !== hash.bytes) {
    throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, `a ${mechanism} salted password holds ${hash.bytes} bytes`)
  }
  const credential = scramCredentialFromSaltedPassword(hash, salt, saltedPassword, iterations)
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
  return {
    type: 'UserScramCredential',
    name: upsertion.name,
    mechanism,
    salt: base64(credential.salt),
    storedKey: base64(credential.storedKey),
    serverKey: base64(credential.serverKey),
    iterations,
  }
}

export function decideAlterUserScramCredentials (
  image: MetadataImage, input: AlterUserScramCredentialsInput,
): AlterUserScramCredentialsDecision {
  const changes: { readonly name: string, readonly mechanism: string, readonly upsertion?: ScramCredentialUpsertion }[] = [
    ...input.deletions.map(({ name, mechanism }) => ({ name, mechanism })),
    ...input.upsertions.map((upsertion) => ({ upsertion, name: upsertion.name, mechanism: upsertion.mechanism })),
  ]
  const seen = new Map<string, number>()
  for (const { name, mechanism } of changes) {
    const key = `${name}\n${mechanism}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  const byUser = new Map<string, { records: MetadataRecord[], error?: GregorError }>()
  for (const change of changes) {
    const user = byUser.get(change.name) ?? { records: [] }
    byUser.set(change.name, user)
    if (user.error !== undefined) continue
    try {
      checkName(change.name)
      if ((seen.get(`${change.name}\n${change.mechanism}`) ?? 0) > 1) {
        throw new GregorError(ErrorCode.DUPLICATE_RESOURCE, 'a user credential cannot be altered twice in the same request')
      }
      if (change.upsertion !== undefined) {
        user.records.push(upsertionRecord(change.upsertion))
      } else {
        const mechanism = checkMechanism(change.mechanism)
        if (image.scramCredential(change.name, mechanism) === undefined) {
          throw new GregorError(ErrorCode.RESOURCE_NOT_FOUND, 'attempt to delete a user credential that does not exist')
        }
        user.records.push({ type: 'RemoveUserScramCredential', name: change.name, mechanism })
      }
    } catch (error) {
      if (!isGregorError(error)) throw error
      user.error = error
    }
  }
  const results: AlterUserScramCredentialResult[] = []
  const records: MetadataRecord[] = []
  for (const [name, user] of byUser) {
    if (user.error !== undefined) {
      results.push({ name, error: user.error })
    } else {
      results.push({ name })
      records.push(...user.records)
    }
  }
  return { results, records }
}

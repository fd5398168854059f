/**
 * The client's half of creating a SCRAM credential (Kafka's `ScramFormatter` as `kafka-configs` and the
 * AdminClient's AlterUserScramCredentials use it): a fresh random salt and the salted password, PBKDF2 of the password
 * with the mechanism's hash. Only these cross the network; the password stays in the process it was typed into, and
 * the controller derives StoredKey and ServerKey from the salted password (packages/metadata scram-credential.ts).
 *
 * Node's crypto only (randomBytes, pbkdf2 on the thread pool).
 */
import { pbkdf2, randomBytes } from 'node:crypto'
import { ErrorCode, GregorError } from '@gregor/common'

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type ScramMechanismName = typeof SCRAM_MECHANISMS[number]

const digests: Readonly<Record<ScramMechanismName, { readonly name: string, readonly bytes: number }>> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
}

/** Salt bytes per credential (Kafka's formatter uses a 64-byte-ish random salt; 32 is ample for uniqueness). */
const saltBytes = 32

export interface SaltedScramPassword {
  readonly salt: Buffer
  readonly saltedPassword: Buffer
}

export async function saltedScramPassword (
  mechanism: string, password: string, iterations: number, salt: Buffer = randomBytes(saltBytes),
): Promise<SaltedScramPassword> {
  const digest = digests[mechanism as ScramMechanismName]
  if (digest === undefined) {
    throw new GregorError(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `unknown SCRAM mechanism ${mechanism} (${SCRAM_MECHANISMS.join(' or ')})`)
  }
  if (password === '') throw new GregorError(ErrorCode.UNACCEPTABLE_CREDENTIAL, 'the password must not be empty')
  const saltedPassword = await new Promise<Buffer>((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, digest.bytes, digest.name, (error, key) => {
      if (error === null) resolve(key)
      else reject(error)
    })
  })
  return { salt, saltedPassword }
}

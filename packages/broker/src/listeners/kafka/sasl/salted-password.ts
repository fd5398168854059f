/**
 * PBKDF2 with HMAC-H (RFC 5802's Hi) for the broker's PLAIN check against a SCRAM credential, on libuv's thread
 * pool so the event loop never spins on it. (The metadata package keeps the pure hashing half of the key schedule.)
 */
import { pbkdf2 } from 'node:crypto'
import type { ScramHash } from '@gregor/metadata'

export async function saltedPassword (hash: ScramHash, password: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    // RFC 5802 asks for SASLprep of the password; like Kafka's formatter, Gregor uses the UTF-8 bytes as given.
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, hash.bytes, hash.name, (error, key) => {
      if (error === null) resolve(key)
      else reject(error)
    })
  })
}

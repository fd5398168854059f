/**
 * Strict readers for untrusted JSON: metadata records and snapshots arrive from disk and from the network.
 *
 * Owns: the rule that every field is checked for type, range and length, and that an object carries no key it should
 * not. Each reader names the offending field by its path (`record.replicas[2]`) in a GregorError INVALID_REQUEST, so
 * a corrupt entry is reported where it is read instead of surfacing later as a broken invariant. Internal to the
 * package: the codecs wrap these errors with what they were decoding.
 */
import { ErrorCode, GregorError } from '@gregor/common'

/** The INVALID_REQUEST error for one bad field; `path` is kept in `details` for logs. */
export function malformed (path: string, problem: string): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, `${path} ${problem}`, { details: { path } })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes UTF-8 JSON; invalid UTF-8 or JSON is malformed input, never a crash. */
export function parseJsonBytes (bytes: Uint8Array, path: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw malformed(path, 'must be bytes')
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw malformed(path, 'is not valid UTF-8')
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw malformed(path, 'is not valid JSON')
  }
}

/** A JSON object (not null, not an array), its keys not yet checked: for reading a discriminator first. */
export function readAnyObject (value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(path, 'must be an object')
  return value as Record<string, unknown>
}

/** An object with exactly the `required` keys plus any of the `optional` ones, and nothing else. */
export function readObject (
  value: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Readonly<Record<string, unknown>> {
  const object = readAnyObject(value, path)
  for (const key of Object.keys(object)) {
    if (!required.includes(key) && !optional.includes(key)) throw malformed(`${path}.${key}`, 'is not a known field')
  }
  for (const key of required) {
    if (!Object.hasOwn(object, key)) throw malformed(`${path}.${key}`, 'is missing')
  }
  return object
}

export function readInteger (value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw malformed(path, `must be an integer in [${min}, ${max}]`)
  }
  // JSON's `-0` parses to -0, which JSON.stringify writes back as `0`: normalise, so decode(encode(x)) is x exactly.
  return value === 0 ? 0 : value
}

export function readString (value: unknown, path: string, lengthMax: number, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > lengthMax) {
    throw malformed(path, `must be a string of 1 to ${lengthMax} characters`)
  }
  if (pattern !== undefined && !pattern.test(value)) throw malformed(path, `must match ${String(pattern)}`)
  return value
}

export function readBoolean (value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw malformed(path, 'must be a boolean')
  return value
}

export function readArray (value: unknown, path: string, lengthMin: number, lengthMax: number): readonly unknown[] {
  if (!Array.isArray(value) || value.length < lengthMin || value.length > lengthMax) {
    throw malformed(path, `must be a list of ${lengthMin} to ${lengthMax} items`)
  }
  return value as readonly unknown[]
}

export function readOneOf<T extends string> (value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw malformed(path, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

/** Rethrows a reader's error with `what` in front, so the message says which structure was malformed. */
export function withContext<T> (what: string, read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (error instanceof GregorError && error.code === ErrorCode.INVALID_REQUEST) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, `${what}: ${error.message}`, { details: error.details, cause: error })
    }
    throw error
  }
}

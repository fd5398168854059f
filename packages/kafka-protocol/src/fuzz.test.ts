/**
 * Fuzzing the codec as a broker meets it: for every API key and every version in SUPPORTED_VERSIONS (whatever the
 * definitions list when the test runs), a valid request frame is built from the definitions, then mutated (bits
 * flipped, bytes overwritten, inserted and deleted, the frame cut short, and every position overwritten in turn
 * with a hostile length: int16/int32 -1, -2, the maximum and the minimum, and unsigned varints of 2^31 and 2^32 - 1),
 * and decoded the way the listener decodes it (header, then the body of whatever API and version the header now
 * names). Decoding must return a value or throw the reader's clean error (a GregorError with INVALID_REQUEST), never
 * a RangeError or TypeError; and no array count above the bytes left may ever reach the generated code, which
 * allocates per element read, so a count of 2^31 is refused before anything is allocated for it. Responses get the
 * same random mutations under a client's reader (CORRUPT_MESSAGE).
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { ApiDefinition } from '../scripts/definition-parser.js'
import { readDefinitions } from '../scripts/generate.js'
import { sampleBody } from '../scripts/sample-bodies.js'
import { type ApiKey, type RequestBodies, type ResponseBodies, SUPPORTED_VERSIONS } from './generated/apis.js'
import { decodeRequest, decodeRequestHeader, decodeResponse, decodeResponseHeader, encodeRequest, encodeResponse } from './kafka-codec.js'
import { KafkaReader } from './kafka-reader.js'

const definitions: ReadonlyMap<number, ApiDefinition> = new Map(readDefinitions().map((api) => [api.key, api]))
const supported = Object.entries(SUPPORTED_VERSIONS).map(([key, range]) => ({ key: Number(key) as ApiKey, ...range }))

/** Values written over a length field to make it lie: negative, huge, or wider than the format allows. */
const HOSTILE_LENGTHS: readonly Buffer[] = [
  'ffff', 'fffe', '7fff', '8000', // int16: -1 (null), -2, max, min
  'ffffffff', 'fffffffe', '7fffffff', '80000000', // int32: -1, -2, 2^31 - 1, -2^31
  '8080808008', 'ffffffff0f', 'ffffffff7f', // uvarint: 2^31, 2^32 - 1, wider than 32 bits
].map((hex) => Buffer.from(hex, 'hex'))

/** Positions swept with every hostile length per frame; a longer frame is sampled evenly (its record blob is opaque). */
const SWEPT_POSITIONS_MAX = 400

function definitionOf (key: ApiKey): ApiDefinition {
  const api = definitions.get(key)
  if (api === undefined) throw new Error(`SUPPORTED_VERSIONS lists API key ${key}, which has no definition`)
  return api
}

function requestFrame (api: ApiDefinition, version: number): Buffer {
  const body = sampleBody(api.request.fields, version, api.flexibleFrom, 'full') as unknown as RequestBodies[ApiKey]
  return Buffer.concat(encodeRequest({ apiKey: api.key as ApiKey, apiVersion: version, correlationId: 5, clientId: 'fuzz' }, body))
}

function responseFrame (api: ApiDefinition, version: number): Buffer {
  const body = sampleBody(api.response.fields, version, api.flexibleFrom, 'full') as unknown as ResponseBodies[ApiKey]
  return Buffer.concat(encodeResponse({ apiKey: api.key as ApiKey, apiVersion: version, correlationId: 6 }, body))
}

/** Decodes a request frame (size prefix cut off, as the listener does) as a broker does; returns whether it decoded. */
function decodeAsBroker (frame: Buffer): boolean {
  const reader = new KafkaReader(frame, 0, frame.length, ErrorCode.INVALID_REQUEST)
  const header = decodeRequestHeader(reader)
  if (!header.supported) return false
  decodeRequest(header.apiKey as ApiKey, header.apiVersion, reader)
  return true
}

/** Runs `decode` and fails the test on anything but a clean malformed-input error with `code`. */
function expectCleanOutcome (decode: () => unknown, code: ErrorCode, what: () => string): void {
  try {
    decode()
  } catch (error) {
    if (!isGregorError(error) || error.code !== code) {
      throw new Error(`${what()}: threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error })
    }
  }
}

type Mutation =
  | { kind: 'flip', at: number, bit: number }
  | { kind: 'set', at: number, byte: number }
  | { kind: 'insert', at: number, bytes: Uint8Array }
  | { kind: 'delete', at: number, count: number }
  | { kind: 'truncate', at: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
)

/** Applies mutations to a copy of `frame` (positions wrap around its current length). */
function mutate (frame: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(frame)
  for (const change of mutations) {
    if (bytes.length === 0) break
    const at = change.at % bytes.length
    switch (change.kind) {
      case 'flip': bytes.writeUInt8(bytes.readUInt8(at) ^ (1 << change.bit), at); break
      case 'set': bytes.writeUInt8(change.byte, at); break
      case 'insert': bytes = Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)]); break
      case 'delete': bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.count)]); break
      case 'truncate': bytes = bytes.subarray(0, at); break
    }
  }
  return bytes
}

function sweptPositions (length: number): number[] {
  if (length <= SWEPT_POSITIONS_MAX) return Array.from({ length }, (_, at) => at)
  const step = length / SWEPT_POSITIONS_MAX
  return Array.from({ length: SWEPT_POSITIONS_MAX }, (_, index) => Math.floor(index * step))
}

/**
 * Every array count the generated readers receive, against the bytes left when it was read: a count above them would
 * let a hostile frame make the decoder loop (and allocate) for elements that cannot exist.
 */
const unboundedCounts: string[] = []
const readArrayLength = KafkaReader.prototype.readArrayLength

beforeAll(() => {
  KafkaReader.prototype.readArrayLength = function (this: KafkaReader, compact: boolean, nullable: boolean): number {
    const count = readArrayLength.call(this, compact, nullable)
    if (count > this.remaining) unboundedCounts.push(`count ${count} with ${this.remaining} bytes left at ${this.position}`)
    return count
  }
})

afterAll(() => {
  KafkaReader.prototype.readArrayLength = readArrayLength
})

describe('fuzzing every API and version in SUPPORTED_VERSIONS', () => {
  test('the definitions cover every supported API', () => {
    expect(supported.length).toBeGreaterThanOrEqual(20)
    for (const { key, minVersion, maxVersion } of supported) {
      expect(definitionOf(key).versions).toEqual({ min: minVersion, max: maxVersion })
    }
  })

  for (const { key, minVersion, maxVersion } of supported) {
    const api = definitionOf(key)
    test(`${api.name} (key ${key}) v${minVersion}-${maxVersion}`, () => {
      for (let version = minVersion; version <= maxVersion; version++) {
        // The listener hands the decoder a frame without its 4-byte size prefix.
        const request = requestFrame(api, version).subarray(4)
        expect(decodeAsBroker(request)).toBe(true)

        for (const at of sweptPositions(request.length)) {
          for (const hostile of HOSTILE_LENGTHS) {
            const frame = Buffer.from(request)
            hostile.copy(frame, at, 0, Math.min(hostile.length, frame.length - at))
            expectCleanOutcome(() => decodeAsBroker(frame), ErrorCode.INVALID_REQUEST, () => `${api.name} v${version} request with ${hostile.toString('hex')} at ${at}`)
          }
        }

        fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          const frame = mutate(request, mutations)
          expectCleanOutcome(() => decodeAsBroker(frame), ErrorCode.INVALID_REQUEST, () => `${api.name} v${version} request mutated by ${JSON.stringify(mutations)}`)
        }), { seed: key * 1000 + version, numRuns: 150 })

        const response = responseFrame(api, version).subarray(4)
        fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          const frame = mutate(response, mutations)
          expectCleanOutcome(() => {
            const reader = new KafkaReader(frame, 0, frame.length, ErrorCode.CORRUPT_MESSAGE)
            decodeResponseHeader(reader, key, version)
            decodeResponse(key, version, reader)
          }, ErrorCode.CORRUPT_MESSAGE, () => `${api.name} v${version} response mutated by ${JSON.stringify(mutations)}`)
        }), { seed: key * 1000 + version + 500, numRuns: 60 })
      }
      expect(unboundedCounts).toEqual([])
    })
  }
})

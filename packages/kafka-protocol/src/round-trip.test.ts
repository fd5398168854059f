/**
 * Every API at every supported version (so at its min, max and first flexible version): a request and a response
 * built from the definitions survive encode → decode unchanged and re-encode to the same bytes; every strict prefix
 * of a request body is refused with INVALID_REQUEST; random corruption never escapes as anything but a GregorError.
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { type ApiDefinition, isFlexible } from '../scripts/definition-parser.js'
import { readDefinitions } from '../scripts/generate.js'
import { sampleBody, type SampleVariant, versionsOf } from '../scripts/sample-bodies.js'
import { type ApiKey, type RequestBodies, type ResponseBodies, SUPPORTED_VERSIONS } from './generated/apis.js'
import {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseHeader,
  encodeRequest,
  encodeResponse,
} from './kafka-codec.js'
import { KafkaReader } from './kafka-reader.js'

const apis: readonly ApiDefinition[] = readDefinitions()

function frameReader (chunks: readonly Buffer[], malformedCode: ErrorCode = ErrorCode.INVALID_REQUEST): KafkaReader {
  const frame = Buffer.concat(chunks)
  expect(frame.readInt32BE(0)).toBe(frame.length - 4)
  return new KafkaReader(frame, 4, frame.length, malformedCode)
}

function requestFrame (api: ApiDefinition, version: number, variant: SampleVariant): { frame: Buffer, body: RequestBodies[ApiKey] } {
  const body = sampleBody(api.request.fields, version, api.flexibleFrom, variant) as unknown as RequestBodies[ApiKey]
  const chunks = encodeRequest({ apiKey: api.key as ApiKey, apiVersion: version, correlationId: 77, clientId: 'round-trip' }, body)
  return { frame: Buffer.concat(chunks), body }
}

function bodyBytes (api: ApiDefinition, version: number): number {
  const { frame } = requestFrame(api, version, 'full')
  const reader = new KafkaReader(frame, 4)
  decodeRequestHeader(reader)
  return reader.remaining
}

describe('round trip of every API and version', () => {
  test('the definitions and the generated table agree on the supported ranges', () => {
    expect(apis.length).toBeGreaterThanOrEqual(20)
    for (const api of apis) {
      expect(SUPPORTED_VERSIONS[api.key as ApiKey]).toEqual({ minVersion: api.versions.min, maxVersion: api.versions.max })
    }
  })

  for (const api of apis) {
    for (const version of versionsOf(api.versions)) {
      for (const variant of ['full', 'sparse'] as const) {
        test(`${api.name} v${version} ${variant}`, () => {
          const key = api.key as ApiKey
          const { frame, body } = requestFrame(api, version, variant)
          const reader = new KafkaReader(frame, 4)
          const header = decodeRequestHeader(reader)
          expect(header).toEqual({
            apiKey: key, apiVersion: version, correlationId: 77, clientId: 'round-trip',
            headerVersion: isFlexible(api, version) ? 2 : 1, supported: true,
          })
          const decoded = decodeRequest(key, version, reader)
          expect(reader.remaining).toBe(0)
          expect(decoded).toEqual(body)
          const again = Buffer.concat(encodeRequest({ apiKey: key, apiVersion: version, correlationId: 77, clientId: 'round-trip' }, decoded))
          expect(again.equals(frame)).toBe(true)

          const response = sampleBody(api.response.fields, version, api.flexibleFrom, variant) as unknown as ResponseBodies[ApiKey]
          const chunks = encodeResponse({ apiKey: key, apiVersion: version, correlationId: 91 }, response)
          const responseReader = frameReader(chunks, ErrorCode.CORRUPT_MESSAGE)
          expect(decodeResponseHeader(responseReader, key, version)).toBe(91)
          expect(decodeResponse(key, version, responseReader)).toEqual(response)
          expect(responseReader.remaining).toBe(0)
        })
      }
    }
  }

  test('a large record batch is handed to the socket as its own chunk, and decodes as a view of the frame', () => {
    const records = Buffer.alloc(5000, 7)
    const chunks = encodeResponse({ apiKey: 1, apiVersion: 11, correlationId: 1 }, {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{
        topic: 't', topicId: '00000000-0000-0000-0000-000000000000', partitions: [{
          partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0,
          divergingEpoch: null, currentLeader: null, snapshotId: null, abortedTransactions: null, preferredReadReplica: -1, records,
        }],
      }],
    })
    expect(chunks.some((chunk) => chunk === records)).toBe(true)

    const produce = requestFrame(apis.find((api) => api.name === 'Produce')!, 7, 'full')
    const reader = new KafkaReader(produce.frame, 4)
    decodeRequestHeader(reader)
    const decoded = decodeRequest(0, 7, reader)
    const batch = decoded.topicData[0]!.partitionData[0]!.records!
    expect(batch.buffer).toBe(produce.frame.buffer)
    expect(batch.byteOffset).toBeGreaterThan(produce.frame.byteOffset)
  })
})

describe('truncated and corrupted requests', () => {
  for (const api of apis) {
    const versions = [...new Set([api.versions.min, api.versions.max, ...(api.flexibleFrom !== null && api.flexibleFrom <= api.versions.max ? [api.flexibleFrom] : [])])]
    // A body with no bytes (ApiVersions v0-2, ListGroups v0-2) has no prefix to cut and no byte to corrupt.
    for (const version of versions.filter((candidate) => bodyBytes(api, candidate) > 0)) {
      test(`${api.name} v${version}: every strict prefix of the body is refused with INVALID_REQUEST`, () => {
        const { frame } = requestFrame(api, version, 'full')
        const headerReader = new KafkaReader(frame, 4)
        decodeRequestHeader(headerReader)
        const bodyStart = headerReader.position
        for (let end = bodyStart; end < frame.length; end++) {
          const reader = new KafkaReader(frame, bodyStart, end)
          let caught: unknown
          try {
            decodeRequest(api.key as ApiKey, version, reader)
          } catch (error) {
            caught = error
          }
          expect(isGregorError(caught) && caught.code === ErrorCode.INVALID_REQUEST, `prefix of ${end - bodyStart} bytes`).toBe(true)
        }
      })

      test(`${api.name} v${version}: random byte corruption yields a body or INVALID_REQUEST, nothing else`, () => {
        const { frame } = requestFrame(api, version, 'full')
        const headerReader = new KafkaReader(frame, 4)
        decodeRequestHeader(headerReader)
        const bodyStart = headerReader.position
        fc.assert(fc.property(
          fc.array(fc.tuple(fc.nat({ max: frame.length - bodyStart - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          (edits) => {
            const mutated = Buffer.from(frame)
            for (const [at, byte] of edits) mutated[bodyStart + at] = byte
            try {
              decodeRequest(api.key as ApiKey, version, new KafkaReader(mutated, bodyStart))
            } catch (error) {
              if (!isGregorError(error) || error.code !== ErrorCode.INVALID_REQUEST) throw error
            }
          },
        ), { seed: api.key * 100 + version, numRuns: 200 })
      })
    }
  }
})

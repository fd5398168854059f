/**
 * Frames written out byte by byte from Kafka's protocol specification (request/response header versions, compact
 * strings and arrays, tagged fields), not produced by our own encoder, so encoder and decoder cannot agree on a
 * mistake. Each frame says where its bytes come from.
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseHeader,
  encodeRequest,
  encodeResponse,
} from './kafka-codec.js'
import { KafkaReader } from './kafka-reader.js'

/** Concatenates hex strings and byte arrays, and prefixes the int32 frame size. */
function frame (...parts: (string | Buffer)[]): Buffer {
  const body = Buffer.concat(parts.map((part) => typeof part === 'string' ? Buffer.from(part.replace(/\s+/g, ''), 'hex') : part))
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length)
  return Buffer.concat([size, body])
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1')

function expectCode (run: () => unknown, code: ErrorCode): void {
  let caught: unknown
  try {
    run()
  } catch (error) {
    caught = error
  }
  expect(isGregorError(caught), String(caught)).toBe(true)
  expect((caught as { code: unknown }).code).toBe(code)
}

/**
 * ApiVersions v3, librdkafka's first request on a new connection (client.id "rdkafka", client.software.name
 * "librdkafka", client.software.version "2.0.2"): request header v2 (the client id stays an int16-length string),
 * then compact strings (length + 1 as an unsigned varint) and an empty tagged-field section after header and body.
 */
const librdkafkaApiVersionsV3 = frame(
  '0012 0003 00000001', '0007', ascii('rdkafka'), '00',
  '0b', ascii('librdkafka'), '06', ascii('2.0.2'), '00',
)

/** ApiVersions v0 as KafkaJS sends it after stepping down from v2 (client id "kafkajs"): header v1, empty body. */
const kafkajsApiVersionsV0 = frame('0012 0000 0000002a', '0007', ascii('kafkajs'))

function readRequest (bytes: Buffer): { header: ReturnType<typeof decodeRequestHeader>, body: unknown, reader: KafkaReader } {
  const reader = new KafkaReader(bytes, 4)
  const header = decodeRequestHeader(reader)
  const body = decodeRequest(header.apiKey as 18, header.apiVersion, reader)
  return { header, body, reader }
}

describe('ApiVersions requests as real clients send them', () => {
  test('librdkafka v3 (flexible, header v2)', () => {
    const { header, body, reader } = readRequest(librdkafkaApiVersionsV3)
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka', headerVersion: 2, supported: true })
    expect(body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' })
    expect(reader.remaining).toBe(0)
    const encoded = Buffer.concat(encodeRequest({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' },
      { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' }))
    expect(encoded.toString('hex')).toBe(librdkafkaApiVersionsV3.toString('hex'))
  })

  test('KafkaJS v0 (header v1, no body)', () => {
    const { header, body, reader } = readRequest(kafkajsApiVersionsV0)
    expect(header).toEqual({ apiKey: 18, apiVersion: 0, correlationId: 42, clientId: 'kafkajs', headerVersion: 1, supported: true })
    // Fields that v0 lacks read as their defaults.
    expect(body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' })
    expect(reader.remaining).toBe(0)
  })

  test('a version above our range still yields its header, so the broker can answer UNSUPPORTED_VERSION in v0', () => {
    // @platformatic/kafka could send v4: flexible, so header v2 with its tagged fields.
    const bytes = frame('0012 0004 00000007', '0003', ascii('pla'), '00', '01', '00', '01', '00')
    const reader = new KafkaReader(bytes, 4)
    const header = decodeRequestHeader(reader)
    expect(header).toMatchObject({ apiKey: 18, apiVersion: 4, correlationId: 7, clientId: 'pla', headerVersion: 2, supported: false })
    expectCode(() => decodeRequest(18, 4, reader), ErrorCode.INVALID_REQUEST)
  })

  test('an unknown API key is reported unsupported, and decoding it is refused', () => {
    const reader = new KafkaReader(frame('7fff 0000 00000009', 'ffff'), 4)
    expect(decodeRequestHeader(reader)).toMatchObject({ apiKey: 0x7fff, correlationId: 9, clientId: null, headerVersion: 1, supported: false })
    expectCode(() => decodeRequest(0x7fff as 18, 0, reader), ErrorCode.INVALID_REQUEST)
  })
})

describe('unknown tagged fields', () => {
  test('are skipped in the request header and the body', () => {
    const bytes = frame(
      '0012 0003 00000001', '0007', ascii('rdkafka'),
      '01', '05', '02', 'abcd', // header: one tagged field, tag 5, two bytes
      '0b', ascii('librdkafka'), '06', ascii('2.0.2'),
      '02', '07', '03', 'aabbcc', '09', '00', // body: tag 7 (three bytes) and tag 9 (empty)
    )
    const { body, reader } = readRequest(bytes)
    expect(body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' })
    expect(reader.remaining).toBe(0)
  })

  test('a tagged field that claims more bytes than are left is refused', () => {
    const bytes = frame('0012 0003 00000001', '0007', ascii('rdkafka'), '00', '0b', ascii('librdkafka'), '06', ascii('2.0.2'), '01', '07', '05', 'aabb')
    expectCode(() => readRequest(bytes), ErrorCode.INVALID_REQUEST)
  })

  test('a known tagged field whose value does not fill its announced size is refused', () => {
    // ApiVersions v3 response, tag 1 (finalized features epoch, an int64) announced as 9 bytes.
    const bytes = frame('00000001', '0000', '01', '00000000', '01', '01', '09', '000000000000000500')
    const reader = new KafkaReader(bytes, 4, bytes.length, ErrorCode.CORRUPT_MESSAGE)
    expect(decodeResponseHeader(reader, 18, 3)).toBe(1)
    expectCode(() => decodeResponse(18, 3, reader), ErrorCode.CORRUPT_MESSAGE)
  })
})

describe('responses', () => {
  test('ApiVersions v3 uses response header v0 (no tagged fields) and writes a set tagged field', () => {
    const expected = frame(
      '00000001', // correlation id; header v0 even though v3 is flexible
      '0000', // error code
      '02', '0012 0000 0003', '00', // compact array of one api key, its tagged fields
      '00000000', // throttle time
      '01', '01', '08', '0000000000000005', // one tagged field: tag 1, 8 bytes, finalized features epoch 5
    )
    const chunks = encodeResponse({ apiKey: 18, apiVersion: 3, correlationId: 1 }, {
      errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0,
      supportedFeatures: [], finalizedFeaturesEpoch: 5, finalizedFeatures: [], zkMigrationReady: false,
    })
    expect(Buffer.concat(chunks).toString('hex')).toBe(expected.toString('hex'))
  })

  test('ApiVersions v0 with UNSUPPORTED_VERSION (35), the answer to a version we lack (KIP-511)', () => {
    const expected = frame('0000000b', '0023', '00000001', '0012 0000 0003')
    const chunks = encodeResponse({ apiKey: 18, apiVersion: 0, correlationId: 11 }, {
      errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0,
      supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
    })
    expect(Buffer.concat(chunks).toString('hex')).toBe(expected.toString('hex'))
  })

  test('other flexible responses use response header v1 (an empty tagged-field section after the correlation id)', () => {
    // Heartbeat v4: throttle time, error code, tagged fields.
    const expected = frame('00000005', '00', '00000064', '0000', '00')
    const chunks = encodeResponse({ apiKey: 12, apiVersion: 4, correlationId: 5 }, { throttleTimeMs: 100, errorCode: 0 })
    expect(Buffer.concat(chunks).toString('hex')).toBe(expected.toString('hex'))
    // Heartbeat v3 is not flexible: header v0 and no tagged fields.
    const classic = Buffer.concat(encodeResponse({ apiKey: 12, apiVersion: 3, correlationId: 5 }, { throttleTimeMs: 100, errorCode: 0 }))
    expect(classic.toString('hex')).toBe(frame('00000005', '00000064', '0000').toString('hex'))
  })
})

describe('Produce v3 request with a record batch', () => {
  // transactional id null, acks -1, timeout 30000, one topic "t" with partition 0 and an opaque 5-byte "batch".
  const bytes = frame(
    '0000 0003 00000003', '0007', ascii('kafkajs'),
    'ffff', 'ffff', '00007530', '00000001', '0001', ascii('t'), '00000001', '00000000', '00000005', '0102030405',
  )

  test('decodes, and the batch is a view of the frame', () => {
    const { body } = readRequest(bytes) as unknown as { body: { acks: number, timeoutMs: number, topicData: { name: string, partitionData: { index: number, records: Buffer }[] }[] } }
    expect(body.acks).toBe(-1)
    expect(body.timeoutMs).toBe(30000)
    const records = body.topicData[0]!.partitionData[0]!.records
    expect(records.toString('hex')).toBe('0102030405')
    expect(records.buffer).toBe(bytes.buffer)
  })

  test('a batch length beyond the frame is refused', () => {
    const corrupt = Buffer.from(bytes)
    corrupt.writeInt32BE(6, corrupt.length - 9)
    expectCode(() => readRequest(corrupt), ErrorCode.INVALID_REQUEST)
  })
})

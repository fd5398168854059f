/**
 * Compatibility against code nobody here wrote: KafkaJS 2.2.4's own RecordBatch v2 encoder, produce request and
 * fetch-side decoder (CommonJS internals under kafkajs/src, loaded with createRequire). KafkaJS has gzip built in and
 * no lz4/zstd/snappy codec, so compressed interop is proven for gzip; lz4 is covered by round trips elsewhere.
 *
 * KafkaJS quirks the generators steer around, each pinned by a test below:
 * - headers are a plain object, so their order is Object.keys order (integer-like keys first) and a key that is an
 *   Object.prototype property ("constructor", "toString", ...) decodes as [Object.prototype[key], value];
 * - header values cannot be null when encoding (Buffer.byteLength(null) throws); decoding handles null;
 * - the produce request picks first/max timestamps with Array.prototype.sort(), i.e. as strings, and treats a
 *   timestamp of 0 as "none" (Date.now()).
 */
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { readBatchHeader, validateBatch } from './batch-header.js'
import { type BuildBatchOptions, buildBatch } from './build-batch.js'
import { parseBatch } from './parse-batch.js'
import type { RecordHeader, RecordInput } from './record-codec.js'

type KafkaJsHeaders = Record<string, Buffer | Buffer[]>
interface KafkaJsMessage { key: Buffer | null; value: Buffer | null; headers: KafkaJsHeaders; timestamp: number }
interface KafkaJsEncoder { buffer: Buffer }
interface KafkaJsDecodedRecord {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | null | (Buffer | null)[]>
}
interface KafkaJsDecodedBatch {
  firstOffset: string
  partitionLeaderEpoch: number
  lastOffsetDelta: number
  producerId: string
  producerEpoch: number
  firstSequence: number
  maxTimestamp: string
  timestampType: number
  inTransaction: boolean
  isControlBatch: boolean
  records: KafkaJsDecodedRecord[]
}

const require = createRequire(import.meta.url)
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (fields: Record<string, unknown>) => Promise<KafkaJsEncoder>
}
const kafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (fields: Record<string, unknown>) => KafkaJsEncoder
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<KafkaJsDecodedBatch>
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown
const produceRequestV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (fields: Record<string, unknown>) => {
  encode: () => Promise<KafkaJsEncoder>
}
const { Types: KafkaJsCompression } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number; GZIP: number } }
const Long = require('kafkajs/src/utils/long') as { fromValue: (value: number) => unknown }

const compressions = [['none', KafkaJsCompression.None], ['gzip', KafkaJsCompression.GZIP]] as const

const bytes = fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array))
const nullableBytes = fc.option(bytes, { nil: null, freq: 4 })
/** Header keys KafkaJS can carry through its object representation (see the quirks above). */
const headerKey = fc.string({ unit: 'binary', maxLength: 10 }).filter((key) => !(key in Object.prototype))
const timestamp = fc.oneof(fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }), fc.integer({ min: 1, max: 2 ** 50 }))

/** KafkaJS's header object flattened the way its encoder writes it: Object.keys order, arrays as repeated keys. */
function headerList (headers: KafkaJsHeaders): RecordHeader[] {
  return Object.keys(headers).flatMap((key) => {
    const value = headers[key] as Buffer | Buffer[]
    return (Array.isArray(value) ? value : [value]).map((item) => ({ key, value: item }))
  })
}

/** Our header list folded the way KafkaJS's decoder folds it (repeated keys become arrays). */
function headerObject (headers: readonly RecordHeader[]): Record<string, Buffer | null | (Buffer | null)[]> {
  const object: Record<string, Buffer | null | (Buffer | null)[]> = {}
  for (const { key, value } of headers) {
    const previous = object[key]
    object[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
  }
  return object
}

/** The record set of the single partition in a KafkaJS produce v3 request, i.e. exactly what it sends a broker. */
function batchFromProduceRequest (request: Buffer): Buffer {
  // transactional_id int16 -1 | acks int16 | timeout int32 | topics int32 | topic string | partitions int32 |
  // partition int32 | record_set int32 size + bytes
  let position = 2 + 2 + 4 + 4
  position += 2 + request.readInt16BE(position)
  position += 4 + 4
  const sizeBytes = request.readInt32BE(position)
  return request.subarray(position + 4, position + 4 + sizeBytes)
}

async function kafkaJsProduce (messages: KafkaJsMessage[], compression: number): Promise<Buffer> {
  const request = produceRequestV3({
    acks: -1, timeout: 1000, compression, topicData: [{ topic: 'gregor', partitions: [{ partition: 0, messages }] }],
  })
  return batchFromProduceRequest((await request.encode()).buffer)
}

describe('KafkaJS → Gregor', () => {
  const message: fc.Arbitrary<KafkaJsMessage> = fc.record({
    key: nullableBytes,
    value: nullableBytes,
    headers: fc.dictionary(headerKey, fc.oneof(bytes, fc.array(bytes, { minLength: 1, maxLength: 3 })), { maxKeys: 4, noNullPrototype: true }),
    timestamp,
  })

  test.each(compressions)('batches from a KafkaJS produce request (%s) validate and parse exactly', async (_name, codec) => {
    await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 30 }), async (messages) => {
      const batch = await kafkaJsProduce(messages, codec)
      // KafkaJS computes CRC-32C in plain JS: agreeing with it cross-checks the checksum library too.
      expect(validateBatch(batch, 0)).toBe(batch.length)
      const { header, records } = parseBatch(batch)
      expect(header).toMatchObject({
        baseOffset: 0, partitionLeaderEpoch: 0, magic: 2, attributes: codec, lastOffsetDelta: messages.length - 1,
        producerId: -1, producerEpoch: 0, baseSequence: 0, recordCount: messages.length,
      })
      expect(records).toEqual(messages.map((input, index) => ({
        offset: index, timestamp: input.timestamp, key: input.key, value: input.value, headers: headerList(input.headers),
      })))
    }), { numRuns: 60 })
  })

  test('header fields from KafkaJS\'s RecordBatch encoder land where parseBatch reads them', async () => {
    const encoded = await RecordBatch({
      compression: KafkaJsCompression.GZIP,
      firstOffset: Long.fromValue(2 ** 40 + 3),
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_009,
      partitionLeaderEpoch: 17,
      lastOffsetDelta: 1,
      producerId: Long.fromValue(123_456_789_012),
      producerEpoch: 5,
      firstSequence: 77,
      transactional: true,
      records: [
        kafkaJsRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('1') }),
        kafkaJsRecord({ offsetDelta: 1, timestampDelta: 9, key: null, value: null, headers: { h: [Buffer.from('x'), Buffer.from('y')] } }),
      ],
    })
    const { header, records } = parseBatch(encoded.buffer)
    expect(header).toMatchObject({
      baseOffset: 2 ** 40 + 3, partitionLeaderEpoch: 17, attributes: 1 | 0x10, lastOffsetDelta: 1,
      baseTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_009, producerId: 123_456_789_012, producerEpoch: 5,
      baseSequence: 77, recordCount: 2,
    })
    expect(records).toEqual([
      { offset: 2 ** 40 + 3, timestamp: 1_700_000_000_000, key: Buffer.from('a'), value: Buffer.from('1'), headers: [] },
      {
        offset: 2 ** 40 + 4, timestamp: 1_700_000_000_009, key: null, value: null,
        headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'h', value: Buffer.from('y') }],
      },
    ])
  })

  test('KafkaJS string-sorts timestamps: header first/max are off, record timestamps still decode exactly', async () => {
    const messages = [100, 20, 3].map((ms) => ({ key: null, value: null, headers: {}, timestamp: ms }))
    const { header, records } = parseBatch(await kafkaJsProduce(messages, KafkaJsCompression.None))
    expect(header).toMatchObject({ baseTimestamp: 100, maxTimestamp: 3 })
    expect(records.map((record) => record.timestamp)).toEqual([100, 20, 3])
  })

  test('KafkaJS header objects put integer-like keys first and mangle Object.prototype names', async () => {
    const encoded = await RecordBatch({
      firstTimestamp: 1, maxTimestamp: 1,
      records: [kafkaJsRecord({ key: null, value: null, headers: { b: Buffer.from('1'), 7: Buffer.from('2'), constructor: Buffer.from('3') } })],
    })
    expect(parseBatch(encoded.buffer).records[0]!.headers.map((header) => header.key)).toEqual(['7', 'b', 'constructor'])
    const decoded = await decodeRecordBatch(new KafkaJsDecoder(encoded.buffer))
    expect(decoded.records[0]!.headers['constructor']).toEqual([Object, Buffer.from('3')])
  })
})

describe('Gregor → KafkaJS', () => {
  const record: fc.Arbitrary<RecordInput> = fc.record({
    key: nullableBytes,
    value: nullableBytes,
    headers: fc.array(fc.record({ key: headerKey, value: nullableBytes }), { maxLength: 5 }),
    timestamp,
  })
  const options = fc.record({
    baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
    producerId: fc.integer({ min: -1, max: 2 ** 50 }),
    producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
    baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
    timestampType: fc.constantFrom('create' as const, 'logAppend' as const),
    nowMs: timestamp,
  })

  test.each(compressions)('Gregor-built batches (%s) decode exactly with KafkaJS\'s decoder', async (compression) => {
    await fc.assert(fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 30 }), options, async (records, batchOptions) => {
      const batch = buildBatch(records, { ...batchOptions, compression })
      const decoded = await decodeRecordBatch(new KafkaJsDecoder(batch))
      const logAppend = batchOptions.timestampType === 'logAppend'
      expect(decoded).toMatchObject({
        firstOffset: String(batchOptions.baseOffset),
        partitionLeaderEpoch: batchOptions.partitionLeaderEpoch,
        lastOffsetDelta: records.length - 1,
        producerId: String(batchOptions.producerId),
        producerEpoch: batchOptions.producerEpoch,
        firstSequence: batchOptions.baseSequence,
        timestampType: logAppend ? 1 : 0,
        inTransaction: false,
        isControlBatch: false,
      })
      expect(decoded.records.map(({ offset, timestamp, key, value, headers }) => ({ offset, timestamp, key, value, headers })))
        .toEqual(records.map((input, index) => ({
          offset: String(batchOptions.baseOffset + index),
          timestamp: String(logAppend ? batchOptions.nowMs : input.timestamp),
          key: input.key,
          value: input.value,
          headers: headerObject(input.headers ?? []),
        })))
    }), { numRuns: 60 })
  })

  test('an uncompressed Gregor batch is byte-identical to KafkaJS\'s encoding of the same records', async () => {
    const message = fc.record({
      key: nullableBytes,
      value: nullableBytes,
      headers: fc.dictionary(headerKey, bytes, { maxKeys: 4, noNullPrototype: true }),
      timestamp,
    })
    await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 20 }), async (messages) => {
      const options: BuildBatchOptions = { baseOffset: 0, partitionLeaderEpoch: 0, producerId: -1, producerEpoch: 0, baseSequence: 0 }
      const ours = buildBatch(messages.map((input) => ({ ...input, headers: headerList(input.headers) })), options)
      const first = messages[0]!.timestamp
      const theirs = await RecordBatch({
        firstTimestamp: first,
        maxTimestamp: Math.max(...messages.map((input) => input.timestamp)),
        lastOffsetDelta: messages.length - 1,
        records: messages.map((input, index) => kafkaJsRecord({ ...input, offsetDelta: index, timestampDelta: input.timestamp - first })),
      })
      expect(ours.toString('hex')).toBe(theirs.buffer.toString('hex'))
      expect(readBatchHeader(ours).crc).toBe(theirs.buffer.readUInt32BE(17))
    }), { numRuns: 60 })
  })
})

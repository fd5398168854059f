/**
 * Bad input against the Kafka listener with the real data plane behind it (a ReplicaManager with real logs,
 * SingleBrokerKafka), beyond what kafka-server.test.ts (framing limits under a small socketRequestMaxBytes, garbage,
 * unknown key, Metadata v0, an undecodable body, an API without a handler) and data-handlers.test.ts (an unknown
 * partition, a bad CRC) already cover: the default 100 MiB frame limit, frames cut short by a client that leaves,
 * versions outside every range, API keys Kafka has and Gregor does not, and mutated requests of every served API
 * pipelined at the broker. Each is answered with a Kafka error code where the protocol has one, or the connection
 * is closed with a warn line; no error line (a bug of ours), the server keeps serving, and no corrupt byte is stored.
 */
import { ApiKey, type FetchRequest, KafkaWriter, type RequestBodies, SUPPORTED_VERSIONS } from '@gregor/kafka-protocol'
import { buildBatch, parseBatch, walkBatches } from '@gregor/records'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { type LogLine, captureLogger } from '../../../../storage/src/log/testing/capture-logger.js'
import { dataHandlers } from './data-handlers.js'
import { advertisedApis, handleApiVersions } from './handlers/api-versions.js'
import { handleMetadata } from './handlers/metadata.js'
import type { KafkaHandlers } from './kafka-handlers.js'
import { defaultKafkaListenerConfig } from './kafka-listener-config.js'
import { KafkaServer } from './kafka-server.js'
import { MetadataImageApi } from './metadata-image-api.js'
import { RawKafkaClient } from './testing/raw-kafka-client.js'
import { SingleBrokerKafka, nameUuid } from './testing/single-broker-kafka.js'

const TOPIC = 'fuzzed'
const T0 = 1_700_000_000_000

let broker: SingleBrokerKafka
/** A listener with the default config over the broker's metadata and data plane only (the parts a single broker has). */
let server: KafkaServer
const lines: LogLine[] = []
const clients: RawKafkaClient[] = []

beforeAll(async () => {
  broker = await SingleBrokerKafka.start({ [TOPIC]: 2 }, { topicId: nameUuid })
  const metadata = new MetadataImageApi({
    listenerName: 'KAFKA', clusterId: 'bad-input', image: () => broker.image, quorumLeaderId: () => 1,
    autoCreateTopicsEnable: false, createTopic: async () => {}, logger: captureLogger(lines),
  })
  const served: KafkaHandlers = { [ApiKey.Metadata]: (request, context) => handleMetadata(metadata, request, context), ...dataHandlers(broker.data) }
  const advertised = advertisedApis(Object.keys(served).map(Number) as ApiKey[])
  server = await KafkaServer.start({
    listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, logger: captureLogger(lines),
    handlers: { ...served, [ApiKey.ApiVersions]: (request, context) => handleApiVersions(request, context, advertised) },
  })
})

afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

afterAll(async () => {
  await server?.close()
  await broker?.close()
})

async function connect (): Promise<RawKafkaClient> {
  const client = await RawKafkaClient.connect(server.port)
  clients.push(client)
  return client
}

function sizePrefix (size: number): Buffer {
  const bytes = Buffer.alloc(4)
  bytes.writeInt32BE(size)
  return bytes
}

/** A request frame with a hand-set api key and version (header v1) and the given body bytes. */
function handFrame (apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const w = new KafkaWriter()
  w.writeInt16(apiKey)
  w.writeInt16(apiVersion)
  w.writeInt32(correlationId)
  w.writeNullableString('bad-input', false)
  const header = w.toBuffer()
  return Buffer.concat([sizePrefix(header.length + body.length), header, body])
}

function apiVersionsFrame (correlationId: number): Buffer {
  return RawKafkaClient.frame(ApiKey.ApiVersions, 3, correlationId, { clientSoftwareName: 'bad-input', clientSoftwareVersion: '1.0' })
}

/** The server answers a fresh connection: whatever happened before did not stop it. */
async function expectServing (): Promise<void> {
  const client = await connect()
  client.write(apiVersionsFrame(4242))
  const { correlationId, body } = await client.response(ApiKey.ApiVersions, 3)
  expect([correlationId, body.errorCode]).toEqual([4242, 0])
}

/** The warn line the listener logs when it closes a connection for `reason`, once it is there. */
async function closingLine (reason: string, fields: Record<string, unknown> = {}): Promise<LogLine> {
  return await vi.waitFor(() => {
    const line = lines.find((candidate) => candidate.message === 'closing kafka connection' && candidate.fields.reason === reason &&
      Object.entries(fields).every(([name, value]) => candidate.fields[name] === value))
    if (line === undefined) throw new Error(`no 'closing kafka connection' line with reason '${reason}'`)
    return line
  })
}

function closingLines (): LogLine[] {
  return lines.filter((line) => line.message === 'closing kafka connection')
}

function errorLines (): LogLine[] {
  return lines.filter((line) => line.level === 'error')
}

describe('framing at the default limits', () => {
  test.each([
    ['100 MiB + 1', 100 * 1024 * 1024 + 1],
    ['2^31 - 1', 0x7fffffff],
  ])('a size prefix of %s is refused from its 4 bytes alone, without waiting for or buffering the body', async (_name, size) => {
    expect(defaultKafkaListenerConfig.socketRequestMaxBytes).toBe(100 * 1024 * 1024)
    const client = await connect()
    client.write(sizePrefix(size))
    await client.closed
    expect((await closingLine('frame larger than socketRequestMaxBytes', { size })).level).toBe('warn')
    await expectServing()
  })

  test.each([
    ['a frame cut short (50 MiB announced, 1 KiB sent)', Buffer.concat([sizePrefix(50 * 1024 * 1024), Buffer.alloc(1024, 0x41)])],
    ['a size prefix cut short', Buffer.from([0x00, 0x00])],
    ['a header cut short', apiVersionsFrame(1).subarray(0, 9)],
  ])('%s, then the client leaves: the connection and its buffered bytes are dropped, nothing is answered', async (_name, bytes) => {
    const client = await connect()
    await vi.waitFor(() => { expect(server.connections()).toHaveLength(1) })
    const before = lines.length
    client.write(bytes)
    client.close()
    await vi.waitFor(() => { expect(server.connections()).toEqual([]) })
    // Leaving mid-frame is the client's business: no handler ran, nothing to warn about, nothing went wrong.
    expect(lines.slice(before).filter((line) => line.level !== 'debug')).toEqual([])
    await expectServing()
  })

  test('a frame cut short that never completes holds only its own connection: the others are served meanwhile', async () => {
    const stalled = await connect()
    stalled.write(Buffer.concat([sizePrefix(1000), Buffer.alloc(10)]))
    await expectServing()
    expect(server.connections().find((connection) => connection.inFlightRequests > 0)).toBeUndefined()
  })
})

describe('versions and keys outside what Gregor serves', () => {
  test.each([
    // v99 would be flexible: header v2, whose empty tagged-field section is the one body byte here.
    ['Produce v99 (above every range)', handFrame(ApiKey.Produce, 99, 1, Buffer.from([0])), 'unsupported api version'],
    ['Produce v-1', handFrame(ApiKey.Produce, -1, 1), 'unsupported api version'],
    ['Fetch v0 (below our range)', handFrame(ApiKey.Fetch, 0, 1, Buffer.alloc(20)), 'unsupported api version'],
    ['AddPartitionsToTxn (key 24: Kafka has it, Gregor does not)', handFrame(24, 3, 1, Buffer.alloc(12)), 'unknown api key'],
    ['a negative api key', handFrame(-1, 0, 1), 'unknown api key'],
    ['api key 32767', handFrame(0x7fff, 0, 1), 'unknown api key'],
  ])('%s closes the connection with a warn line', async (_name, bytes, reason) => {
    const client = await connect()
    client.write(bytes)
    await client.closed
    expect((await closingLine(reason)).level).toBe('warn')
    await expectServing()
  })

  test('ApiVersions at a version below 0 is answered in v0 with UNSUPPORTED_VERSION and our ranges (KIP-511), and the connection stays', async () => {
    const client = await connect()
    client.write(handFrame(ApiKey.ApiVersions, -1, 7))
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, 0)
    expect([correlationId, body.errorCode]).toEqual([7, 35])
    expect(body.apiKeys.map((range) => range.apiKey)).toEqual([ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.OffsetForLeaderEpoch, ApiKey.ApiVersions, ApiKey.InitProducerId].sort((a, b) => a - b))
    client.write(apiVersionsFrame(8))
    expect((await client.response(ApiKey.ApiVersions, 3)).correlationId).toBe(8)
  })
})

/** A Fetch of one partition of the fuzzed topic from offset 0, answered at once. */
function fetchFromStart (partition: number, maxBytes: number): FetchRequest {
  return {
    clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [{ topic: TOPIC, topicId: nameUuid(TOPIC), partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: maxBytes }] }],
  }
}

/** Valid requests of every API this listener serves, at their newest version, aimed at the fuzzed topic. */
function validRequests (): Array<{ apiKey: ApiKey, version: number, body: RequestBodies[ApiKey] }> {
  const batch = buildBatch([{ key: Buffer.from('k'), value: Buffer.from('value'), timestamp: T0 }, { value: Buffer.from('second') }], { nowMs: T0 })
  const max = (apiKey: ApiKey): number => SUPPORTED_VERSIONS[apiKey].maxVersion
  return [
    { apiKey: ApiKey.Produce, version: max(ApiKey.Produce), body: { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] } },
    { apiKey: ApiKey.Produce, version: 3, body: { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 1, records: batch }] }] } },
    { apiKey: ApiKey.Fetch, version: max(ApiKey.Fetch), body: fetchFromStart(0, 1 << 20) },
    { apiKey: ApiKey.ListOffsets, version: max(ApiKey.ListOffsets), body: { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] } },
    { apiKey: ApiKey.Metadata, version: max(ApiKey.Metadata), body: { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false } },
    { apiKey: ApiKey.InitProducerId, version: max(ApiKey.InitProducerId), body: { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 } },
    { apiKey: ApiKey.OffsetForLeaderEpoch, version: max(ApiKey.OffsetForLeaderEpoch), body: { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] } },
    { apiKey: ApiKey.ApiVersions, version: 3, body: { clientSoftwareName: 'bad-input', clientSoftwareVersion: '1.0' } },
  ] as Array<{ apiKey: ApiKey, version: number, body: RequestBodies[ApiKey] }>
}

type Outcome = 'answered' | 'closed' | 'waiting'

/**
 * Sends `frames` then a sentinel ApiVersions on one connection and reads until the sentinel's answer or the close.
 * Every answer must carry the correlation id of a request sent, in order; a close must come with a warn line.
 */
async function exchange (frames: readonly Buffer[], correlationIds: readonly number[], sentinel: number): Promise<Outcome> {
  const client = await connect()
  try {
    return await readUntilSentinel(client, frames, correlationIds, sentinel)
  } finally {
    // Gone before the next run, so that a request in flight then is that run's own.
    client.close()
    await vi.waitFor(() => { expect(server.connections()).toEqual([]) })
  }
}

async function readUntilSentinel (client: RawKafkaClient, frames: readonly Buffer[], correlationIds: readonly number[], sentinel: number): Promise<Outcome> {
  client.write(Buffer.concat([...frames, apiVersionsFrame(sentinel)]))
  const expected = [...correlationIds, sentinel]
  let closed = false
  void client.closed.then(() => { closed = true })
  for (;;) {
    let frame: Buffer
    try {
      frame = await client.nextFrame(closed ? 500 : 3000)
    } catch (error) {
      if (closed) return 'closed'
      // A mutated Fetch may long-poll (max_wait_ms, min_bytes turned large): that request is still in flight.
      if (server.connections().some((connection) => connection.inFlightRequests > 0)) return 'waiting'
      throw error
    }
    const correlationId = frame.readInt32BE(0)
    const at = expected.indexOf(correlationId)
    expect(at, `answer ${correlationId} to a request sent (${expected.join(', ')}), in order`).toBeGreaterThanOrEqual(0)
    expected.splice(0, at + 1)
    if (correlationId === sentinel) return 'answered'
  }
}

describe('mutated requests of every served API, pipelined at the broker', () => {
  test('each is answered or closes its connection with a warn line; no error line, the server serves on, every stored batch is intact', async () => {
    const requests = validRequests()
    const frames = requests.map((request, index) => RawKafkaClient.frame(request.apiKey, request.version, 100 + index, request.body).subarray(4))
    const outcomes: Record<Outcome, number> = { answered: 0, closed: 0, waiting: 0 }
    let sentinel = 1_000_000
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        request: fc.nat({ max: frames.length - 1 }),
        edits: fc.array(fc.record({ at: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(-1, -2)) }), { maxLength: 3 }),
      }), { minLength: 1, maxLength: 3 }),
      async (picks) => {
        // The size prefix stays true (framing lies are tested above); header and body bytes are mutated.
        const mutated = picks.map(({ request, edits }) => {
          const body = Buffer.from(frames[request] as Buffer)
          for (const { at, value } of edits) {
            const position = at % body.length
            if (value >= 0) body[position] = value
            else body.fill(value === -1 ? 0xff : 0x7f, position, Math.min(body.length, position + 4)) // a length of -1 or ~2^31
          }
          return Buffer.concat([sizePrefix(body.length), body])
        })
        const closingBefore = closingLines().length
        const outcome = await exchange(mutated, mutated.map((frame) => frame.readInt32BE(8)), ++sentinel)
        outcomes[outcome]++
        if (outcome === 'closed') await vi.waitFor(() => { expect(closingLines().length).toBe(closingBefore + 1) })
      },
    ), { seed: 11, numRuns: 150 })
    // The unmutated picks and the harmless edits are answered; the rest mostly closed.
    expect(outcomes.answered).toBeGreaterThan(0)
    expect(outcomes.closed).toBeGreaterThan(0)
    expect(errorLines()).toEqual([])
    await expectServing()

    // Never a stored corrupt byte: every batch in both partitions passes its CRC and parses.
    for (const partition of [0, 1]) {
      const client = await connect()
      client.write(RawKafkaClient.frame(ApiKey.Fetch, 12, 1, fetchFromStart(partition, 64 << 20)))
      const { body } = await client.response(ApiKey.Fetch, 12)
      const records = body.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0)
      let count = 0
      for (const { position } of walkBatches(records)) count += parseBatch(records, position).records.length
      expect(count).toBeGreaterThan(0)
    }
  }, 120_000)
})

/**
 * The data-plane handlers (Produce, Fetch, ListOffsets, InitProducerId, OffsetForLeaderEpoch) over the wire, against
 * one broker's Kafka listener on a real ReplicaManager (SingleBrokerKafka): every version in SUPPORTED_VERSIONS, the
 * error codes Kafka gives (unknown partition, bad CRC, stale leader epoch, out-of-order sequence), and that what is
 * stored is what the client sent.
 */
import { ErrorCode } from '@gregor/common'
import {
  ApiKey, type FetchRequest, type ProduceRequest, type RequestBodies, type ResponseBodies, SUPPORTED_VERSIONS, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { buildBatch, parseBatch, walkBatches } from '@gregor/records'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RawKafkaClient } from '../testing/raw-kafka-client.js'
import { SingleBrokerKafka, nameUuid } from '../testing/single-broker-kafka.js'

const EPOCH = 3
const T0 = 1_700_000_000_000

let broker: SingleBrokerKafka
let client: RawKafkaClient
let correlationId = 0

beforeAll(async () => {
  broker = await SingleBrokerKafka.start({ orders: 1, versions: 1, fenced: 1, times: 1, idem: 1, empty: 1 }, { epoch: EPOCH, topicId: nameUuid })
  client = await RawKafkaClient.connect(broker.server.port)
})

afterAll(async () => {
  client?.close()
  await broker?.close()
})

function versions (apiKey: ApiKey): number[] {
  const { minVersion, maxVersion } = SUPPORTED_VERSIONS[apiKey]
  return Array.from({ length: maxVersion - minVersion + 1 }, (_, i) => minVersion + i)
}

async function call<K extends ApiKey> (apiKey: K, version: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> {
  const id = ++correlationId
  client.write(RawKafkaClient.frame(apiKey, version, id, body))
  const answer = await client.response(apiKey, version)
  expect(answer.correlationId).toBe(id)
  return answer.body
}

function batch (values: string[], options: { timestamp?: number, producerId?: number, baseSequence?: number } = {}): Buffer {
  return buildBatch(values.map((value, i) => ({ key: Buffer.from(`k-${value}`), value: Buffer.from(value), timestamp: (options.timestamp ?? T0) + i })), {
    nowMs: T0, ...(options.producerId === undefined ? {} : { producerId: options.producerId, producerEpoch: 0, baseSequence: options.baseSequence ?? 0 }),
  })
}

function produceRequest (topic: string, records: Buffer | null, acks = -1, partition = 0): ProduceRequest {
  return { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] }
}

function fetchRequest (topic: string, fetchOffset: number, fields: Partial<FetchRequest> & { currentLeaderEpoch?: number, partitionMaxBytes?: number, partition?: number } = {}): FetchRequest {
  return {
    clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    forgottenTopicsData: [], rackId: '', ...fields,
    topics: [{
      topic,
      topicId: nameUuid(topic),
      partitions: [{
        partition: fields.partition ?? 0, currentLeaderEpoch: fields.currentLeaderEpoch ?? -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1,
        partitionMaxBytes: fields.partitionMaxBytes ?? 1024 * 1024,
      }],
    }],
  }
}

/** Every record of the fetched bytes: offset, key, value, timestamp. */
function recordsOf (bytes: Buffer | null): Array<{ offset: number, key: string, value: string, timestamp: number }> {
  const buffer = bytes ?? Buffer.alloc(0)
  return [...walkBatches(buffer)].flatMap(({ position }) => parseBatch(buffer, position).records.map((record) => ({
    offset: record.offset, key: record.key?.toString() ?? '', value: record.value?.toString() ?? '', timestamp: record.timestamp,
  })))
}

function partitionOf<T> (topics: readonly { partitions?: readonly T[], partitionResponses?: readonly T[] }[]): T {
  const topic = topics[0]
  const partition = (topic?.partitions ?? topic?.partitionResponses)?.[0]
  if (partition === undefined) throw new Error('no partition in the answer')
  return partition
}

describe('every advertised version', () => {
  test('Produce v0-7 (acks 1 and -1) appends and answers the base offset; acks=0 gets no answer; Fetch v4-13 reads them all back', async () => {
    let expectedOffset = 0
    const written: string[] = []
    for (const version of versions(ApiKey.Produce)) {
      for (const acks of [1, -1]) {
        const values = [`v${version}-acks${acks}-a`, `v${version}-acks${acks}-b`]
        const response = await call(ApiKey.Produce, version, produceRequest('versions', batch(values), acks))
        expect(response.responses.map((topic) => topic.name)).toEqual(['versions'])
        const answer = partitionOf(response.responses)
        expect(answer).toMatchObject({ index: 0, errorCode: 0, baseOffset: expectedOffset })
        if (version >= 2) expect(answer.logAppendTimeMs).toBe(-1)
        if (version >= 5) expect(answer.logStartOffset).toBe(0)
        expectedOffset += 2
        written.push(...values)
      }
      // acks=0: no answer; the next request's answer is the next frame (its correlation id checked in `call`).
      const silent = [`v${version}-acks0`]
      client.write(RawKafkaClient.frame(ApiKey.Produce, version, ++correlationId, produceRequest('versions', batch(silent), 0)))
      written.push(...silent)
      expectedOffset += 1
    }
    for (const version of versions(ApiKey.Fetch)) {
      const response = await call(ApiKey.Fetch, version, fetchRequest('versions', 0))
      expect(response.errorCode).toBe(0)
      if (version >= 7) expect(response.sessionId).toBe(0)
      const answer = partitionOf(response.responses)
      expect(answer).toMatchObject({ partitionIndex: 0, errorCode: 0, highWatermark: expectedOffset, lastStableOffset: expectedOffset })
      if (version >= 5) expect(answer.logStartOffset).toBe(0) // the field exists from v5
      expect(answer.abortedTransactions ?? []).toEqual([])
      const records = recordsOf(answer.records)
      expect(records.map((record) => record.value)).toEqual(written)
      expect(records.map((record) => record.offset)).toEqual(written.map((_, i) => i))
      expect(records.map((record) => record.key)).toEqual(written.map((value) => `k-${value}`))
    }
    // v13 names topics by id: an id this broker does not know is UNKNOWN_TOPIC_ID, answered under that id.
    const unknown = { ...fetchRequest('versions', 0), topics: [{ ...fetchRequest('versions', 0).topics[0], topic: '', topicId: nameUuid('no-such-topic') }] } as FetchRequest
    const byUnknownId = await call(ApiKey.Fetch, 13, unknown)
    expect([byUnknownId.responses[0]?.topicId, partitionOf(byUnknownId.responses).errorCode]).toEqual([nameUuid('no-such-topic'), 100])
  })

  test('ListOffsets v1-7: earliest and latest', async () => {
    await call(ApiKey.Produce, 7, produceRequest('orders', batch(['a', 'b', 'c'])))
    for (const version of versions(ApiKey.ListOffsets)) {
      const ask = async (timestamp: number): Promise<{ errorCode: number, offset: number, leaderEpoch: number }> => partitionOf((await call(ApiKey.ListOffsets, version, {
        replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      })).topics)
      expect(await ask(-2)).toMatchObject({ errorCode: 0, offset: 0 })
      const latest = await ask(-1)
      expect(latest).toMatchObject({ errorCode: 0, offset: 3 })
      if (version >= 4) expect(latest.leaderEpoch).toBe(EPOCH)
    }
  })

  test('InitProducerId v0-3: a fresh producer id at epoch 0 each time; a transactional id is refused', async () => {
    const ids = new Set<number>()
    for (const version of versions(ApiKey.InitProducerId)) {
      const response = await call(ApiKey.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })
      expect(response).toMatchObject({ errorCode: 0, producerEpoch: 0 })
      expect(response.producerId).toBeGreaterThan(0)
      ids.add(response.producerId)
      const transactional = await call(ApiKey.InitProducerId, version, { transactionalId: 'tx-1', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })
      expect(transactional).toMatchObject({ errorCode: kafkaErrorCode(ErrorCode.INVALID_REQUEST), producerId: -1, producerEpoch: -1 })
    }
    expect(ids.size).toBe(versions(ApiKey.InitProducerId).length)
  })

  test('OffsetForLeaderEpoch v2-4: the current epoch ends at the log end; a newer one is undefined', async () => {
    await call(ApiKey.Produce, 7, produceRequest('empty', batch(['x'])))
    for (const version of versions(ApiKey.OffsetForLeaderEpoch)) {
      const ask = async (leaderEpoch: number): Promise<{ errorCode: number, leaderEpoch: number, endOffset: number }> => partitionOf((await call(ApiKey.OffsetForLeaderEpoch, version, {
        replicaId: -1, topics: [{ topic: 'empty', partitions: [{ partition: 0, currentLeaderEpoch: EPOCH, leaderEpoch }] }],
      })).topics)
      expect(await ask(EPOCH)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: EPOCH, endOffset: 1 })
      expect(await ask(EPOCH + 1)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 })
    }
  })
})

describe('bad input', () => {
  test('an unknown partition or topic: UNKNOWN_TOPIC_OR_PARTITION from every data API', async () => {
    const unknown = kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('orders', batch(['x']), -1, 9))).responses).errorCode).toBe(unknown)
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('nope', batch(['x'])))).responses).errorCode).toBe(unknown)
    expect(partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('orders', 0, { partition: 9 }))).responses)).toMatchObject({ errorCode: unknown, highWatermark: -1 })
    expect(partitionOf((await call(ApiKey.ListOffsets, 7, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    })).topics)).toMatchObject({ errorCode: unknown, offset: -1 })
    expect(partitionOf((await call(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1, topics: [{ topic: 'nope', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    })).topics)).toMatchObject({ errorCode: unknown, endOffset: -1 })
  })

  test('a batch with a bad CRC: CORRUPT_MESSAGE, and nothing is stored', async () => {
    const before = broker.replicas.replicaState('fenced', 0)?.logEndOffset
    const bad = batch(['bit', 'rot'])
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('fenced', bad))).responses).errorCode).toBe(kafkaErrorCode(ErrorCode.CORRUPT_MESSAGE))
    expect(partitionOf((await call(ApiKey.Produce, 3, produceRequest('fenced', null))).responses).errorCode).toBe(kafkaErrorCode(ErrorCode.CORRUPT_MESSAGE))
    expect(broker.replicas.replicaState('fenced', 0)?.logEndOffset).toBe(before)
  })

  test('KIP-320: a stale current leader epoch is FENCED_LEADER_EPOCH, a newer one retriable, on Fetch, ListOffsets and OffsetForLeaderEpoch', async () => {
    const fenced = kafkaErrorCode(ErrorCode.FENCED_LEADER_EPOCH)
    const newer = kafkaErrorCode(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    for (const [epoch, code] of [[EPOCH - 1, fenced], [EPOCH + 1, newer], [EPOCH, 0]] as const) {
      expect(partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('fenced', 0, { currentLeaderEpoch: epoch }))).responses).errorCode).toBe(code)
      expect(partitionOf((await call(ApiKey.ListOffsets, 7, {
        replicaId: -1, isolationLevel: 0, topics: [{ name: 'fenced', partitions: [{ partitionIndex: 0, currentLeaderEpoch: epoch, timestamp: -1 }] }],
      })).topics).errorCode).toBe(code)
      expect(partitionOf((await call(ApiKey.OffsetForLeaderEpoch, 4, {
        replicaId: -1, topics: [{ topic: 'fenced', partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch: EPOCH }] }],
      })).topics).errorCode).toBe(code)
    }
  })

  test('a fetch offset past the log end: OFFSET_OUT_OF_RANGE', async () => {
    expect(partitionOf((await call(ApiKey.Fetch, 11, fetchRequest('fenced', 1_000))).responses).errorCode).toBe(kafkaErrorCode(ErrorCode.OFFSET_OUT_OF_RANGE))
  })
})

describe('semantics', () => {
  test('idempotent produce: a resent batch gets its first offsets and is stored once; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const { producerId } = await call(ApiKey.InitProducerId, 3, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })
    const first = batch(['one', 'two'], { producerId, baseSequence: 0 })
    const resend = Buffer.from(first)
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('idem', first))).responses)).toMatchObject({ errorCode: 0, baseOffset: 0 })
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('idem', resend))).responses)).toMatchObject({ errorCode: 0, baseOffset: 0 })
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('idem', batch(['four'], { producerId, baseSequence: 3 })))).responses).errorCode)
      .toBe(kafkaErrorCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER))
    expect(partitionOf((await call(ApiKey.Produce, 7, produceRequest('idem', batch(['three'], { producerId, baseSequence: 2 })))).responses))
      .toMatchObject({ errorCode: 0, baseOffset: 2 })
    const fetched = recordsOf(partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('idem', 0))).responses).records)
    expect(fetched.map((record) => record.value)).toEqual(['one', 'two', 'three'])
  })

  test('ListOffsets by timestamp and max timestamp (KIP-734): the exact record, also inside a batch', async () => {
    await call(ApiKey.Produce, 7, produceRequest('times', batch(['early'], { timestamp: T0 })))
    await call(ApiKey.Produce, 7, produceRequest('times', batch(['latest-a', 'latest-b'], { timestamp: T0 + 10_000 })))
    await call(ApiKey.Produce, 7, produceRequest('times', batch(['middle'], { timestamp: T0 + 5_000 })))
    const ask = async (timestamp: number): Promise<{ errorCode: number, offset: number, timestamp: number }> => partitionOf((await call(ApiKey.ListOffsets, 7, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
    })).topics)
    expect(await ask(-3)).toMatchObject({ errorCode: 0, offset: 2, timestamp: T0 + 10_001 })
    expect(await ask(T0 + 1)).toMatchObject({ errorCode: 0, offset: 1, timestamp: T0 + 10_000 })
    expect(await ask(T0 + 10_001)).toMatchObject({ errorCode: 0, offset: 2, timestamp: T0 + 10_001 })
    expect(await ask(T0)).toMatchObject({ errorCode: 0, offset: 0, timestamp: T0 })
    expect(await ask(T0 + 20_000)).toMatchObject({ errorCode: 0, offset: -1, timestamp: -1 })
  })

  test('Fetch: partition_max_bytes of 1 still returns the first batch whole (KIP-74), and only it', async () => {
    await call(ApiKey.Produce, 7, produceRequest('fenced', batch(['first'])))
    await call(ApiKey.Produce, 7, produceRequest('fenced', batch(['second'])))
    const answer = partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('fenced', 0, { partitionMaxBytes: 1 }))).responses)
    expect(recordsOf(answer.records).map((record) => record.value)).toEqual(['first'])
  })

  test('Fetch long poll: waits up to max_wait_ms for min_bytes, and answers as soon as a produce brings them', async () => {
    const fetchClient = await RawKafkaClient.connect(broker.server.port)
    try {
      const end = broker.replicas.replicaState('orders', 0)?.highWatermark ?? -1
      const startedMs = performance.now()
      fetchClient.write(RawKafkaClient.frame(ApiKey.Fetch, 12, 1, fetchRequest('orders', end, { maxWaitMs: 200, minBytes: 1 })))
      const empty = await fetchClient.response(ApiKey.Fetch, 12)
      expect(performance.now() - startedMs).toBeGreaterThanOrEqual(190)
      expect(partitionOf(empty.body.responses).records?.length ?? 0).toBe(0)
      fetchClient.write(RawKafkaClient.frame(ApiKey.Fetch, 12, 2, fetchRequest('orders', end, { maxWaitMs: 30_000, minBytes: 1 })))
      const waitingSinceMs = performance.now()
      await call(ApiKey.Produce, 7, produceRequest('orders', batch(['wake-up'])))
      const woken = await fetchClient.response(ApiKey.Fetch, 12)
      expect(performance.now() - waitingSinceMs).toBeLessThan(10_000)
      expect(recordsOf(partitionOf(woken.body.responses).records).map((record) => [record.offset, record.value])).toEqual([[end, 'wake-up']])
    } finally {
      fetchClient.close()
    }
  })

  test('Fetch under read_committed reads the same records, with no aborted transactions', async () => {
    const committed = partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('orders', 0, { isolationLevel: 1 }))).responses)
    const uncommitted = partitionOf((await call(ApiKey.Fetch, 12, fetchRequest('orders', 0))).responses)
    expect(committed.abortedTransactions).toEqual([])
    expect(uncommitted.abortedTransactions).toBeNull()
    expect(recordsOf(committed.records)).toEqual(recordsOf(uncommitted.records))
    expect(committed.lastStableOffset).toBe(committed.highWatermark)
  })
})

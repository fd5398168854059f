/**
 * acks=0 Produce over the wire against one broker's Kafka listener on a real ReplicaManager (SingleBrokerKafka): a
 * failed one has no answer to carry its error, so the broker closes the connection (Kafka's KafkaApis does the same)
 * and the client reconnects and refreshes its metadata; a good one is stored and the connection stays.
 */
import { leaderEpoch, nodeId, raftIndex } from '@gregor/common'
import { ApiKey, type ProduceRequest } from '@gregor/kafka-protocol'
import { buildBatch } from '@gregor/records'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { type LogLine, captureLogger } from '../../../../../storage/src/log/testing/capture-logger.js'
import { RawKafkaClient } from '../testing/raw-kafka-client.js'
import { SingleBrokerKafka } from '../testing/single-broker-kafka.js'

const T0 = 1_700_000_000_000

let broker: SingleBrokerKafka
const lines: LogLine[] = []
const clients: RawKafkaClient[] = []

beforeAll(async () => {
  broker = await SingleBrokerKafka.start({ led: 1, moved: 1 }, { logger: captureLogger(lines) })
  // Partition moved-0 now has broker 2 as its leader: broker 1 follows it (and fetches from no one).
  broker.image.applyBatch([
    { type: 'RegisterBroker', brokerId: nodeId(2), incarnationId: 'incarnation-2', listeners: [{ name: 'KAFKA', host: '127.0.0.1', port: 1 }] },
    { type: 'UnfenceBroker', brokerId: nodeId(2), incarnationId: 'incarnation-2' },
    { type: 'PartitionChange', topicId: 'moved-id', partition: 0, leader: nodeId(2), replicas: [nodeId(1), nodeId(2)], isr: [nodeId(1), nodeId(2)] },
  ], raftIndex(2))
  await broker.replicas.onMetadata(broker.image)
  expect(broker.replicas.replicaState('moved', 0)).toMatchObject({ role: 'follower', leaderId: 2, leaderEpoch: leaderEpoch(1) })
})

afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

afterAll(async () => {
  await broker?.close()
})

async function connect (): Promise<RawKafkaClient> {
  const client = await RawKafkaClient.connect(broker.server.port)
  clients.push(client)
  return client
}

function produce (topic: string, partition: number, acks: number, value: string): ProduceRequest {
  const records = buildBatch([{ value: Buffer.from(value), timestamp: T0 }], { nowMs: T0 })
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] }
}

const apiVersions = (correlationId: number): Buffer =>
  RawKafkaClient.frame(ApiKey.ApiVersions, 3, correlationId, { clientSoftwareName: 'produce-test', clientSoftwareVersion: '1.0' })

describe('acks=0 Produce', () => {
  test('a good one is stored, gets no answer, and the connection stays open', async () => {
    const client = await connect()
    client.write(RawKafkaClient.frame(ApiKey.Produce, 7, 1, produce('led', 0, 0, 'fine')))
    client.write(apiVersions(2))
    // The next frame is the ApiVersions answer: the produce got none.
    expect((await client.response(ApiKey.ApiVersions, 3)).correlationId).toBe(2)
    expect(client.isClosed).toBe(false)
    await vi.waitFor(() => { expect(broker.replicas.replicaState('led', 0)?.highWatermark).toBe(1) })
  })

  test.each([
    ['a partition this broker does not lead (NOT_LEADER_OR_FOLLOWER)', 'moved', 0, 'NOT_LEADER_OR_FOLLOWER'],
    ['an unknown topic (UNKNOWN_TOPIC_OR_PARTITION)', 'nope', 0, 'UNKNOWN_TOPIC_OR_PARTITION'],
  ])('to %s: the earlier answers go out, then the connection is closed and later requests get nothing', async (_name, topic, partition, error) => {
    const client = await connect()
    // Pipelined: an answered request before the failing produce, one after it.
    client.write([apiVersions(1), RawKafkaClient.frame(ApiKey.Produce, 7, 2, produce(topic, partition, 0, 'lost')), apiVersions(3)])
    expect((await client.response(ApiKey.ApiVersions, 3)).correlationId).toBe(1)
    await client.closed
    await expect(client.nextFrame(100)).rejects.toThrow('connection closed')
    const closing = lines.filter((line) => line.message === 'closing kafka connection').at(-1)
    expect(closing).toMatchObject({ level: 'info', fields: { reason: 'acks=0 produce failed', api: 'Produce', topic, partition, error, failedPartitions: 1 } })
    // The broker serves on: a new connection (the client's reconnect) is answered.
    const again = await connect()
    again.write(apiVersions(4))
    expect((await again.response(ApiKey.ApiVersions, 3)).correlationId).toBe(4)
  })

  test('acks=1 to a partition this broker does not lead is answered with the error, and the connection stays', async () => {
    const client = await connect()
    client.write(RawKafkaClient.frame(ApiKey.Produce, 7, 1, produce('moved', 0, 1, 'answered')))
    const { body } = await client.response(ApiKey.Produce, 7)
    expect(body.responses[0]?.partitionResponses[0]?.errorCode).toBe(6)
    expect(client.isClosed).toBe(false)
  })
})

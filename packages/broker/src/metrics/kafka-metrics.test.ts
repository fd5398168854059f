// KafkaMetrics on a real prom-client registry, fed by a real KafkaServer (127.0.0.1, port 0) over fake handlers and
// driven by the raw test client: the exposition text is what is asserted, as Prometheus would read it.
import { silentLogger } from '@gregor/common'
import { ApiKey, type ProduceRequest, type ProduceResponse } from '@gregor/kafka-protocol'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { handleApiVersions } from '../listeners/kafka/handlers/api-versions.js'
import type { KafkaHandlers } from '../listeners/kafka/kafka-handlers.js'
import { defaultKafkaListenerConfig } from '../listeners/kafka/kafka-listener-config.js'
import { KafkaServer } from '../listeners/kafka/kafka-server.js'
import { RawKafkaClient } from '../listeners/kafka/testing/raw-kafka-client.js'
import { KafkaMetrics } from './kafka-metrics.js'

/** The value of the sample `series` (name plus exact label text), or undefined when the line is absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const servers: KafkaServer[] = []
const clients: RawKafkaClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(servers.splice(0).map(async (server) => { await server.close() }))
})

/** A Produce handler that fails every partition with NOT_LEADER_OR_FOLLOWER (6), as a broker that lost leadership. */
const notLeaderProduce = (request: ProduceRequest): ProduceResponse => ({
  throttleTimeMs: 0,
  responses: request.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((partition) => ({ index: partition.index, errorCode: 6, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 })),
  })),
})

async function setup (handlers: KafkaHandlers = { [ApiKey.ApiVersions]: handleApiVersions }): Promise<{ registry: Registry, server: KafkaServer, connect: () => Promise<RawKafkaClient> }> {
  const registry = new Registry()
  const metrics = new KafkaMetrics({ registry })
  const server = await KafkaServer.start({
    listenerName: 'KAFKA', host: '127.0.0.1', port: 0, logger: silentLogger, handlers,
    config: { ...defaultKafkaListenerConfig, socketRequestMaxBytes: 4096 }, metrics: metrics.listener('KAFKA'),
  })
  servers.push(server)
  const connect = async (): Promise<RawKafkaClient> => {
    const client = await RawKafkaClient.connect(server.port)
    clients.push(client)
    return client
  }
  return { registry, server, connect }
}

const handFrame = (apiKey: number, apiVersion: number, body: Buffer, flexible = false): Buffer => RawKafkaClient.handFrame(apiKey, apiVersion, 1, body, flexible)

const metadataV1 = (): Buffer => RawKafkaClient.frame(ApiKey.Metadata, 1, 1, { topics: [], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })

const apiVersionsFrame = (correlationId: number): Buffer =>
  RawKafkaClient.frame(ApiKey.ApiVersions, 3, correlationId, { clientSoftwareName: 'metrics-test', clientSoftwareVersion: '1.0.0' })

describe('a Kafka listener\'s metrics', () => {
  test('TLS handshake failures count per listener and reason; a listener without any has no series', async () => {
    const registry = new Registry()
    const metrics = new KafkaMetrics({ registry })
    const tlsListener = metrics.listener('HOST')
    metrics.listener('KAFKA')
    tlsListener.tlsHandshakeFailed?.('not_tls')
    tlsListener.tlsHandshakeFailed?.('not_tls')
    tlsListener.tlsHandshakeFailed?.('certificate')
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_tls_handshake_failures_total{listener="HOST",reason="not_tls"}')).toBe(2)
    expect(sample(text, 'gregor_kafka_tls_handshake_failures_total{listener="HOST",reason="certificate"}')).toBe(1)
    expect(text).not.toContain('gregor_kafka_tls_handshake_failures_total{listener="KAFKA"')
  })

  test('the listener\'s connection series read 0 from the first scrape, before any client', async () => {
    const { registry } = await setup()
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}')).toBe(0)
    expect(sample(text, 'gregor_kafka_connection_creation_total{listener="KAFKA"}')).toBe(0)
    expect(sample(text, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="protocol_violation"}')).toBe(0)
    expect(sample(text, 'gregor_kafka_incoming_byte_total{listener="KAFKA"}')).toBe(0)
  })

  test('a request counts once under its API name, is timed, and its bytes in and out are the frames\'; a connection is counted open until it closes', async () => {
    const { registry, server, connect } = await setup()
    const client = await connect()
    const frame = apiVersionsFrame(1)
    client.write(frame)
    const answer = await client.nextFrame()
    await vi.waitFor(async () => { expect(sample(await registry.metrics(), 'gregor_kafka_outgoing_byte_total{listener="KAFKA"}')).toBe(4 + answer.length) })
    let text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_requests_total{listener="KAFKA",api="ApiVersions"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_request_latency_seconds_count{listener="KAFKA",api="ApiVersions"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_request_latency_seconds_bucket{le="+Inf",listener="KAFKA",api="ApiVersions"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_incoming_byte_total{listener="KAFKA"}')).toBe(frame.length)
    expect(sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_connection_creation_total{listener="KAFKA"}')).toBe(1)
    expect(text).not.toContain('gregor_kafka_request_errors_total{')

    client.close()
    await vi.waitFor(() => { expect(server.connections()).toEqual([]) })
    text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}')).toBe(0)
    expect(sample(text, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="client"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="protocol_violation"}')).toBe(0)
  })

  test('per-partition error codes in an answer count one error each, by Kafka error name', async () => {
    const { registry, connect } = await setup({ [ApiKey.Produce]: notLeaderProduce })
    const client = await connect()
    client.write(RawKafkaClient.frame(ApiKey.Produce, 7, 1, {
      transactionalId: null, acks: 1, timeoutMs: 1000,
      topicData: [{ name: 'a', partitionData: [{ index: 0, records: null }, { index: 1, records: null }] }, { name: 'b', partitionData: [{ index: 0, records: null }] }],
    }))
    await client.response(ApiKey.Produce, 7)
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_requests_total{listener="KAFKA",api="Produce"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_request_errors_total{listener="KAFKA",api="Produce",error="NOT_LEADER_OR_FOLLOWER"}')).toBe(3)
  })

  test('an ApiVersions above our range is answered with UNSUPPORTED_VERSION, which counts as its error', async () => {
    const { registry, connect } = await setup()
    const client = await connect()
    // v9, as a future client would send it: header v2 and compact strings.
    client.write(handFrame(ApiKey.ApiVersions, 9, Buffer.from([3, 0x61, 0x62, 2, 0x31, 0]), true))
    expect((await client.response(ApiKey.ApiVersions, 0)).body.errorCode).toBe(35)
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_request_errors_total{listener="KAFKA",api="ApiVersions",error="UNSUPPORTED_VERSION"}')).toBe(1)
  })

  test.each([
    // Metadata v1 whose topic count says 5 and no topics follow.
    ['a body that does not decode', handFrame(ApiKey.Metadata, 1, Buffer.from([0, 0, 0, 5])), 'Metadata', 'INVALID_REQUEST'],
    ['an unknown API key', handFrame(999, 0, Buffer.alloc(0)), 'unknown', 'INVALID_REQUEST'],
    ['an API this listener does not serve', metadataV1(), 'Metadata', 'UNSUPPORTED_VERSION'],
  ])('%s: counted as a request of its API with an error, and the connection as closed for a protocol violation', async (_name, frame, api, error) => {
    const { registry, connect } = await setup()
    const client = await connect()
    client.write(frame)
    await client.closed
    await vi.waitFor(async () => {
      expect(sample(await registry.metrics(), 'gregor_kafka_connection_close_total{listener="KAFKA",reason="protocol_violation"}')).toBe(1)
    })
    const text = await registry.metrics()
    expect(sample(text, `gregor_kafka_requests_total{listener="KAFKA",api="${api}"}`)).toBe(1)
    expect(sample(text, `gregor_kafka_request_errors_total{listener="KAFKA",api="${api}",error="${error}"}`)).toBe(1)
    expect(sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}')).toBe(0)
  })

  test('a frame over socketRequestMaxBytes closes the connection as a protocol violation without counting a request', async () => {
    const { registry, connect } = await setup()
    const client = await connect()
    const size = Buffer.alloc(8)
    size.writeInt32BE(4097)
    client.write(size)
    await client.closed
    await vi.waitFor(async () => {
      expect(sample(await registry.metrics(), 'gregor_kafka_connection_close_total{listener="KAFKA",reason="protocol_violation"}')).toBe(1)
    })
    const text = await registry.metrics()
    expect(text).not.toContain('gregor_kafka_requests_total{')
    expect(sample(text, 'gregor_kafka_incoming_byte_total{listener="KAFKA"}')).toBe(8)
  })

  test('a handler that throws counts UNKNOWN_SERVER_ERROR and a close for a server error', async () => {
    const { registry, connect } = await setup({ [ApiKey.ApiVersions]: () => { throw new Error('bug') } })
    const client = await connect()
    client.write(apiVersionsFrame(1))
    await client.closed
    await vi.waitFor(async () => {
      expect(sample(await registry.metrics(), 'gregor_kafka_connection_close_total{listener="KAFKA",reason="server_error"}')).toBe(1)
    })
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_request_errors_total{listener="KAFKA",api="ApiVersions",error="UNKNOWN_SERVER_ERROR"}')).toBe(1)
    // A request that got no answer is not timed as answered.
    expect(sample(text, 'gregor_kafka_request_latency_seconds_count{listener="KAFKA",api="ApiVersions"}')).toBeUndefined()
  })

  test('a request whose handler closes instead of answering (acks=0) counts its errors, its time and an unanswered_error close', async () => {
    const { registry, connect } = await setup({
      [ApiKey.Produce]: (_request, context) => { context.closeAfterResponse?.('acks=0 produce failed', {}, [6, 3]); return undefined },
    })
    const client = await connect()
    client.write(RawKafkaClient.frame(ApiKey.Produce, 7, 1, { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [] }))
    await client.closed
    await vi.waitFor(async () => {
      expect(sample(await registry.metrics(), 'gregor_kafka_connection_close_total{listener="KAFKA",reason="unanswered_error"}')).toBe(1)
    })
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_request_errors_total{listener="KAFKA",api="Produce",error="NOT_LEADER_OR_FOLLOWER"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_request_errors_total{listener="KAFKA",api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_request_latency_seconds_count{listener="KAFKA",api="Produce"}')).toBe(1)
    expect(sample(text, 'gregor_kafka_outgoing_byte_total{listener="KAFKA"}')).toBe(0)
  })

  test('closing the listener counts its open connections as closed by listener_stopped', async () => {
    const { registry, server, connect } = await setup()
    await connect()
    await connect()
    await vi.waitFor(() => { expect(server.connections()).toHaveLength(2) })
    await server.close()
    servers.splice(0)
    const text = await registry.metrics()
    expect(sample(text, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="listener_stopped"}')).toBe(2)
    expect(sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}')).toBe(0)
  })
})

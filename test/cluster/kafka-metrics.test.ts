/**
 * The Kafka listener's metrics on three real `gregor broker` processes, scraped over HTTP as Prometheus would: kcat
 * (librdkafka) produces through the Kafka listener and the partition leader counts and times its Produce requests; a
 * raw acks=0 Produce to a follower fails, so that broker closes the connection (Kafka's way of telling an acks=0
 * client to refresh its metadata) and counts the error and the close; a good acks=0 Produce keeps its connection.
 */
import { spawn } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcess, type BrokerProcesses, waitFor } from '@gregor/cli'
import { ApiKey, type ProduceRequest } from '@gregor/kafka-protocol'
import { buildBatch } from '@gregor/records'
import { RawKafkaClient } from '../../packages/broker/src/listeners/kafka/testing/raw-kafka-client.js'
import { createTopicInSync, latestOffset, leadersOf, useCluster } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

async function scrape (broker: BrokerProcess): Promise<string> {
  const response = await fetch(`${broker.adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
  expect(response.status).toBe(200)
  return await response.text()
}

/** The value of the sample `series` (metric name plus exact label text), 0 when the series is absent. */
function sample (text: string, series: string): number {
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

/** `kcat -P` with `lines` on stdin; resolves when kcat has flushed every message and exited 0. */
async function kcatProduce (args: readonly string[], input: readonly string[]): Promise<void> {
  const child = spawn('/usr/bin/kcat', ['-b', cluster.kafkaBootstrapServers, '-P', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(input.map((line) => `${line}\n`).join(''))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  expect(code, `kcat -P ${args.join(' ')} failed: ${stderr}`).toBe(0)
}

async function connectKafka (broker: BrokerProcess): Promise<RawKafkaClient> {
  const [host = '127.0.0.1', port = '0'] = broker.kafkaAddress.split(':')
  return await RawKafkaClient.connect(Number(port), host)
}

function acks0Produce (topic: string, value: string): ProduceRequest {
  const records = buildBatch([{ value: Buffer.from(value), timestamp: Date.now() }], { nowMs: Date.now() })
  return { transactionalId: null, acks: 0, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }
}

const apiVersions = (correlationId: number): Buffer =>
  RawKafkaClient.frame(ApiKey.ApiVersions, 3, correlationId, { clientSoftwareName: 'kafka-metrics-test', clientSoftwareVersion: '1.0' })

describe('Kafka listener metrics on three broker processes', () => {
  test('kcat produce counts Produce requests on the leader; a failed acks=0 produce to a follower closes its connection and counts', async () => {
    const topic = 'kafka-metrics'
    await createTopicInSync(cluster, admin, { topic, numPartitions: 1, replicationFactor: 3 })
    const leaderId = (await leadersOf(cluster, topic)).get(0) as number
    const leader = cluster.broker(leaderId)
    const follower = cluster.brokers.find((broker) => broker.nodeId !== leaderId) as BrokerProcess
    await waitFor('the leader to serve the topic', async () => (await latestOffset(leader.clientAddress, topic, 0)).errorCode === '' ? true : undefined, { timeoutMs: 10_000, intervalMs: 100 })

    await kcatProduce(['-t', topic, '-p', '0', '-X', 'linger.ms=5'], Array.from({ length: 20 }, (_, i) => `value-${i}`))
    const leaderText = await scrape(leader)
    expect(sample(leaderText, 'gregor_kafka_requests_total{listener="KAFKA",api="Produce"}')).toBeGreaterThan(0)
    expect(sample(leaderText, 'gregor_kafka_request_latency_seconds_count{listener="KAFKA",api="Produce"}')).toBeGreaterThan(0)
    expect(sample(leaderText, 'gregor_kafka_incoming_byte_total{listener="KAFKA"}')).toBeGreaterThan(0)
    expect(sample(leaderText, 'gregor_kafka_outgoing_byte_total{listener="KAFKA"}')).toBeGreaterThan(0)
    // The topic byte counters count what either client listener stored (BrokerTopicMetrics BytesInPerSec).
    expect(sample(leaderText, 'gregor_broker_topic_bytes_in_total')).toBeGreaterThan(20 * 'value-0'.length)
    expect(sample(leaderText, 'gregor_kafka_request_errors_total{listener="KAFKA",api="Produce",error="NOT_LEADER_OR_FOLLOWER"}')).toBe(0)
    // kcat has exited: every broker it spoke to counts its connections closed by the client, none left open.
    await waitFor('kcat\'s connections to be counted closed', async () => {
      const texts = await Promise.all(cluster.brokers.map(scrape))
      return texts.every((text) => sample(text, 'gregor_kafka_connection_count{listener="KAFKA"}') === 0) &&
        sample(texts[cluster.brokers.indexOf(leader)] as string, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="client"}') > 0
        ? true
        : undefined
    }, { timeoutMs: 10_000, intervalMs: 100 })

    // acks=0 to a follower: no answer can say NOT_LEADER_OR_FOLLOWER, so the follower closes the connection.
    const before = await scrape(follower)
    const wrong = await connectKafka(follower)
    wrong.write(RawKafkaClient.frame(ApiKey.Produce, 7, 1, acks0Produce(topic, 'to a follower')))
    await wrong.closed
    const after = await waitFor('the follower to count the close', async () => {
      const text = await scrape(follower)
      return sample(text, 'gregor_kafka_connection_close_total{listener="KAFKA",reason="unanswered_error"}') > 0 ? text : undefined
    }, { timeoutMs: 10_000, intervalMs: 100 })
    const closes = 'gregor_kafka_connection_close_total{listener="KAFKA",reason="unanswered_error"}'
    const errors = 'gregor_kafka_request_errors_total{listener="KAFKA",api="Produce",error="NOT_LEADER_OR_FOLLOWER"}'
    expect(sample(after, closes) - sample(before, closes)).toBe(1)
    expect(sample(after, errors) - sample(before, errors)).toBe(1)

    // acks=0 to the leader: stored, no answer, and the connection serves the next request.
    const right = await connectKafka(leader)
    try {
      right.write([RawKafkaClient.frame(ApiKey.Produce, 7, 1, acks0Produce(topic, 'to the leader')), apiVersions(2)])
      expect((await right.response(ApiKey.ApiVersions, 3)).correlationId).toBe(2)
      expect(right.isClosed).toBe(false)
      await waitFor('the acks=0 record to be stored', async () => (await latestOffset(leader.clientAddress, topic, 0)).offset === 21 ? true : undefined, { timeoutMs: 10_000, intervalMs: 100 })
    } finally {
      right.close()
    }
  }, 120_000)
})

/**
 * @platformatic/kafka (the 1.33 line, which runs on Node 20) against the Kafka listeners (issue 11, test 3): a client
 * that speaks the flexible versions only (ApiVersions v3, Metadata v9, Produce v7+, Fetch v12, the group APIs at their
 * flexible versions). It produces keyed records with headers, kcat (librdkafka) reads the same records back with the
 * same offsets, keys, values and headers, and a platformatic consumer group reads them all from the beginning.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

const count = 60

describe('@platformatic/kafka over flexible versions', () => {
  test('produces keyed records with headers that kcat and a platformatic consumer group read back', async () => {
    const topic = 'platformatic'
    await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, topic, 3)
    const bootstrapBrokers = cluster.kafkaBootstrapServers.split(',')

    const producer = new Producer({ clientId: 'platformatic-producer', bootstrapBrokers, serializers: stringSerializers, acks: -1 })
    const sent = Array.from({ length: count }, (_, i) => ({ key: `key-${i % 7}`, value: `value-${i}`, header: `h-${i}` }))
    try {
      for (const record of sent) {
        await producer.send({ messages: [{ topic, key: record.key, value: record.value, headers: { origin: record.header } }] })
      }
    } finally {
      await producer.close()
    }

    // kcat reads what platformatic wrote: every record once, its headers intact.
    const { stdout } = await promisify(execFile)('kcat', ['-b', bootstrapBrokers[0] as string, '-C', '-t', topic, '-o', 'beginning', '-e', '-J'])
    const read = stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; payload: string; headers?: string[]; partition: number; offset: number })
    expect(read.map((item) => item.payload).sort()).toEqual(sent.map((item) => item.value).sort())
    for (const item of read) {
      const original = sent.find((record) => record.value === item.payload)
      expect(item.key).toBe(original?.key)
      expect(item.headers).toEqual(['origin', original?.header])
    }
    // One key, one partition (the default partitioner is murmur2 in both clients).
    const partitionsByKey = new Map<string, Set<number>>()
    for (const item of read) partitionsByKey.set(item.key, (partitionsByKey.get(item.key) ?? new Set()).add(item.partition))
    expect([...partitionsByKey.values()].every((partitions) => partitions.size === 1)).toBe(true)

    // A platformatic consumer group reads everything from the beginning.
    const consumer = new Consumer({ groupId: `platformatic-${process.pid}`, clientId: 'platformatic-consumer', bootstrapBrokers, deserializers: stringDeserializers })
    const consumed: string[] = []
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true, maxWaitTime: 500, sessionTimeout: 10_000, heartbeatInterval: 1_000 })
      stream.on('data', (message: { value: string }) => { consumed.push(message.value) })
      await waitFor('the consumer group to read every record', () => consumed.length >= count ? true : undefined, { timeoutMs: 60_000, intervalMs: 50 })
      await stream.close()
    } finally {
      await consumer.close(true)
    }
    expect([...consumed].sort()).toEqual(sent.map((item) => item.value).sort())
  }, 180_000)
})

/**
 * Kafka's own clients against the Kafka listener, answering from a MetadataImage built here (3 brokers, a topic of 2
 * partitions): KafkaJS's admin (ApiVersions v2, Metadata v6) and, when installed, kcat (librdkafka: ApiVersions v3,
 * then its own Metadata version). What they print must be the image, as seen through the KAFKA listener.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type NodeId, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, defaultTopicConfig } from '@gregor/metadata'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { KafkaBrokerApi } from './kafka-broker-api.js'
import { kafkaHandlers } from './kafka-handlers.js'
import { defaultKafkaListenerConfig } from './kafka-listener-config.js'
import { KafkaServer } from './kafka-server.js'
import { MetadataImageApi } from './metadata-image-api.js'

const run = promisify(execFile)
const CLUSTER_ID = 'kafka-listener-test'

/** Brokers 1-3, each with a KAFKA listener on its port and a CLIENT listener elsewhere; topic `orders` of 2 partitions. */
function clusterImage (ports: readonly number[]): MetadataImage {
  const image = new MetadataImage()
  const records: MetadataRecord[] = []
  for (const id of [1, 2, 3]) {
    const brokerId = nodeId(id)
    const incarnationId = `incarnation-${id}`
    records.push({
      type: 'RegisterBroker', brokerId, incarnationId, rack: `rack-${id}`,
      listeners: [{ name: 'CLIENT', host: `broker-${id}`, port: 9092 }, { name: 'KAFKA', host: '127.0.0.1', port: ports[id - 1] as number }],
    }, { type: 'UnfenceBroker', brokerId, incarnationId })
  }
  image.applyBatch(records, raftIndex(1))
  const ids = (...list: number[]): NodeId[] => list.map(nodeId)
  image.applyBatch([
    { type: 'Topic', name: 'orders', topicId: 'orders-id', partitionCount: 2, config: defaultTopicConfig },
    { type: 'Partition', topicId: 'orders-id', partition: 0, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), leader: nodeId(1), leaderEpoch: leaderEpoch(4), partitionEpoch: 4 },
    { type: 'Partition', topicId: 'orders-id', partition: 1, replicas: ids(2, 3, 1), isr: ids(2, 3), leader: nodeId(2), leaderEpoch: leaderEpoch(7), partitionEpoch: 7 },
  ], raftIndex(2))
  return image
}

// One KAFKA listener per broker, all answering from the same image, as the three brokers of a cluster would.
const servers: KafkaServer[] = []
let ports: number[] = []
let image: MetadataImage

beforeAll(async () => {
  const api = new MetadataImageApi({
    listenerName: 'KAFKA', clusterId: CLUSTER_ID, image: () => image, quorumLeaderId: () => 2,
    autoCreateTopicsEnable: false, createTopic: async () => {}, logger: silentLogger,
  })
  for (let i = 0; i < 3; i++) {
    servers.push(await KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, handlers: kafkaHandlers({ metadata: api } as unknown as KafkaBrokerApi), logger: silentLogger,
    }))
  }
  ports = servers.map((server) => server.port)
  image = clusterImage(ports)
})

afterAll(async () => {
  await Promise.all(servers.map(async (server) => { await server.close() }))
})

describe('KafkaJS', () => {
  test('admin: describeCluster and fetchTopicMetadata return the image through the KAFKA listener', async () => {
    const kafka = new Kafka({ clientId: 'gregor-test', brokers: [`127.0.0.1:${ports[0]}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    const admin = kafka.admin()
    await admin.connect()
    try {
      const cluster = await admin.describeCluster()
      expect(cluster.clusterId).toBe(CLUSTER_ID)
      expect(cluster.controller).toBe(2)
      expect([...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId)).toEqual([1, 2, 3].map((id) => ({ nodeId: id, host: '127.0.0.1', port: ports[id - 1] })))
      const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] })
      expect(topics).toHaveLength(1)
      expect(topics[0]?.name).toBe('orders')
      expect([...(topics[0]?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId)).toEqual([
        { partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] },
        { partitionErrorCode: 0, partitionId: 1, leader: 2, replicas: [2, 3, 1], isr: [2, 3], offlineReplicas: [] },
      ])
    } finally {
      await admin.disconnect()
    }
  })
})

describe('kcat', () => {
  let kcat: string | undefined
  beforeAll(async () => {
    kcat = await run('which', ['kcat']).then(({ stdout }) => stdout.trim() || undefined, () => undefined)
  })

  // CI installs Debian's kcat (scripts/install-kcat.sh, run by .ci/run); without it this test fails, as the chromium
  // and docker tests do without theirs: a Kafka listener untested by a real Kafka client is not tested.
  test('kcat -L -J lists the 3 brokers and the topic with leaders, replicas and ISRs', async () => {
    if (kcat === undefined) throw new Error('kcat is not installed: run scripts/install-kcat.sh')
    const { stdout } = await run(kcat, ['-b', `127.0.0.1:${ports[1]}`, '-L', '-J', '-m', '10'], { timeout: 30_000 })
    const listing = JSON.parse(stdout) as {
      controllerid: number
      brokers: { id: number, name: string }[]
      topics: { topic: string, partitions: { partition: number, leader: number, replicas: { id: number }[], isrs: { id: number }[] }[] }[]
    }
    expect(listing.controllerid).toBe(2)
    expect(listing.brokers.map((broker) => [broker.id, broker.name]).sort()).toEqual([1, 2, 3].map((id) => [id, `127.0.0.1:${ports[id - 1]}`]))
    expect(listing.topics.map((topic) => topic.topic)).toEqual(['orders'])
    const partitions = [...(listing.topics[0]?.partitions ?? [])].sort((a, b) => a.partition - b.partition)
    expect(partitions.map((partition) => ({
      partition: partition.partition, leader: partition.leader,
      replicas: partition.replicas.map((replica) => replica.id), isr: partition.isrs.map((replica) => replica.id),
    }))).toEqual([
      { partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] },
      { partition: 1, leader: 2, replicas: [2, 3, 1], isr: [2, 3] },
    ])
  })
})

/**
 * Kafka's admin APIs on three real broker processes (issue 11): KafkaJS's admin client creates a topic with RF 3,
 * lists, describes and grows it, reads its configs and the cluster, and deletes it; kcat (librdkafka) sees the new
 * partitions after the increase; DescribeQuorum, DescribeLogDirs and ElectLeaders, which KafkaJS lacks, go as raw
 * requests encoded by @gregor/kafka-protocol. Every request enters through a Kafka listener of a broker that is not
 * necessarily the controller: topic changes are forwarded to the active controller. The native side of "more
 * partitions" too: `gregor topics alter` over gRPC, which Kafka clients then see.
 */
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { ErrorCode } from '@gregor/common'
import {
  type ApiKey, KafkaReader, type RequestBodies, type ResponseBodies, decodeResponse, decodeResponseHeader, encodeRequest,
} from '@gregor/kafka-protocol'
import { describePartitions, runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

const run = promisify(execFile)

let cluster: BrokerProcesses

useCluster((started) => { cluster = started })

/** One Kafka request on a fresh connection to `address` (`host:port`), its answer decoded. */
async function kafkaCall<K extends ApiKey> (address: string, apiKey: K, apiVersion: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> {
  const [host = '127.0.0.1', port = '0'] = address.split(':')
  const frame = Buffer.concat(encodeRequest({ apiKey, apiVersion, correlationId: 7, clientId: 'kafka-admin-test' }, body))
  const answer = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host, port: Number(port) }, () => socket.write(frame))
    let input = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk])
      if (input.length >= 4 && input.length >= 4 + input.readInt32BE(0)) {
        socket.destroy()
        resolve(input.subarray(4, 4 + input.readInt32BE(0)))
      }
    })
    socket.on('error', reject)
    socket.setTimeout(30_000, () => { socket.destroy(); reject(new Error(`no answer to api ${apiKey} from ${address}`)) })
  })
  const reader = new KafkaReader(answer, 0, undefined, ErrorCode.CORRUPT_MESSAGE)
  expect(decodeResponseHeader(reader, apiKey, apiVersion)).toBe(7)
  return decodeResponse(apiKey, apiVersion, reader)
}

function kafkaJs (): Kafka {
  return new Kafka({
    clientId: 'kafka-admin-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

describe('Kafka admin APIs on a three-broker cluster', () => {
  test('KafkaJS creates a topic with RF 3, describes its configs and the cluster, grows it (kcat sees it), deletes it', async () => {
    const admin = kafkaJs().admin()
    await admin.connect()
    try {
      const topic = 'kafka-admin-orders'
      expect(await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
        waitForLeaders: true,
      })).toBe(true)
      // KafkaJS answers false, not an error, for a topic that exists.
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] })).toBe(false)
      const refused = await admin.createTopics({ topics: [{ topic: 'kafka-admin-wide', numPartitions: 1, replicationFactor: 4 }] })
        .then(() => undefined, (error: { errors?: Array<{ type?: string }> }) => error.errors?.map((item) => item.type))
      expect(refused).toEqual(['INVALID_REPLICATION_FACTOR'])
      expect(await admin.listTopics()).toContain(topic)
      await waitForIsr(cluster, topic, 3)
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
      expect(metadata.topics[0]?.partitions.map((p) => [p.partitionId, p.replicas.length, p.isr.length]).sort()).toEqual([[0, 3, 3], [1, 3, 3]])

      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
      const entries = new Map(configs.resources[0]?.configEntries.map((entry) => [entry.configName, entry]))
      expect(entries.get('retention.ms')).toMatchObject({ configValue: '60000', configSource: 1, isDefault: false })
      expect(entries.get('cleanup.policy')).toMatchObject({ configValue: 'delete', configSource: 5 })
      expect(entries.get('min.insync.replicas')?.configValue).toBe('2')
      const only = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['segment.bytes'] }], includeSynonyms: false })
      expect(only.resources[0]?.configEntries.map((entry) => entry.configName)).toEqual(['segment.bytes'])

      const described = await admin.describeCluster()
      expect(described.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3])
      expect(described.brokers.map((broker) => broker.nodeId)).toContain(described.controller)
      expect(described.clusterId).toBe(cluster.clusterId)

      await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] })
      const shrink = await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
        .then(() => undefined, (error: { type?: string }) => error.type)
      expect(shrink).toBe('INVALID_PARTITIONS')
      // The new partitions: RF 3, led by their preferred replica, spread over the brokers as at creation.
      await waitForIsr(cluster, topic, 3)
      const grown = await describePartitions(cluster, topic)
      expect(grown.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4])
      for (const partition of grown) expect([partition.replicas.length, partition.leader]).toEqual([3, partition.replicas[0]])
      expect(new Set(grown.map((p) => p.leader)).size).toBe(3)
      // librdkafka's metadata view through another broker's Kafka listener.
      const kcatBroker = cluster.kafkaBootstrapServers.split(',')[2] as string
      await waitFor('kcat -L to list five partitions', async () => {
        const { stdout } = await run('kcat', ['-b', kcatBroker, '-L', '-t', topic, '-J'])
        const listed = (JSON.parse(stdout) as { topics: Array<{ topic: string; partitions: Array<{ partition: number; replicas: unknown[] }> }> })
          .topics.find((item) => item.topic === topic)
        return listed?.partitions.length === 5 && listed.partitions.every((p) => p.replicas.length === 3) ? true : undefined
      }, { timeoutMs: 20_000, intervalMs: 200 })

      await admin.deleteTopics({ topics: [topic] })
      await waitFor('the topic to be gone', async () => (await admin.listTopics()).includes(topic) ? undefined : true, { timeoutMs: 20_000, intervalMs: 100 })
    } finally {
      await admin.disconnect()
    }
  })

  test('raw requests: CreateTopics v7 defaults and validate-only, DeleteTopics v6 by id, CreatePartitions, DescribeCluster, DescribeQuorum, DescribeLogDirs, ElectLeaders', async () => {
    const [first = '', second = ''] = cluster.kafkaBootstrapServers.split(',')
    const created = await kafkaCall(first, 19, 7, {
      timeoutMs: 30_000, validateOnly: false,
      topics: [
        { name: 'kafka-admin-raw', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
        { name: 'kafka-admin-compact', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    })
    const raw = created.topics[0]
    expect(raw).toMatchObject({ name: 'kafka-admin-raw', errorCode: 0, numPartitions: 1, replicationFactor: 3 })
    expect(raw?.configs?.find((entry) => entry.name === 'min.insync.replicas')).toMatchObject({ value: '2', configSource: 5 })
    expect(created.topics[1]?.configs?.find((entry) => entry.name === 'cleanup.policy')).toMatchObject({ value: 'compact', configSource: 1 })

    const dry = await kafkaCall(second, 19, 7, {
      timeoutMs: 30_000, validateOnly: true,
      topics: [{ name: 'kafka-admin-never', numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }],
    })
    expect(dry.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 2 })
    const again = await kafkaCall(second, 19, 7, {
      timeoutMs: 30_000, validateOnly: false,
      topics: [
        { name: 'kafka-admin-raw', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'bad name!', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'kafka-admin-zero', numPartitions: 0, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'kafka-admin-cfg', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: 'retention.ms', value: 'soon' }] },
      ],
    })
    // TOPIC_ALREADY_EXISTS 36, INVALID_TOPIC_EXCEPTION 17, INVALID_PARTITIONS 37, INVALID_CONFIG 40.
    expect(again.topics.map((topic) => topic.errorCode)).toEqual([36, 17, 37, 40])

    await waitForIsr(cluster, 'kafka-admin-raw', 3)
    const grown = await kafkaCall(second, 37, 3, { timeoutMs: 30_000, validateOnly: false, topics: [{ name: 'kafka-admin-raw', count: 2, assignments: null }] })
    expect(grown.results).toEqual([{ name: 'kafka-admin-raw', errorCode: 0, errorMessage: null }])
    const same = await kafkaCall(second, 37, 3, { timeoutMs: 30_000, validateOnly: false, topics: [{ name: 'kafka-admin-raw', count: 2, assignments: null }] })
    expect(same.results[0]?.errorCode).toBe(37) // INVALID_PARTITIONS: the count only grows

    // DescribeCluster (what Kafka's Java AdminClient asks): the three brokers on this listener, the controller among them.
    const described = await kafkaCall(second, 60, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 })
    expect(described).toMatchObject({ errorCode: 0, clusterId: cluster.clusterId, endpointType: 1 })
    expect(described.brokers.map((broker) => `${broker.host}:${broker.port}`).sort()).toEqual(cluster.kafkaBootstrapServers.split(',').sort())
    expect([1, 2, 3]).toContain(described.controllerId)
    const controllers = await kafkaCall(second, 60, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 })
    expect(controllers.errorCode).toBe(35) // UNSUPPORTED_VERSION: controller endpoints are not served

    // DescribeQuorum: the leader every broker agrees on, and the three voters.
    const quorum = await kafkaCall(first, 55, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] })
    const status = quorum.topics[0]?.partitions[0]
    expect(status?.errorCode).toBe(0)
    expect([1, 2, 3]).toContain(status?.leaderId)
    expect(status?.highWatermark).toBeGreaterThan(0)
    expect(status?.currentVoters.map((voter) => voter.replicaId).sort()).toEqual([1, 2, 3])
    // Asked of the raft leader, every voter's progress is known (a follower knows only its own log end).
    const leaderAddress = cluster.brokers.find((broker) => broker.nodeId === status?.leaderId)?.kafkaAddress ?? ''
    await waitFor('the quorum leader to report every voter\'s matched index', async () => {
      const fromLeader = (await kafkaCall(leaderAddress, 55, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] })).topics[0]?.partitions[0]
      const behind = fromLeader?.currentVoters.filter((voter) => voter.logEndOffset <= 0) ?? [undefined]
      return behind.length === 0 ? true : undefined
    })

    // DescribeLogDirs: the broker's directory holds a replica of each partition (RF 3 on three brokers).
    // (The new partition's replica opens once this broker has applied the change: wait for it.)
    await waitFor('DescribeLogDirs to list both replicas', async () => {
      const dirs = await kafkaCall(first, 35, 4, { topics: [{ topic: 'kafka-admin-raw', partitions: [0, 1] }] })
      expect(dirs.results).toHaveLength(1)
      expect(dirs.results[0]?.errorCode).toBe(0)
      const listed = dirs.results[0]?.topics[0]?.partitions.map((p) => p.partitionIndex).sort()
      if (listed?.length !== 2) return undefined
      expect(listed).toEqual([0, 1])
      return true
    }, { timeoutMs: 20_000, intervalMs: 100 })

    // ElectLeaders: every partition is led by its preferred replica already (84 ELECTION_NOT_NEEDED); unknown: 3.
    const election = await kafkaCall(second, 43, 2, {
      electionType: 0, timeoutMs: 30_000, topicPartitions: [{ topic: 'kafka-admin-raw', partitions: [0] }, { topic: 'kafka-admin-missing', partitions: [0] }],
    })
    expect(election.errorCode).toBe(0)
    expect(election.replicaElectionResults.map((result) => [result.topic, result.partitionResult.map((p) => p.errorCode)]))
      .toEqual(expect.arrayContaining([['kafka-admin-raw', [84]], ['kafka-admin-missing', [3]]]))

    // DeleteTopics v6 by topic id.
    const topicId = raw?.topicId as string
    const deleted = await kafkaCall(second, 20, 6, { timeoutMs: 30_000, topicNames: [], topics: [{ name: null, topicId }] })
    expect(deleted.responses).toEqual([{ name: 'kafka-admin-raw', topicId, errorCode: 0, errorMessage: null }])
    const unknown = await kafkaCall(second, 20, 6, { timeoutMs: 30_000, topicNames: [], topics: [{ name: null, topicId }] })
    expect(unknown.responses[0]?.errorCode).toBe(100) // UNKNOWN_TOPIC_ID
  })

  test('gregor topics alter (gRPC) grows a topic (validate-only first), refuses a decrease, and kcat sees the new count', async () => {
    const created = await runGregor(cluster, ['topics', 'create', '--topic', 'kafka-admin-alter', '--partitions', '1', '--replication-factor', '3'])
    expect(created.code).toBe(0)
    const dry = await runGregor(cluster, ['topics', 'alter', '--topic', 'kafka-admin-alter', '--partitions', '3', '--validate-only'])
    expect([dry.code, dry.stdout.trim()]).toEqual([0, 'Topic kafka-admin-alter can have 3 partitions.'])
    const altered = await runGregor(cluster, ['topics', 'alter', '--topic', 'kafka-admin-alter', '--partitions', '3'])
    expect([altered.code, altered.stdout.trim()]).toEqual([0, 'Topic kafka-admin-alter now has 3 partitions.'])
    const shrink = await runGregor(cluster, ['topics', 'alter', '--topic', 'kafka-admin-alter', '--partitions', '2'])
    expect(shrink.code).toBe(1)
    expect(shrink.stderr).toContain('has 3 partitions; the count can only grow')
    const usage = await runGregor(cluster, ['topics', 'alter', '--topic', 'kafka-admin-alter'])
    expect([usage.code, usage.stderr.includes('--partitions is required')]).toEqual([2, true])
    const kcatBroker = cluster.kafkaBootstrapServers.split(',')[0] as string
    await waitFor('kcat -L to list three partitions', async () => {
      const { stdout } = await run('kcat', ['-b', kcatBroker, '-L', '-t', 'kafka-admin-alter', '-J'])
      const listed = (JSON.parse(stdout) as { topics: Array<{ topic: string; partitions: unknown[] }> }).topics.find((item) => item.topic === 'kafka-admin-alter')
      return listed?.partitions.length === 3 ? true : undefined
    }, { timeoutMs: 20_000, intervalMs: 200 })
  })
})

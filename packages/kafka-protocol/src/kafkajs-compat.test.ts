/**
 * Compatibility against code nobody here wrote: KafkaJS 2.2.4's own request encoders and response decoders
 * (CommonJS internals under kafkajs/src/protocol/requests, loaded with createRequire), at the versions KafkaJS picks
 * against our SUPPORTED_VERSIONS (the lower of its maximum and ours).
 *
 * Requests: KafkaJS encodes, we decode, the named fields come out right and re-encoding gives KafkaJS's bytes exactly.
 * Responses: we encode, KafkaJS decodes what a client would read.
 */
import { createRequire } from 'node:module'
import { describe, expect, test } from 'vitest'
import { type ApiKey, type RequestBodies, type ResponseBodies, SUPPORTED_VERSIONS } from './generated/apis.js'
import { decodeRequest, encodeRequest, encodeResponse } from './kafka-codec.js'
import { KafkaReader } from './kafka-reader.js'

const require = createRequire(import.meta.url)
const requests = 'kafkajs/src/protocol/requests'

interface KafkaJsRequest { apiKey: number, apiVersion: number, encode: () => Promise<{ buffer: Buffer }> }
type KafkaJsRequestFactory = (args: Record<string, unknown>) => KafkaJsRequest
interface KafkaJsResponse { decode: (payload: Buffer) => Promise<Record<string, unknown>> }

async function kafkaJsRequest (path: string, args: Record<string, unknown>): Promise<{ apiKey: ApiKey, version: number, body: Buffer }> {
  const request = (require(`${requests}/${path}/request`) as KafkaJsRequestFactory)(args)
  return { apiKey: request.apiKey as ApiKey, version: request.apiVersion, body: (await request.encode()).buffer }
}

/** Decodes KafkaJS's body with ours, checks that re-encoding reproduces it, and returns our decoded body. */
function decodeAndReencode<K extends ApiKey> (apiKey: K, version: number, body: Buffer): RequestBodies[K] {
  const reader = new KafkaReader(body)
  const decoded = decodeRequest(apiKey, version, reader)
  expect(reader.remaining).toBe(0)
  const frame = Buffer.concat(encodeRequest({ apiKey, apiVersion: version, correlationId: 1, clientId: 'x' }, decoded))
  // size(4) api key(2) version(2) correlation id(4) client id(2 + 1); these are all non-flexible versions.
  expect(frame.subarray(15).toString('hex')).toBe(body.toString('hex'))
  return decoded
}

/** The body of our response frame, after size and correlation id (KafkaJS reads the header itself). */
async function kafkaJsDecode<K extends ApiKey> (path: string, apiKey: K, version: number, body: ResponseBodies[K]): Promise<Record<string, unknown>> {
  const frame = Buffer.concat(encodeResponse({ apiKey, apiVersion: version, correlationId: 1 }, body))
  return await (require(`${requests}/${path}/response`) as KafkaJsResponse).decode(frame.subarray(8))
}

describe('KafkaJS requests decode', () => {
  test('the versions KafkaJS would pick are ones we support', () => {
    const kafkaJsMax: [ApiKey, number][] = [[18, 2], [3, 6], [0, 7], [1, 11], [2, 3], [10, 2], [11, 5], [14, 3], [12, 3], [13, 3],
      [8, 5], [9, 4], [19, 3], [20, 1], [32, 2], [15, 2], [16, 2], [37, 1], [21, 1], [22, 1], [17, 1], [36, 1], [42, 1]]
    for (const [key, max] of kafkaJsMax) {
      const ours = SUPPORTED_VERSIONS[key]
      expect(Math.min(max, ours.maxVersion) >= ours.minVersion, `api ${key}`).toBe(true)
    }
  })

  test('Produce v7 carries KafkaJS\'s record batch through untouched', async () => {
    const { apiKey, version, body } = await kafkaJsRequest('produce/v7', {
      acks: -1, timeout: 30000, transactionalId: null,
      topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: [{ key: 'k', value: 'v', timestamp: 1_700_000_000_000 }] }] }],
    })
    const decoded = decodeAndReencode(0, version, body)
    expect([apiKey, version, decoded.acks, decoded.timeoutMs, decoded.transactionalId]).toEqual([0, 7, -1, 30000, null])
    const partition = decoded.topicData[0]!.partitionData[0]!
    expect([decoded.topicData[0]!.name, partition.index]).toEqual(['orders', 2])
    // RecordBatch v2: magic byte at offset 16, batch length at 8 counts the bytes after it.
    const records = partition.records!
    expect(records[16]).toBe(2)
    expect(records.readInt32BE(8)).toBe(records.length - 12)
  })

  test('Fetch v11', async () => {
    const { apiKey, version, body } = await kafkaJsRequest('fetch/v11', {
      replicaId: -1, maxWaitTime: 5000, minBytes: 1, maxBytes: 10485760, rackId: 'rack-a', isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: '42', maxBytes: 1048576, currentLeaderEpoch: 3 }] }],
    })
    expect([apiKey, version]).toEqual([1, 11])
    const decoded = decodeAndReencode(1, version, body)
    expect(decoded).toMatchObject({ replicaId: -1, maxWaitMs: 5000, minBytes: 1, maxBytes: 10485760, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: 'rack-a' })
    expect(decoded.topics[0]!.partitions[0]).toEqual({
      partition: 0, currentLeaderEpoch: 3, fetchOffset: 42, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1048576,
    })
  })

  test('Metadata v6, ListOffsets v3, FindCoordinator v2', async () => {
    const metadata = await kafkaJsRequest('metadata/v6', { topics: ['a', 'b'], allowAutoTopicCreation: false })
    expect(decodeAndReencode(3, metadata.version, metadata.body)).toMatchObject({
      topics: [{ name: 'a' }, { name: 'b' }], allowAutoTopicCreation: false,
    })
    const listOffsets = await kafkaJsRequest('listOffsets/v3', {
      replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -2 }] }],
    })
    const offsets = decodeAndReencode(2, listOffsets.version, listOffsets.body)
    expect(offsets.isolationLevel).toBe(1)
    expect(offsets.topics[0]!.partitions[0]).toMatchObject({ partitionIndex: 1, timestamp: -2 })
    const coordinator = await kafkaJsRequest('findCoordinator/v2', { coordinatorKey: 'group-1', coordinatorType: 0 })
    expect(decodeAndReencode(10, coordinator.version, coordinator.body)).toMatchObject({ key: 'group-1', keyType: 0 })
  })

  test('the classic group protocol: JoinGroup v5, SyncGroup v3, Heartbeat v3, LeaveGroup v3', async () => {
    const join = await kafkaJsRequest('joinGroup/v5', {
      groupId: 'g', sessionTimeout: 30000, rebalanceTimeout: 60000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    })
    const joined = decodeAndReencode(11, join.version, join.body)
    expect(joined).toMatchObject({ groupId: 'g', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: '', groupInstanceId: null, protocolType: 'consumer' })
    expect(joined.protocols[0]!.name).toBe('RoundRobinAssigner')
    expect([...joined.protocols[0]!.metadata]).toEqual([0, 1, 2])

    const sync = await kafkaJsRequest('syncGroup/v3', {
      groupId: 'g', generationId: 4, memberId: 'm-1', groupInstanceId: null, groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from([9]) }],
    })
    const synced = decodeAndReencode(14, sync.version, sync.body)
    expect(synced).toMatchObject({ groupId: 'g', generationId: 4, memberId: 'm-1' })
    expect(synced.assignments[0]!.memberId).toBe('m-1')

    const heartbeat = await kafkaJsRequest('heartbeat/v3', { groupId: 'g', groupGenerationId: 4, memberId: 'm-1', groupInstanceId: null })
    expect(decodeAndReencode(12, heartbeat.version, heartbeat.body)).toEqual({ groupId: 'g', generationId: 4, memberId: 'm-1', groupInstanceId: null })

    const leave = await kafkaJsRequest('leaveGroup/v3', { groupId: 'g', members: [{ memberId: 'm-1' }] })
    expect(decodeAndReencode(13, leave.version, leave.body)).toMatchObject({ groupId: 'g', members: [{ memberId: 'm-1', groupInstanceId: null }] })
  })

  test('offsets: OffsetCommit v5, OffsetFetch v4', async () => {
    const commit = await kafkaJsRequest('offsetCommit/v5', {
      groupId: 'g', groupGenerationId: 4, memberId: 'm-1', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '120', metadata: null }] }],
    })
    const committed = decodeAndReencode(8, commit.version, commit.body)
    expect(committed).toMatchObject({ groupId: 'g', generationIdOrMemberEpoch: 4, memberId: 'm-1' })
    expect(committed.topics[0]!.partitions[0]).toMatchObject({ partitionIndex: 0, committedOffset: 120, committedMetadata: null })
    const fetch = await kafkaJsRequest('offsetFetch/v4', { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }] })
    expect(decodeAndReencode(9, fetch.version, fetch.body)).toMatchObject({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] })
  })

  test('admin: CreateTopics v3, DeleteTopics v1, CreatePartitions v1, DeleteRecords v1, DescribeConfigs v2, DescribeGroups v2', async () => {
    const create = await kafkaJsRequest('createTopics/v3', {
      topics: [{ topic: 't', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      validateOnly: false, timeout: 5000,
    })
    const created = decodeAndReencode(19, create.version, create.body)
    expect(created.topics[0]).toMatchObject({ name: 't', numPartitions: 3, replicationFactor: 3, configs: [{ name: 'cleanup.policy', value: 'compact' }] })
    const remove = await kafkaJsRequest('deleteTopics/v1', { topics: ['t'], timeout: 5000 })
    expect(decodeAndReencode(20, remove.version, remove.body)).toMatchObject({ topicNames: ['t'], timeoutMs: 5000 })
    const partitions = await kafkaJsRequest('createPartitions/v1', { topicPartitions: [{ topic: 't', count: 6 }], validateOnly: false, timeout: 5000 })
    expect(decodeAndReencode(37, partitions.version, partitions.body)).toMatchObject({ topics: [{ name: 't', count: 6, assignments: null }] })
    const records = await kafkaJsRequest('deleteRecords/v1', { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '10' }] }], timeout: 5000 })
    expect(decodeAndReencode(21, records.version, records.body).topics[0]!.partitions[0]).toEqual({ partitionIndex: 0, offset: 10 })
    const configs = await kafkaJsRequest('describeConfigs/v2', { resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }], includeSynonyms: true })
    expect(decodeAndReencode(32, configs.version, configs.body)).toMatchObject({
      resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }], includeSynonyms: true,
    })
    const groups = await kafkaJsRequest('describeGroups/v2', { groupIds: ['g1', 'g2'] })
    expect(decodeAndReencode(15, groups.version, groups.body)).toMatchObject({ groups: ['g1', 'g2'] })
    const deleteGroups = await kafkaJsRequest('deleteGroups/v1', ['g1', 'g2'])
    expect([deleteGroups.apiKey, deleteGroups.version]).toEqual([42, 1])
    expect(decodeAndReencode(42, deleteGroups.version, deleteGroups.body)).toEqual({ groupsNames: ['g1', 'g2'] })
  })

  test('InitProducerId v1', async () => {
    const init = await kafkaJsRequest('initProducerId/v1', { transactionalId: null, transactionTimeout: 60000 })
    expect(decodeAndReencode(22, init.version, init.body)).toMatchObject({ transactionalId: null, transactionTimeoutMs: 60000 })
  })
})

describe('our responses decode in KafkaJS', () => {
  test('ApiVersions v2', async () => {
    const decoded = await kafkaJsDecode('apiVersions/v2', 18, 2, {
      errorCode: 0, throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
      apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 7 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }],
    })
    expect(decoded).toMatchObject({ errorCode: 0, apiVersions: [{ apiKey: 0, minVersion: 0, maxVersion: 7 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }] })
  })

  test('Metadata v6', async () => {
    const decoded = await kafkaJsDecode('metadata/v6', 3, 6, {
      throttleTimeMs: 0, clusterId: 'c-1', controllerId: 2, clusterAuthorizedOperations: -2147483648,
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }, { nodeId: 2, host: 'localhost', port: 9093, rack: 'r' }],
      topics: [{
        errorCode: 0, name: 'orders', topicId: '00000000-0000-0000-0000-000000000000', isInternal: false, topicAuthorizedOperations: -2147483648,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1, 2], isrNodes: [1, 2], offlineReplicas: [] }],
      }],
    })
    expect(decoded).toMatchObject({
      clusterId: 'c-1', controllerId: 2,
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }, { nodeId: 2, host: 'localhost', port: 9093, rack: 'r' }],
      topicMetadata: [{ topicErrorCode: 0, topic: 'orders', isInternal: false, partitionMetadata: [{ partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1, 2], isr: [1, 2], offlineReplicas: [] }] }],
    })
  })

  test('Produce v7', async () => {
    const decoded = await kafkaJsDecode('produce/v7', 0, 7, {
      throttleTimeMs: 0,
      responses: [{
        name: 'orders',
        partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 1234, logAppendTimeMs: -1, logStartOffset: 0 }],
      }],
    })
    expect(decoded).toMatchObject({ topics: [{ topicName: 'orders', partitions: [{ partition: 2, errorCode: 0, baseOffset: '1234', logAppendTime: '-1', logStartOffset: '0' }] }] })
  })

  test('Fetch v11 with an empty record set', async () => {
    const decoded = await kafkaJsDecode('fetch/v11', 1, 11, {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{
        topic: 'orders', topicId: '00000000-0000-0000-0000-000000000000',
        partitions: [{
          partitionIndex: 0, errorCode: 0, highWatermark: 100, lastStableOffset: 100, logStartOffset: 0, divergingEpoch: null, currentLeader: null,
          snapshotId: null, abortedTransactions: [], preferredReadReplica: -1, records: Buffer.alloc(0),
        }],
      }],
    })
    expect(decoded).toMatchObject({ errorCode: 0, responses: [{ topicName: 'orders', partitions: [{ partition: 0, highWatermark: '100', lastStableOffset: '100', messages: [] }] }] })
  })

  test('FindCoordinator v2, JoinGroup v5, SyncGroup v3, OffsetFetch v4', async () => {
    expect(await kafkaJsDecode('findCoordinator/v2', 10, 2, {
      throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 3, host: 'broker-3', port: 9094, coordinators: [],
    })).toMatchObject({ errorCode: 0, coordinator: { nodeId: 3, host: 'broker-3', port: 9094 } })

    expect(await kafkaJsDecode('joinGroup/v5', 11, 5, {
      throttleTimeMs: 0, errorCode: 0, generationId: 4, protocolName: 'RoundRobinAssigner', leader: 'm-1',
      memberId: 'm-1', members: [{ memberId: 'm-1', groupInstanceId: null, metadata: Buffer.from([1]) }],
    })).toMatchObject({ errorCode: 0, generationId: 4, groupProtocol: 'RoundRobinAssigner', leaderId: 'm-1', memberId: 'm-1', members: [{ memberId: 'm-1' }] })

    const sync = await kafkaJsDecode('syncGroup/v3', 14, 3, {
      throttleTimeMs: 0, errorCode: 0, assignment: Buffer.from([7, 8]),
    })
    expect(sync.errorCode).toBe(0)
    expect([...(sync.memberAssignment as Buffer)]).toEqual([7, 8])

    expect(await kafkaJsDecode('offsetFetch/v4', 9, 4, {
      throttleTimeMs: 0, errorCode: 0, groups: [],
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 120, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }],
    })).toMatchObject({ errorCode: 0, responses: [{ topic: 't', partitions: [{ partition: 0, offset: '120', metadata: '', errorCode: 0 }] }] })
  })

  test('DeleteGroups v1', async () => {
    expect(await kafkaJsDecode('deleteGroups/v1', 42, 1, {
      throttleTimeMs: 0, results: [{ groupId: 'g1', errorCode: 0 }, { groupId: 'g2', errorCode: 68 }],
    })).toMatchObject({ results: [{ groupId: 'g1', errorCode: 0 }, { groupId: 'g2', errorCode: 68 }] })
  })
})

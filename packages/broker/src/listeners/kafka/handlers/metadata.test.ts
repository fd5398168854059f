/**
 * The Metadata handler over MetadataImageApi, without sockets: which brokers and topics an answer names, the error
 * codes Kafka gives, and auto-creation.
 */
import { ErrorCode, GregorError, type Logger, type NodeId, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import type { MetadataRequest } from '@gregor/kafka-protocol'
import { MetadataImage, type MetadataRecord, NO_LEADER, defaultTopicConfig } from '@gregor/metadata'
import { describe, expect, test, vi } from 'vitest'
import { MetadataImageApi, type MetadataImageApiOptions } from '../metadata-image-api.js'
import { handleMetadata } from './metadata.js'

const ids = (...list: number[]): NodeId[] => list.map(nodeId)
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const context = { apiVersion: 9, correlationId: 1, clientId: 'test', peer: '127.0.0.1:1' }

/**
 * Brokers 1-3 with a KAFKA listener (3 is fenced), broker 4 without one; `orders` (p0 on 1,2,3; p1 offline, its
 * leader gone, replicas 3 and 4) and the internal `__consumer_offsets`.
 */
function image (): MetadataImage {
  const result = new MetadataImage()
  const brokers: MetadataRecord[] = []
  for (const id of [1, 2, 3, 4]) {
    const brokerId = nodeId(id)
    const incarnationId = `incarnation-${id}`
    const listeners = id === 4 ? [{ name: 'CLIENT', host: 'broker-4', port: 9092 }] : [{ name: 'KAFKA', host: `kafka-${id}`, port: 9000 + id }]
    brokers.push({ type: 'RegisterBroker', brokerId, incarnationId, listeners, ...(id === 2 ? { rack: 'rack-b' } : {}) })
    if (id !== 3) brokers.push({ type: 'UnfenceBroker', brokerId, incarnationId })
  }
  result.applyBatch(brokers, raftIndex(1))
  result.applyBatch([
    { type: 'Topic', name: 'orders', topicId: 'orders-id', partitionCount: 2, config: defaultTopicConfig },
    { type: 'Partition', topicId: 'orders-id', partition: 0, replicas: ids(1, 2, 3), isr: ids(1, 2), leader: nodeId(1), leaderEpoch: leaderEpoch(3), partitionEpoch: 5 },
    { type: 'Partition', topicId: 'orders-id', partition: 1, replicas: ids(3, 4), isr: ids(3), leader: NO_LEADER, leaderEpoch: leaderEpoch(2), partitionEpoch: 2 },
    { type: 'Topic', name: '__consumer_offsets', topicId: 'offsets-id', partitionCount: 1, config: defaultTopicConfig },
    { type: 'Partition', topicId: 'offsets-id', partition: 0, replicas: ids(2), isr: ids(2), leader: nodeId(2), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 },
  ], raftIndex(2))
  return result
}

function api (options: Partial<MetadataImageApiOptions> = {}): MetadataImageApi {
  const fixed = image()
  return new MetadataImageApi({
    listenerName: 'KAFKA', clusterId: 'cluster-a', image: () => fixed, quorumLeaderId: () => 1,
    autoCreateTopicsEnable: true, createTopic: async () => {}, logger: silentLogger, ...options,
  })
}

function request (topics: string[] | null, allowAutoTopicCreation = false): MetadataRequest {
  return {
    topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })), allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  }
}

describe('Metadata', () => {
  test('v10+ names each topic\'s id (an id that is not a UUID is the zero UUID); v12 finds topics by id alone', () => {
    const withIds = image()
    const paymentsId = '3c2a7d1e-5b6f-4a8e-9c0d-1e2f3a4b5c6d'
    withIds.applyBatch([
      { type: 'Topic', name: 'payments', topicId: paymentsId, partitionCount: 1, config: defaultTopicConfig },
      { type: 'Partition', topicId: paymentsId, partition: 0, replicas: ids(1), isr: ids(1), leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 },
    ], raftIndex(3))
    const metadata = api({ image: () => withIds })
    const v10 = handleMetadata(metadata, request(['payments', 'orders']), { ...context, apiVersion: 10 })
    expect(v10.topics.map((topic) => [topic.name, topic.topicId])).toEqual([['payments', paymentsId], ['orders', ZERO_UUID]])
    const unknownId = '99999999-0000-4000-8000-000000000000'
    const byId = { ...request([]), topics: [{ topicId: paymentsId, name: null }, { topicId: unknownId, name: null }] }
    expect(handleMetadata(metadata, byId, { ...context, apiVersion: 12 }).topics.map((topic) => [topic.name, topic.topicId, topic.errorCode, topic.partitions.length]))
      .toEqual([['payments', paymentsId, 0, 1], [null, unknownId, 100, 0]])
    expect(handleMetadata(metadata, byId, { ...context, apiVersion: 11 }).topics.map((topic) => [topic.name, topic.errorCode])).toEqual([['', 42]])
  })

  test('brokers: unfenced ones with an address on this listener; cluster and controller ids', () => {
    const response = handleMetadata(api(), request([]), context)
    expect(response.brokers).toEqual([
      { nodeId: 1, host: 'kafka-1', port: 9001, rack: null },
      { nodeId: 2, host: 'kafka-2', port: 9002, rack: 'rack-b' },
    ])
    expect([response.clusterId, response.controllerId, response.topics]).toEqual(['cluster-a', 1, []])
    expect(handleMetadata(api({ quorumLeaderId: () => 0 }), request([]), context).controllerId).toBe(-1)
  })

  test('a null topic list is every topic: leader, epoch, replicas, ISR, offline replicas and errors per partition', () => {
    const { topics } = handleMetadata(api(), request(null), context)
    expect(topics.map((topic) => [topic.name, topic.errorCode, topic.isInternal])).toEqual([['__consumer_offsets', 0, true], ['orders', 0, false]])
    expect(topics[1]?.partitions).toEqual([
      { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 3, replicaNodes: [1, 2, 3], isrNodes: [1, 2], offlineReplicas: [3] },
      { errorCode: 5, partitionIndex: 1, leaderId: -1, leaderEpoch: 2, replicaNodes: [3, 4], isrNodes: [3], offlineReplicas: [3] },
    ])
  })

  test('unknown topics: UNKNOWN_TOPIC_OR_PARTITION, an illegal name INVALID_TOPIC_EXCEPTION; duplicates answered once', () => {
    const createTopic = vi.fn(async () => {})
    const { topics } = handleMetadata(api({ createTopic }), request(['nope', 'bad name!', 'nope']), context)
    expect(topics.map((topic) => [topic.name, topic.errorCode, topic.partitions])).toEqual([['nope', 3, []], ['bad name!', 17, []]])
    expect(createTopic).not.toHaveBeenCalled()
  })

  test('auto-creation when the request allows it and the broker enables it: LEADER_NOT_AVAILABLE, one creation at a time', async () => {
    let finish: () => void = () => {}
    const createTopic = vi.fn(async () => { await new Promise<void>((resolve) => { finish = resolve }) })
    const metadata = api({ createTopic })
    const first = handleMetadata(metadata, request(['fresh', '__internal', 'bad name!'], true), context)
    expect(first.topics.map((topic) => [topic.name, topic.errorCode])).toEqual([['fresh', 5], ['__internal', 3], ['bad name!', 17]])
    handleMetadata(metadata, request(['fresh'], true), context)
    expect(createTopic.mock.calls).toEqual([['fresh']])
    finish()
    await vi.waitFor(() => {
      handleMetadata(metadata, request(['fresh'], true), context)
      expect(createTopic).toHaveBeenCalledTimes(2)
    })
  })

  test('no auto-creation when the broker disables it or the request does not allow it', () => {
    const createTopic = vi.fn(async () => {})
    expect(handleMetadata(api({ createTopic, autoCreateTopicsEnable: false }), request(['fresh'], true), context).topics[0]?.errorCode).toBe(3)
    expect(handleMetadata(api({ createTopic }), request(['fresh'], false), context).topics[0]?.errorCode).toBe(3)
    expect(createTopic).not.toHaveBeenCalled()
  })

  test('a failed auto-creation is logged (an existing topic is not a failure), never thrown into the handler', async () => {
    const warnings: unknown[] = []
    const logger: Logger = { ...silentLogger, child: () => logger, warn: (fields) => { warnings.push(fields) } }
    const createTopic = vi.fn(async (name: string) => {
      throw new GregorError(name === 'racing' ? ErrorCode.TOPIC_ALREADY_EXISTS : ErrorCode.INVALID_REPLICATION_FACTOR, 'refused')
    })
    handleMetadata(api({ createTopic, logger }), request(['racing', 'too-big'], true), context)
    await vi.waitFor(() => { expect(warnings).toEqual([expect.objectContaining({ topic: 'too-big', code: 'INVALID_REPLICATION_FACTOR' })]) })
  })
})

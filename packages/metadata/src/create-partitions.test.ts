import { ErrorCode, type GregorError, nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type CreatePartitionsResult, type PartitionCountRequest, decideCreatePartitions } from './create-partitions.js'
import { decideCreateTopics } from './create-topics.js'
import { type MetadataConfig, defaultMetadataConfig } from './metadata-config.js'
import type { MetadataImage } from './metadata-image.js'
import { decodeMetadataRecords, encodeMetadataRecords } from './metadata-record-codec.js'
import { scenario } from './testing/metadata-scenario.js'

const config: MetadataConfig = { ...defaultMetadataConfig, partitionCountMax: 100 }

function grow (image: MetadataImage, topics: PartitionCountRequest[], extra: { validateOnly?: boolean; batchBytesMax?: number } = {}) {
  return decideCreatePartitions(image, { topics, placementStartIndex: 0, ...extra }, config)
}

const errorOf = (result: CreatePartitionsResult | undefined): GregorError => {
  if (result === undefined || !('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`)
  return result.error
}

/** Brokers 1-3 and topic `orders` with `partitions` partitions at RF `rf`. */
function withTopic (partitions: number, rf: number, name = 'orders') {
  const s = scenario().brokers(1, 2, 3)
  s.commit(decideCreateTopics(s.image, { topics: [{ name, partitionCount: partitions, replicationFactor: rf }], topicIds: ['t1'], placementStartIndex: 0 }, config).records)
  return s
}

describe('CreatePartitions', () => {
  test('AddPartitions then the new Partition records, placed as at creation, at the topic\'s replication factor', () => {
    const s = withTopic(2, 2)
    const decision = grow(s.image, [{ name: 'orders', partitionCount: 4 }])
    expect(decision.results).toEqual([{ name: 'orders', topicId: 't1', previousPartitionCount: 2, partitionCount: 4 }])
    expect(decision.batches).toEqual([[
      { type: 'AddPartitions', topicId: 't1', partitionCount: 4 },
      { type: 'Partition', topicId: 't1', partition: 2, replicas: [3, 1], isr: [3, 1], leader: 3, leaderEpoch: 0, partitionEpoch: 0 },
      { type: 'Partition', topicId: 't1', partition: 3, replicas: [1, 3], isr: [1, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
    ]])
    const before = s.image.partition('t1', 0)
    s.commit(decision.batches[0]!)
    expect(s.image.topic('orders')?.partitionCount).toBe(4)
    expect(s.image.partitionsOf('t1').map((p) => p.partition)).toEqual([0, 1, 2, 3])
    expect(s.image.partition('t1', 0)).toEqual(before)
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('the records survive the codec', () => {
    const s = withTopic(1, 3)
    const [batch] = grow(s.image, [{ name: 'orders', partitionCount: 3 }]).batches
    expect(decodeMetadataRecords(encodeMetadataRecords(batch!))).toEqual(batch)
  })

  test('validateOnly reports the outcome and proposes nothing', () => {
    const s = withTopic(1, 3)
    const decision = grow(s.image, [{ name: 'orders', partitionCount: 3 }], { validateOnly: true })
    expect(decision.results).toEqual([{ name: 'orders', topicId: 't1', previousPartitionCount: 1, partitionCount: 3 }])
    expect(decision.batches).toEqual([])
  })

  test('increase only: the same or a smaller count, an unknown, internal or repeated topic, too many partitions fail on their own', () => {
    const s = withTopic(3, 3)
    s.commit(decideCreateTopics(s.image, { topics: [{ name: '__consumer_offsets', partitionCount: 1, replicationFactor: 3 }, { name: 'other', partitionCount: 1, replicationFactor: 3 }], topicIds: ['t2', 't3'], placementStartIndex: 0 }, config).records)
    const decision = grow(s.image, [
      { name: 'orders', partitionCount: 3 }, { name: 'orders', partitionCount: 2 }, { name: 'missing', partitionCount: 5 },
      { name: '__consumer_offsets', partitionCount: 5 }, { name: 'other', partitionCount: 101 }, { name: 'other', partitionCount: 2 },
    ])
    expect(decision.results.map((result) => errorOf(result).code)).toEqual([
      ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
    ])
    expect(errorOf(grow(s.image, [{ name: 'orders', partitionCount: 2 }]).results[0])).toMatchObject({ code: ErrorCode.INVALID_PARTITIONS, message: expect.stringMatching(/has 3 partitions; the count can only grow/) })
    expect(errorOf(grow(s.image, [{ name: 'other', partitionCount: 101 }]).results[0]).code).toBe(ErrorCode.INVALID_PARTITIONS)
    expect(decision.batches).toEqual([])
  })

  test('a good topic grows while another in the same request fails', () => {
    const s = withTopic(1, 3)
    const decision = grow(s.image, [{ name: 'missing', partitionCount: 2 }, { name: 'orders', partitionCount: 2 }])
    expect(errorOf(decision.results[0]).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(decision.batches).toHaveLength(1)
  })

  test('fewer live brokers than the replication factor: INVALID_REPLICATION_FACTOR', () => {
    const s = withTopic(1, 3)
    s.commit([{ type: 'FenceBroker', brokerId: nodeId(3), incarnationId: s.image.broker(nodeId(3))!.incarnationId }])
    expect(errorOf(grow(s.image, [{ name: 'orders', partitionCount: 2 }]).results[0]).code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR)
  })

  test('more new partitions than one metadata entry holds: POLICY_VIOLATION', () => {
    const s = withTopic(1, 3)
    expect(errorOf(grow(s.image, [{ name: 'orders', partitionCount: 50 }], { batchBytesMax: 2000 }).results[0]).code).toBe(ErrorCode.POLICY_VIOLATION)
  })

  test('the image refuses an AddPartitions that does not grow the topic', () => {
    const s = withTopic(2, 3)
    expect(() => { s.commit([{ type: 'AddPartitions', topicId: 't1', partitionCount: 2 }]) }).toThrow(/not above its 2/)
  })
})

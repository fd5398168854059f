import { ErrorCode, type GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type CreateTopicRequest, type CreateTopicResult, type CreatedTopic, decideCreateTopics } from './create-topics.js'
import { type MetadataConfig, defaultMetadataConfig } from './metadata-config.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import type { MetadataImage } from './metadata-image.js'
import { defaultTopicConfig } from './topic-config.js'
import { scenario } from './testing/metadata-scenario.js'

const config: MetadataConfig = { ...defaultMetadataConfig, partitionCountMax: 100 }

function create (image: MetadataImage, topics: CreateTopicRequest[], extra: { validateOnly?: boolean; batchBytesMax?: number } = {}) {
  return decideCreateTopics(image, { topics, topicIds: topics.map((_, i) => `topic-id-${i}`), placementStartIndex: 0, ...extra }, config)
}

const errorOf = (result: CreateTopicResult | undefined): GregorError => {
  if (result === undefined || !('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`)
  return result.error
}
const createdOf = (result: CreateTopicResult | undefined): CreatedTopic => {
  if (result === undefined || 'error' in result) throw new Error(`expected success, got ${String(result && 'error' in result ? result.error.message : result)}`)
  return result
}

describe('CreateTopics: what a new topic looks like', () => {
  test('Topic then Partition records: every replica in the ISR, the first replica leads, epochs start at 0', () => {
    const s = scenario().brokers(1, 2, 3)
    const decision = create(s.image, [{ name: 'orders', partitionCount: 2, replicationFactor: 3 }])
    expect(decision.records).toEqual([
      { type: 'Topic', name: 'orders', topicId: 'topic-id-0', partitionCount: 2, config: { ...defaultTopicConfig } },
      { type: 'Partition', topicId: 'topic-id-0', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
      { type: 'Partition', topicId: 'topic-id-0', partition: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 },
    ])
    s.commit(decision.records)
    expect(s.image.describeTopic('orders')).toMatchObject({ partitionCount: 2, internal: false })
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('leaderships spread evenly over the live brokers', () => {
    const s = scenario().brokers(1, 2, 3, 4)
    s.commit(create(s.image, [{ name: 'wide', partitionCount: 10, replicationFactor: 2 }]).records)
    expect([...s.image.leaderCounts().values()].sort()).toEqual([2, 2, 3, 3])
  })

  test('defaults: RF 3 and one partition; minInsyncReplicas 2 by default, capped at an explicit RF below it', () => {
    const { image } = scenario().brokers(1, 2, 3)
    const [byDefault, single] = create(image, [{ name: 'a' }, { name: 'b', replicationFactor: 1 }]).results
    expect(createdOf(byDefault)).toMatchObject({ partitionCount: 1, replicationFactor: 3, config: { minInsyncReplicas: 2 } })
    expect(createdOf(single)).toMatchObject({ replicationFactor: 1, config: { minInsyncReplicas: 1 } })
  })

  test('config overrides apply on top of the defaults', () => {
    const { image } = scenario().brokers(1, 2, 3)
    const [result] = create(image, [{ name: 'logs', configs: { retentionMs: 60_000, cleanupPolicy: 'delete' } }]).results
    expect(createdOf(result).config).toEqual({ ...defaultTopicConfig, retentionMs: 60_000, cleanupPolicy: 'delete' })
  })

  test('cleanup.policy compact and compact,delete (either order) are accepted with the compaction configs', () => {
    const { image } = scenario().brokers(1, 2, 3)
    const [compact] = create(image, [{ name: 'changelog', configs: { cleanupPolicy: 'compact', minCleanableDirtyRatio: 0.1, deleteRetentionMs: 5 } }]).results
    expect(createdOf(compact).config).toMatchObject({ cleanupPolicy: 'compact', minCleanableDirtyRatio: 0.1, deleteRetentionMs: 5, minCompactionLagMs: 0 })
    const [both] = create(image, [{ name: 'both', configs: { cleanupPolicy: 'delete,compact' as 'compact,delete' } }]).results
    expect(createdOf(both).config.cleanupPolicy).toBe('compact,delete')
    const error = errorOf(create(image, [{ name: 'bad', configs: { cleanupPolicy: 'shred' as 'delete', minCleanableDirtyRatio: 1.5 } }]).results[0])
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG)
    expect(error.details.problems).toEqual(['cleanupPolicy must be one of delete, compact, compact,delete', 'minCleanableDirtyRatio must be a number in [0, 1]'])
  })

  test('an internal (__) name is created but flagged', () => {
    const { image } = scenario().brokers(1, 2, 3)
    expect(createdOf(create(image, [{ name: '__consumer_offsets' }]).results[0]).internal).toBe(true)
  })

  test('validateOnly reports the outcome and proposes nothing', () => {
    const { image } = scenario().brokers(1, 2, 3)
    const decision = create(image, [{ name: 'orders' }], { validateOnly: true })
    expect(createdOf(decision.results[0]).name).toBe('orders')
    expect(decision.records).toEqual([])
  })
})

describe('CreateTopics: refusals, per topic', () => {
  const { image } = scenario().brokers(1, 2, 3).broker(4, { fenced: true }).topic('existing', [[1, 2]]).topic('a.b', [[1]])

  test.each([
    ['an illegal name', { name: 'bad name' }, ErrorCode.INVALID_TOPIC_EXCEPTION, /may contain only/],
    ['an existing name', { name: 'existing' }, ErrorCode.TOPIC_ALREADY_EXISTS, /topic existing already exists/],
    ['a name colliding on . versus _', { name: 'a_b' }, ErrorCode.INVALID_TOPIC_EXCEPTION, /collides with existing topic a\.b/],
    ['no partitions', { name: 't', partitionCount: 0 }, ErrorCode.INVALID_PARTITIONS, /partition count must be an integer from 1 to 100, not 0/],
    ['more partitions than partitionCountMax', { name: 't', partitionCount: 101 }, ErrorCode.INVALID_PARTITIONS, /from 1 to 100, not 101/],
    ['a replication factor of 0', { name: 't', replicationFactor: 0 }, ErrorCode.INVALID_REPLICATION_FACTOR, /not 0/],
    ['a replication factor above the live brokers (fenced ones do not count)', { name: 't', replicationFactor: 4 }, ErrorCode.INVALID_REPLICATION_FACTOR, /larger than the 3 live brokers/],
    ['minInsyncReplicas above the replication factor', { name: 't', replicationFactor: 2, configs: { minInsyncReplicas: 3 } }, ErrorCode.INVALID_CONFIG, /minInsyncReplicas 3 must not exceed the replication factor 2/],
  ])('refuses %s', (_name, request, code, message) => {
    const error = errorOf(create(image, [request]).results[0])
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) })
  })

  test('bad configs are refused with every problem listed', () => {
    const configs = { segmentBytes: 10, retentionMs: -5, cleanupPolicy: 'shred', colour: 'blue' } as unknown as CreateTopicRequest['configs']
    const error = errorOf(create(image, [{ name: 't', configs }]).results[0])
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG)
    expect(error.details.problems).toEqual([
      'colour is not a topic config',
      'retentionMs must be an integer in [-1, 9007199254740991]',
      'segmentBytes must be an integer in [1024, 2147483647]',
      'cleanupPolicy must be one of delete, compact, compact,delete',
    ])
  })

  test('a name twice in one request fails both, and the other topics still succeed', () => {
    const decision = create(image, [{ name: 'x' }, { name: 'ok' }, { name: 'x' }])
    expect(errorOf(decision.results[0]).code).toBe(ErrorCode.INVALID_REQUEST)
    expect(createdOf(decision.results[1]).name).toBe('ok')
    expect(errorOf(decision.results[2]).message).toMatch(/appears more than once/)
    expect(decision.records.filter((record) => record.type === 'Topic')).toHaveLength(1)
  })

  test('later topics of a request see the earlier ones', () => {
    const decision = create(image, [{ name: 'c.d' }, { name: 'c_d' }])
    expect(createdOf(decision.results[0]).name).toBe('c.d')
    expect(errorOf(decision.results[1]).code).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION)
  })
})

describe('create topics: one entry per topic, within the batch limit', () => {
  const image = scenario().brokers(1, 2, 3).image
  const batchBytesMax = 4000

  test('a topic whose records exceed one batch is refused with POLICY_VIOLATION naming the limit, even validate-only', () => {
    for (const validateOnly of [false, true]) {
      const decision = create(image, [{ name: 'big', partitionCount: 60, replicationFactor: 3 }], { batchBytesMax, validateOnly })
      const error = errorOf(decision.results[0])
      expect(error.code).toBe(ErrorCode.POLICY_VIOLATION)
      expect(error.retriable).toBe(false)
      expect(error.message).toMatch(/above the 4000-byte limit of one metadata log entry/)
      const { partitionsFitting } = error.details as { partitionsFitting: number }
      expect(partitionsFitting).toBeGreaterThan(0)
      expect(decision.records).toEqual([])
      expect(decision.batches).toEqual([])
      // The count it names does fit.
      const fitting = create(image, [{ name: 'big', partitionCount: partitionsFitting - 1, replicationFactor: 3 }], { batchBytesMax })
      expect(createdOf(fitting.results[0]).partitionCount).toBe(partitionsFitting - 1)
    }
  })

  test('topics are packed whole, in order, into batches within the limit', () => {
    const topics = [10, 10, 10, 60, 1].map((partitionCount, i) => ({ name: `t${i}`, partitionCount, replicationFactor: 3 }))
    const decision = create(image, topics, { batchBytesMax })
    expect(decision.results.map((result) => 'error' in result ? result.error.code : '')).toEqual(['', '', '', ErrorCode.POLICY_VIOLATION, ''])
    expect(decision.batches.length).toBeGreaterThan(1)
    expect(decision.batches.flat()).toEqual(decision.records)
    for (const batch of decision.batches) {
      expect(metadataBatchBytes(batch)).toBeLessThanOrEqual(batchBytesMax)
      // Whole topics: a batch starts with a Topic record and holds all its partitions.
      expect(batch[0]?.type).toBe('Topic')
      const declared = batch.filter((record) => record.type === 'Topic').reduce((sum, record) => sum + (record.type === 'Topic' ? record.partitionCount : 0), 0)
      expect(batch.filter((record) => record.type === 'Partition')).toHaveLength(declared)
    }
  })
})

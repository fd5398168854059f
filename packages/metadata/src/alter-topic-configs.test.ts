import { ErrorCode, type GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type AlterTopicConfigRequest, type AlterTopicConfigResult, decideAlterTopicConfigs } from './alter-topic-configs.js'
import { decideCreateTopics } from './create-topics.js'
import { type MetadataConfig, defaultMetadataConfig } from './metadata-config.js'
import { decodeMetadataRecords, encodeMetadataRecords } from './metadata-record-codec.js'
import { MetadataImage } from './metadata-image.js'
import { scenario } from './testing/metadata-scenario.js'

const config: MetadataConfig = defaultMetadataConfig

function alter (image: MetadataImage, topics: AlterTopicConfigRequest[], validateOnly?: boolean) {
  return decideAlterTopicConfigs(image, { topics, validateOnly }, config)
}

const errorOf = (result: AlterTopicConfigResult | undefined): GregorError => {
  if (result === undefined || !('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`)
  return result.error
}

/** Brokers 1-3 and topics `orders` (RF `rf`, retention 1 h) and `__consumer_offsets`. */
function withTopic (rf = 3) {
  const s = scenario().brokers(1, 2, 3)
  s.commit(decideCreateTopics(s.image, {
    topics: [{ name: 'orders', partitionCount: 2, replicationFactor: rf, configs: { retentionMs: 3_600_000 } },
      { name: '__consumer_offsets', partitionCount: 1, replicationFactor: rf }],
    topicIds: ['t1', 't2'],
    placementStartIndex: 0,
  }, config).records)
  return s
}

describe('AlterTopicConfigs', () => {
  test('set and delete: one TopicConfigChange with the whole new config, applied to the image', () => {
    const s = withTopic()
    const decision = alter(s.image, [{ name: 'orders', alterations: [
      { key: 'segmentBytes', operation: 'set', value: 4096 }, { key: 'retentionMs', operation: 'delete' },
      { key: 'minInsyncReplicas', operation: 'set', value: 3 },
    ] }])
    const expected = { ...config.defaultTopicConfig, segmentBytes: 4096, minInsyncReplicas: 3 }
    expect(decision.results).toEqual([{ name: 'orders', topicId: 't1', config: expected, changedKeys: ['minInsyncReplicas', 'retentionMs', 'segmentBytes'] }])
    expect(decision.records).toEqual([{ type: 'TopicConfigChange', topicId: 't1', config: expected }])
    expect(decodeMetadataRecords(encodeMetadataRecords(decision.records))).toEqual(decision.records)
    const partitionBefore = s.image.partition('t1', 0)
    s.commit(decision.records)
    expect(s.image.topic('orders')?.config).toEqual(expected)
    expect(s.image.partition('t1', 0)).toEqual(partitionBefore)
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('the change survives a snapshot', () => {
    const s = withTopic()
    s.commit(alter(s.image, [{ name: 'orders', alterations: [{ key: 'maxMessageBytes', operation: 'set', value: 2048 }] }]).records)
    const restored = MetadataImage.restore(s.image.snapshot())
    expect(restored.topic('orders')?.config.maxMessageBytes).toBe(2048)
  })

  test('delete of minInsyncReplicas goes back to the default capped at the replication factor', () => {
    const s = withTopic(1)
    const [result] = alter(s.image, [{ name: 'orders', alterations: [{ key: 'minInsyncReplicas', operation: 'delete' }] }]).results
    expect(result).toMatchObject({ config: { minInsyncReplicas: 1 } })
  })

  test('append and subtract on cleanupPolicy, a list; refused on any other key', () => {
    const s = withTopic()
    const appended = alter(s.image, [{ name: 'orders', alterations: [{ key: 'cleanupPolicy', operation: 'append', value: 'compact' }] }])
    expect(appended.results[0]).toMatchObject({ config: { cleanupPolicy: 'compact,delete' }, changedKeys: ['cleanupPolicy'] })
    s.commit(appended.records)
    const subtracted = alter(s.image, [{ name: 'orders', alterations: [{ key: 'cleanupPolicy', operation: 'subtract', value: 'delete' }] }])
    expect(subtracted.results[0]).toMatchObject({ config: { cleanupPolicy: 'compact' } })
    const emptied = alter(s.image, [{ name: 'orders', alterations: [{ key: 'cleanupPolicy', operation: 'subtract', value: 'compact,delete' }] }])
    expect(errorOf(emptied.results[0]).code).toBe(ErrorCode.INVALID_CONFIG)
    const refused = alter(s.image, [{ name: 'orders', alterations: [{ key: 'retentionMs', operation: 'append', value: 5 }] }])
    expect(errorOf(refused.results[0]).code).toBe(ErrorCode.INVALID_REQUEST)
    expect(refused.records).toEqual([])
  })

  test('unknown keys and bad values are INVALID_CONFIG listing every problem; min ISR above RF too', () => {
    const s = withTopic(2)
    const decision = alter(s.image, [{ name: 'orders', alterations: [
      { key: 'flush.ms', operation: 'set', value: 1 }, { key: 'segmentBytes', operation: 'set', value: 10 },
      { key: 'cleanupPolicy', operation: 'set', value: 'shred' },
    ] }])
    const error = errorOf(decision.results[0])
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG)
    expect(error.message).toMatch(/flush\.ms is not a topic config.*segmentBytes must be.*cleanupPolicy must be/)
    const tooMany = alter(s.image, [{ name: 'orders', alterations: [{ key: 'minInsyncReplicas', operation: 'set', value: 3 }] }])
    expect(errorOf(tooMany.results[0]).message).toMatch(/must not exceed the replication factor 2/)
    expect(decision.records).toEqual([])
  })

  test('unknown, internal, repeated topics and repeated keys fail on their own; a good topic still changes', () => {
    const s = withTopic()
    s.commit(decideCreateTopics(s.image, { topics: [{ name: 'other', partitionCount: 1, replicationFactor: 3 }], topicIds: ['t3'], placementStartIndex: 0 }, config).records)
    const set = (value: number) => [{ key: 'retentionMs', operation: 'set' as const, value }]
    const decision = alter(s.image, [
      { name: 'missing', alterations: set(1) }, { name: '__consumer_offsets', alterations: set(1) },
      { name: 'other', alterations: set(1) }, { name: 'other', alterations: set(2) },
      { name: 'orders', alterations: [...set(1), ...set(2)] },
    ])
    expect(decision.results.map((result) => errorOf(result).code)).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ])
    const mixed = alter(s.image, [{ name: 'missing', alterations: set(1) }, { name: 'orders', alterations: set(5) }])
    expect(mixed.records).toEqual([{ type: 'TopicConfigChange', topicId: 't1', config: { ...s.image.topic('orders')!.config, retentionMs: 5 } }])
  })

  test('validateOnly reports and proposes nothing; a no-op change succeeds with no record', () => {
    const s = withTopic()
    const validated = alter(s.image, [{ name: 'orders', alterations: [{ key: 'retentionMs', operation: 'set', value: 5 }] }], true)
    expect(validated.results[0]).toMatchObject({ changedKeys: ['retentionMs'] })
    expect(validated.records).toEqual([])
    const same = alter(s.image, [{ name: 'orders', alterations: [{ key: 'retentionMs', operation: 'set', value: 3_600_000 }] }])
    expect(same.results[0]).toMatchObject({ changedKeys: [] })
    expect(same.records).toEqual([])
  })
})

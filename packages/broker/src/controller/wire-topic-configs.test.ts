import { describe, expect, test } from 'vitest'
import { defaultTopicConfig } from '@gregor/metadata'
import { kafkaTopicConfigs, wireTopicConfigs } from './wire-topic-configs.js'

describe('wireTopicConfigs', () => {
  test("Kafka's dotted names map to keys; integers and the dirty ratio (a decimal) become numbers", () => {
    expect(wireTopicConfigs({
      'cleanup.policy': 'compact,delete',
      'delete.retention.ms': '1000',
      'min.cleanable.dirty.ratio': '0.25',
      'min.compaction.lag.ms': '0',
      'retention.ms': '-1',
    })).toEqual({ cleanupPolicy: 'compact,delete', deleteRetentionMs: 1000, minCleanableDirtyRatio: 0.25, minCompactionLagMs: 0, retentionMs: -1 })
    expect(wireTopicConfigs({ minCleanableDirtyRatio: '.5' })).toEqual({ minCleanableDirtyRatio: 0.5 })
  })

  test('values that are not numbers pass through for the validator to report', () => {
    expect(wireTopicConfigs({ 'min.cleanable.dirty.ratio': 'half', 'retention.ms': '1.5' })).toEqual({ minCleanableDirtyRatio: 'half', retentionMs: '1.5' })
  })

  test('kafkaTopicConfigs names every key as Kafka does, and reads back to the same config', () => {
    const kafka = kafkaTopicConfigs({ ...defaultTopicConfig, cleanupPolicy: 'compact,delete', minCleanableDirtyRatio: 0.25 })
    expect(Object.keys(kafka)).toHaveLength(Object.keys(defaultTopicConfig).length)
    expect(kafka).toMatchObject({ 'cleanup.policy': 'compact,delete', 'min.insync.replicas': '2', 'retention.ms': '604800000', 'min.cleanable.dirty.ratio': '0.25' })
    expect(wireTopicConfigs(kafka)).toEqual({ ...defaultTopicConfig, cleanupPolicy: 'compact,delete', minCleanableDirtyRatio: 0.25 })
  })
})

import { describe, expect, test } from 'vitest'
import { wireTopicConfigs } from './wire-topic-configs.js'

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
})

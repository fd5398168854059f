import { describe, expect, test } from 'vitest'
import { defaultTopicConfig } from '@gregor/metadata'
import { BATCH_HEADER_BYTES } from '@gregor/records'
import { validateLogConfig } from '@gregor/storage'
import { topicLogConfig } from './topic-log-config.js'

describe('topicLogConfig', () => {
  test("a topic's configs override the broker's, and the broker's own settings stay", () => {
    const topic = { ...defaultTopicConfig, segmentBytes: 2048, segmentMs: 60_000, retentionMs: 1_000, retentionBytes: 10_000, maxMessageBytes: 1_500 }
    const config = validateLogConfig(topicLogConfig({ flush: 'never', segmentBytes: 1 << 30, retentionMs: -1, indexIntervalBytes: 0 }, topic))
    expect(config).toMatchObject({ flush: 'never', indexIntervalBytes: 0, segmentBytes: 2048, segmentMs: 60_000, retentionMs: 1_000, retentionBytes: 10_000, batchBytesMax: 1_500 })
  })

  test('max.message.bytes is kept within a segment and at least a batch header, so the log config is always valid', () => {
    expect(validateLogConfig(topicLogConfig({}, { ...defaultTopicConfig, segmentBytes: 1024, maxMessageBytes: 1 << 20 })).batchBytesMax).toBe(1024)
    expect(validateLogConfig(topicLogConfig({}, { ...defaultTopicConfig, maxMessageBytes: 1 })).batchBytesMax).toBe(BATCH_HEADER_BYTES)
  })
})

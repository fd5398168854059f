/**
 * The log configuration of one partition: the broker's settings (flush policy, index interval, open files) overlaid
 * with its topic's configs (`segment.bytes`, `segment.ms`, `retention.ms`, `retention.bytes`, `max.message.bytes`),
 * which win as in Kafka. Topic configs are validated when the topic is created (topic-config.ts); this only maps
 * names and keeps the one rule the log adds: a batch must fit in a segment and hold at least a batch header.
 */
import type { TopicConfig } from '@gregor/metadata'
import { BATCH_HEADER_BYTES } from '@gregor/records'
import type { LogConfig } from '@gregor/storage'

export function topicLogConfig (broker: Partial<LogConfig>, topic: TopicConfig): Partial<LogConfig> {
  return {
    ...broker,
    segmentBytes: topic.segmentBytes,
    segmentMs: topic.segmentMs,
    retentionMs: topic.retentionMs,
    retentionBytes: topic.retentionBytes,
    batchBytesMax: Math.min(Math.max(topic.maxMessageBytes, BATCH_HEADER_BYTES), topic.segmentBytes),
  }
}

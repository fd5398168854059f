/**
 * The log configuration of one partition: the broker's settings (flush policy, index interval, open files) overlaid
 * with its topic's configs (`segment.bytes`, `segment.ms`, `retention.ms`, `retention.bytes`, `max.message.bytes`,
 * `cleanup.policy`, `delete.retention.ms`, `min.cleanable.dirty.ratio`, `min.compaction.lag.ms`), which win as in
 * Kafka. The broker's cleaner limits (`cleanerDedupeBufferBytes`, `cleanerIoBytesPerSecondMax`) pass through. Topic configs are validated when the topic is created (topic-config.ts); this only maps
 * names and keeps the one rule the log adds: a batch must fit in a segment and hold at least a batch header.
 */
import { type TopicConfig, cleanupDeletes } from '@gregor/metadata'
import { BATCH_HEADER_BYTES } from '@gregor/records'
import type { LogConfig } from '@gregor/storage'

export function topicLogConfig (broker: Partial<LogConfig>, topic: TopicConfig): Partial<LogConfig> {
  return {
    ...broker,
    segmentBytes: topic.segmentBytes,
    segmentMs: topic.segmentMs,
    // A compact-only topic keeps every key's last record however old: no time or size retention (Kafka).
    retentionMs: cleanupDeletes(topic.cleanupPolicy) ? topic.retentionMs : -1,
    retentionBytes: cleanupDeletes(topic.cleanupPolicy) ? topic.retentionBytes : -1,
    batchBytesMax: Math.min(Math.max(topic.maxMessageBytes, BATCH_HEADER_BYTES), topic.segmentBytes),
    cleanupPolicy: topic.cleanupPolicy,
    deleteRetentionMs: topic.deleteRetentionMs,
    minCleanableDirtyRatio: topic.minCleanableDirtyRatio,
    minCompactionLagMs: topic.minCompactionLagMs,
  }
}

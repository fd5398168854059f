/**
 * The log configuration of one partition: the broker's settings (flush policy, index interval, open files) overlaid
 * with its topic's configs (`segment.bytes`, `segment.ms`, `retention.ms`, `retention.bytes`, `max.message.bytes`,
 * `cleanup.policy`, `delete.retention.ms`, `min.cleanable.dirty.ratio`, `min.compaction.lag.ms`), which win as in
 * Kafka. The broker's cleaner limits (`cleanerDedupeBufferBytes`, `cleanerIoBytesPerSecondMax`) pass through. Topic configs are validated when the topic is created (topic-config.ts); this only maps
 * names and keeps the one rule the log adds: a batch must fit in a segment and hold at least a batch header.
 */
import { type TopicConfig, cleanupDeletes } from '@gregor/metadata'
import { BATCH_HEADER_BYTES } from '@gregor/records'
import { type LogConfig, type TopicLevelLogConfigKey, topicLevelLogConfigKeys } from '@gregor/storage'

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

/**
 * The topic-level settings of an open log that differ from what `topic` now asks for (its config changed after
 * creation), for `PartitionLog.setConfig`; undefined when none does.
 */
export function changedTopicLogSettings (
  current: LogConfig, broker: Partial<LogConfig>, topic: TopicConfig,
): Partial<Pick<LogConfig, TopicLevelLogConfigKey>> | undefined {
  const wanted = topicLogConfig(broker, topic)
  const changes: Record<string, unknown> = {}
  for (const key of topicLevelLogConfigKeys) {
    if (wanted[key] !== undefined && wanted[key] !== current[key]) changes[key] = wanted[key]
  }
  return Object.keys(changes).length === 0 ? undefined : changes as Partial<Pick<LogConfig, TopicLevelLogConfigKey>>
}

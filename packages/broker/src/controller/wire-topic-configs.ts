/**
 * Topic config overrides as they arrive on the wire (`map<string, string>` in CreateTopicsRequest) turned into a
 * partial TopicConfig. Kafka's dotted names (`min.insync.replicas`) and Gregor's camelCase keys are both accepted.
 * Nothing is validated here: unknown keys and non-numeric values are passed on as they are, so `resolveTopicConfig`
 * reports every problem at once with its one table of ranges. `kafkaTopicConfigs` is the way back: a config under
 * Kafka's names with Kafka's string values, for answers (CreateTopics v5+, DescribeConfigs); `kafkaTopicConfigOverrides`
 * only the keys that differ from the default (`kafka-topics --describe`).
 */
import { type TopicConfig, type TopicConfigAlteration, type TopicConfigOperation, defaultTopicConfig } from '@gregor/metadata'

const kafkaNames: Readonly<Record<string, keyof TopicConfig>> = {
  'min.insync.replicas': 'minInsyncReplicas',
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'max.message.bytes': 'maxMessageBytes',
  'cleanup.policy': 'cleanupPolicy',
  'delete.retention.ms': 'deleteRetentionMs',
  'min.cleanable.dirty.ratio': 'minCleanableDirtyRatio',
  'min.compaction.lag.ms': 'minCompactionLagMs',
}

const integerPattern = /^-?\d+$/
/** The ratio is the one non-integer config: a decimal such as `0.5`, `.1` or `1`. */
const decimalPattern = /^-?(\d+\.?\d*|\.\d+)$/

export function wireTopicConfigs (configs: Readonly<Record<string, string>> | null | undefined): Partial<TopicConfig> {
  const overrides: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(configs ?? {})) {
    const key = kafkaNames[name] ?? name
    const numeric = key === 'minCleanableDirtyRatio' ? decimalPattern.test(value) : key !== 'cleanupPolicy' && integerPattern.test(value)
    overrides[key] = numeric ? Number(value) : value
  }
  // Honest only after validation, which resolveTopicConfig does before using any value.
  return overrides as Partial<TopicConfig>
}

/** Kafka's name of each topic config key (the inverse of the table above). */
export const kafkaTopicConfigNames: Readonly<Record<keyof TopicConfig, string>> = Object.freeze(Object.fromEntries(
  Object.entries(kafkaNames).map(([kafkaName, key]) => [key, kafkaName]),
) as Record<keyof TopicConfig, string>)

/** Every key of `config` under Kafka's name, with the value as Kafka prints it (`cleanup.policy` `compact,delete`). */
export function kafkaTopicConfigs (config: TopicConfig): Record<string, string> {
  const entries = Object.entries(kafkaTopicConfigNames) as [keyof TopicConfig, string][]
  return Object.fromEntries(entries.map(([key, kafkaName]) => [kafkaName, String(config[key])]))
}

/**
 * Whether `key` of a topic's config differs from the default a topic of its replication factor gets (min ISR is
 * capped by the replication factor at creation): what `kafka-topics --describe` lists as its Configs.
 */
export function isTopicConfigOverride (config: TopicConfig, replicationFactor: number, key: keyof TopicConfig): boolean {
  const defaultValue = key === 'minInsyncReplicas' ? Math.min(defaultTopicConfig.minInsyncReplicas, replicationFactor) : defaultTopicConfig[key]
  return config[key] !== defaultValue
}

/** `kafkaTopicConfigs` of only the overriding keys (see `isTopicConfigOverride`), under Kafka's names. */
export function kafkaTopicConfigOverrides (config: TopicConfig, replicationFactor: number): Record<string, string> {
  const entries = Object.entries(kafkaTopicConfigNames) as [keyof TopicConfig, string][]
  return Object.fromEntries(entries.filter(([key]) => isTopicConfigOverride(config, replicationFactor, key)).map(([key, kafkaName]) => [kafkaName, String(config[key])]))
}

const operations: Readonly<Record<string, TopicConfigOperation>> = { SET: 'set', DELETE: 'delete', APPEND: 'append', SUBTRACT: 'subtract' }

/**
 * Config alterations as they arrive on the wire (Kafka's or Gregor's key names, string values, operation SET, DELETE,
 * APPEND or SUBTRACT) turned into the domain's. Values of `set` parse as in `wireTopicConfigs`; list items of
 * `append`/`subtract` stay strings. An unknown operation passes on as it is: the decision refuses it.
 */
export function wireTopicConfigAlterations (
  alterations: readonly { readonly key?: string | null; readonly operation?: string | null; readonly value?: string | null }[],
): TopicConfigAlteration[] {
  return alterations.map(({ key, operation, value }) => {
    const name = key ?? ''
    const domainKey = kafkaNames[name] ?? name
    const domainOperation = operations[(operation ?? '').toUpperCase()] ?? (operation as TopicConfigOperation)
    const parsed = domainOperation === 'set' ? (wireTopicConfigs({ [domainKey]: value ?? '' }) as Record<string, unknown>)[domainKey] : value ?? ''
    return { key: domainKey, operation: domainOperation, value: parsed }
  })
}

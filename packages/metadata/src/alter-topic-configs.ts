/**
 * AlterTopicConfigs (Kafka's IncrementalAlterConfigs on TOPIC resources, KRaft `ConfigurationControlManager`):
 * validate per-key operations against a topic's current config and produce one TopicConfigChange record per
 * altered topic, carrying the whole new config.
 *
 * Owns: the operations and their codes. `set` gives a key a value; `delete` puts it back to the cluster default
 * (`minInsyncReplicas` capped at the replication factor, as at creation); `append`/`subtract` add or remove items of a
 * list-typed config (only `cleanupPolicy` is one) and are INVALID_REQUEST on any other key, as in Kafka. The same
 * topic twice in a request, or the same key twice for one topic, INVALID_REQUEST; an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION; an internal (`__`) topic INVALID_REQUEST (the group coordinator owns its configs);
 * unknown keys and bad values INVALID_CONFIG listing every problem, checked with the same table as creation
 * (`topicConfigProblems`), plus `minInsyncReplicas` above the replication factor. Each topic succeeds or fails on its
 * own; a topic whose operations change nothing still answers success and proposes no record.
 *
 * Pure: keys come in Gregor's camelCase names, values as the caller parsed them (unvalidated); the listener maps
 * Kafka's dotted names and strings first.
 */
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import type { MetadataConfig } from './metadata-config.js'
import type { MetadataImage, TopicImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'
import { type TopicConfig, normalizeCleanupPolicy, topicConfigKeys, topicConfigProblems } from './topic-config.js'
import { repeatedNames } from './repeated-names.js'
import { isInternalTopicName } from './topic-name.js'

export type TopicConfigOperation = 'set' | 'delete' | 'append' | 'subtract'

export interface TopicConfigAlteration {
  readonly key: string
  readonly operation: TopicConfigOperation
  /** The new value (`set`) or the list items (`append`/`subtract`, comma-separated); ignored for `delete`. */
  readonly value?: unknown
}

export interface AlterTopicConfigRequest {
  readonly name: string
  readonly alterations: readonly TopicConfigAlteration[]
}

export interface AlterTopicConfigsInput {
  readonly topics: readonly AlterTopicConfigRequest[]
  /** Check and report, propose nothing (Kafka `validateOnly`). */
  readonly validateOnly?: boolean
}

export interface AlteredTopicConfig {
  readonly name: string
  readonly topicId: string
  /** The topic's whole config after the change. */
  readonly config: TopicConfig
  /** Keys whose value differs from before. */
  readonly changedKeys: readonly (keyof TopicConfig)[]
}

export type AlterTopicConfigResult = AlteredTopicConfig | { readonly name: string; readonly error: GregorError }

export interface AlterTopicConfigsDecision {
  /** One result per requested topic, in request order. */
  readonly results: readonly AlterTopicConfigResult[]
  /** One TopicConfigChange per topic that changes (none when `validateOnly`): one small batch. */
  readonly records: readonly MetadataRecord[]
}

/** The list-typed configs: the only ones `append` and `subtract` apply to. */
const listKeys: readonly (keyof TopicConfig)[] = ['cleanupPolicy']

const listItems = (value: unknown): string[] =>
  String(value).split(',').map((item) => item.trim()).filter((item) => item !== '')

function checkTopic (image: MetadataImage, request: AlterTopicConfigRequest, repeated: boolean): TopicImage {
  const { name } = request
  if (repeated) throw new GregorError(ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`)
  const topic = image.topic(name)
  if (topic === undefined) throw new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`)
  if (isInternalTopicName(name)) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, `the configs of internal topic ${name} cannot be altered`)
  }
  const keys = request.alterations.map((alteration) => alteration.key)
  const duplicate = keys.find((key, i) => keys.indexOf(key) !== i)
  if (duplicate !== undefined) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, `config ${duplicate} appears more than once for topic ${name}`)
  }
  return topic
}

function alteredConfig (
  topic: TopicImage,
  alterations: readonly TopicConfigAlteration[],
  defaults: TopicConfig,
  replicationFactor: number,
): TopicConfig {
  const next: Record<string, unknown> = { ...topic.config }
  const unknownKeys: string[] = []
  for (const { key, operation, value } of alterations) {
    if (!(topicConfigKeys as readonly string[]).includes(key)) {
      unknownKeys.push(`${key} is not a topic config`)
      continue
    }
    const configKey = key as keyof TopicConfig
    if ((operation === 'append' || operation === 'subtract') && !listKeys.includes(configKey)) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, `config value ${operation} is not allowed for config key ${key}: it is not a list`)
    }
    switch (operation) {
      case 'set': next[key] = configKey === 'cleanupPolicy' ? normalizeCleanupPolicy(value) : value; break
      case 'delete':
        next[key] = configKey === 'minInsyncReplicas' ? Math.min(defaults.minInsyncReplicas, replicationFactor) : defaults[configKey]
        break
      case 'append': case 'subtract': {
        const current = listItems(next[key])
        const items = listItems(value)
        const result = operation === 'append'
          ? [...current, ...items.filter((item) => !current.includes(item))]
          : current.filter((item) => !items.includes(item))
        next[key] = normalizeCleanupPolicy(result.join(','))
        break
      }
      default: throw new GregorError(ErrorCode.INVALID_REQUEST, `unknown config operation ${String(operation)} for config key ${key}`)
    }
  }
  const problems = [...unknownKeys, ...topicConfigProblems(next, true)]
  const minInsyncReplicas = next.minInsyncReplicas
  if (problems.length === 0 && typeof minInsyncReplicas === 'number' && minInsyncReplicas > replicationFactor) {
    problems.push(`minInsyncReplicas ${minInsyncReplicas} must not exceed the replication factor ${replicationFactor}`)
  }
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, `invalid topic config: ${problems.join('; ')}`, { details: { problems } })
  }
  return Object.freeze(next as unknown as TopicConfig)
}

export function decideAlterTopicConfigs (image: MetadataImage, input: AlterTopicConfigsInput, config: MetadataConfig): AlterTopicConfigsDecision {
  const records: MetadataRecord[] = []
  const repeated = repeatedNames(input.topics)
  const results = input.topics.map((request): AlterTopicConfigResult => {
    try {
      const topic = checkTopic(image, request, repeated.has(request.name))
      const replicationFactor = image.partition(topic.topicId, 0)?.replicas.length ?? 1
      const next = alteredConfig(topic, request.alterations, config.defaultTopicConfig, replicationFactor)
      const changedKeys = topicConfigKeys.filter((key) => next[key] !== topic.config[key])
      if (changedKeys.length > 0) records.push({ type: 'TopicConfigChange', topicId: topic.topicId, config: next })
      return { name: topic.name, topicId: topic.topicId, config: next, changedKeys }
    } catch (error) {
      if (!isGregorError(error)) throw error
      return { name: request.name, error }
    }
  })
  return { results, records: input.validateOnly === true ? [] : records }
}

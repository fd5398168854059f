/**
 * DeleteTopics (KRaft `ReplicationControlManager.deleteTopic`): one RemoveTopic record per deleted topic.
 *
 * Owns: lookup by name or by id (Kafka DeleteTopics v6), per-topic outcomes (unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION; the same topic twice in a request INVALID_REQUEST), and the protection of internal
 * (`__`) topics: deleting `__consumer_offsets` would drop every group's committed offsets, so it takes an explicit
 * `allowInternal` (INVALID_TOPIC_EXCEPTION otherwise).
 */
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import type { MetadataImage, TopicImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'
import { isInternalTopicName } from './topic-name.js'

export type TopicReference = { readonly name: string } | { readonly topicId: string }

export interface DeleteTopicsInput {
  readonly topics: readonly TopicReference[]
  readonly allowInternal?: boolean
}

export type DeleteTopicResult =
  | { readonly name: string; readonly topicId: string }
  | { readonly reference: TopicReference; readonly error: GregorError }

export interface DeleteTopicsDecision {
  readonly results: readonly DeleteTopicResult[]
  readonly records: readonly MetadataRecord[]
}

function find (image: MetadataImage, reference: TopicReference): TopicImage {
  const topic = 'name' in reference ? image.topic(reference.name) : image.topicById(reference.topicId)
  if (topic === undefined) {
    const label = 'name' in reference ? reference.name : `with id ${reference.topicId}`
    throw new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${label} does not exist`)
  }
  return topic
}

export function decideDeleteTopics (image: MetadataImage, input: DeleteTopicsInput): DeleteTopicsDecision {
  const found = input.topics.map((reference) => {
    try {
      return find(image, reference)
    } catch (error) {
      if (!isGregorError(error)) throw error
      return error
    }
  })
  const counts = new Map<string, number>()
  for (const topic of found) if (!isGregorError(topic)) counts.set(topic.topicId, (counts.get(topic.topicId) ?? 0) + 1)
  const records: MetadataRecord[] = []
  const results = found.map((topic, i): DeleteTopicResult => {
    const reference = input.topics[i] ?? { name: '' }
    if (isGregorError(topic)) return { reference, error: topic }
    if ((counts.get(topic.topicId) ?? 0) > 1) {
      return { reference, error: new GregorError(ErrorCode.INVALID_REQUEST, `topic ${topic.name} is named more than once`) }
    }
    if (isInternalTopicName(topic.name) && input.allowInternal !== true) {
      return { reference, error: new GregorError(ErrorCode.INVALID_TOPIC_EXCEPTION, `topic ${topic.name} is internal and may not be deleted`) }
    }
    records.push({ type: 'RemoveTopic', topicId: topic.topicId })
    return { name: topic.name, topicId: topic.topicId }
  })
  return { results, records: Object.freeze(records) }
}

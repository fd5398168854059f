/**
 * CreateTopics (KRaft `ReplicationControlManager.createTopics`): validate each requested topic against the image and
 * produce its Topic and Partition records.
 *
 * Owns: the order of checks and their codes (Kafka's): illegal name INVALID_TOPIC_EXCEPTION; the same name twice in one request
 * INVALID_REQUEST; existing name TOPIC_ALREADY_EXISTS; a name that collides with an existing one on `.` versus `_`
 * INVALID_TOPIC_EXCEPTION; bad partition count INVALID_REQUEST (Kafka INVALID_PARTITIONS); bad replication factor, or one
 * above the live brokers, INVALID_REPLICATION_FACTOR; bad configs (including minInsyncReplicas above the replication
 * factor) INVALID_CONFIG listing every problem. Each topic succeeds or fails on its own, as in Kafka; later topics
 * of a request see the earlier ones. A new partition starts with every replica in the ISR, the first replica as
 * leader, and both epochs 0.
 *
 * Pure: topic ids and the placement start index come from the caller.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type NodeId, isGregorError, leaderEpoch } from '@gregor/common'
import type { MetadataConfig } from './metadata-config.js'
import { MetadataDraft } from './metadata-draft.js'
import type { MetadataImage } from './metadata-image.js'
import { readId } from './metadata-record-codec.js'
import { type MetadataRecord, metadataLimits } from './metadata-record.js'
import { placeReplicas } from './replica-placement.js'
import { type TopicConfig, resolveTopicConfig } from './topic-config.js'
import { topicNamesCollide, validateTopicName } from './topic-name.js'

export interface CreateTopicRequest {
  readonly name: string
  /** Defaults to `defaultPartitionCount`. */
  readonly partitionCount?: number
  /** Defaults to `defaultReplicationFactor`. */
  readonly replicationFactor?: number
  readonly configs?: Readonly<Partial<TopicConfig>>
}

export interface CreateTopicsInput {
  readonly topics: readonly CreateTopicRequest[]
  /** One fresh, never-used id per entry of `topics`, made by the caller; ids of topics that fail go unused. */
  readonly topicIds: readonly string[]
  /** Which live broker leads the first topic's partition 0 (Kafka draws it at random); topic i starts i later. */
  readonly placementStartIndex: number
  /** Check and report, propose nothing (Kafka `validateOnly`). */
  readonly validateOnly?: boolean
}

export interface CreatedTopic {
  readonly name: string
  readonly topicId: string
  /** The name is reserved for the cluster's own topics (`__` prefix): allowed, flagged for the caller's policy. */
  readonly internal: boolean
  readonly partitionCount: number
  readonly replicationFactor: number
  readonly config: TopicConfig
  readonly assignment: readonly (readonly NodeId[])[]
}

export type CreateTopicResult = CreatedTopic | { readonly name: string; readonly error: GregorError }

export interface CreateTopicsDecision {
  /** One result per requested topic, in request order. */
  readonly results: readonly CreateTopicResult[]
  /** Topic and Partition records of the topics that succeed; empty when `validateOnly`. */
  readonly records: readonly MetadataRecord[]
}

function checkName (image: MetadataImage, name: string, repeated: boolean): boolean {
  const { internal } = validateTopicName(name)
  if (repeated) throw new GregorError(ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`)
  if (image.topic(name) !== undefined) {
    throw new GregorError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`, { details: { name } })
  }
  const collision = image.topics().find((topic) => topicNamesCollide(name, topic.name))
  if (collision !== undefined) {
    throw new GregorError(ErrorCode.INVALID_TOPIC_EXCEPTION,
      `topic ${name} collides with existing topic ${collision.name}: names differing only in '.' and '_' share metrics`)
  }
  return internal
}

function checkCounts (request: CreateTopicRequest, config: MetadataConfig): { partitionCount: number; replicationFactor: number } {
  const partitionCount = request.partitionCount ?? config.defaultPartitionCount
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1 || partitionCount > config.partitionCountMax) {
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `partition count must be an integer from 1 to ${config.partitionCountMax}, not ${partitionCount}`,
      { details: { kafkaCode: 'INVALID_PARTITIONS' } })
  }
  const replicationFactor = request.replicationFactor ?? config.defaultReplicationFactor
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > metadataLimits.replicasMax) {
    throw new GregorError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor must be an integer from 1 to ${metadataLimits.replicasMax}, not ${replicationFactor}`)
  }
  return { partitionCount, replicationFactor }
}

function createTopic (
  draft: MetadataDraft,
  request: CreateTopicRequest,
  placement: { readonly topicId: string; readonly startIndex: number; readonly repeated: boolean },
  config: MetadataConfig,
): CreatedTopic {
  const { name } = request
  const internal = checkName(draft.image, name, placement.repeated)
  const { partitionCount, replicationFactor } = checkCounts(request, config)
  const topicConfig = resolveTopicConfig(request.configs ?? {}, config.defaultTopicConfig, replicationFactor)
  const assignment = placeReplicas(draft.image, { partitionCount, replicationFactor, startIndex: placement.startIndex })
  const { topicId } = placement
  draft.append({ type: 'Topic', name, topicId, partitionCount, config: topicConfig })
  assignment.forEach((replicas, partition) => {
    const [leader] = replicas
    assert(leader !== undefined)
    draft.append({
      type: 'Partition', topicId, partition, replicas, isr: replicas, leader, leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
    })
  })
  return { name, topicId, internal, partitionCount, replicationFactor, config: topicConfig, assignment }
}

export function decideCreateTopics (image: MetadataImage, input: CreateTopicsInput, config: MetadataConfig): CreateTopicsDecision {
  assert(input.topicIds.length >= input.topics.length, 'CreateTopics needs one fresh topic id per topic')
  assert(new Set(input.topicIds).size === input.topicIds.length, 'CreateTopics topic ids must be distinct')
  const draft = new MetadataDraft(image)
  const nameCounts = new Map<string, number>()
  for (const { name } of input.topics) nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1)
  const results = input.topics.map((request, i): CreateTopicResult => {
    const topicId = input.topicIds[i] ?? ''
    assert.doesNotThrow(() => readId(topicId, 'topicId'), `topic id ${topicId} is not a valid id`)
    assert(image.topicById(topicId) === undefined, `topic id ${topicId} is already in use`)
    const startIndex = (input.placementStartIndex + i) % (metadataLimits.int32Max + 1)
    const placement = { topicId, startIndex, repeated: (nameCounts.get(request.name) ?? 0) > 1 }
    try {
      return createTopic(draft, request, placement, config)
    } catch (error) {
      if (!isGregorError(error)) throw error
      return { name: request.name, error }
    }
  })
  return { results, records: input.validateOnly === true ? [] : draft.records }
}

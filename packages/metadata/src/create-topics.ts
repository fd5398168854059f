/**
 * CreateTopics (KRaft `ReplicationControlManager.createTopics`): validate each requested topic against the image and
 * produce its Topic and Partition records.
 *
 * Owns: the order of checks and their codes (Kafka's): illegal name INVALID_TOPIC_EXCEPTION; the same name twice in one request
 * INVALID_REQUEST; existing name TOPIC_ALREADY_EXISTS; a name that collides with an existing one on `.` versus `_`
 * INVALID_TOPIC_EXCEPTION; bad partition count INVALID_PARTITIONS; bad replication factor, or one
 * above the live brokers, INVALID_REPLICATION_FACTOR; bad configs (including minInsyncReplicas above the replication
 * factor) INVALID_CONFIG listing every problem. Each topic succeeds or fails on its own, as in Kafka; later topics
 * of a request see the earlier ones. A new partition starts with every replica in the ISR, the first replica as
 * leader, and both epochs 0.
 *
 * Atomic per topic, bounded per batch: a topic's Topic and Partition records always travel in one Raft entry, as Kafka
 * writes them in one atomic batch, so no committed image ever holds part of a topic. Splitting a creation across
 * entries would need a half-created topic to be a valid image, and it is not one a client may see: a topic that
 * later grows from 2,000 to 6,500 partitions has moved most keys to other partitions (the partitioner hashes over
 * the count), and a controller that dies halfway leaves a topic that was never asked for. So a topic whose records
 * cannot fit in one entry (`batchBytesMax`, the Raft entry limit the controller passes in: about 6,300 partitions at
 * replication factor 3 within 1 MiB) is refused at once with POLICY_VIOLATION, naming the limit and the partition
 * count that would fit, instead of being proposed and never committed. Topics of one request are packed, whole, into
 * as few batches as fit (`batches`); each batch is correct on its own, like Kafka's per-topic results.
 *
 * Pure: topic ids and the placement start index come from the caller.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type NodeId, isGregorError, leaderEpoch } from '@gregor/common'
import type { MetadataConfig } from './metadata-config.js'
import { MetadataBatchBudget } from './metadata-batch-budget.js'
import { MetadataDraft } from './metadata-draft.js'
import type { MetadataImage } from './metadata-image.js'
import { metadataBatchBytes, metadataBatchOverheadBytes, metadataRecordBytes, readId } from './metadata-record-codec.js'
import { type MetadataRecord, metadataLimits } from './metadata-record.js'
import { repeatedNames } from './repeated-names.js'
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
  /** The most bytes one batch of records may encode to (the Raft entry limit); unbounded when absent. */
  readonly batchBytesMax?: number
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
  /** `records` in batches within `batchBytesMax`, each holding whole topics: propose them in order. */
  readonly batches: readonly (readonly MetadataRecord[])[]
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
    throw new GregorError(ErrorCode.INVALID_PARTITIONS,
      `partition count must be an integer from 1 to ${config.partitionCountMax}, not ${partitionCount}`)
  }
  const replicationFactor = request.replicationFactor ?? config.defaultReplicationFactor
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > metadataLimits.replicasMax) {
    throw new GregorError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor must be an integer from 1 to ${metadataLimits.replicasMax}, not ${replicationFactor}`)
  }
  return { partitionCount, replicationFactor }
}

/** Refuses a topic whose records cannot fit in one batch: it could never be created atomically. */
function checkBatchBytes (records: readonly MetadataRecord[], request: { name: string; partitionCount: number; replicationFactor: number }, batchBytesMax: number): number {
  const bytes = metadataBatchBytes(records)
  if (bytes <= batchBytesMax) return bytes
  const [topicRecord] = records
  assert(topicRecord !== undefined)
  const { name, partitionCount, replicationFactor } = request
  const topicBytes = metadataBatchOverheadBytes + metadataRecordBytes(topicRecord)
  const partitionsFitting = Math.max(0, Math.floor((batchBytesMax - topicBytes) * partitionCount / (bytes - topicBytes)))
  throw new GregorError(ErrorCode.POLICY_VIOLATION,
    `topic ${name} with ${partitionCount} partitions at replication factor ${replicationFactor} needs ${bytes} bytes of ` +
    `metadata records, above the ${batchBytesMax}-byte limit of one metadata log entry (a topic is created in one ` +
    `entry): at replication factor ${replicationFactor}, about ${partitionsFitting} partitions fit`,
    { details: { name, partitionCount, replicationFactor, bytes, batchBytesMax, partitionsFitting } })
}

function createTopic (
  draft: MetadataDraft,
  request: CreateTopicRequest,
  placement: { readonly topicId: string; readonly startIndex: number; readonly repeated: boolean },
  config: MetadataConfig,
  batchBytesMax: number,
): { readonly topic: CreatedTopic; readonly records: readonly MetadataRecord[]; readonly bytes: number } {
  const { name } = request
  const internal = checkName(draft.image, name, placement.repeated)
  const { partitionCount, replicationFactor } = checkCounts(request, config)
  const topicConfig = resolveTopicConfig(request.configs ?? {}, config.defaultTopicConfig, replicationFactor)
  const assignment = placeReplicas(draft.image, { partitionCount, replicationFactor, startIndex: placement.startIndex })
  const { topicId } = placement
  const records: MetadataRecord[] = [{ type: 'Topic', name, topicId, partitionCount, config: topicConfig }]
  assignment.forEach((replicas, partition) => {
    const [leader] = replicas
    assert(leader !== undefined)
    records.push({
      type: 'Partition', topicId, partition, replicas, isr: replicas, leader, leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
    })
  })
  const bytes = checkBatchBytes(records, { name, partitionCount, replicationFactor }, batchBytesMax)
  for (const record of records) draft.append(record)
  return { topic: { name, topicId, internal, partitionCount, replicationFactor, config: topicConfig, assignment }, records, bytes }
}

/** Whole topics packed in order into batches of at most `batchBytesMax` bytes. */
function packTopics (topics: readonly { readonly records: readonly MetadataRecord[]; readonly bytes: number }[], batchBytesMax: number): MetadataRecord[][] {
  const batches: MetadataRecord[][] = []
  let budget: MetadataBatchBudget | undefined
  for (const { records, bytes } of topics) {
    if (budget === undefined || !budget.tryAddBytes(bytes - metadataBatchOverheadBytes, records.length)) {
      budget = new MetadataBatchBudget(batchBytesMax)
      assert(budget.tryAddBytes(bytes - metadataBatchOverheadBytes, records.length), 'a checked topic fits one batch')
      batches.push([])
    }
    const batch = batches[batches.length - 1]
    for (const record of records) batch?.push(record)
  }
  return batches
}

export function decideCreateTopics (image: MetadataImage, input: CreateTopicsInput, config: MetadataConfig): CreateTopicsDecision {
  assert(input.topicIds.length >= input.topics.length, 'CreateTopics needs one fresh topic id per topic')
  assert(new Set(input.topicIds).size === input.topicIds.length, 'CreateTopics topic ids must be distinct')
  const batchBytesMax = input.batchBytesMax ?? Number.POSITIVE_INFINITY
  const draft = new MetadataDraft(image)
  const created: { records: readonly MetadataRecord[]; bytes: number }[] = []
  const repeated = repeatedNames(input.topics)
  const results = input.topics.map((request, i): CreateTopicResult => {
    const topicId = input.topicIds[i] ?? ''
    assert.doesNotThrow(() => readId(topicId, 'topicId'), `topic id ${topicId} is not a valid id`)
    assert(image.topicById(topicId) === undefined, `topic id ${topicId} is already in use`)
    const startIndex = (input.placementStartIndex + i) % (metadataLimits.int32Max + 1)
    const placement = { topicId, startIndex, repeated: repeated.has(request.name) }
    try {
      const { topic, records, bytes } = createTopic(draft, request, placement, config, batchBytesMax)
      created.push({ records, bytes })
      return topic
    } catch (error) {
      if (!isGregorError(error)) throw error
      return { name: request.name, error }
    }
  })
  if (input.validateOnly === true) return { results, records: [], batches: [] }
  return { results, records: draft.records, batches: packTopics(created, batchBytesMax) }
}

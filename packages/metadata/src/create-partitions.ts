/**
 * CreatePartitions (KRaft `ReplicationControlManager.createPartitions`): more partitions for existing topics, placed
 * as at creation, at the topic's replication factor (that of its partition 0).
 *
 * Owns: the checks and their codes: the same topic twice in one request INVALID_REQUEST; an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION; an internal (`__`) topic INVALID_REQUEST (the group coordinator hashes group ids over
 * `__consumer_offsets`' partition count, so growing it would move every group); a count that is not above the
 * current one, or above `partitionCountMax`, INVALID_PARTITIONS; fewer live brokers than the
 * replication factor INVALID_REPLICATION_FACTOR (from placement). A new partition starts like a created one: every
 * replica in the ISR, the first as leader, both epochs 0.
 *
 * Atomic per topic: a topic's AddPartitions record and its new Partition records travel in one batch, so no
 * committed image has a topic missing some of its partitions; a topic whose records do not fit one entry is refused
 * with POLICY_VIOLATION. Topics are one batch each, each correct on its own.
 *
 * Pure: the placement start index comes from the caller.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, isGregorError, leaderEpoch } from '@gregor/common'
import type { MetadataConfig } from './metadata-config.js'
import { MetadataDraft } from './metadata-draft.js'
import type { MetadataImage, TopicImage } from './metadata-image.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import { type MetadataRecord, metadataLimits } from './metadata-record.js'
import { repeatedNames } from './repeated-names.js'
import { placeReplicas } from './replica-placement.js'
import { isInternalTopicName } from './topic-name.js'

export interface PartitionCountRequest {
  readonly name: string
  /** The new total number of partitions. */
  readonly partitionCount: number
}

export interface CreatePartitionsInput {
  readonly topics: readonly PartitionCountRequest[]
  /** Which live broker leads the first new partition of the first topic (Kafka draws it at random). */
  readonly placementStartIndex: number
  /** Check and report, propose nothing (Kafka `validateOnly`). */
  readonly validateOnly?: boolean
  /** The most bytes one batch may encode to (the Raft entry limit); unbounded when absent. */
  readonly batchBytesMax?: number
}

export interface GrownTopic {
  readonly name: string
  readonly topicId: string
  readonly previousPartitionCount: number
  readonly partitionCount: number
}

export type CreatePartitionsResult = GrownTopic | { readonly name: string; readonly error: GregorError }

export interface CreatePartitionsDecision {
  /** One result per requested topic, in request order. */
  readonly results: readonly CreatePartitionsResult[]
  /** One batch per grown topic (none when `validateOnly`): propose them in order. */
  readonly batches: readonly (readonly MetadataRecord[])[]
}

function checkTopic (image: MetadataImage, request: PartitionCountRequest, repeated: boolean, config: MetadataConfig): TopicImage {
  const { name, partitionCount } = request
  if (repeated) throw new GregorError(ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`)
  const topic = image.topic(name)
  if (topic === undefined) throw new GregorError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`)
  if (isInternalTopicName(name)) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, `the partition count of internal topic ${name} cannot change`)
  }
  const limit = Math.min(config.partitionCountMax, metadataLimits.partitionCountMax)
  if (!Number.isSafeInteger(partitionCount) || partitionCount > limit) {
    throw new GregorError(ErrorCode.INVALID_PARTITIONS, `partition count must be an integer up to ${limit}, not ${partitionCount}`)
  }
  if (partitionCount <= topic.partitionCount) {
    throw new GregorError(ErrorCode.INVALID_PARTITIONS,
      `topic ${name} has ${topic.partitionCount} partitions; the count can only grow, and ${partitionCount} is not above it`)
  }
  return topic
}

function growTopic (draft: MetadataDraft, topic: TopicImage, partitionCount: number, startIndex: number, batchBytesMax: number): MetadataRecord[] {
  const replicationFactor = draft.image.partition(topic.topicId, 0)?.replicas.length
  assert(replicationFactor !== undefined, `topic ${topic.name} has no partition 0`)
  // Placed as if the topic were created with the new count; the new partitions take the tail of that assignment.
  const assignment = placeReplicas(draft.image, { partitionCount, replicationFactor, startIndex })
  const records: MetadataRecord[] = [{ type: 'AddPartitions', topicId: topic.topicId, partitionCount }]
  for (let partition = topic.partitionCount; partition < partitionCount; partition++) {
    const replicas = assignment[partition]
    const leader = replicas?.[0]
    assert(replicas !== undefined && leader !== undefined)
    records.push({
      type: 'Partition', topicId: topic.topicId, partition, replicas, isr: replicas, leader, leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
    })
  }
  const bytes = metadataBatchBytes(records)
  if (bytes > batchBytesMax) {
    throw new GregorError(ErrorCode.POLICY_VIOLATION,
      `growing topic ${topic.name} to ${partitionCount} partitions needs ${bytes} bytes of metadata records, above the ` +
      `${batchBytesMax}-byte limit of one metadata log entry: add fewer partitions at a time`,
      { details: { name: topic.name, partitionCount, bytes, batchBytesMax } })
  }
  for (const record of records) draft.append(record)
  return records
}

export function decideCreatePartitions (image: MetadataImage, input: CreatePartitionsInput, config: MetadataConfig): CreatePartitionsDecision {
  const batchBytesMax = input.batchBytesMax ?? Number.POSITIVE_INFINITY
  const draft = new MetadataDraft(image)
  const batches: MetadataRecord[][] = []
  const repeated = repeatedNames(input.topics)
  const results = input.topics.map((request, i): CreatePartitionsResult => {
    try {
      const topic = checkTopic(draft.image, request, repeated.has(request.name), config)
      const startIndex = (input.placementStartIndex + i) % (metadataLimits.int32Max + 1)
      batches.push(growTopic(draft, topic, request.partitionCount, startIndex, batchBytesMax))
      return { name: topic.name, topicId: topic.topicId, previousPartitionCount: topic.partitionCount, partitionCount: request.partitionCount }
    } catch (error) {
      if (!isGregorError(error)) throw error
      return { name: request.name, error }
    }
  })
  return { results, batches: input.validateOnly === true ? [] : batches }
}

/**
 * Partition leader election (KRaft `PartitionChangeBuilder.electLeader`), clean only.
 *
 * Owns: who may lead (a registered broker that is neither fenced nor shutting down: KRaft `isActive`), the online
 * election (keep a current leader that is still acceptable, else the first replica in assignment order that is in the
 * ISR and acceptable, else `NO_LEADER`), and preferred-leader election (move leadership to `replicas[0]` only when it
 * is in the ISR and acceptable).
 *
 * Never unclean: a replica outside the ISR may have lost acknowledged records, so no election here picks one, and a
 * partition whose ISR has no acceptable member stays offline until one returns (Kafka's default,
 * `unclean.leader.election.enable=false`). ISR membership means the data caught up, acceptability means the
 * metadata did, so a broker still catching up (Redpanda #18497, Kafka PR 22934) never receives leadership.
 */
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'
import { MetadataBatchBudget } from './metadata-batch-budget.js'
import type { MetadataImage, PartitionImage } from './metadata-image.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'

type ElectionInput = Pick<PartitionImage, 'replicas' | 'isr' | 'leader'>

/** May `brokerId` lead? Registered, unfenced and not in controlled shutdown. */
export function isAcceptableLeader (image: MetadataImage, brokerId: NodeId): boolean {
  const broker = image.broker(brokerId)
  return broker !== undefined && !broker.fenced && !broker.shuttingDown
}

/**
 * The leader `partition` should have: its current leader while that is still valid (no needless epoch bump), else
 * the first replica in assignment order that is in the ISR and acceptable, else `NO_LEADER`.
 */
export function electLeader (image: MetadataImage, partition: ElectionInput): NodeId {
  const valid = (id: NodeId): boolean => partition.isr.includes(id) && isAcceptableLeader(image, id)
  if (partition.leader !== NO_LEADER && valid(partition.leader)) return partition.leader
  return partition.replicas.find(valid) ?? NO_LEADER
}

/** `replicas[0]` when it is in the ISR and acceptable; otherwise the current leader, unchanged. */
export function electPreferredLeader (image: MetadataImage, partition: ElectionInput): NodeId {
  const preferred = partition.replicas[0]
  if (preferred !== undefined && partition.isr.includes(preferred) && isAcceptableLeader(image, preferred)) {
    return preferred
  }
  return partition.leader
}

export interface TopicPartition {
  readonly topicId: string
  readonly partition: number
}

/** Per partition, Kafka's ElectLeaders outcomes (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ...). */
export type PreferredElectionOutcome =
  | 'elected' | 'election-not-needed' | 'preferred-leader-not-available' | 'unknown-topic-or-partition'
  /** Due, but beyond this batch's byte budget: decide again once the batch is applied. */
  | 'deferred'

export interface PreferredLeaderElectionDecision {
  readonly results: readonly (TopicPartition & { readonly outcome: PreferredElectionOutcome })[]
  /** Within `batchBytesMax`; each record is correct on its own. */
  readonly records: readonly MetadataRecord[]
  /** False when some elections were `deferred`. */
  readonly complete: boolean
}

/**
 * Preferred-leader election (Kafka's ElectLeaders with `PREFERRED`, and its auto leader rebalance): for each named
 * partition, or every partition when none are named, hand leadership back to the preferred replica where it is
 * eligible.
 */
export function decidePreferredLeaderElection (
  image: MetadataImage,
  request: { readonly partitions?: readonly TopicPartition[] },
  batchBytesMax = Number.POSITIVE_INFINITY,
): PreferredLeaderElectionDecision {
  const targets = request.partitions ?? image.partitions()
  if (new Set(targets.map((t) => `${t.topicId}/${t.partition}`)).size !== targets.length) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, 'a preferred-leader election names a partition twice')
  }
  const records: MetadataRecord[] = []
  const budget = new MetadataBatchBudget(batchBytesMax)
  let complete = true
  const results = targets.map(({ topicId, partition: index }) => {
    const partition = image.partition(topicId, index)
    const result = (outcome: PreferredElectionOutcome): TopicPartition & { outcome: PreferredElectionOutcome } =>
      ({ topicId, partition: index, outcome })
    if (partition === undefined) return result('unknown-topic-or-partition')
    if (partition.leader === partition.replicas[0]) return result('election-not-needed')
    const change = buildPartitionChange(partition, { leader: electPreferredLeader(image, partition) })
    if (change === undefined) return result('preferred-leader-not-available')
    if (!complete || !budget.tryAdd(change)) {
      complete = false
      return result('deferred')
    }
    records.push(change)
    return result('elected')
  })
  return { results, records: Object.freeze(records), complete }
}

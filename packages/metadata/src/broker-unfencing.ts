/**
 * Unfencing brokers that have caught up (KRaft `ReplicationControlManager.handleBrokerUnfenced`).
 *
 * Owns: when a fenced broker may lead again: it is registered and not shutting down, its current incarnation has a
 * live session (a fresh heartbeat and no unanswered connection loss), it does not ask to stay fenced, and it reports
 * having applied the metadata log up to the controller's `appliedIndex`. Kafka only asks it to reach its own
 * registration record; Gregor asks for the whole committed log, so a broker never leads on a stale view of the
 * cluster. Unfencing is followed, in the same batch, by elections for offline partitions whose ISR it belongs to
 * (the partitions a whole-ISR fence left leaderless come back as soon as one of their members returns), and those
 * partitions' ISRs drop the members that are still fenced.
 *
 * Bounded: UnfenceBroker first, then as many elections as fit in `batchBytesMax`. Every prefix is a valid image (an
 * unfenced broker in the ISR of a partition that is still offline is allowed), so the rest follow in later batches from
 * `decideOfflinePartitionElections`, which the controller runs until it is `complete`. It also leads again a
 * partition that a controller dying halfway through a bounded fence left offline while its broker lives.
 */
import assert from 'node:assert/strict'
import type { NodeId } from '@gregor/common'
import { type BrokerLivenessInput, brokerLiveness, heartbeatOf } from './broker-heartbeat.js'
import { isrTransition } from './eligible-leader-replicas.js'
import { isAcceptableLeader } from './leader-election.js'
import { MetadataBatchBudget } from './metadata-batch-budget.js'
import { MetadataDraft } from './metadata-draft.js'
import type { BrokerRegistration, MetadataImage } from './metadata-image.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'

export interface BrokerUnfencingDecision {
  readonly unfencedBrokers: readonly NodeId[]
  /** One atomic batch within `batchBytesMax`; empty when nobody qualifies. */
  readonly records: readonly MetadataRecord[]
  /** False when some offline partitions are left to elect: `decideOfflinePartitionElections` until complete. */
  readonly complete: boolean
}

export interface OfflineElectionsDecision {
  readonly records: readonly MetadataRecord[]
  /** False when more elections remain than fitted in this batch: apply it and decide again. */
  readonly complete: boolean
}

function readyToUnfence (image: MetadataImage, broker: BrokerRegistration, input: BrokerLivenessInput): boolean {
  const heartbeat = heartbeatOf(broker, input.heartbeats)
  return broker.fenced &&
    !broker.shuttingDown &&
    heartbeat !== undefined &&
    heartbeat.wantFence !== true &&
    heartbeat.connectionLostMs === undefined &&
    heartbeat.metadataAppliedIndex >= image.appliedIndex &&
    !brokerLiveness(broker, input).expired
}

export function decideBrokerUnfencing (
  image: MetadataImage,
  input: BrokerLivenessInput,
  batchBytesMax = Number.POSITIVE_INFINITY,
): BrokerUnfencingDecision {
  const ready = image.brokers().filter((broker) => readyToUnfence(image, broker, input))
  if (ready.length === 0) return { unfencedBrokers: [], records: [], complete: true }
  const draft = new MetadataDraft(image)
  const budget = new MetadataBatchBudget(batchBytesMax)
  for (const { brokerId, incarnationId } of ready) {
    const record: MetadataRecord = { type: 'UnfenceBroker', brokerId, incarnationId }
    assert(budget.tryAdd(record), 'UnfenceBroker records alone are above the metadata batch limit')
    draft.append(record)
  }
  const complete = appendOfflineElections(draft, budget)
  return { unfencedBrokers: ready.map((broker) => broker.brokerId), records: draft.records, complete }
}

/** Leads again every offline partition that has an acceptable ISR member, as many as fit in `batchBytesMax`. */
export function decideOfflinePartitionElections (image: MetadataImage, batchBytesMax = Number.POSITIVE_INFINITY): OfflineElectionsDecision {
  const draft = new MetadataDraft(image)
  const complete = appendOfflineElections(draft, new MetadataBatchBudget(batchBytesMax))
  // Progress: a caller deciding again until complete must not spin on a batch that holds nothing.
  assert(complete || draft.records.length > 0, 'one election alone is above the metadata batch limit')
  return { records: draft.records, complete }
}

/** Appends elections while they fit; false when one did not. */
function appendOfflineElections (draft: MetadataDraft, budget: MetadataBatchBudget): boolean {
  for (const partition of draft.image.offlinePartitions()) {
    // From the ISR, or (KIP-966) from the eligible leader replicas when no ISR member can lead.
    const elected = isrTransition(draft.image, partition, { isr: partition.isr, elect: true })
    const leader = elected.leader ?? NO_LEADER
    if (leader === NO_LEADER) continue
    // The ISR was kept whole when its last members were fenced together. With a live leader again, the members still
    // fenced leave it (for the ELR): the new leader's high watermark must not wait for brokers that are not fetching.
    const isr = elected.isr.filter((id) => isAcceptableLeader(draft.image, id))
    const { elr } = isrTransition(draft.image, { ...partition, isr: elected.isr, elr: elected.elr }, { isr, elect: false })
    const change = buildPartitionChange(partition, { leader, isr, elr })
    if (change === undefined) continue
    if (!budget.tryAdd(change)) return false
    draft.append(change)
  }
  return true
}

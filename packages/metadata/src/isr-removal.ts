/**
 * Taking brokers out of every ISR and every leadership: what follows a fence, a controlled shutdown or a restart
 * with a new incarnation (KRaft `ReplicationControlManager.generateLeaderAndIsrUpdates`).
 *
 * Owns: the rule that an ISR never becomes empty. When every ISR member is being removed, Kafka (without KIP-966's
 * ELR) keeps them in the ISR and sets the leader to `NO_LEADER`: the partition is offline, but no replica outside the
 * ISR can be elected (no unclean election, no lost acknowledged records), and the first of them to return and be
 * unfenced leads again. Otherwise the removed brokers leave the ISR, and a partition they led gets the first
 * acceptable remaining ISR member in assignment order.
 *
 * The caller appends the broker state record (fence, shutdown, registration) to the draft first, so the election
 * already sees those brokers as unacceptable.
 *
 * Bounded (`boundedBrokerRemoval`): a broker in 10,000 ISRs needs more than one Raft entry's worth of records. The
 * state record must not come first: between entries, a committed image would show a fenced broker leading or in a
 * led ISR, which the image's invariants forbid. So the partitions move first, while the brokers are still live: each
 * such batch is a valid image on its own (an ISR shrink, a leader change to a live ISR member), and the state record
 * comes in the last batch, with whatever moves remain. Moves that leave a partition leaderless (the brokers are its
 * whole ISR) go last, so that a controller that dies halfway leaves as few partitions offline as it can; a partition
 * left so while its broker lives is led again by `decideOfflinePartitionElections`.
 */
import assert from 'node:assert/strict'
import type { NodeId } from '@gregor/common'
import { isrTransition } from './eligible-leader-replicas.js'
import { MetadataBatchBudget } from './metadata-batch-budget.js'
import { MetadataDraft } from './metadata-draft.js'
import type { MetadataImage } from './metadata-image.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import { type MetadataRecord, NO_LEADER, type PartitionChangeRecord } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'

/** A decision's next batch; when not `complete`, the caller applies it and decides again on the new image. */
export interface BoundedBatch {
  readonly records: readonly MetadataRecord[]
  readonly complete: boolean
}

/**
 * Appends to `draft` a PartitionChange for every partition whose ISR holds one of `brokerIds`. With `dataLost` (the
 * brokers came back with a wiped log directory) they leave even an ISR they are the last members of: it becomes
 * empty and the partition stays offline, since no replica is known to hold every acknowledged record.
 */
export function appendIsrRemovals (draft: MetadataDraft, brokerIds: ReadonlySet<NodeId>, options: { dataLost?: boolean } = {}): void {
  if (brokerIds.size === 0) return
  for (const partition of draft.image.partitions()) {
    const inElr = options.dataLost === true && (partition.elr ?? []).some((id) => brokerIds.has(id))
    if (!inElr && !partition.isr.some((id) => brokerIds.has(id))) continue
    const remaining = partition.isr.filter((id) => !brokerIds.has(id))
    const isr = remaining.length > 0 || options.dataLost === true ? remaining : partition.isr
    const target = isrTransition(draft.image, partition, { isr, elect: true, ...(options.dataLost === true ? { dataLost: brokerIds } : {}) })
    const change = buildPartitionChange(partition, target)
    if (change !== undefined) draft.append(change)
  }
}

/**
 * `stateRecords` and the ISR removals they imply for `brokerIds`, as one batch when it fits in `batchBytesMax`;
 * otherwise a batch of removals alone (not `complete`), computed as if the state records had been applied.
 * Deciding again on the image with that batch applied makes progress: the moved partitions no longer hold the brokers.
 */
export function boundedBrokerRemoval (
  image: MetadataImage,
  stateRecords: readonly MetadataRecord[],
  brokerIds: ReadonlySet<NodeId>,
  batchBytesMax: number,
  options: { dataLost?: boolean } = {},
): BoundedBatch {
  const draft = new MetadataDraft(image)
  for (const record of stateRecords) draft.append(record)
  appendIsrRemovals(draft, brokerIds, options)
  const records = draft.records
  if (batchBytesMax === Number.POSITIVE_INFINITY || metadataBatchBytes(records) <= batchBytesMax) {
    return { records, complete: true }
  }
  // Each change depends only on its own partition and on the brokers' state, so they move in any order.
  const moves = records.slice(stateRecords.length) as readonly PartitionChangeRecord[]
  const leaderless = (change: PartitionChangeRecord): boolean => change.leader === NO_LEADER
  const ordered = [...moves.filter((change) => !leaderless(change)), ...moves.filter(leaderless)]
  const moving = new MetadataDraft(image)
  const budget = new MetadataBatchBudget(batchBytesMax)
  for (const change of ordered) {
    if (!budget.tryAdd(change)) break
    moving.append(change)
  }
  assert(moving.records.length > 0, 'a partition change alone is above the metadata batch limit')
  return { records: moving.records, complete: false }
}

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
 */
import type { NodeId } from '@gregor/common'
import { electLeader } from './leader-election.js'
import type { MetadataDraft } from './metadata-draft.js'
import { buildPartitionChange } from './partition-change.js'

/** Appends to `draft` a PartitionChange for every partition whose ISR holds one of `brokerIds`. */
export function appendIsrRemovals (draft: MetadataDraft, brokerIds: ReadonlySet<NodeId>): void {
  for (const partition of draft.image.partitions()) {
    if (!partition.isr.some((id) => brokerIds.has(id))) continue
    const remaining = partition.isr.filter((id) => !brokerIds.has(id))
    const isr = remaining.length > 0 ? remaining : partition.isr
    const leader = electLeader(draft.image, { replicas: partition.replicas, isr, leader: partition.leader })
    const change = buildPartitionChange(partition, { isr, leader })
    if (change !== undefined) draft.append(change)
  }
}

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
 */
import type { NodeId } from '@gregor/common'
import { type BrokerLivenessInput, brokerLiveness, heartbeatOf } from './broker-heartbeat.js'
import { electLeader, isAcceptableLeader } from './leader-election.js'
import { MetadataDraft } from './metadata-draft.js'
import type { BrokerRegistration, MetadataImage } from './metadata-image.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'

export interface BrokerUnfencingDecision {
  readonly unfencedBrokers: readonly NodeId[]
  /** One atomic batch; empty when nobody qualifies. */
  readonly records: readonly MetadataRecord[]
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

export function decideBrokerUnfencing (image: MetadataImage, input: BrokerLivenessInput): BrokerUnfencingDecision {
  const ready = image.brokers().filter((broker) => readyToUnfence(image, broker, input))
  if (ready.length === 0) return { unfencedBrokers: [], records: [] }
  const draft = new MetadataDraft(image)
  for (const { brokerId, incarnationId } of ready) draft.append({ type: 'UnfenceBroker', brokerId, incarnationId })
  for (const partition of draft.image.offlinePartitions()) {
    const leader = electLeader(draft.image, partition)
    if (leader === NO_LEADER) continue
    // The ISR was kept whole when its last members were fenced together. With a live leader again, the members still
    // fenced leave it: the new leader's high watermark must not wait for brokers that are not fetching.
    const isr = partition.isr.filter((id) => isAcceptableLeader(draft.image, id))
    const change = buildPartitionChange(partition, { leader, isr })
    if (change !== undefined) draft.append(change)
  }
  return { unfencedBrokers: ready.map((broker) => broker.brokerId), records: draft.records }
}

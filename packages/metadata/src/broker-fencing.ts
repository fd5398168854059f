/**
 * Fencing brokers whose liveness expired (KRaft `QuorumController.maybeFenceOneStaleBroker` and
 * `ReplicationControlManager.handleBrokerFenced`).
 *
 * Owns: which unfenced brokers to fence now (session timeout, or connection-loss grace), the records that follow
 * (FenceBroker, then each partition's ISR shrink and new leader, in one atomic batch so no committed image ever has a
 * fenced leader), and when the next fence could fall due, so the controller can schedule a check exactly then (as
 * Kafka does) instead of polling. Brokers expiring together are fenced together: an election never picks a broker
 * that is being fenced in the same batch, and an ISR of brokers all fenced at once is kept whole (leader
 * `NO_LEADER`), as `appendIsrRemovals` explains.
 */
import type { NodeId } from '@gregor/common'
import { type BrokerExpiryReason, type BrokerLivenessInput, brokerLiveness } from './broker-heartbeat.js'
import { appendIsrRemovals } from './isr-removal.js'
import { MetadataDraft } from './metadata-draft.js'
import type { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'

export interface FencedBroker {
  readonly brokerId: NodeId
  readonly incarnationId: string
  readonly reason: BrokerExpiryReason
  /** How long past its deadline the fence fell: how late the controller looked. */
  readonly overdueMs: number
}

export interface BrokerFencingDecision {
  readonly fencedBrokers: readonly FencedBroker[]
  /** One atomic batch; empty when nobody expired. */
  readonly records: readonly MetadataRecord[]
}

/** Fence every unfenced broker whose session expired or whose connection-loss grace ran out. */
export function decideBrokerFencing (image: MetadataImage, input: BrokerLivenessInput): BrokerFencingDecision {
  const fencedBrokers: FencedBroker[] = []
  for (const broker of image.brokers()) {
    if (broker.fenced) continue
    const liveness = brokerLiveness(broker, input)
    if (liveness.expired) {
      const { brokerId, incarnationId } = broker
      fencedBrokers.push({ brokerId, incarnationId, reason: liveness.reason, overdueMs: input.nowMs - liveness.deadlineMs })
    }
  }
  if (fencedBrokers.length === 0) return { fencedBrokers, records: [] }
  const draft = new MetadataDraft(image)
  for (const { brokerId, incarnationId } of fencedBrokers) draft.append({ type: 'FenceBroker', brokerId, incarnationId })
  appendIsrRemovals(draft, new Set(fencedBrokers.map((fenced) => fenced.brokerId)))
  return { fencedBrokers, records: draft.records }
}

/** The earliest moment an unfenced broker would expire without a new heartbeat; undefined when none is unfenced. */
export function nextFencingDeadlineMs (image: MetadataImage, input: BrokerLivenessInput): number | undefined {
  let earliestMs: number | undefined
  for (const broker of image.brokers()) {
    if (broker.fenced) continue
    const { deadlineMs } = brokerLiveness(broker, input)
    earliestMs = earliestMs === undefined ? deadlineMs : Math.min(earliestMs, deadlineMs)
  }
  return earliestMs
}

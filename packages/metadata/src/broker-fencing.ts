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
 *
 * Bounded: a broker in more ISRs than one Raft entry can rewrite (about 10,000 at RF 3 within 1 MiB) is fenced in
 * several batches: its partitions move away first while it is still registered live, and FenceBroker comes with the
 * last of them (`boundedBrokerRemoval`). The controller decides again after each batch, so a broker that heartbeats
 * in the meantime is not fenced, and keeps only the moves already made (an ISR it rejoins by catching up).
 */
import type { NodeId } from '@gregor/common'
import { type BrokerExpiryReason, type BrokerLivenessInput, brokerLiveness, heartbeatOf } from './broker-heartbeat.js'
import { boundedBrokerRemoval } from './isr-removal.js'
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
  /** The brokers to fence; fenced by this batch only when `complete`. */
  readonly fencedBrokers: readonly FencedBroker[]
  /** One atomic batch within `batchBytesMax`; empty when nobody expired. */
  readonly records: readonly MetadataRecord[]
  /** False when `records` only moves partitions away: apply them and decide again. */
  readonly complete: boolean
}

/**
 * Fence every unfenced broker whose session expired or whose connection-loss grace ran out, and every one whose
 * latest heartbeat asks to be fenced (its log directory is offline: KIP-858).
 */
export function decideBrokerFencing (
  image: MetadataImage,
  input: BrokerLivenessInput,
  batchBytesMax = Number.POSITIVE_INFINITY,
): BrokerFencingDecision {
  const fencedBrokers: FencedBroker[] = []
  for (const broker of image.brokers()) {
    if (broker.fenced) continue
    const { brokerId, incarnationId } = broker
    const liveness = brokerLiveness(broker, input)
    if (liveness.expired) {
      fencedBrokers.push({ brokerId, incarnationId, reason: liveness.reason, overdueMs: input.nowMs - liveness.deadlineMs })
    } else if (heartbeatOf(broker, input.heartbeats)?.wantFence === true) {
      fencedBrokers.push({ brokerId, incarnationId, reason: 'log-dir-offline', overdueMs: 0 })
    }
  }
  if (fencedBrokers.length === 0) return { fencedBrokers, records: [], complete: true }
  const fences: MetadataRecord[] = fencedBrokers.map(({ brokerId, incarnationId }) => ({ type: 'FenceBroker', brokerId, incarnationId }))
  const batch = boundedBrokerRemoval(image, fences, new Set(fencedBrokers.map((fenced) => fenced.brokerId)), batchBytesMax)
  return { fencedBrokers, ...batch }
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

/**
 * Broker liveness as the active controller sees it: soft state, never in the metadata log (KRaft's
 * `BrokerHeartbeatManager`). A new controller starts with none and counts every broker's session from its own
 * activation, as Kafka does.
 *
 * Owns: the per-broker heartbeat entry, the pure transitions on a heartbeat and on a dropped connection, and the
 * liveness verdict. A broker's session expires `brokerSessionTimeoutMs` after its last contact; a dropped connection
 * to the controller is a hint that the process died, so the broker expires `brokerConnectionLossGraceMs` after the
 * drop unless a heartbeat arrives first (a heartbeat clears the hint). Expiry is `nowMs ≥ deadline`, as Kafka's
 * `hasValidSession` is `lastContact + session > now`.
 */
import { ErrorCode, GregorError, type NodeId, type RaftIndex, raftIndex } from '@gregor/common'
import type { MetadataConfig } from './metadata-config.js'
import type { BrokerRegistration, MetadataImage } from './metadata-image.js'

export interface BrokerHeartbeat {
  /** The incarnation that sent it: an entry never outlives a restart (its applied index would be the old process's). */
  readonly incarnationId: string
  readonly lastHeartbeatMs: number
  /** The Raft index of the last metadata entry the broker has applied (Kafka's `currentMetadataOffset`). */
  readonly metadataAppliedIndex: RaftIndex
  /** When the controller saw the broker's connection drop; cleared by the next heartbeat. */
  readonly connectionLostMs?: number
  /**
   * The broker asks to be fenced and to stay so (Kafka `wantFence`): its log directory is offline (KIP-858), so it may
   * not lead or be in an ISR until a heartbeat without it says the directory is back.
   */
  readonly wantFence?: boolean
}

export type BrokerHeartbeats = ReadonlyMap<NodeId, BrokerHeartbeat>

/** What every liveness decision needs besides the image. */
export interface BrokerLivenessInput {
  readonly heartbeats: BrokerHeartbeats
  readonly nowMs: number
  /** When this controller became active: a broker it has not heard from yet counts from here. */
  readonly controllerActivatedMs: number
  /**
   * Brokers whose Raft voter (combined mode: same id) the controller's Raft leader has heard from this CheckQuorum
   * round: their process is alive, so the activation window's fast fencing does not apply to them.
   */
  readonly activeVoters?: ReadonlySet<NodeId>
  readonly config: Pick<MetadataConfig, 'brokerSessionTimeoutMs' | 'brokerConnectionLossGraceMs' | 'brokerHeartbeatIntervalMs'>
}

export type BrokerExpiryReason = 'session-timeout' | 'connection-lost' | 'log-dir-offline'

export interface BrokerLiveness {
  /** The moment the broker expires (or expired), absent a new heartbeat. */
  readonly deadlineMs: number
  readonly reason: BrokerExpiryReason
  readonly expired: boolean
}

export interface HeartbeatReport {
  readonly nowMs: number
  readonly incarnationId: string
  readonly metadataAppliedIndex: RaftIndex
  readonly wantFence?: boolean
}

/**
 * The entry after a heartbeat (or a registration, which counts as one) at `nowMs`: contact renewed, any
 * connection-loss suspicion cancelled. A different incarnation starts a fresh entry.
 */
export function heartbeatReceived (previous: BrokerHeartbeat | undefined, report: HeartbeatReport): BrokerHeartbeat {
  const same = previous?.incarnationId === report.incarnationId ? previous : undefined
  // Heartbeats can be reordered in flight; what one process has applied never goes back.
  const metadataAppliedIndex = raftIndex(Math.max(same?.metadataAppliedIndex ?? 0, report.metadataAppliedIndex))
  return Object.freeze({
    incarnationId: report.incarnationId,
    lastHeartbeatMs: Math.max(same?.lastHeartbeatMs ?? report.nowMs, report.nowMs),
    metadataAppliedIndex,
    ...(report.wantFence === true ? { wantFence: true } : {}),
  })
}

/**
 * The entry after the broker's connection to the controller dropped at `nowMs`; the earliest drop counts. A broker
 * this controller never heard from has no entry to mark: its session already counts from the controller's activation.
 */
export function connectionLost (previous: BrokerHeartbeat | undefined, nowMs: number): BrokerHeartbeat | undefined {
  if (previous === undefined || previous.connectionLostMs !== undefined) return previous
  return Object.freeze({ ...previous, connectionLostMs: nowMs })
}

/** The entry for `broker`'s current incarnation, if this controller has heard from it. */
export function heartbeatOf (broker: BrokerRegistration, heartbeats: BrokerHeartbeats): BrokerHeartbeat | undefined {
  const heartbeat = heartbeats.get(broker.brokerId)
  return heartbeat?.incarnationId === broker.incarnationId ? heartbeat : undefined
}

/** When `broker` expires and why; its session counts from the later of its last heartbeat and activation. */
export function brokerLiveness (broker: BrokerRegistration, input: BrokerLivenessInput): BrokerLiveness {
  const heartbeat = heartbeatOf(broker, input.heartbeats)
  const lastContactMs = Math.max(heartbeat?.lastHeartbeatMs ?? input.controllerActivatedMs, input.controllerActivatedMs)
  const sessionDeadlineMs = lastContactMs + input.config.brokerSessionTimeoutMs
  // A live broker opens a heartbeat stream to a new controller within about one heartbeat interval of the election
  // (it is a voter: it learns the new leader at once). One that has not is treated as if its stream broke then, so a
  // broker killed together with the old controller is fenced within a second, not at the full session timeout.
  // Only in the activation window: later, a broker without a heartbeat entry is one that just registered (a new
  // incarnation) and gets its session from registration like any other. And never to a broker whose Raft voter
  // answers this leader: it is alive, merely slow to reopen its stream (a slow name lookup, a busy machine), and
  // fencing it too could leave a partition with no eligible leader at all (the controller's own broker included).
  const inActivationWindow = input.nowMs < input.controllerActivatedMs + input.config.brokerSessionTimeoutMs
  const provenAlive = input.activeVoters?.has(broker.brokerId) === true
  const unheard = heartbeat === undefined && inActivationWindow && !provenAlive
  const lostMs = unheard ? input.controllerActivatedMs + input.config.brokerHeartbeatIntervalMs : heartbeat?.connectionLostMs
  // Where Raft says who is alive, a broker that has neither heartbeated nor answered the new leader one heartbeat
  // interval into its term is not slow: it is gone (its voter would have answered the leader's first append within
  // milliseconds). No grace on top of that; without Raft's word, the usual grace.
  const graceMs = unheard && input.activeVoters !== undefined ? 0 : input.config.brokerConnectionLossGraceMs
  const graceDeadlineMs = lostMs === undefined ? Infinity : lostMs + graceMs
  const reason: BrokerExpiryReason = graceDeadlineMs < sessionDeadlineMs ? 'connection-lost' : 'session-timeout'
  const deadlineMs = Math.min(sessionDeadlineMs, graceDeadlineMs)
  return { deadlineMs, reason, expired: input.nowMs >= deadlineMs }
}

/**
 * The registration a request from `brokerId` speaks for, or GregorError INVALID_REQUEST when the broker is unknown
 * (Kafka BROKER_ID_NOT_REGISTERED) or the request comes from another incarnation (Kafka STALE_BROKER_EPOCH): a
 * zombie process must not keep its successor's session alive. Either way the broker should register again.
 */
export function checkBrokerIncarnation (image: MetadataImage, brokerId: NodeId, incarnationId: string): BrokerRegistration {
  const broker = image.broker(brokerId)
  if (broker === undefined) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, `broker ${brokerId} is not registered`,
      { details: { brokerId, kafkaCode: 'BROKER_ID_NOT_REGISTERED' } })
  }
  if (broker.incarnationId !== incarnationId) {
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `broker ${brokerId} incarnation ${incarnationId} is stale; ${broker.incarnationId} is registered`,
      { details: { brokerId, incarnationId, kafkaCode: 'STALE_BROKER_EPOCH' } })
  }
  return broker
}

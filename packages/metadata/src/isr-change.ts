/**
 * Validating an AlterPartition (formerly AlterIsr, KIP-497) request: a partition leader asks the controller to
 * shrink or expand the ISR (KRaft `ReplicationControlManager.validateAlterPartitionData`, same order of checks).
 *
 * Owns: the fencing of stale requests. The request names the leader epoch and partition epoch it was built against;
 * a request built on an older state is refused, so a deposed leader, or a leader whose ISR changed underneath it
 * (a fence removed a member), can never overwrite a newer decision. Then: the new ISR is a subset of the replicas
 * without repeats, contains the leader, and every member is registered, unfenced and not shutting down (KIP-841):
 * a fenced broker never re-enters an ISR through a leader's stale view. And (KIP-903) every member the request adds
 * must name the broker epoch the leader saw it fetch with, equal to its current registration's: a broker that
 * restarted since (and may have lost its unsynced tail, or its whole disk) must catch up again as the new incarnation.
 *
 * Errors, Kafka's codes where Gregor has them:
 * - unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION;
 * - request epochs newer than this image: NOT_CONTROLLER (this controller is behind; the leader should find the
 *   current one);
 * - older leader epoch: FENCED_LEADER_EPOCH;
 * - sender is not the leader: NOT_LEADER_OR_FOLLOWER (Kafka answers INVALID_REQUEST);
 * - older partition epoch: Kafka's INVALID_UPDATE_VERSION, which Gregor lacks: FENCED_LEADER_EPOCH with
 *   `details.kafkaCode = 'INVALID_UPDATE_VERSION'` (the remedy is the same: refresh metadata, rebuild the request);
 * - malformed ISR: INVALID_REQUEST;
 * - ineligible member (fenced, shutting down, unregistered, or an added member whose broker epoch is not the current
 *   registration's): INELIGIBLE_REPLICA (the leader backs off and proposes again from newer fetches).
 */
import { ErrorCode, GregorError, type LeaderEpoch, type NodeId } from '@gregor/common'
import { isAcceptableLeader } from './leader-election.js'
import type { MetadataImage, PartitionImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'
import { isrTransition } from './eligible-leader-replicas.js'

export interface AlterPartitionRequest {
  /** The broker sending the request: the leader it believes it is. */
  readonly brokerId: NodeId
  readonly topicId: string
  readonly partition: number
  readonly leaderEpoch: LeaderEpoch
  readonly partitionEpoch: number
  readonly newIsr: readonly NodeId[]
  /**
   * KIP-903: the broker epoch of each `newIsr` member as the leader last saw it fetch (-1: not known, allowed only for
   * members already in the ISR). Absent: a request without epochs (Kafka's AlterPartition before v3), not checked.
   */
  readonly brokerEpochs?: readonly number[]
}

export interface IsrChangeDecision {
  /** The PartitionChange to propose; empty when the ISR is already `newIsr`. */
  readonly records: readonly MetadataRecord[]
}

function refuse (code: ErrorCode, message: string, details: Record<string, unknown>, retriable?: boolean): GregorError {
  return new GregorError(code, message, retriable === undefined ? { details } : { details, retriable })
}

function checkEpochs (partition: PartitionImage, request: AlterPartitionRequest, name: string): void {
  const current = { leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch }
  if (request.leaderEpoch > partition.leaderEpoch || request.partitionEpoch > partition.partitionEpoch) {
    throw refuse(ErrorCode.NOT_CONTROLLER, `${name}: the request is newer than this controller's metadata`, current)
  }
  if (request.leaderEpoch < partition.leaderEpoch) {
    throw refuse(ErrorCode.FENCED_LEADER_EPOCH,
      `${name}: leader epoch ${request.leaderEpoch} is stale; the current one is ${partition.leaderEpoch}`, current)
  }
  if (request.brokerId !== partition.leader) {
    throw refuse(ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `${name}: broker ${request.brokerId} is not the leader; ${partition.leader} is`, current)
  }
  if (request.partitionEpoch < partition.partitionEpoch) {
    throw refuse(ErrorCode.FENCED_LEADER_EPOCH,
      `${name}: partition epoch ${request.partitionEpoch} is stale; the current one is ${partition.partitionEpoch}`,
      { ...current, kafkaCode: 'INVALID_UPDATE_VERSION' })
  }
}

function checkNewIsr (image: MetadataImage, partition: PartitionImage, request: AlterPartitionRequest, name: string): void {
  const { newIsr } = request
  const invalid = (problem: string): GregorError =>
    refuse(ErrorCode.INVALID_REQUEST, `${name}: new ISR [${newIsr.join(', ')}] ${problem}`, { newIsr })
  if (!Array.isArray(newIsr) || newIsr.length === 0) throw invalid('is empty')
  if (new Set(newIsr).size !== newIsr.length) throw invalid('repeats a broker')
  if (!newIsr.every((id) => partition.replicas.includes(id))) {
    throw invalid(`is not a subset of the replicas [${partition.replicas.join(', ')}]`)
  }
  if (!newIsr.includes(partition.leader)) throw invalid(`does not contain the leader ${partition.leader}`)
  const ineligible = newIsr.filter((id) => !isAcceptableLeader(image, id))
  if (ineligible.length > 0) {
    throw refuse(ErrorCode.INELIGIBLE_REPLICA,
      `${name}: brokers [${ineligible.join(', ')}] are fenced, shutting down or unregistered and may not join the ISR`,
      { newIsr, ineligible })
  }
  const epochs = request.brokerEpochs
  if (epochs === undefined) return
  if (epochs.length !== newIsr.length) throw invalid('does not name one broker epoch per member')
  const stale = newIsr.filter((id, i) => !partition.isr.includes(id) && epochs[i] !== image.broker(id)?.brokerEpoch)
  if (stale.length > 0) {
    throw refuse(ErrorCode.INELIGIBLE_REPLICA,
      `${name}: brokers [${stale.join(', ')}] were seen caught up by an incarnation that is no longer registered`,
      { newIsr, brokerEpochs: epochs, stale })
  }
}

export function decideIsrChange (image: MetadataImage, request: AlterPartitionRequest): IsrChangeDecision {
  const topic = image.topicById(request.topicId)
  const partition = image.partition(request.topicId, request.partition)
  if (topic === undefined || partition === undefined) {
    throw refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `unknown partition ${request.partition} of topic id ${request.topicId}`, { topicId: request.topicId })
  }
  const name = `${topic.name}-${partition.partition}`
  checkEpochs(partition, request, name)
  checkNewIsr(image, partition, request, name)
  const change = buildPartitionChange(partition, isrTransition(image, partition, { isr: request.newIsr, elect: false }))
  return { records: change === undefined ? [] : [change] }
}

/**
 * Where a new topic's replicas go: Kafka's `AdminUtils.assignReplicasToBrokers`, over the live brokers.
 *
 * Rack-unaware (brokers sorted by id): partition p's first replica, its preferred leader, is broker
 * `(p + startIndex) mod B`, so P partitions over B brokers give each broker ⌊P/B⌋ or ⌈P/B⌉ leaderships; the other
 * replicas follow at a shift that grows by one every B partitions, so followers spread too.
 * Rack-aware (every live broker has a rack): the same walk over a rack-alternating broker list (one broker from each
 * rack in turn), skipping a broker whose rack already holds a replica while some rack holds none, so replicas land on
 * distinct racks whenever RF ≤ racks. When only some brokers have a rack, placement ignores racks (Kafka's
 * `RackAwareMode.Safe`) rather than refuse to create the topic.
 *
 * Pure: the start index (Kafka draws it at random so successive topics start on different brokers) comes from the
 * caller. Replicas are distinct brokers, and RF > live brokers is INVALID_REPLICATION_FACTOR.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'
import type { MetadataImage } from './metadata-image.js'
import { metadataLimits } from './metadata-record.js'

export interface PlacementBroker {
  readonly brokerId: NodeId
  readonly rack?: string
}

export interface ReplicaPlacementRequest {
  readonly partitionCount: number
  readonly replicationFactor: number
  /** Which broker leads partition 0, as an index into the sorted broker list (any non-negative integer). */
  readonly startIndex: number
  /** Offset of the followers from the leader; defaults to `startIndex` (Kafka with a fixed start index). */
  readonly replicaShift?: number
}

/** The assignment for partitions 0..partitionCount-1 over the image's live (unfenced, not shutting down) brokers. */
export function placeReplicas (image: MetadataImage, request: ReplicaPlacementRequest): readonly (readonly NodeId[])[] {
  return assignReplicasToBrokers(image.liveBrokers(), request)
}

/** Kafka's algorithm over an explicit broker list. */
export function assignReplicasToBrokers (
  brokers: readonly PlacementBroker[],
  request: ReplicaPlacementRequest,
): readonly (readonly NodeId[])[] {
  validateRequest(brokers, request)
  const sorted = [...brokers].sort((a, b) => a.brokerId - b.brokerId)
  const rackAware = sorted.every((broker) => broker.rack !== undefined)
  const arranged = rackAware ? rackAlternatedBrokers(sorted) : sorted
  const racks = new Set(arranged.map((broker) => broker.rack ?? ''))
  const assignment: (readonly NodeId[])[] = []
  let shift = request.replicaShift ?? request.startIndex
  for (let partition = 0; partition < request.partitionCount; partition++) {
    if (partition > 0 && partition % arranged.length === 0) shift += 1
    const first = (partition + request.startIndex) % arranged.length
    assignment.push(Object.freeze(rackAware
      ? rackAwareReplicas(arranged, first, shift * racks.size, request.replicationFactor, racks.size)
      : followersOf(arranged, first, shift, request.replicationFactor)))
  }
  return Object.freeze(assignment)
}

function validateRequest (brokers: readonly PlacementBroker[], request: ReplicaPlacementRequest): void {
  const { partitionCount, replicationFactor, startIndex, replicaShift } = request
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1 || partitionCount > metadataLimits.partitionCountMax) {
    throw new GregorError(ErrorCode.INVALID_PARTITIONS,
      `partition count must be an integer from 1 to ${metadataLimits.partitionCountMax}, not ${partitionCount}`)
  }
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1) {
    throw new GregorError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor must be a positive integer, not ${replicationFactor}`)
  }
  if (replicationFactor > brokers.length) {
    const ids = brokers.map((broker) => broker.brokerId).sort((a, b) => a - b)
    throw new GregorError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${replicationFactor} is larger than the ${brokers.length} live brokers [${ids.join(', ')}]`,
      { details: { replicationFactor, liveBrokers: ids } })
  }
  for (const [name, value] of [['startIndex', startIndex], ['replicaShift', replicaShift ?? 0]] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > metadataLimits.int32Max) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, `${name} must be a non-negative int32, not ${value}`)
    }
  }
  if (new Set(brokers.map((broker) => broker.brokerId)).size !== brokers.length) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, 'placement brokers must not repeat')
  }
}

/** Kafka `replicaIndex`: the j-th follower sits 1 + (shift + j) mod (B - 1) places after the leader. */
function replicaIndex (first: number, shift: number, j: number, brokerCount: number): number {
  return (first + 1 + ((shift + j) % (brokerCount - 1))) % brokerCount
}

function followersOf (brokers: readonly PlacementBroker[], first: number, shift: number, replicationFactor: number): NodeId[] {
  const replicas: NodeId[] = []
  for (let j = -1; j < replicationFactor - 1; j++) {
    const broker = brokers[j < 0 ? first : replicaIndex(first, shift, j, brokers.length)]
    assert(broker !== undefined)
    replicas.push(broker.brokerId)
  }
  return replicas
}

/** Kafka `getRackAlternatedBrokerList`: racks in name order, one broker (by id) from each in turn. */
function rackAlternatedBrokers (brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>()
  for (const broker of brokers) byRack.set(broker.rack ?? '', [...(byRack.get(broker.rack ?? '') ?? []), broker])
  const racks = [...byRack.keys()].sort()
  const arranged: PlacementBroker[] = []
  for (let round = 0; arranged.length < brokers.length; round++) {
    for (const rack of racks) {
      const broker = byRack.get(rack)?.[round]
      if (broker !== undefined) arranged.push(broker)
    }
  }
  return arranged
}

function rackAwareReplicas (
  arranged: readonly PlacementBroker[],
  first: number,
  shift: number,
  replicationFactor: number,
  rackCount: number,
): NodeId[] {
  const leader = arranged[first]
  assert(leader !== undefined)
  const replicas = [leader.brokerId]
  const racksUsed = new Set([leader.rack])
  const brokersUsed = new Set([leader.brokerId])
  // Every B - 1 steps visit every other broker once, so this ends within RF * B steps (RF ≤ B).
  for (let k = 0; replicas.length < replicationFactor; k++) {
    assert(k < replicationFactor * arranged.length, 'rack-aware placement did not converge')
    const broker = arranged[replicaIndex(first, shift, k, arranged.length)]
    assert(broker !== undefined)
    // Skip a broker whose rack already has a replica while some rack has none, and a broker already used.
    const rackOk = !racksUsed.has(broker.rack) || racksUsed.size === rackCount
    const brokerOk = !brokersUsed.has(broker.brokerId) || brokersUsed.size === arranged.length
    if (rackOk && brokerOk) {
      replicas.push(broker.brokerId)
      racksUsed.add(broker.rack)
      brokersUsed.add(broker.brokerId)
    }
  }
  return replicas
}

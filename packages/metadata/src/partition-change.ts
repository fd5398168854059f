/**
 * Building the PartitionChange record that takes a partition from its current state to a target state (KRaft's
 * `PartitionChangeBuilder.build`).
 *
 * Owns: the rules that a record carries only the fields that change, that no record is made when nothing changes,
 * and when `leader` is set: on a leader change, and, with the current leader, when a replica leaves the assignment
 * (KRaft `triggerLeaderEpochBumpIfNeeded`: the bump fences the removed replica's fetches). ISR changes alone do not
 * bump the leader epoch (KRaft since KAFKA-15021): followers need not refetch metadata for them.
 */
import type { NodeId } from '@gregor/common'
import type { PartitionImage } from './metadata-image.js'
import type { PartitionChangeRecord } from './metadata-record.js'

export interface PartitionTarget {
  readonly leader?: NodeId
  readonly isr?: readonly NodeId[]
  readonly elr?: readonly NodeId[]
  readonly replicas?: readonly NodeId[]
}

const sameList = (a: readonly NodeId[], b: readonly NodeId[]): boolean =>
  a.length === b.length && a.every((id, i) => id === b[i])

/** The record that moves `current` to `target`, or undefined when `target` is what it already is. */
export function buildPartitionChange (current: PartitionImage, target: PartitionTarget): PartitionChangeRecord | undefined {
  const leaderChanged = target.leader !== undefined && target.leader !== current.leader
  const isrChanged = target.isr !== undefined && !sameList(target.isr, current.isr)
  const elrChanged = target.elr !== undefined && !sameList(target.elr, current.elr ?? [])
  const replicasChanged = target.replicas !== undefined && !sameList(target.replicas, current.replicas)
  const replicaRemoved = replicasChanged && current.replicas.some((id) => !(target.replicas ?? []).includes(id))
  if (!leaderChanged && !isrChanged && !elrChanged && !replicasChanged) return undefined
  return Object.freeze({
    type: 'PartitionChange',
    topicId: current.topicId,
    partition: current.partition,
    ...(leaderChanged || replicaRemoved ? { leader: target.leader ?? current.leader } : {}),
    ...(isrChanged ? { isr: Object.freeze([...(target.isr ?? [])]) } : {}),
    ...(elrChanged ? { elr: Object.freeze([...(target.elr ?? [])]) } : {}),
    ...(replicasChanged ? { replicas: Object.freeze([...(target.replicas ?? [])]) } : {}),
  })
}

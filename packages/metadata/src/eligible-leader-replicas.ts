/**
 * KIP-966 eligible leader replicas (ELR): who else may lead once no ISR member can.
 *
 * Owns: the one rule for a partition's next ISR, ELR and leader when its ISR changes, used by every decision that
 * changes an ISR (fencing, shutdown, re-registration, AlterPartition, offline elections, lost data):
 * - The high watermark does not advance while the ISR is below the topic's `min.insync.replicas`, so a member that
 *   leaves the ISR then still holds every committed record: it joins the ELR. Once the ISR is back at the minimum,
 *   records commit without the ELR members and the ELR is cleared.
 * - Members whose data is gone (a wiped disk, a log that found corruption: `dataLost`) leave the ELR too.
 * - Election: the current leader while still valid, else the first acceptable ISR member in assignment order, else
 *   (only when `elect` allows it) the first acceptable ELR member, which becomes the whole ISR; the ISR members left
 *   behind (fenced last members, which also hold every committed record) move to the ELR.
 *
 * Invariants: ISR and ELR are disjoint subsets of the replicas; never an unclean election: every replica this elects
 * holds every committed record.
 */
import type { NodeId } from '@gregor/common'
import { electLeader, isAcceptableLeader } from './leader-election.js'
import type { MetadataImage, PartitionImage } from './metadata-image.js'
import { NO_LEADER } from './metadata-record.js'
import type { PartitionTarget } from './partition-change.js'

export interface IsrTransition {
  /** The ISR after the change (the caller's rules: fenced last members kept, members removed, ...). */
  readonly isr: readonly NodeId[]
  /** Brokers whose replica lost data: out of the ELR too. */
  readonly dataLost?: ReadonlySet<NodeId>
  /** Whether to choose a leader (an AlterPartition keeps its leader: false). */
  readonly elect: boolean
}

const unique = (ids: readonly NodeId[]): NodeId[] => [...new Set(ids)]

/** The partition's target after its ISR becomes `transition.isr`: ISR, ELR and (when electing) leader. */
export function isrTransition (image: MetadataImage, partition: PartitionImage, transition: IsrTransition): Required<Pick<PartitionTarget, 'isr' | 'elr'>> & PartitionTarget {
  const minIsr = image.topicById(partition.topicId)?.config.minInsyncReplicas ?? 1
  const lost = transition.dataLost ?? new Set<NodeId>()
  const eligibleAfter = (isr: readonly NodeId[], candidates: readonly NodeId[]): NodeId[] =>
    isr.length >= minIsr ? [] : unique(candidates).filter((id) => !isr.includes(id) && !lost.has(id))
  let isr = transition.isr
  const left = partition.isr.filter((id) => !isr.includes(id))
  let elr = eligibleAfter(isr, [...(partition.elr ?? []), ...left])
  if (!transition.elect) return { isr, elr }
  let leader = electLeader(image, { replicas: partition.replicas, isr, leader: partition.leader })
  if (leader === NO_LEADER) {
    const fromElr = partition.replicas.find((id) => elr.includes(id) && isAcceptableLeader(image, id))
    if (fromElr !== undefined) {
      leader = fromElr
      elr = eligibleAfter([fromElr], [...elr, ...isr])
      isr = [fromElr]
    }
  }
  return { isr, elr, leader }
}

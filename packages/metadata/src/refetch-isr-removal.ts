/**
 * Taking a broker out of the ISRs of the replicas it reports as re-fetching (issue 10, defect 5): their logs found
 * corruption and were cut back, so until they have fetched their data again from the leader they must not count as
 * in sync, and above all must not be elected.
 *
 * Owns: which partitions change. The broker leaves the ISR; a partition it leads gets the first acceptable other ISR
 * member. Where it is the last member, the ISR becomes empty and the partition offline, as for a wiped disk
 * (`appendIsrRemovals` with `dataLost`): the only replica known to hold every acknowledged record has lost some of
 * them, and electing it would make the others truncate to its short log. Unknown partitions, and ones it is not in the
 * ISR of, are ignored: the report may be older than the image.
 */
import type { NodeId } from '@gregor/common'
import { isrTransition } from './eligible-leader-replicas.js'
import type { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'
import { buildPartitionChange } from './partition-change.js'

export interface RefetchingReplica {
  readonly topicId: string
  readonly partition: number
}

export function decideRefetchIsrRemovals (
  image: MetadataImage, brokerId: NodeId, refetching: readonly RefetchingReplica[],
): readonly MetadataRecord[] {
  const records: MetadataRecord[] = []
  for (const { topicId, partition: index } of refetching) {
    const partition = image.partition(topicId, index)
    if (partition === undefined || (!partition.isr.includes(brokerId) && !(partition.elr ?? []).includes(brokerId))) continue
    const isr = partition.isr.filter((id) => id !== brokerId)
    const change = buildPartitionChange(partition, isrTransition(image, partition, { isr, elect: true, dataLost: new Set([brokerId]) }))
    if (change !== undefined) records.push(change)
  }
  return records
}

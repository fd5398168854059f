/**
 * The replayed state of one group: the last value of each of its keys in `__consumer_offsets`.
 *
 * Owns: applying one record (`replay`) and the derived views decisions read (group epoch, assignment epoch, the
 * owner of each partition, the group's state). The state is exactly "per key, the last value", so it does not depend
 * on the relative order of different keys: a compacted partition (which keeps the last record of each key, possibly
 * reordering keys) rebuilds the same group. Views tolerate the partial states a load passes through (a current
 * assignment before its member's metadata): a member exists iff its metadata record does, and records of members
 * that do not exist are ignored by every view (and cleaned up by `tick`).
 *
 * A classic group has two keys here: its ConsumerGroupMetadata (type classic: the generation, written at the end of
 * every join phase) and its GroupMetadata (`classic`: the last completed generation with its members and their
 * assignments, absent while the group is empty). The group's epoch is the larger of the two generations, so it never
 * depends on which of the two keys a compacted log holds (a partition copied from Kafka has only the second).
 *
 * Only `GroupCoordinatorShard.replay` mutates this; decisions read it.
 */
import type { GroupState, GroupType, MemberState, TopicPartitions } from './coordinator-types.js'
import type {
  ClassicGroupMetadataValue, ConsumerGroupCurrentMemberAssignmentValue, ConsumerGroupMemberMetadataValue,
  ConsumerGroupMetadataValue, GroupRecord, OffsetCommitValue,
} from './group-record.js'

export class ConsumerGroupState {
  readonly groupId: string
  metadata: ConsumerGroupMetadataValue | undefined
  /** A classic group's last completed generation with its members (its GroupMetadata record). */
  classic: ClassicGroupMetadataValue | undefined
  /** topic → partition count, as last written (undefined before the first ConsumerGroupPartitionMetadata). */
  partitionMetadata: ReadonlyMap<string, number> | undefined
  readonly members = new Map<string, ConsumerGroupMemberMetadataValue>()
  targetAssignmentEpoch: number | undefined
  readonly targets = new Map<string, readonly TopicPartitions[]>()
  readonly current = new Map<string, ConsumerGroupCurrentMemberAssignmentValue>()
  readonly offsets = new Map<string, Map<number, OffsetCommitValue>>()
  #offsetCount = 0
  /** topic → partition → members whose current assignment holds it (assigned or pending revocation). */
  readonly #owners = new Map<string, Map<number, Set<string>>>()

  constructor (groupId: string) {
    this.groupId = groupId
  }

  get groupEpoch (): number {
    if (this.groupType === 'consumer') return this.metadata?.epoch ?? 0
    return Math.max(this.metadata?.epoch ?? 0, this.classic?.generationId ?? 0)
  }

  get assignmentEpoch (): number { return this.targetAssignmentEpoch ?? 0 }
  get groupType (): GroupType { return this.metadata?.groupType ?? (this.classic !== undefined ? 'classic' : 'consumer') }
  get offsetCount (): number { return this.#offsetCount }

  /** Whether no key of this group is left (the shard then forgets it). */
  get isVoid (): boolean {
    return this.metadata === undefined && this.classic === undefined && this.partitionMetadata === undefined && this.members.size === 0 &&
      this.targetAssignmentEpoch === undefined && this.targets.size === 0 && this.current.size === 0 && this.#offsetCount === 0
  }

  /** The current assignment of an existing member (a member whose assignment record is not there yet holds nothing). */
  currentOf (memberId: string): ConsumerGroupCurrentMemberAssignmentValue {
    return this.current.get(memberId) ?? EMPTY_CURRENT
  }

  /** Whether a member other than `memberId` holds the partition (assigned or still revoking it). */
  isOwnedByOther (memberId: string, topic: string, partition: number): boolean {
    const holders = this.#owners.get(topic)?.get(partition)
    if (holders === undefined) return false
    for (const holder of holders) if (holder !== memberId && this.members.has(holder)) return true
    return false
  }

  get state (): GroupState {
    if (this.members.size === 0) return 'empty'
    if (this.groupEpoch > this.assignmentEpoch) return 'assigning'
    for (const memberId of this.members.keys()) {
      const current = this.currentOf(memberId)
      if (current.state !== 'stable' || current.memberEpoch !== this.assignmentEpoch) return 'reconciling'
    }
    return 'stable'
  }

  memberState (memberId: string): MemberState {
    return this.currentOf(memberId).state
  }

  replay (record: GroupRecord): void {
    switch (record.type) {
      case 'OffsetCommit': {
        let topic = this.offsets.get(record.topic)
        const had = topic?.has(record.partition) ?? false
        if (record.value === null) {
          if (!had) return
          topic?.delete(record.partition)
          if (topic?.size === 0) this.offsets.delete(record.topic)
          this.#offsetCount--
          return
        }
        if (topic === undefined) this.offsets.set(record.topic, topic = new Map())
        topic.set(record.partition, record.value)
        if (!had) this.#offsetCount++
        return
      }
      case 'ConsumerGroupMetadata':
        this.metadata = record.value ?? undefined
        return
      case 'GroupMetadata':
        this.classic = record.value ?? undefined
        return
      case 'ConsumerGroupPartitionMetadata':
        this.partitionMetadata = record.value === null
          ? undefined
          : new Map(record.value.topics.map(({ topic, partitionCount }) => [topic, partitionCount]))
        return
      case 'ConsumerGroupMemberMetadata':
        if (record.value === null) this.members.delete(record.memberId)
        else this.members.set(record.memberId, record.value)
        return
      case 'ConsumerGroupTargetAssignmentMetadata':
        this.targetAssignmentEpoch = record.value?.assignmentEpoch
        return
      case 'ConsumerGroupTargetAssignmentMember':
        if (record.value === null) this.targets.delete(record.memberId)
        else this.targets.set(record.memberId, record.value.partitions)
        return
      case 'ConsumerGroupCurrentMemberAssignment': {
        const previous = this.current.get(record.memberId)
        if (previous !== undefined) this.#index(record.memberId, previous, false)
        if (record.value === null) {
          this.current.delete(record.memberId)
        } else {
          this.current.set(record.memberId, record.value)
          this.#index(record.memberId, record.value, true)
        }
      }
    }
  }

  #index (memberId: string, value: ConsumerGroupCurrentMemberAssignmentValue, add: boolean): void {
    for (const list of [value.assignedPartitions, value.partitionsPendingRevocation]) {
      for (const { topic, partitions } of list) {
        let byPartition = this.#owners.get(topic)
        if (byPartition === undefined) {
          if (!add) continue
          this.#owners.set(topic, byPartition = new Map())
        }
        for (const partition of partitions) {
          let holders = byPartition.get(partition)
          if (add) {
            if (holders === undefined) byPartition.set(partition, holders = new Set())
            holders.add(memberId)
          } else if (holders !== undefined) {
            holders.delete(memberId)
            if (holders.size === 0) byPartition.delete(partition)
          }
        }
        if (byPartition.size === 0) this.#owners.delete(topic)
      }
    }
  }
}

export const EMPTY_CURRENT: ConsumerGroupCurrentMemberAssignmentValue = Object.freeze({
  memberEpoch: 0,
  previousMemberEpoch: -1,
  state: 'stable',
  assignedPartitions: Object.freeze([]),
  partitionsPendingRevocation: Object.freeze([]),
})

/**
 * The groups this broker coordinates, as the cluster page shows them: members with their assignment, and each
 * committed offset next to this broker's high watermark of that partition (null where it holds no replica).
 */
import type { GroupCoordinatorShard } from '@gregor/coordinator'
import type { ClusterGroupView } from './cluster-group-view.js'

export function coordinatedGroups (
  shards: readonly GroupCoordinatorShard[],
  highWatermark: (topic: string, partition: number) => number | undefined,
): ClusterGroupView[] {
  const views: ClusterGroupView[] = []
  for (const shard of shards) {
    for (const listed of shard.listGroups()) {
      const group = shard.describeGroup(listed.groupId)
      const offsets = shard.fetchOffsets({ groupId: listed.groupId, partitions: [] }).partitions.filter((p) => p.offset >= 0).map((p) => {
        const hw = highWatermark(p.topic, p.partition)
        return { topic: p.topic, partition: p.partition, committedOffset: p.offset, highWatermark: hw ?? null, lag: hw === undefined ? null : Math.max(0, hw - p.offset) }
      })
      views.push({
        groupId: group.groupId, state: group.state, groupEpoch: group.groupEpoch, offsets,
        members: group.members.map((member) => ({
          memberId: member.memberId, clientId: member.clientId, clientHost: member.clientHost, memberEpoch: member.memberEpoch, assignment: member.assignment,
        })),
      })
    }
  }
  return views
}

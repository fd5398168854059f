/**
 * `clientClusterView`: one `ClusterView` as a client sees the cluster, for `gregor cluster watch`.
 *
 * Cost per call is bounded whatever the cluster size: one DescribeCluster and one Metadata request to any broker
 * (in parallel), then one ListOffsets "latest" per partition leader (in parallel), whose answer is the leader's high
 * watermark. A leader that does not answer leaves its partitions' `highWatermark` null rather than failing the view:
 * right after a kill -9 the metadata still names the dead leader for about a second.
 */
import type { Admin, BrokerDescription } from '@gregor/client'
import { type BrokerState, type ClusterView, clusterView, partitionName } from '@gregor/metadata'

export async function clientClusterView (admin: Admin, nowMs: () => number): Promise<ClusterView> {
  const [cluster, topics] = await Promise.all([admin.describeCluster(), admin.describeTopics()])
  const partitions = topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, ...partition })))
  const offsets = await admin.listOffsets(partitions.map(({ topic, partition }) => ({ topic, partition })), 'latest')
  const highWatermarks = new Map(offsets.filter((result) => result.errorCode === '' && result.offset >= 0)
    .map((result) => [partitionName(result), result.offset]))
  return clusterView({
    timeMs: nowMs(),
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    quorum: { leaderId: cluster.raftLeaderId, term: cluster.raftTerm, commitIndex: cluster.raftCommitIndex },
    brokers: cluster.brokers.map((broker) => ({ brokerId: broker.brokerId, state: brokerState(broker) })),
    partitions: partitions.map(({ topic, partition, leader, leaderEpoch, replicas, isr }) => ({
      topic, partition, leader, leaderEpoch, replicas, isr, highWatermark: highWatermarks.get(partitionName({ topic, partition })) ?? null,
    })),
  })
}

function brokerState (broker: BrokerDescription): BrokerState {
  if (broker.shuttingDown) return 'shutting-down'
  return broker.fenced ? 'fenced' : 'alive'
}

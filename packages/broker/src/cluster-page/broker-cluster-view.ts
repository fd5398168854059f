/**
 * `brokerClusterView`: the view (`ClusterPageView`) one broker can give of the cluster without asking anyone: its applied
 * metadata image (brokers, partitions, leaders, ISRs, leader epochs), its metadata-quorum status (raft leader = the
 * controller, term, commit index), its own replicas' high watermarks and the consumer groups it coordinates.
 *
 * High watermarks: exact for the partitions this broker leads; for its follower replicas, the leader's high
 * watermark as of the last fetch answer, capped at the follower's own log end (it can lag by a fetch round, or by
 * more while the follower catches up); null for partitions it holds no replica of.
 * Groups: as the coordinator runtime reports them (only the groups of the `__consumer_offsets` partitions this
 * broker leads), put in canonical order here.
 * Synchronous and cheap (one pass over the image and the groups), so it can run once a second per broker whoever is
 * watching.
 */
import { type BrokerRegistration, type BrokerState, type MetadataImage, clusterView } from '@gregor/metadata'
import { type ClusterGroupView, type ClusterPageView, clusterGroupViews } from './cluster-group-view.js'

export interface BrokerClusterViewInput {
  readonly clusterId: string
  readonly image: MetadataImage
  /** The raft status of this broker's metadata-quorum voter; `leaderId` 0 means no leader known. */
  readonly quorum: { readonly leaderId: number; readonly term: number; readonly commitIndex: number }
  /** This broker's replica's high watermark, if it holds one. */
  readonly highWatermark: (topic: string, partition: number) => number | undefined
  /** The consumer groups this broker coordinates; none when absent. */
  readonly groups?: readonly ClusterGroupView[]
  /** Wall-clock time of the observation. */
  readonly timeMs: number
}

export function brokerClusterView (input: BrokerClusterViewInput): ClusterPageView {
  const { image, quorum } = input
  const leaderId = quorum.leaderId === 0 ? -1 : quorum.leaderId
  const view = clusterView({
    timeMs: input.timeMs,
    clusterId: input.clusterId,
    controllerId: leaderId,
    quorum: { leaderId, term: quorum.term, commitIndex: quorum.commitIndex },
    brokers: image.brokers().map((broker) => ({ brokerId: broker.brokerId, state: brokerState(broker) })),
    partitions: image.topics().flatMap((topic) => image.partitionsOf(topic.topicId).map((partition) => ({
      topic: topic.name,
      partition: partition.partition,
      leader: partition.leader,
      leaderEpoch: partition.leaderEpoch,
      replicas: partition.replicas,
      isr: partition.isr,
      highWatermark: input.highWatermark(topic.name, partition.partition) ?? null,
    }))),
  })
  // After the metadata fields, so the JSON still starts with `timeMs` (the stream's contract).
  return Object.freeze({ ...view, groups: clusterGroupViews(input.groups ?? []) })
}

function brokerState (broker: BrokerRegistration): BrokerState {
  if (broker.shuttingDown) return 'shutting-down'
  return broker.fenced ? 'fenced' : 'alive'
}

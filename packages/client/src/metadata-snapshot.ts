/**
 * The client's view of the cluster from one MetadataResponse: brokers and their client addresses, topics, and each
 * partition's leader, epoch, replicas and ISR.
 *
 * Owns: decoding the response into plain, immutable values (every optional wire field gets its proto3 default here,
 * once) and the leader lookup. Invariant: a partition has a `leader` only if the leader is a broker the response
 * lists; a leader of -1, or one whose address is unknown, is no leader (the caller refreshes and waits). Pure.
 */
import type { gregor } from '@gregor/protocol'
import type { TopicPartition } from './record-accumulator.js'

export interface BrokerInfo {
  readonly brokerId: number
  readonly host: string
  readonly port: number
  /** `host:port`, what a gRPC channel is opened to. */
  readonly address: string
  readonly rack: string
  readonly fenced: boolean
}

export interface PartitionInfo {
  readonly partition: number
  /** -1 when the partition has no leader. */
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** "" or the Kafka error name the broker reported for this partition. */
  readonly errorCode: string
}

export interface TopicInfo {
  readonly name: string
  readonly topicId: string
  readonly internal: boolean
  /** "" or the Kafka error name the broker reported for this topic (e.g. UNKNOWN_TOPIC_OR_PARTITION). */
  readonly errorCode: string
  readonly errorMessage: string
  /** Sorted by partition number. */
  readonly partitions: readonly PartitionInfo[]
}

export interface MetadataSnapshot {
  readonly clusterId: string
  readonly controllerId: number
  readonly brokers: ReadonlyMap<number, BrokerInfo>
  readonly topics: ReadonlyMap<string, TopicInfo>
}

/** Where to send a request for one partition. */
export interface PartitionLeader {
  readonly brokerId: number
  readonly address: string
  readonly leaderEpoch: number
}

/** Decodes a MetadataResponse, filling proto3 defaults. */
export function metadataSnapshot (response: gregor.cluster.MetadataResponse.$Properties): MetadataSnapshot {
  const brokers = new Map<number, BrokerInfo>()
  for (const broker of response.brokers ?? []) {
    const brokerId = broker.brokerId ?? 0
    const host = broker.host ?? ''
    const port = broker.port ?? 0
    brokers.set(brokerId, { brokerId, host, port, address: joinHostPort(host, port), rack: broker.rack ?? '', fenced: broker.fenced ?? false })
  }
  const topics = new Map<string, TopicInfo>()
  for (const topic of response.topics ?? []) {
    const partitions = (topic.partitions ?? []).map((partition): PartitionInfo => ({
      partition: partition.partition ?? 0,
      leader: partition.leader ?? -1,
      leaderEpoch: partition.leaderEpoch ?? -1,
      replicas: [...(partition.replicas ?? [])],
      isr: [...(partition.isr ?? [])],
      errorCode: partition.errorCode ?? '',
    })).sort((a, b) => a.partition - b.partition)
    const name = topic.name ?? ''
    topics.set(name, {
      name, topicId: topic.topicId ?? '', internal: topic.internal ?? false,
      errorCode: topic.errorCode ?? '', errorMessage: topic.errorMessage ?? '', partitions,
    })
  }
  return { clusterId: response.clusterId ?? '', controllerId: response.controllerId ?? -1, brokers, topics }
}

/** The leader of `topicPartition` and its address, or undefined when there is none the client can reach. */
export function leaderFor (snapshot: MetadataSnapshot, topicPartition: TopicPartition): PartitionLeader | undefined {
  const topic = snapshot.topics.get(topicPartition.topic)
  if (topic === undefined || topic.errorCode !== '') return undefined
  const partition = topic.partitions.find((candidate) => candidate.partition === topicPartition.partition)
  if (partition === undefined || partition.leader < 0) return undefined
  const broker = snapshot.brokers.get(partition.leader)
  if (broker === undefined) return undefined
  return { brokerId: broker.brokerId, address: broker.address, leaderEpoch: partition.leaderEpoch }
}

/** Partitions of `topic` that have a leader, ascending: what a partitioner may pick for a keyless record. */
const availableByTopic = new WeakMap<TopicInfo, readonly number[]>()

/** Computed once per TopicInfo (a snapshot's topics are never changed, only replaced): the producer asks per send. */
export function availablePartitions (topic: TopicInfo): readonly number[] {
  let available = availableByTopic.get(topic)
  if (available === undefined) {
    available = Object.freeze(topic.partitions.filter((partition) => partition.leader >= 0).map((partition) => partition.partition))
    availableByTopic.set(topic, available)
  }
  return available
}

/** Merges a fresher snapshot for some topics into an older one: brokers and cluster facts come from the newer. */
export function mergeSnapshots (older: MetadataSnapshot, newer: MetadataSnapshot): MetadataSnapshot {
  const topics = new Map(older.topics)
  for (const [name, topic] of newer.topics) topics.set(name, topic)
  return { clusterId: newer.clusterId, controllerId: newer.controllerId, brokers: newer.brokers, topics }
}

/** `host:port`, with brackets around an IPv6 literal as gRPC targets need. */
export function joinHostPort (host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}

export const emptySnapshot: MetadataSnapshot = Object.freeze({
  clusterId: '', controllerId: -1, brokers: new Map<number, BrokerInfo>(), topics: new Map<string, TopicInfo>(),
})

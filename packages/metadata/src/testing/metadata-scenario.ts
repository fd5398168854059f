/**
 * Test support: builds metadata images from short scenario descriptions (brokers, topics with given assignments and
 * ISRs) by committing real records, one Raft entry per step, so every fixture has passed the image's own checks.
 * Not exported from the package; used by the unit and property tests beside the code.
 */
import { type NodeId, type RaftIndex, leaderEpoch, nodeId, raftIndex } from '@gregor/common'
import type { BrokerHeartbeat, BrokerLivenessInput } from '../broker-heartbeat.js'
import { defaultMetadataConfig } from '../metadata-config.js'
import { MetadataImage, type PartitionImage } from '../metadata-image.js'
import { type MetadataRecord, NO_LEADER } from '../metadata-record.js'
import { type TopicConfig, defaultTopicConfig } from '../topic-config.js'

export interface ScenarioBroker {
  readonly rack?: string
  readonly fenced?: boolean
  readonly shuttingDown?: boolean
}

export interface ScenarioTopic {
  /** Per partition; defaults to the replicas. */
  readonly isr?: readonly (readonly number[])[]
  /** Per partition; defaults to the first ISR member. -1 for none. */
  readonly leaders?: readonly number[]
  readonly config?: Partial<TopicConfig>
}

export const incarnationOf = (brokerId: number, generation = 1): string => `incarnation-${brokerId}-${generation}`

export class MetadataScenario {
  readonly image = new MetadataImage()

  /** Applies `records` as the next Raft entry. */
  commit (records: readonly MetadataRecord[]): this {
    this.image.applyBatch(records, raftIndex(this.image.appliedIndex + 1))
    return this
  }

  broker (id: number, options: ScenarioBroker = {}): this {
    const brokerId = nodeId(id)
    const incarnationId = incarnationOf(id)
    const records: MetadataRecord[] = [{
      type: 'RegisterBroker',
      brokerId,
      incarnationId,
      listeners: [{ name: 'INTERNAL', host: `broker-${id}`, port: 9092 }],
      ...(options.rack === undefined ? {} : { rack: options.rack }),
    }]
    if (options.fenced !== true) records.push({ type: 'UnfenceBroker', brokerId, incarnationId })
    if (options.shuttingDown === true) records.push({ type: 'BrokerShutdownRequested', brokerId, incarnationId })
    return this.commit(records)
  }

  brokers (...ids: number[]): this {
    for (const id of ids) this.broker(id)
    return this
  }

  /** A topic whose id is `id-<name>`, with the given assignment per partition. */
  topic (name: string, replicas: readonly (readonly number[])[], options: ScenarioTopic = {}): this {
    const topicId = topicIdOf(name)
    const records: MetadataRecord[] = [{
      type: 'Topic', name, topicId, partitionCount: replicas.length, config: { ...defaultTopicConfig, ...options.config },
    }]
    replicas.forEach((assigned, partition) => {
      const isr = (options.isr?.[partition] ?? assigned).map(nodeId)
      const leader = options.leaders?.[partition] ?? isr[0] ?? NO_LEADER
      records.push({
        type: 'Partition', topicId, partition, replicas: assigned.map(nodeId), isr, leader: nodeId(leader),
        leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
      })
    })
    return this.commit(records)
  }

  partition (name: string, partition = 0): PartitionImage {
    const found = this.image.partition(topicIdOf(name), partition)
    if (found === undefined) throw new Error(`no partition ${name}-${partition}`)
    return found
  }
}

export const topicIdOf = (name: string): string => `id-${name.replaceAll('.', '_')}`

export const scenario = (): MetadataScenario => new MetadataScenario()

/** A heartbeat from the broker's first incarnation. */
export function heartbeat (brokerId: number, lastHeartbeatMs: number, metadataAppliedIndex: number, extra: Partial<BrokerHeartbeat> = {}): [NodeId, BrokerHeartbeat] {
  return [nodeId(brokerId), {
    incarnationId: incarnationOf(brokerId), lastHeartbeatMs, metadataAppliedIndex: raftIndex(metadataAppliedIndex), ...extra,
  }]
}

export function livenessInput (
  nowMs: number,
  heartbeats: readonly [NodeId, BrokerHeartbeat][],
  controllerActivatedMs = 0,
): BrokerLivenessInput {
  return { nowMs, heartbeats: new Map(heartbeats), controllerActivatedMs, config: defaultMetadataConfig }
}

export const ids = (...values: number[]): NodeId[] => values.map(nodeId)

export const index = (value: number): RaftIndex => raftIndex(value)

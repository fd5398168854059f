/**
 * Consumer group metrics of the groups this broker coordinates, on the broker's registry, under kafka_exporter's
 * names (`kafka_consumergroup_lag`, `kafka_consumergroup_current_offset`, `kafka_consumergroup_members`) so existing
 * dashboards work, plus Gregor's own: groups by state and rebalances.
 *
 * Owns: these instruments. Lag is computed at scrape time from the shards' committed offsets and this broker's
 * replica of each partition (its high watermark; a follower's may trail the leader's by one fetch). Partitions this
 * broker holds no replica of are left out rather than guessed.
 *
 * Invariant: cardinality is bounded: at most `lagSeriesMax` (group, topic, partition) series per scrape.
 */
import type { GroupCoordinatorShard, GroupRecord, GroupState } from '@gregor/coordinator'
import { Counter, Gauge, type Registry } from 'prom-client'

export const lagSeriesMax = 10_000
const groupStates: readonly GroupState[] = ['empty', 'assigning', 'reconciling', 'stable', 'dead']

export interface GroupMetricsDeps {
  readonly registry: Registry
  readonly shards: () => readonly GroupCoordinatorShard[]
  /** This broker's high watermark of a partition, if it holds a replica. */
  readonly highWatermark: (topic: string, partition: number) => number | undefined
}

export class GroupMetrics {
  readonly #rebalances: Counter

  constructor (deps: GroupMetricsDeps) {
    const registers = [deps.registry]
    const offsets = (): { group: string; topic: string; partition: number; offset: number; highWatermark: number | undefined }[] => {
      const rows = []
      for (const shard of deps.shards()) {
        for (const group of shard.listGroups()) {
          for (const committed of shard.fetchOffsets({ groupId: group.groupId, partitions: [] }).partitions) {
            if (committed.offset < 0) continue
            rows.push({ group: group.groupId, topic: committed.topic, partition: committed.partition, offset: committed.offset,
              highWatermark: deps.highWatermark(committed.topic, committed.partition) })
            if (rows.length >= lagSeriesMax) return rows
          }
        }
      }
      return rows
    }
    // One pass over the committed offsets per scrape fills both series: the lag gauge (registered first, so it is
    // collected first) sets the current-offset gauge, which has no collect of its own.
    const currentOffset = new Gauge({
      name: 'kafka_consumergroup_current_offset',
      help: 'Committed offset of a consumer group on a partition (groups coordinated by this broker).',
      labelNames: ['consumergroup', 'topic', 'partition'], registers: [],
    })
    new Gauge({ // eslint-disable-line no-new
      name: 'kafka_consumergroup_lag',
      help: 'High watermark minus committed offset of a consumer group on a partition (groups coordinated by this broker, partitions replicated on it).',
      labelNames: ['consumergroup', 'topic', 'partition'], registers,
      collect () {
        this.reset()
        currentOffset.reset()
        for (const row of offsets()) {
          const labels = { consumergroup: row.group, topic: row.topic, partition: String(row.partition) }
          currentOffset.set(labels, row.offset)
          if (row.highWatermark !== undefined) this.set(labels, Math.max(0, row.highWatermark - row.offset))
        }
      },
    })
    deps.registry.registerMetric(currentOffset)
    new Gauge({ // eslint-disable-line no-new
      name: 'kafka_consumergroup_members',
      help: 'Members of a consumer group (groups coordinated by this broker).',
      labelNames: ['consumergroup'], registers,
      collect () {
        this.reset()
        for (const shard of deps.shards()) {
          for (const group of shard.listGroups()) this.set({ consumergroup: group.groupId }, shard.describeGroup(group.groupId).members.length)
        }
      },
    })
    new Gauge({ // eslint-disable-line no-new
      name: 'gregor_group_coordinator_groups',
      help: 'Groups coordinated by this broker, by state.',
      labelNames: ['state'], registers,
      collect () {
        const counts = new Map<string, number>(groupStates.map((state) => [state, 0]))
        for (const shard of deps.shards()) for (const group of shard.listGroups()) counts.set(group.state, (counts.get(group.state) ?? 0) + 1)
        for (const [state, count] of counts) this.set({ state }, count)
      },
    })
    this.#rebalances = new Counter({
      name: 'gregor_group_rebalances_total',
      help: 'Target assignments computed by the coordinators on this broker (one per group epoch that changed membership, subscriptions or topics).',
      registers,
    })
  }

  /** Every decision's records: a new target assignment is a rebalance. */
  decided (records: readonly GroupRecord[]): void {
    for (const record of records) if (isTargetAssignmentEpoch(record)) this.#rebalances.inc()
  }
}

function isTargetAssignmentEpoch (record: GroupRecord): boolean {
  return record.type === 'ConsumerGroupTargetAssignmentMetadata' && record.value !== null
}

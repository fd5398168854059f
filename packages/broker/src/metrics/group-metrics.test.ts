import { GroupCoordinatorShard, defaultCoordinatorConfig } from '@gregor/coordinator'
import { Registry } from 'prom-client'
import { expect, test } from 'vitest'
import { GroupMetrics } from './group-metrics.js'

function shardWithCommit (): GroupCoordinatorShard {
  const shard = new GroupCoordinatorShard({ config: defaultCoordinatorConfig, newMemberId: () => 'm-1' })
  const topics = { partitionCount: (topic: string) => topic === 'orders' ? 2 : undefined, topicNames: () => ['orders'] }
  const result = shard.commitOffsets({
    groupId: 'billing', memberId: '', memberEpoch: -1,
    partitions: [{ topic: 'orders', partition: 0, offset: 40, leaderEpoch: -1, metadata: '' }, { topic: 'orders', partition: 1, offset: 7, leaderEpoch: -1, metadata: '' }],
  }, { nowMs: 1000, topics })
  for (const record of result.records) shard.replay(record)
  return shard
}

test('lag and committed offsets of the coordinated groups, under kafka_exporter names; partitions without a replica here have no lag', async () => {
  const registry = new Registry()
  const shard = shardWithCommit()
  const metrics = new GroupMetrics({ registry, shards: () => [shard], highWatermark: (_topic, partition) => partition === 0 ? 100 : undefined })
  metrics.decided([])
  const text = await registry.metrics()
  expect(text).toContain('kafka_consumergroup_current_offset{consumergroup="billing",topic="orders",partition="0"} 40')
  expect(text).toContain('kafka_consumergroup_current_offset{consumergroup="billing",topic="orders",partition="1"} 7')
  expect(text).toContain('kafka_consumergroup_lag{consumergroup="billing",topic="orders",partition="0"} 60')
  expect(text).not.toContain('kafka_consumergroup_lag{consumergroup="billing",topic="orders",partition="1"}')
  expect(text).toContain('gregor_group_coordinator_groups{state="empty"} 1')
  expect(text).toContain('kafka_consumergroup_members{consumergroup="billing"} 0')
})

import { describe, expect, test } from 'vitest'
import type { OffsetCommitPartition } from './coordinator-types.js'
import { codeOf } from './testing/code-of.js'
import { GroupSimulation, SimulatedMember } from './testing/group-simulation.js'

const part = (partition: number, offset: number, overrides: Partial<OffsetCommitPartition> = {}): OffsetCommitPartition =>
  ({ topic: 'orders', partition, offset, leaderEpoch: 2, metadata: '', ...overrides })

describe('offset commit', () => {
  test('simple commit creates an empty group holding offsets; fetch returns them', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const response = sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: '', memberEpoch: -1, partitions: [part(0, 10), part(1, 20, { metadata: 'm' })] }, sim.context))
    expect(response.partitions.map((p) => p.errorCode)).toEqual(['', ''])
    expect(sim.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'consumer', state: 'empty' }])
    expect(sim.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions).toEqual([
      { topic: 'orders', partition: 0, offset: 10, leaderEpoch: 2, metadata: '', commitTimestampMs: sim.nowMs },
      { topic: 'orders', partition: 1, offset: 20, leaderEpoch: 2, metadata: 'm', commitTimestampMs: sim.nowMs },
    ])
    expect(sim.shard.fetchOffsets({ groupId: 'group', partitions: [{ topic: 'orders', partitions: [1, 5] }] }).partitions.map((p) => p.offset)).toEqual([20, -1])
    expect(sim.shard.fetchOffsets({ groupId: 'nope', partitions: [] }).partitions).toEqual([])
    expect(sim.shard.fetchOffsets({ groupId: 'nope', partitions: [{ topic: 'orders', partitions: [0] }] }).partitions[0]?.offset).toBe(-1)
  })

  test('per-partition errors', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 }, config: { offsetMetadataBytesMax: 4 } })
    const response = sim.apply(sim.shard.commitOffsets({
      groupId: 'group', memberId: '', memberEpoch: -1,
      partitions: [part(0, 1), part(2, 1), part(0, 1, { topic: 'missing' }), part(1, -3), part(1, 1, { metadata: 'ééé' })],
    }, sim.context))
    expect(response.partitions.map((p) => p.errorCode)).toEqual(['', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_REQUEST', 'OFFSET_METADATA_TOO_LARGE'])
    expect(sim.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions).toHaveLength(1)
  })

  test('member commits: epochs and membership', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const commit = (memberId: string, memberEpoch: number): string =>
      codeOf(() => sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId, memberEpoch, partitions: [part(0, 5)] }, sim.context)))
    expect(commit('m', 3)).toBe('GROUP_ID_NOT_FOUND')
    expect(commit('', 3)).toBe('GROUP_ID_NOT_FOUND')
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    expect(commit(a.memberId, 1)).toBe('')
    expect(commit(a.memberId, 2)).toBe('FENCED_MEMBER_EPOCH')
    expect(commit(a.memberId, 0)).toBe('STALE_MEMBER_EPOCH')
    expect(commit('stranger', 1)).toBe('UNKNOWN_MEMBER_ID')
    expect(commit('', -1)).toBe('UNKNOWN_MEMBER_ID')
    expect(commit('', 0)).toBe('UNKNOWN_MEMBER_ID')
    expect(codeOf(() => sim.shard.commitOffsets({ groupId: '', memberId: '', memberEpoch: -1, partitions: [] }, sim.context))).toBe('INVALID_GROUP_ID')
  })

  test('reset needs an empty group', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    expect(codeOf(() => sim.shard.resetOffsets({ groupId: 'group', partitions: [part(0, 0)] }, sim.context))).toBe('NON_EMPTY_GROUP')
    sim.leave(a)
    sim.apply(sim.shard.resetOffsets({ groupId: 'group', partitions: [part(0, 7)] }, sim.context))
    expect(sim.shard.fetchOffsets({ groupId: 'group', partitions: [{ topic: 'orders', partitions: [0] }] }).partitions[0]?.offset).toBe(7)
  })
})

describe('offset delete and group delete', () => {
  test('offset delete: GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC, tombstones', () => {
    const sim = new GroupSimulation({ topics: { orders: 2, old: 1 } })
    expect(codeOf(() => sim.shard.deleteOffsets({ groupId: 'group', partitions: [] }, sim.context))).toBe('GROUP_ID_NOT_FOUND')
    sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: '', memberEpoch: -1, partitions: [part(0, 1), part(0, 4, { topic: 'old' })] }, sim.context))
    const a = new SimulatedMember({ regex: 'ord.*' })
    sim.heartbeat(a)
    const result = sim.shard.deleteOffsets({ groupId: 'group', partitions: [{ topic: 'orders', partitions: [0] }, { topic: 'old', partitions: [0] }] }, sim.context)
    expect(result.response.partitions.map((p) => p.errorCode)).toEqual(['GROUP_SUBSCRIBED_TO_TOPIC', ''])
    expect(result.records).toEqual([{ type: 'OffsetCommit', groupId: 'group', topic: 'old', partition: 0, value: null }])
    sim.apply(result)
    expect(sim.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.topic)).toEqual(['orders'])
  })

  test('delete groups: per-group results, every record tombstoned', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: a.memberId, memberEpoch: 1, partitions: [part(0, 1)] }, sim.context))
    sim.apply(sim.shard.commitOffsets({ groupId: 'other', memberId: '', memberEpoch: -1, partitions: [part(1, 1)] }, sim.context))
    const first = sim.shard.deleteGroups(['group', 'missing', 'other', 'other', ''], sim.context)
    expect(first.response.map((r) => r.errorCode)).toEqual(['NON_EMPTY_GROUP', 'GROUP_ID_NOT_FOUND', '', 'GROUP_ID_NOT_FOUND', 'INVALID_GROUP_ID'])
    sim.apply(first)
    expect(sim.shard.listGroups().map((g) => g.groupId)).toEqual(['group'])
    sim.leave(a)
    const second = sim.apply(sim.shard.deleteGroups(['group'], sim.context))
    expect(second[0]?.errorCode).toBe('')
    expect(sim.shard.groupCount).toBe(0)
    expect(codeOf(() => sim.shard.describeGroup('group'))).toBe('GROUP_ID_NOT_FOUND')
  })

  test('retention: offsets of an empty group expire, then the group', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 }, config: { offsetsRetentionMs: 10_000 } })
    sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: '', memberEpoch: -1, partitions: [part(0, 1)] }, sim.context))
    sim.nowMs += 5_000
    sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: '', memberEpoch: -1, partitions: [part(1, 1)] }, sim.context))
    sim.nowMs += 5_000
    const first = sim.shard.tick(sim.context)
    expect(first.response.expiredOffsets).toBe(1)
    sim.apply(first)
    expect(sim.shard.groupCount).toBe(1)
    sim.nowMs += 5_000
    const second = sim.shard.tick(sim.context)
    expect(second.response.expiredOffsets).toBe(1)
    sim.apply(second)
    expect(sim.shard.groupCount).toBe(0)
  })

  test('offsets of a group with members do not expire', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 }, config: { offsetsRetentionMs: 10_000 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    sim.apply(sim.shard.commitOffsets({ groupId: 'group', memberId: a.memberId, memberEpoch: 1, partitions: [part(0, 1)] }, sim.context))
    sim.nowMs += 20_000
    sim.heartbeat(a)
    expect(sim.shard.tick(sim.context).response.expiredOffsets).toBe(0)
  })
})

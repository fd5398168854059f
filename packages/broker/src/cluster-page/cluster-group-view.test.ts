import { MetadataImage } from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import { brokerClusterView } from './broker-cluster-view.js'
import { type ClusterGroupView, clusterGroupViews, diffGroupViews, formatGroupEvent, groupViewsEqual } from './cluster-group-view.js'

type Member = ClusterGroupView['members'][number]

function member (memberId: string, assignment: Record<string, number[]>, memberEpoch = 3): Member {
  return {
    memberId, clientId: `client-${memberId}`, clientHost: '/10.0.0.7', memberEpoch,
    assignment: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })),
  }
}

function group (groupId: string, fields: Partial<ClusterGroupView> = {}): ClusterGroupView {
  return { groupId, state: 'stable', groupEpoch: 3, members: [], offsets: [], ...fields }
}

describe('clusterGroupViews', () => {
  test('puts groups, members, assignments and offsets in canonical order, frozen, keeping only the view fields', () => {
    const [first, second] = clusterGroupViews([
      group('payments'),
      group('orders-app', {
        members: [member('m-b', { payments: [1], orders: [2, 0] }), member('m-a', { orders: [1] })],
        offsets: [
          { topic: 'payments', partition: 1, committedOffset: 4, highWatermark: 9, lag: 5 },
          { topic: 'orders', partition: 2, committedOffset: 7, highWatermark: 7, lag: 0 },
          { topic: 'orders', partition: 0, committedOffset: 1, highWatermark: null, lag: null, extra: 'dropped' } as ClusterGroupView['offsets'][number],
        ],
      }),
    ])
    expect(first?.groupId).toBe('orders-app')
    expect(second?.groupId).toBe('payments')
    expect(first?.members.map((m) => m.memberId)).toEqual(['m-a', 'm-b'])
    expect(first?.members[1]?.assignment).toEqual([{ topic: 'orders', partitions: [0, 2] }, { topic: 'payments', partitions: [1] }])
    expect(first?.offsets.map((o) => `${o.topic}-${o.partition}`)).toEqual(['orders-0', 'orders-2', 'payments-1'])
    expect(first?.offsets[0]).toEqual({ topic: 'orders', partition: 0, committedOffset: 1, highWatermark: null, lag: null })
    expect(Object.isFrozen(first?.members[1]?.assignment[0]?.partitions)).toBe(true)
    expect(Object.isFrozen(first?.offsets[0])).toBe(true)
  })

  test('two observations of the same groups in another order are equal; a moved lag is not', () => {
    const a = clusterGroupViews([group('g1', { members: [member('m1', { t: [0] }), member('m2', { t: [1] })] }), group('g2')])
    const b = clusterGroupViews([group('g2'), group('g1', { members: [member('m2', { t: [1] }), member('m1', { t: [0] })] })])
    expect(groupViewsEqual(a, b)).toBe(true)
    const lagged = clusterGroupViews([group('g2'), group('g1', {
      members: [member('m1', { t: [0] }), member('m2', { t: [1] })], offsets: [{ topic: 't', partition: 0, committedOffset: 1, highWatermark: 3, lag: 2 }],
    })])
    expect(groupViewsEqual(a, lagged)).toBe(false)
  })
})

describe('diffGroupViews', () => {
  test('names groups that appear and disappear, state and epoch changes, and members that join and leave', () => {
    const before = clusterGroupViews([
      group('leaving', { state: 'empty', groupEpoch: 1 }),
      group('orders-app', { members: [member('m1', { orders: [0, 1] }), member('m2', { orders: [2] })] }),
      group('quiet', { state: 'stable', groupEpoch: 5 }),
    ])
    const after = clusterGroupViews([
      group('new-app', { state: 'assigning', groupEpoch: 1, members: [member('n1', {})] }),
      group('orders-app', { state: 'reconciling', groupEpoch: 4, members: [member('m1', { orders: [0] }), member('m3', {})] }),
      group('quiet', { state: 'stable', groupEpoch: 6 }),
    ])
    const events = diffGroupViews(before, after, 2_000)
    expect(events.every((event) => event.kind === 'group' && event.timeMs === 2_000)).toBe(true)
    expect(events.map(formatGroupEvent)).toEqual([
      'group leaving no longer coordinated here',
      'group new-app coordinated here, assigning epoch 1',
      'group orders-app stable→reconciling epoch 4',
      'group orders-app member m2 (client client-m2) left',
      'group orders-app member m3 (client client-m3) joined',
      'group quiet epoch 5→6',
    ])
    expect(diffGroupViews(after, after, 3_000)).toEqual([])
  })

  test('offsets, lag and assignment moves are state, not events', () => {
    const before = clusterGroupViews([group('g', {
      members: [member('m1', { t: [0, 1] })], offsets: [{ topic: 't', partition: 0, committedOffset: 1, highWatermark: 5, lag: 4 }],
    })])
    const after = clusterGroupViews([group('g', {
      members: [member('m1', { t: [0] }, 4)], offsets: [{ topic: 't', partition: 0, committedOffset: 5, highWatermark: 9, lag: 4 }],
    })])
    expect(groupViewsEqual(before, after)).toBe(false)
    expect(diffGroupViews(before, after, 1)).toEqual([])
  })
})

describe('brokerClusterView', () => {
  test('carries the groups in canonical order after the metadata fields, and none when the broker gives none', () => {
    const input = {
      clusterId: 'test', image: new MetadataImage(), quorum: { leaderId: 0, term: 1, commitIndex: 0 }, highWatermark: () => undefined, timeMs: 1_000,
    }
    const view = brokerClusterView({ ...input, groups: [group('b'), group('a')] })
    expect(view.groups.map((g) => g.groupId)).toEqual(['a', 'b'])
    expect(view.controllerId).toBe(-1)
    // The stream's contract: every message starts with `{"timeMs":`.
    expect(JSON.stringify(view)).toMatch(/^\{"timeMs":1000,/)
    expect(Object.keys(view).at(-1)).toBe('groups')
    expect(brokerClusterView(input).groups).toEqual([])
  })
})

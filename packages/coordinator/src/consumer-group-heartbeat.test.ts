import { describe, expect, test } from 'vitest'
import type { HeartbeatRequest } from './coordinator-types.js'
import { codeOf } from './testing/code-of.js'
import { GroupSimulation, SimulatedMember } from './testing/group-simulation.js'

function joinRequest (overrides: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  return {
    groupId: 'group', memberId: '', memberEpoch: 0, instanceId: '', rackId: '', rebalanceTimeoutMs: 0,
    subscribedTopicNames: ['orders'], subscribedTopicRegex: '', serverAssignor: '', ownedPartitions: [], clientId: 'c',
    clientHost: 'h', ...overrides,
  }
}

describe('heartbeat validation', () => {
  const sim = new GroupSimulation({ topics: { orders: 6 } })
  const hb = (overrides: Partial<HeartbeatRequest>): string => codeOf(() => sim.shard.heartbeat(joinRequest(overrides), sim.context))

  test('request-level errors', () => {
    expect(hb({ groupId: '' })).toBe('INVALID_GROUP_ID')
    expect(hb({ groupId: 'x'.repeat(256) })).toBe('INVALID_GROUP_ID')
    expect(hb({ subscribedTopicNames: [] })).toBe('INVALID_REQUEST')
    expect(hb({ instanceId: 'static-1' })).toBe('INVALID_REQUEST')
    expect(hb({ rebalanceTimeoutMs: -5 })).toBe('INVALID_REQUEST')
    expect(hb({ memberEpoch: -2, memberId: 'm' })).toBe('INVALID_REQUEST')
    expect(hb({ memberEpoch: 3, memberId: '' })).toBe('INVALID_REQUEST')
    expect(hb({ serverAssignor: 'sticky' })).toBe('UNSUPPORTED_ASSIGNOR')
    expect(hb({ subscribedTopicRegex: 'orders-(' })).toBe('INVALID_REGULAR_EXPRESSION')
    expect(hb({ memberEpoch: 1, memberId: 'nobody' })).toBe('UNKNOWN_MEMBER_ID')
    expect(hb({ memberEpoch: -1, memberId: 'nobody' })).toBe('UNKNOWN_MEMBER_ID')
    expect(sim.shard.groupCount).toBe(0)
    expect(hb({ subscribedTopicNames: [], subscribedTopicRegex: 'ord.*' })).toBe('')
  })

  test('group max size and groups max', () => {
    const small = new GroupSimulation({ topics: { orders: 2 }, config: { groupMaxSize: 2, groupsMax: 1 } })
    small.heartbeat(new SimulatedMember({ topics: ['orders'] }))
    small.heartbeat(new SimulatedMember({ topics: ['orders'] }))
    expect(codeOf(() => small.shard.heartbeat(joinRequest(), small.context))).toBe('GROUP_MAX_SIZE_REACHED')
    expect(codeOf(() => small.shard.heartbeat(joinRequest({ groupId: 'other' }), small.context))).toBe('INVALID_REQUEST')
  })

  test('a classic group with members refuses consumer members; an empty classic group converts', () => {
    const s = new GroupSimulation({ topics: { orders: 2 } })
    s.apply({ records: [{ type: 'ConsumerGroupMetadata', groupId: 'group', value: { epoch: 4, groupType: 'classic' } }], response: undefined })
    const m = new SimulatedMember({ topics: ['orders'] })
    expect(s.heartbeat(m)).toBe('')
    expect(s.shard.describeGroup('group').groupType).toBe('consumer')
    expect(s.shard.describeGroup('group').groupEpoch).toBe(5)
    s.apply({ records: [{ type: 'ConsumerGroupMetadata', groupId: 'group', value: { epoch: 6, groupType: 'classic' } }], response: undefined })
    expect(codeOf(() => s.shard.heartbeat(joinRequest(), s.context))).toBe('INCONSISTENT_GROUP_PROTOCOL')
  })
})

describe('membership', () => {
  test('first member gets every partition at epoch 1', () => {
    const sim = new GroupSimulation({ topics: { orders: 3 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    expect(a.memberId).toBe('member-0000')
    expect(a.memberEpoch).toBe(1)
    expect(a.ownedList()).toEqual([{ topic: 'orders', partitions: [0, 1, 2] }])
    expect(a.heartbeatIntervalMs).toBe(500)
    const group = sim.shard.describeGroup('group')
    expect(group).toMatchObject({ state: 'stable', groupEpoch: 1, assignmentEpoch: 1, assignorName: 'uniform', groupType: 'consumer' })
  })

  test('a second member: revoke before assign, then stable', () => {
    const sim = new GroupSimulation({ topics: { orders: 4 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    const b = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    sim.heartbeat(b)
    // b is at epoch 2 but waits: a still owns everything.
    expect(b.memberEpoch).toBe(2)
    expect(b.ownedList()).toEqual([])
    expect(b.heartbeatIntervalMs).toBe(50)
    expect(sim.shard.describeGroup('group').state).toBe('reconciling')
    // a is told to revoke two partitions; it stays at epoch 1 until it has.
    const aRequest = a.request('group')
    const response = sim.apply(sim.shard.heartbeat(aRequest, sim.context))
    expect(response.memberEpoch).toBe(1)
    expect(response.assignment).toHaveLength(1)
    expect(response.assignment[0]?.partitions).toHaveLength(2)
    expect(response.heartbeatIntervalMs).toBe(50)
    expect(sim.shard.describeGroup('group').members.find((m) => m.memberId === a.memberId)?.state).toBe('unrevoked_partitions')
    a.onResponse(response)
    sim.heartbeat(a) // owned no longer holds the revoked ones → epoch 2
    expect(a.memberEpoch).toBe(2)
    sim.heartbeat(b)
    expect(b.ownedList()[0]?.partitions).toHaveLength(2)
    expect(sim.shard.describeGroup('group').state).toBe('stable')
  })

  test('leave: tombstones, epoch bump, the rest take over', () => {
    const sim = new GroupSimulation({ topics: { orders: 4 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    const b = new SimulatedMember({ topics: ['orders'] })
    for (let i = 0; i < 3; i++) { sim.heartbeat(a); sim.heartbeat(b) }
    const before = sim.shard.describeGroup('group').groupEpoch
    const leaving = b.memberId
    const result = sim.shard.heartbeat({ ...b.request('group'), memberEpoch: -1 }, sim.context)
    expect(result.response).toMatchObject({ memberId: leaving, memberEpoch: -1, assignment: [] })
    const tombstones = result.records.filter((r) => r.value === null).map((r) => r.type).sort()
    expect(tombstones).toEqual(['ConsumerGroupCurrentMemberAssignment', 'ConsumerGroupMemberMetadata', 'ConsumerGroupTargetAssignmentMember'])
    sim.apply(result)
    expect(sim.shard.describeGroup('group').groupEpoch).toBe(before + 1)
    sim.heartbeat(a)
    expect(a.ownedList()).toEqual([{ topic: 'orders', partitions: [0, 1, 2, 3] }])
  })

  test('fencing: ahead → FENCED, previous epoch with owned ⊆ assigned → accepted, else FENCED', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    expect(codeOf(() => sim.shard.heartbeat({ ...a.request('group'), memberEpoch: 5 }, sim.context))).toBe('FENCED_MEMBER_EPOCH')
    // A subscription change moves a to epoch 2 (response "lost"): epoch 1 is its previous epoch.
    a.subscription = { topics: ['orders', 'other'] }
    sim.apply(sim.shard.heartbeat(a.request('group'), sim.context))
    expect(sim.shard.describeGroup('group').members[0]?.memberEpoch).toBe(2)
    const stale = { ...a.request('group'), memberEpoch: 1 }
    expect(sim.apply(sim.shard.heartbeat(stale, sim.context)).memberEpoch).toBe(2)
    expect(codeOf(() => sim.shard.heartbeat({ ...stale, ownedPartitions: [{ topic: 'orders', partitions: [0, 1, 7] }] }, sim.context))).toBe('FENCED_MEMBER_EPOCH')
    expect(codeOf(() => sim.shard.heartbeat({ ...stale, memberEpoch: 0, memberId: a.memberId }, sim.context))).toBe('')
  })

  test('stickiness: members whose target is unchanged are not disturbed', () => {
    const sim = new GroupSimulation({ topics: { orders: 6 } })
    const members = [0, 1, 2].map(() => new SimulatedMember({ topics: ['orders'] }))
    for (let round = 0; round < 4; round++) for (const m of members) sim.heartbeat(m)
    const before = new Map(members.map((m) => [m.memberId, m.ownedList()]))
    const d = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(d)
    for (let round = 0; round < 4; round++) for (const m of [...members, d]) sim.heartbeat(m)
    const moved = members.filter((m) => JSON.stringify(m.ownedList()) !== JSON.stringify(before.get(m.memberId)))
    expect(moved).toHaveLength(1)
    expect(d.ownedList()[0]?.partitions).toHaveLength(1)
    expect(sim.shard.describeGroup('group').state).toBe('stable')
  })

  test('subscription change bumps the epoch and reassigns; regex excludes internal topics', () => {
    const sim = new GroupSimulation({ topics: { orders: 2, payments: 2, __internal: 3 } })
    const a = new SimulatedMember({ regex: '.*' })
    sim.heartbeat(a)
    expect(a.ownedList().map((t) => t.topic)).toEqual(['orders', 'payments'])
    a.subscription = { topics: ['__internal'] }
    sim.heartbeat(a)
    sim.heartbeat(a)
    expect(a.ownedList()).toEqual([{ topic: '__internal', partitions: [0, 1, 2] }])
    expect(sim.shard.describeGroup('group').groupEpoch).toBe(2)
  })

  test('range assignor on request', () => {
    const sim = new GroupSimulation({ topics: { t: 5 } })
    const a = new SimulatedMember({ topics: ['t'], assignor: 'range' })
    const b = new SimulatedMember({ topics: ['t'], assignor: 'range' })
    for (let round = 0; round < 4; round++) { sim.heartbeat(a); sim.heartbeat(b) }
    expect(sim.shard.describeGroup('group').assignorName).toBe('range')
    expect(a.ownedList()).toEqual([{ topic: 't', partitions: [0, 1, 2] }])
    expect(b.ownedList()).toEqual([{ topic: 't', partitions: [3, 4] }])
  })
})

describe('tick', () => {
  test('session expiry removes a silent member and its partitions go to the others', () => {
    const sim = new GroupSimulation({ topics: { orders: 4 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    const b = new SimulatedMember({ topics: ['orders'] })
    for (let i = 0; i < 3; i++) { sim.heartbeat(a); sim.heartbeat(b) }
    sim.nowMs += 30_000
    sim.heartbeat(a)
    sim.nowMs += 20_000
    const result = sim.shard.tick(sim.context)
    expect(result.response.expiredMembers).toEqual([{ groupId: 'group', memberId: b.memberId, reason: 'session' }])
    sim.apply(result)
    for (let i = 0; i < 2; i++) sim.heartbeat(a)
    expect(a.ownedList()).toEqual([{ topic: 'orders', partitions: [0, 1, 2, 3] }])
    expect(sim.heartbeat(b)).toBe('UNKNOWN_MEMBER_ID')
  })

  test('a member that does not revoke within its rebalance timeout is removed', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] }, 1_000_000) // never revokes
    sim.heartbeat(a)
    const b = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(b)
    sim.heartbeat(a) // now unrevoked_partitions
    const startedMs = sim.nowMs
    const expired: { memberId: string; reason: string; atMs: number }[] = []
    while (expired.length === 0 && sim.nowMs < startedMs + 400_000) {
      sim.nowMs += 10_000
      sim.heartbeat(a)
      sim.heartbeat(b)
      const report = sim.apply(sim.shard.tick(sim.context))
      expired.push(...report.expiredMembers.map((e) => ({ ...e, atMs: sim.nowMs - startedMs })))
    }
    expect(expired).toEqual([{ groupId: 'group', memberId: expect.any(String), reason: 'rebalance', atMs: 300_000 }])
    // a was removed; b gets everything.
    sim.heartbeat(b)
    sim.heartbeat(b)
    expect(b.ownedList()).toEqual([{ topic: 'orders', partitions: [0, 1] }])
  })

  test('partition count change recomputes the target', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    sim.topics.set('orders', 4)
    const result = sim.shard.tick(sim.context)
    expect(result.response.reassignedGroups).toEqual(['group'])
    sim.apply(result)
    sim.heartbeat(a)
    expect(a.ownedList()).toEqual([{ topic: 'orders', partitions: [0, 1, 2, 3] }])
    expect(sim.shard.tick(sim.context).records).toEqual([])
  })

  test('onLoaded gives every member a fresh session', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const a = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(a)
    sim.nowMs += 44_000
    sim.shard.onLoaded(sim.nowMs)
    sim.nowMs += 44_000
    expect(sim.shard.tick(sim.context).response.expiredMembers).toEqual([])
    sim.nowMs += 1_000
    expect(sim.shard.tick(sim.context).response.expiredMembers).toHaveLength(1)
  })
})

describe("Kafka's unchanged nulls", () => {
  test('null subscription, regex, assignor and rack keep the member\'s; null owned partitions keep a revocation pending', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const join = sim.apply(sim.shard.heartbeat(joinRequest({ rackId: 'r1', serverAssignor: 'range' }), sim.context))
    const later = (memberEpoch: number): HeartbeatRequest => joinRequest({
      memberId: join.memberId, memberEpoch, rackId: null, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, ownedPartitions: null,
    })
    const again = sim.apply(sim.shard.heartbeat(later(join.memberEpoch), sim.context))
    expect(again.assignment).toEqual([{ topic: 'orders', partitions: [0, 1] }])
    const member = sim.shard.describeGroup('group').members[0]
    expect([member?.subscribedTopicNames, member?.rackId, sim.shard.describeGroup('group').groupEpoch]).toEqual([['orders'], 'r1', 1])
    expect(sim.shard.describeGroup('group').assignorName).toBe('range')
    // A second member: the first must revoke one partition. Its null owned partitions do not confirm the revocation.
    const second = sim.apply(sim.shard.heartbeat(joinRequest(), sim.context))
    const stillRevoking = sim.apply(sim.shard.heartbeat(later(again.memberEpoch), sim.context))
    expect(stillRevoking.memberEpoch).toBe(again.memberEpoch)
    expect(sim.shard.describeGroup('group').members.find((m) => m.memberId === join.memberId)?.state).toBe('unrevoked_partitions')
    const revoked = sim.apply(sim.shard.heartbeat({ ...later(again.memberEpoch), ownedPartitions: stillRevoking.assignment }, sim.context))
    expect(revoked.memberEpoch).toBeGreaterThan(again.memberEpoch)
    expect(second.memberId).not.toBe(join.memberId)
  })

  test('a join inherits nothing: without names or regex it is refused', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    expect(codeOf(() => sim.shard.heartbeat(joinRequest({ subscribedTopicNames: null, subscribedTopicRegex: null }), sim.context))).toBe('INVALID_REQUEST')
  })
})

import { describe, expect, test } from 'vitest'
import type { JoinGroupResponse } from './classic-group.js'
import { codeOf } from './testing/code-of.js'
import { ClassicHarness, type Pending } from './testing/classic-harness.js'
import { GroupSimulation, SimulatedMember } from './testing/group-simulation.js'

/** Two members joined and synced (leader first to join): generation 1, stable. */
function stableGroup (h = new ClassicHarness()): { h: ClassicHarness; a: string; b: string } {
  const a = h.joinNew({ clientId: 'a' })
  const b = h.joinNew({ clientId: 'b' })
  // b joined during the initial delay: it is extended once (Kafka's InitialDelayedJoin).
  h.advance(3000)
  expect(a.join.done).toBe(false)
  h.advance(3000)
  expect(a.join.value.generationId).toBe(1)
  const follower = h.sync(b.memberId, 1)
  const leader = h.sync(a.memberId, 1, { [a.memberId]: 'A', [b.memberId]: 'B' })
  expect(Buffer.from(leader.value.assignment).toString()).toBe('A')
  expect(Buffer.from(follower.value.assignment).toString()).toBe('B')
  return { h, a: a.memberId, b: b.memberId }
}

describe('join and sync', () => {
  test('a new member is named first (MEMBER_ID_REQUIRED); the first join waits the initial delay for more members', () => {
    const h = new ClassicHarness()
    const first = h.join({ clientId: 'rdkafka' }).value
    expect(first.errorCode).toBe('MEMBER_ID_REQUIRED')
    expect(first.memberId).toMatch(/^rdkafka-id\d{4}$/)
    const a = h.join({ memberId: first.memberId })
    expect(a.done).toBe(false)
    h.advance(2000)
    const b = h.joinNew({ clientId: 'other', protocols: [{ name: 'roundrobin', metadata: Buffer.from('x') }, { name: 'range', metadata: Buffer.from('mb') }] })
    h.advance(1000)
    // A member joined during the delay: it is extended once more.
    expect(a.done).toBe(false)
    h.advance(3000)
    const leader = a.value
    const follower = b.join.value
    expect(leader).toMatchObject({ errorCode: '', generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: first.memberId })
    expect(leader.members.map((m) => [m.memberId, Buffer.from(m.metadata).toString()])).toEqual([[first.memberId, 'meta'], [b.memberId, 'mb']])
    expect(follower).toMatchObject({ errorCode: '', generationId: 1, leader: first.memberId, memberId: b.memberId, members: [] })
    expect(h.log.at(-1)).toEqual({ type: 'ConsumerGroupMetadata', groupId: 'group', value: { epoch: 1, groupType: 'classic' } })
    expect(h.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'classic', state: 'completing_rebalance', protocolType: 'consumer' }])
  })

  test('the leader\'s assignment bytes are relayed opaque; a member missing from it gets empty bytes', () => {
    const h = new ClassicHarness()
    const a = h.joinNew()
    const b = h.joinNew()
    const c = h.joinNew()
    h.advance(6000)
    const syncB = h.sync(b.memberId, 1)
    expect(syncB.done).toBe(false)
    h.sync(a.memberId, 1, { [a.memberId]: 'AA', [b.memberId]: '\u0000\u0001' })
    expect(Buffer.from(syncB.value.assignment)).toEqual(Buffer.from([0, 1]))
    expect(h.sync(c.memberId, 1).value).toMatchObject({ errorCode: '', protocolName: 'range', assignment: new Uint8Array(0) })
    expect(h.shard.listGroups()[0]?.state).toBe('stable')
  })

  test('without the two-step join (JoinGroup v0-v3) a member joins at once', () => {
    const h = new ClassicHarness()
    const a = h.join({ requireKnownMemberId: false })
    h.advance(3000)
    expect(a.value).toMatchObject({ errorCode: '', generationId: 1 })
    expect(a.value.leader).toBe(a.value.memberId)
  })

  test('a new member in a stable group starts a rebalance that ends when every member has rejoined', () => {
    const { h, a, b } = stableGroup()
    const c = h.joinNew()
    expect(h.heartbeat(a, 1).errorCode).toBe('REBALANCE_IN_PROGRESS')
    expect(h.sync(b, 1).value.errorCode).toBe('REBALANCE_IN_PROGRESS')
    const ja = h.join({ memberId: a })
    expect(ja.done).toBe(false)
    const jb = h.join({ memberId: b })
    // No initial delay: the group was not empty.
    expect(ja.value.generationId).toBe(2)
    expect(jb.value.generationId).toBe(2)
    expect(c.join.value.generationId).toBe(2)
    expect(ja.value.members).toHaveLength(3)
    expect(h.heartbeat(a, 1).errorCode).toBe('ILLEGAL_GENERATION')
    expect(h.heartbeat(a, 2).errorCode).toBe('')
  })

  test('a follower rejoining unchanged in a stable group gets its generation back; the leader rejoining rebalances', () => {
    const { h, a, b } = stableGroup()
    expect(h.join({ memberId: b }).value).toMatchObject({ errorCode: '', generationId: 1, members: [] })
    expect(h.join({ memberId: a }).done).toBe(false)
    expect(h.heartbeat(b, 1).errorCode).toBe('REBALANCE_IN_PROGRESS')
  })

  test('join errors', () => {
    const h = new ClassicHarness()
    const code = (r: Pending<JoinGroupResponse>): string => r.value.errorCode
    expect(code(h.join({ sessionTimeoutMs: 5999 }))).toBe('INVALID_SESSION_TIMEOUT')
    expect(code(h.join({ sessionTimeoutMs: 1_800_001 }))).toBe('INVALID_SESSION_TIMEOUT')
    expect(code(h.join({ groupInstanceId: 'static' }))).toBe('INVALID_REQUEST')
    expect(code(h.join({ memberId: 'ghost' }))).toBe('UNKNOWN_MEMBER_ID')
    expect(code(h.join({ protocolType: '' }))).toBe('INCONSISTENT_GROUP_PROTOCOL')
    expect(code(h.join({ protocols: [] }))).toBe('INCONSISTENT_GROUP_PROTOCOL')
    expect(codeOf(() => h.shard.joinGroup({ ...h.shard && { groupId: '' }, ...baseJoin() }, h.context))).toBe('INVALID_GROUP_ID')
    expect(h.shard.listGroups()).toEqual([])
    h.joinNew()
    expect(code(h.join({ protocolType: 'connect' }))).toBe('INCONSISTENT_GROUP_PROTOCOL')
    expect(code(h.join({ protocols: [{ name: 'sticky', metadata: new Uint8Array(0) }] }))).toBe('INCONSISTENT_GROUP_PROTOCOL')
  })
})

function baseJoin (): Parameters<ClassicHarness['shard']['joinGroup']>[0] {
  return {
    groupId: '', memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }],
    sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, requireKnownMemberId: true, clientId: '', clientHost: '',
  }
}

describe('timeouts', () => {
  test('a silent member is removed after its session timeout and the others rebalance', () => {
    const { h, a, b } = stableGroup()
    for (let i = 0; i < 3; i++) {
      h.advance(3000)
      expect(h.heartbeat(a, 1).errorCode).toBe('')
    }
    h.advance(1100)
    // b has been silent for 10.1 s, past its 10 s session.
    expect(h.heartbeat(b, 1).errorCode).toBe('UNKNOWN_MEMBER_ID')
    expect(h.heartbeat(a, 1).errorCode).toBe('REBALANCE_IN_PROGRESS')
    expect(h.join({ memberId: a }).value).toMatchObject({ generationId: 2, members: [{ memberId: a }] })
  })

  test('the join phase ends at the rebalance timeout without the members that did not rejoin', () => {
    const { h, a, b } = stableGroup()
    h.joinNew()
    const ja = h.join({ memberId: a })
    // b keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins.
    for (let t = 0; t < 30_000; t += 5000) {
      h.advance(5000)
      if (!ja.done) expect(h.heartbeat(b, 1).errorCode).toBe('REBALANCE_IN_PROGRESS')
    }
    expect(ja.value).toMatchObject({ errorCode: '', generationId: 2 })
    expect(ja.value.members.map((m) => m.memberId)).not.toContain(b)
    expect(h.heartbeat(b, 2).errorCode).toBe('UNKNOWN_MEMBER_ID')
  })

  test('members that never sync are removed after the rebalance timeout', () => {
    const h = new ClassicHarness()
    const a = h.joinNew()
    const b = h.joinNew()
    h.advance(6000)
    const syncB = h.sync(b.memberId, 1)
    for (let t = 0; t < 30_000; t += 5000) {
      h.advance(5000)
      // The leader stays alive but never syncs.
      if (!syncB.done) expect(h.heartbeat(a.memberId, 1).errorCode).toBe('')
    }
    // At the sync deadline the leader is removed; b's waiting sync learns of the rebalance.
    expect(syncB.value.errorCode).toBe('REBALANCE_IN_PROGRESS')
    expect(h.heartbeat(a.memberId, 1).errorCode).toBe('UNKNOWN_MEMBER_ID')
    expect(h.join({ memberId: b.memberId }).value).toMatchObject({ generationId: 2, leader: b.memberId })
  })

  test('a named member that never joins with its id is forgotten after its session timeout', () => {
    const h = new ClassicHarness()
    const named = h.join().value.memberId
    h.advance(10_000)
    expect(h.join({ memberId: named }).value.errorCode).toBe('UNKNOWN_MEMBER_ID')
    expect(h.shard.listGroups()).toEqual([])
  })
})

describe('leave', () => {
  test('members leave (several at once); unknown ones are named; a waiting join of a leaving member is answered', () => {
    const { h, a, b } = stableGroup()
    const c = h.joinNew()
    const response = h.leave([c.memberId, 'ghost'])
    expect(response.members).toEqual([
      { memberId: c.memberId, groupInstanceId: null, errorCode: '' },
      { memberId: 'ghost', groupInstanceId: null, errorCode: 'UNKNOWN_MEMBER_ID' },
    ])
    expect(c.join.value.errorCode).toBe('UNKNOWN_MEMBER_ID')
    h.join({ memberId: a })
    const jb = h.join({ memberId: b })
    expect(jb.value.generationId).toBe(2)
    h.leave([a, b])
    expect(h.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'classic', state: 'empty' }])
    // The group is empty: its generation persists, its persisted membership (generation 1's) goes.
    expect(h.log.slice(-2)).toEqual([
      { type: 'ConsumerGroupMetadata', groupId: 'group', value: { epoch: 3, groupType: 'classic' } },
      { type: 'GroupMetadata', groupId: 'group', value: null },
    ])
    expect(h.leave(['x'], 'nope').errorCode).toBe('UNKNOWN_MEMBER_ID')
  })
})

describe('offsets of a classic group', () => {
  test('generation fencing of commits', () => {
    const { h, a, b } = stableGroup()
    expect(h.commit(a, 1, 10).partitions[0]?.errorCode).toBe('')
    expect(codeOf(() => h.commit(a, 0, 11))).toBe('ILLEGAL_GENERATION')
    expect(codeOf(() => h.commit('ghost', 1, 11))).toBe('UNKNOWN_MEMBER_ID')
    expect(codeOf(() => h.commit('', -1, 11))).toBe('UNKNOWN_MEMBER_ID')
    // During the join phase a member still commits at its generation (what it consumed before revoking).
    h.joinNew()
    expect(h.commit(b, 1, 12).partitions[0]?.errorCode).toBe('')
    h.join({ memberId: a })
    h.join({ memberId: b })
    expect(codeOf(() => h.commit(a, 2, 13))).toBe('REBALANCE_IN_PROGRESS')
    expect(codeOf(() => h.commit(a, 1, 13))).toBe('ILLEGAL_GENERATION')
    expect(h.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.offset)).toEqual([12])
  })

  test('simple commits (generation -1) go to an empty classic group; a member commit to no group is GROUP_ID_NOT_FOUND', () => {
    const { h, a, b } = stableGroup()
    h.leave([a, b])
    expect(h.commit('', -1, 5).partitions[0]?.errorCode).toBe('')
    expect(codeOf(() => h.commit(a, 2, 6))).toBe('UNKNOWN_MEMBER_ID')
    expect(codeOf(() => h.commit('m', 1, 6, 'fresh'))).toBe('GROUP_ID_NOT_FOUND')
    expect(h.commit('', -1, 6, 'fresh').partitions[0]?.errorCode).toBe('')
  })

  test('offsets of a group with classic members never expire, and reset and delete are refused', () => {
    const { h, a } = stableGroup()
    h.commit(a, 1, 10)
    expect(codeOf(() => h.shard.resetOffsets({ groupId: 'group', partitions: [] }, h.context))).toBe('NON_EMPTY_GROUP')
    expect(codeOf(() => h.shard.deleteOffsets({ groupId: 'group', partitions: [] }, h.context))).toBe('NON_EMPTY_GROUP')
    expect(h.shard.deleteGroups(['group'], h.context).response[0]?.errorCode).toBe('NON_EMPTY_GROUP')
  })
})

describe('one protocol per group id', () => {
  test('a KIP-848 group with members refuses classic requests', () => {
    const sim = new GroupSimulation({ topics: { orders: 2 } })
    const member = new SimulatedMember({ topics: ['orders'] })
    sim.heartbeat(member)
    const h = new ClassicHarness()
    h.shard = sim.shard
    expect(h.join().value.errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL')
    expect(h.heartbeat(member.memberId, 1).errorCode).toBe('GROUP_ID_NOT_FOUND')
    expect(h.sync(member.memberId, 1).value.errorCode).toBe('GROUP_ID_NOT_FOUND')
    expect(h.leave([member.memberId]).errorCode).toBe('GROUP_ID_NOT_FOUND')
    expect(codeOf(() => sim.shard.describeClassicGroup('group'))).toBe('GROUP_ID_NOT_FOUND')
  })

  test('a classic group with members refuses KIP-848 members; once empty, a KIP-848 member takes it over', () => {
    const { h, a, b } = stableGroup()
    const request = {
      groupId: 'group', memberId: '', memberEpoch: 0, instanceId: '', rackId: '', rebalanceTimeoutMs: 0,
      subscribedTopicNames: ['orders'], subscribedTopicRegex: '', serverAssignor: '', ownedPartitions: [], clientId: 'c', clientHost: 'h',
    }
    expect(codeOf(() => h.shard.heartbeat(request, h.context))).toBe('INCONSISTENT_GROUP_PROTOCOL')
    h.commit(a, 1, 7)
    h.leave([a, b])
    const response = h.apply(h.shard.heartbeat(request, h.context))
    expect(response.memberEpoch).toBe(3)
    expect(h.shard.listGroups()[0]?.groupType).toBe('consumer')
    expect(h.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.offset)).toEqual([7])
  })

  test('a group holding only offsets becomes classic on its first join, offsets kept', () => {
    const h = new ClassicHarness()
    h.commit('', -1, 3)
    expect(h.shard.describeClassicGroup('group')).toEqual({ groupId: 'group', state: 'empty', protocolType: '', protocolName: '', members: [] })
    const a = h.joinNew()
    h.advance(3000)
    expect(a.join.value.generationId).toBe(1)
    expect(h.shard.listGroups()[0]?.groupType).toBe('classic')
    expect(h.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.offset)).toEqual([3])
  })
})

describe('persistence and failover', () => {
  test("the leader's SyncGroup persists the generation with every member, its timeouts, metadata and assignment", () => {
    const { h, a, b } = stableGroup()
    const record = h.log.filter((r) => r.type === 'GroupMetadata').at(-1)
    expect(record).toEqual({
      type: 'GroupMetadata', groupId: 'group',
      value: {
        protocolType: 'consumer', generationId: 1, protocolName: 'range', leader: a, currentStateTimestampMs: h.nowMs,
        members: [
          { memberId: a, groupInstanceId: null, clientId: 'a', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 30_000, sessionTimeoutMs: 10_000, subscription: Buffer.from('meta'), assignment: Buffer.from('A') },
          { memberId: b, groupInstanceId: null, clientId: 'b', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 30_000, sessionTimeoutMs: 10_000, subscription: Buffer.from('meta'), assignment: Buffer.from('B') },
        ],
      },
    })
  })

  test('a new coordinator restores the group Stable: members heartbeat and commit at their generation without rejoining', () => {
    for (const compact of [false, true]) {
      const { h, a, b } = stableGroup()
      h.commit(a, 1, 42)
      const written = h.log.length
      h.failover({ compact })
      expect(h.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'classic', state: 'stable', protocolType: 'consumer' }])
      expect(h.heartbeat(a, 1).errorCode).toBe('')
      expect(h.heartbeat(b, 1).errorCode).toBe('')
      expect(h.commit(b, 1, 43).partitions[0]?.errorCode).toBe('')
      expect(h.heartbeat(b, 0).errorCode).toBe('ILLEGAL_GENERATION')
      // A follower's lost SyncGroup answer: asked again, it gets its assignment; nothing new is written but offsets.
      expect(Buffer.from(h.sync(b, 1).value.assignment).toString()).toBe('B')
      expect(h.log.slice(written).map((r) => r.type)).toEqual(['OffsetCommit'])
      const described = h.shard.describeClassicGroup('group')
      expect(described).toMatchObject({ state: 'stable', protocolType: 'consumer', protocolName: 'range' })
      expect(described.members.map((m) => [m.memberId, m.clientId, Buffer.from(m.assignment).toString(), Buffer.from(m.metadata).toString()]))
        .toEqual([[a, 'a', 'A', 'meta'], [b, 'b', 'B', 'meta']])
      expect(h.shard.describeGroup('group')).toMatchObject({ groupEpoch: 1, assignorName: 'range' })
      expect(h.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.offset)).toEqual([43])
      // A follower rejoining with what it had gets the same generation (no rebalance).
      expect(h.join({ memberId: b, clientId: 'b' }).value).toMatchObject({ errorCode: '', generationId: 1, leader: a })
    }
  })

  test('sessions start afresh at the load: members that go on heartbeating stay; a silent one expires and starts a rebalance', () => {
    const { h, a, b } = stableGroup()
    // b goes silent 8 s before the failover: on the old coordinator it would expire 2 s after it.
    for (let i = 0; i < 4; i++) { h.advance(2000); expect(h.heartbeat(a, 1).errorCode).toBe('') }
    h.failover()
    for (let i = 0; i < 4; i++) { h.advance(2000); expect(h.heartbeat(a, 1).errorCode).toBe('') }
    // 8 s after the load (16 s of silence), b is still a member: its session started at the load.
    expect(h.shard.describeClassicGroup('group').members.map((m) => m.memberId)).toEqual([a, b])
    h.advance(2000)
    expect(h.shard.describeClassicGroup('group').members.map((m) => m.memberId)).toEqual([a])
    expect(h.heartbeat(a, 1).errorCode).toBe('REBALANCE_IN_PROGRESS')
    const rejoin = h.join({ memberId: a, clientId: 'a' })
    expect(rejoin.value).toMatchObject({ errorCode: '', generationId: 2, leader: a })
    expect(rejoin.value.members.map((m) => m.memberId)).toEqual([a])
  })

  test('a member silent at the new coordinator expires one session timeout after the load', () => {
    const { h, a, b } = stableGroup()
    h.failover()
    h.advance(9_900)
    expect(h.heartbeat(a, 1).errorCode).toBe('')
    h.advance(200)
    expect(h.heartbeat(b, 1).errorCode).toBe('UNKNOWN_MEMBER_ID')
  })

  test('a failover after a join phase ended but before its SyncGroup: members rejoin, and no generation repeats', () => {
    const { h, a, b } = stableGroup()
    const joinA = h.join({ memberId: a, clientId: 'a' })
    const joinB = h.join({ memberId: b, clientId: 'b' })
    expect([joinA.value.generationId, joinB.value.generationId]).toEqual([2, 2])
    const waiting = h.sync(b, 2)
    h.failover()
    expect(waiting.value.errorCode).toBe('NOT_COORDINATOR')
    expect(h.shard.listGroups()[0]?.state).toBe('preparing_rebalance')
    expect(h.sync(b, 2).value.errorCode).toBe('REBALANCE_IN_PROGRESS')
    expect(h.heartbeat(a, 1).errorCode).toBe('ILLEGAL_GENERATION')
    const again = [h.join({ memberId: a, clientId: 'a' }), h.join({ memberId: b, clientId: 'b' })]
    expect(again.map((j) => j.value.generationId)).toEqual([3, 3])
    h.sync(a, 3, { [a]: 'A3', [b]: 'B3' })
    expect(h.log.filter((r) => r.type === 'GroupMetadata').at(-1)?.value).toMatchObject({ generationId: 3 })
  })

  test('an emptied group loads empty at its generation; a generation-only log (written before GroupMetadata) loads as before', () => {
    const { h, a, b } = stableGroup()
    h.leave([a, b])
    h.failover({ compact: true })
    expect(h.log.some((r) => r.type === 'GroupMetadata' && r.value === null)).toBe(true)
    expect(h.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'classic', state: 'empty' }])
    expect(h.heartbeat(a, 1).errorCode).toBe('UNKNOWN_MEMBER_ID')

    const old = new ClassicHarness()
    old.log.push(
      { type: 'ConsumerGroupMetadata', groupId: 'group', value: { epoch: 4, groupType: 'classic' } },
      { type: 'OffsetCommit', groupId: 'group', topic: 'orders', partition: 0, value: { offset: 42, leaderEpoch: -1, metadata: '', commitTimestampMs: old.nowMs } },
    )
    old.failover()
    expect(old.shard.listGroups()).toEqual([{ groupId: 'group', groupType: 'classic', state: 'empty' }])
    expect(old.heartbeat('someone', 4).errorCode).toBe('UNKNOWN_MEMBER_ID')
    const joined = old.joinNew()
    old.advance(3000)
    expect(joined.join.value.generationId).toBe(5)
    expect(old.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions.map((p) => p.offset)).toEqual([42])
  })

  test('a group known only by its GroupMetadata record (a partition copied from Kafka) loads Stable at its generation', () => {
    const h = new ClassicHarness()
    h.log.push({
      type: 'GroupMetadata', groupId: 'group',
      value: {
        protocolType: 'consumer', generationId: 7, protocolName: 'range', leader: 'gone', currentStateTimestampMs: -1,
        members: [{ memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeoutMs: 30_000, sessionTimeoutMs: 10_000, subscription: Buffer.from('s'), assignment: Buffer.from('a') }],
      },
    })
    h.failover()
    expect(h.shard.describeGroup('group')).toMatchObject({ groupType: 'classic', state: 'stable', groupEpoch: 7 })
    expect(h.heartbeat('m', 7).errorCode).toBe('')
    // The leader named is not a member: the first member leads, and its rejoin starts generation 8.
    expect(h.join({ memberId: 'm', protocols: [{ name: 'range', metadata: Buffer.from('s') }] }).value).toMatchObject({ generationId: 8, leader: 'm' })
  })

  test('deleting an emptied group leaves no key behind', () => {
    const { h, a, b } = stableGroup()
    h.commit(a, 1, 7)
    h.leave([a, b])
    expect(h.apply(h.shard.deleteGroups(['group'], h.context))[0]?.errorCode).toBe('')
    expect(h.shard.group('group')).toBeUndefined()
    h.failover({ compact: true })
    expect(h.shard.listGroups()).toEqual([])
  })
})

describe('describe', () => {
  test('a stable consumer-protocol group shows its members\' subscriptions and assignments', () => {
    const h = new ClassicHarness()
    // Kafka's consumer protocol: Subscription v0 [orders], Assignment v0 orders:[0,2].
    const subscription = Buffer.from('0000000000010006' + Buffer.from('orders').toString('hex') + 'ffffffff', 'hex')
    const assignment = Buffer.from('000000000001' + '0006' + Buffer.from('orders').toString('hex') + '00000002' + '00000002' + '00000000' + 'ffffffff', 'hex')
    const a = h.joinNew({ protocols: [{ name: 'range', metadata: subscription }] })
    h.advance(3000)
    h.sync(a.memberId, 1, {})
    expect(h.shard.describeClassicGroup('group').members[0]?.assignment).toEqual(new Uint8Array(0))
    h.leave([a.memberId])
    const b = h.joinNew({ protocols: [{ name: 'range', metadata: subscription }] })
    h.advance(3000)
    h.apply(h.shard.syncGroup({ groupId: 'group', generationId: 3, memberId: b.memberId, groupInstanceId: null, assignments: [{ memberId: b.memberId, assignment }] }, h.context))
    const described = h.shard.describeGroup('group')
    expect(described).toMatchObject({ groupType: 'classic', state: 'stable', groupEpoch: 3, assignorName: 'range' })
    expect(described.members[0]).toMatchObject({ memberId: b.memberId, subscribedTopicNames: ['orders'], assignment: [{ topic: 'orders', partitions: [0, 2] }] })
    const classic = h.shard.describeClassicGroup('group')
    expect(classic).toMatchObject({ state: 'stable', protocolType: 'consumer', protocolName: 'range' })
    expect(Buffer.from(classic.members[0]?.assignment ?? [])).toEqual(assignment)
  })
})

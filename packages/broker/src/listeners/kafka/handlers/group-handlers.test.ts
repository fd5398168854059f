import { ErrorCode, GregorError } from '@gregor/common'
import type { JoinGroupRequest as DomainJoin } from '@gregor/coordinator'
import { describe, expect, test } from 'vitest'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { handleDescribeGroups } from './describe-groups.js'
import { handleFindCoordinator } from './find-coordinator.js'
import { handleJoinGroup } from './join-group.js'
import { handleLeaveGroup } from './leave-group.js'
import { handleListGroups } from './list-groups.js'
import { handleOffsetCommit } from './offset-commit.js'
import { handleOffsetFetch } from './offset-fetch.js'

const context = (apiVersion: number): { apiVersion: number; correlationId: number; clientId: string; peer: string } =>
  ({ apiVersion, correlationId: 1, clientId: 'rdkafka', peer: '127.0.0.1:5555' })

const notFound = (groupId: string): GregorError => new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`)

/** A fake group API: what each method answers, and the join requests it saw. */
function fakeApi (overrides: Partial<KafkaGroupApi> = {}): KafkaGroupApi & { joins: DomainJoin[] } {
  const joins: DomainJoin[] = []
  return {
    joins,
    findGroupCoordinator: async (groupId) => {
      if (groupId === 'loading') throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'creating __consumer_offsets')
      return { nodeId: 2, host: '127.0.0.1', port: 9093 }
    },
    joinGroup: async (request) => {
      joins.push(request)
      if (request.groupId === 'bad') throw new GregorError(ErrorCode.NOT_COORDINATOR, 'moved')
      return { errorCode: 'MEMBER_ID_REQUIRED', errorMessage: '', generationId: -1, protocolType: '', protocolName: '', leader: '', memberId: 'rdkafka-1', members: [] }
    },
    syncGroup: async () => { throw new Error('unused') },
    heartbeat: async () => { throw new Error('unused') },
    leaveGroup: async (request) => ({
      errorCode: '', errorMessage: '',
      members: request.members.map((m) => ({ ...m, errorCode: m.memberId === 'ghost' ? ErrorCode.UNKNOWN_MEMBER_ID : '' as const })),
    }),
    commitOffsets: async (request) => {
      if (request.groupId === 'missing') throw notFound(request.groupId)
      return { partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: p.partition === 9 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : '', errorMessage: '' })) }
    },
    fetchOffsets: async (request) => {
      if (request.groupId === 'moved') throw new GregorError(ErrorCode.NOT_COORDINATOR, 'moved')
      return { partitions: [{ topic: 'orders', partition: 0, offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestampMs: 1 }] }
    },
    listGroups: () => [
      { groupId: 'a', groupType: 'classic', state: 'stable', protocolType: 'consumer' },
      { groupId: 'b', groupType: 'consumer', state: 'reconciling' },
      { groupId: 'c', groupType: 'classic', state: 'empty' },
    ],
    describeGroup: async (groupId) => {
      if (groupId !== 'a') throw notFound(groupId)
      return { groupId, state: 'completing_rebalance', protocolType: 'consumer', protocolName: '', members: [{ memberId: 'm', clientId: 'c', clientHost: '/h', metadata: new Uint8Array(0), assignment: new Uint8Array(0) }] }
    },
    ...overrides,
  }
}

describe('group handlers', () => {
  test('FindCoordinator: one key (v0-3) or several (v4); transaction coordinators are refused', async () => {
    const api = fakeApi()
    expect(await handleFindCoordinator(api, { key: 'g', keyType: 0, coordinatorKeys: [] }, context(2)))
      .toMatchObject({ errorCode: 0, nodeId: 2, host: '127.0.0.1', port: 9093, coordinators: [] })
    expect(await handleFindCoordinator(api, { key: 'loading', keyType: 0, coordinatorKeys: [] }, context(1)))
      .toMatchObject({ errorCode: 15, nodeId: -1 })
    const batched = await handleFindCoordinator(api, { key: '', keyType: 0, coordinatorKeys: ['g', 'loading'] }, context(4))
    expect(batched.coordinators).toEqual([
      { key: 'g', nodeId: 2, host: '127.0.0.1', port: 9093, errorCode: 0, errorMessage: null },
      { key: 'loading', nodeId: -1, host: '', port: -1, errorCode: 15, errorMessage: 'creating __consumer_offsets' },
    ])
    expect((await handleFindCoordinator(api, { key: 'tx', keyType: 1, coordinatorKeys: [] }, context(2))).errorCode).toBe(42)
  })

  test('JoinGroup: v4+ asks for the two-step join, v0 has no rebalance timeout, the client host is the peer', async () => {
    const api = fakeApi()
    const request = { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('x') }] }
    expect(await handleJoinGroup(api, request, context(5))).toMatchObject({ errorCode: 79, memberId: 'rdkafka-1' })
    await handleJoinGroup(api, request, context(0))
    expect(api.joins.map((j) => [j.requireKnownMemberId, j.rebalanceTimeoutMs, j.clientId, j.clientHost]))
      .toEqual([[true, 30_000, 'rdkafka', '/127.0.0.1'], [false, -1, 'rdkafka', '/127.0.0.1']])
    expect(await handleJoinGroup(api, { ...request, groupId: 'bad', memberId: 'm1' }, context(5))).toMatchObject({ errorCode: 16, memberId: 'm1', generationId: -1 })
  })

  test('LeaveGroup: v0-2 one member and one error, v3+ each member', async () => {
    const api = fakeApi()
    expect(await handleLeaveGroup(api, { groupId: 'g', memberId: 'ghost', members: [] }, context(1))).toEqual({ throttleTimeMs: 0, errorCode: 25, members: [] })
    expect(await handleLeaveGroup(api, { groupId: 'g', memberId: '', members: [{ memberId: 'm', groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }] }, context(3)))
      .toEqual({ throttleTimeMs: 0, errorCode: 0, members: [{ memberId: 'm', groupInstanceId: null, errorCode: 0 }, { memberId: 'ghost', groupInstanceId: null, errorCode: 25 }] })
  })

  test('OffsetCommit: per-partition errors; a member commit to no group is ILLEGAL_GENERATION for these versions', async () => {
    const api = fakeApi()
    const topics = [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }, { partitionIndex: 9, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }]
    const ok = await handleOffsetCommit(api, { groupId: 'g', generationIdOrMemberEpoch: 1, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1, topics }, context(7))
    expect(ok.topics[0]?.partitions).toEqual([{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 9, errorCode: 3 }])
    const missing = await handleOffsetCommit(api, { groupId: 'missing', generationIdOrMemberEpoch: 1, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1, topics }, context(7))
    expect(missing.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([22, 22])
  })

  test('OffsetFetch: v1 errors per partition, v2-7 per group, v8 several groups', async () => {
    const api = fakeApi()
    const topics = [{ name: 'orders', partitionIndexes: [0] }]
    expect((await handleOffsetFetch(api, { groupId: 'moved', topics, groups: [], requireStable: false }, context(1))).topics[0]?.partitions[0]?.errorCode).toBe(16)
    expect(await handleOffsetFetch(api, { groupId: 'moved', topics: null, groups: [], requireStable: false }, context(5))).toMatchObject({ errorCode: 16, topics: [] })
    expect((await handleOffsetFetch(api, { groupId: 'g', topics: null, groups: [], requireStable: false }, context(5))).topics)
      .toEqual([{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, metadata: 'm', errorCode: 0 }] }])
    const v8 = await handleOffsetFetch(api, { groupId: '', topics: [], groups: [{ groupId: 'g', topics: null }, { groupId: 'moved', topics: null }], requireStable: true }, context(8))
    expect(v8.groups.map((g) => [g.groupId, g.errorCode, g.topics.length])).toEqual([['g', 0, 1], ['moved', 16, 0]])
  })

  test('ListGroups and DescribeGroups speak Kafka\'s state names; an unknown or KIP-848 group describes as Dead', async () => {
    const api = fakeApi()
    expect(handleListGroups(api, { statesFilter: [] }, context(2)).groups.map((g) => [g.groupId, g.protocolType, g.groupState]))
      .toEqual([['a', 'consumer', 'Stable'], ['b', 'consumer', 'Reconciling'], ['c', '', 'Empty']])
    expect(handleListGroups(api, { statesFilter: ['stable', 'Empty'] }, context(4)).groups.map((g) => g.groupId)).toEqual(['a', 'c'])
    const described = await handleDescribeGroups(api, { groups: ['a', 'b'], includeAuthorizedOperations: false }, context(4))
    expect(described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.members.length])).toEqual([['a', 0, 'CompletingRebalance', 1], ['b', 0, 'Dead', 0]])
  })
})

import { ErrorCode, GregorError } from '@gregor/common'
import type { DescribedGroup, HeartbeatRequest as DomainHeartbeat, JoinGroupRequest as DomainJoin } from '@gregor/coordinator'
import { ApiKey } from '@gregor/kafka-protocol'
import { describe, expect, test } from 'vitest'
import { groupHandlers } from '../group-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { handleConsumerGroupDescribe } from './consumer-group-describe.js'
import { handleConsumerGroupHeartbeat } from './consumer-group-heartbeat.js'
import { handleDeleteGroups } from './delete-groups.js'
import { handleDescribeGroups } from './describe-groups.js'
import { handleFindCoordinator } from './find-coordinator.js'
import { handleJoinGroup } from './join-group.js'
import { handleLeaveGroup } from './leave-group.js'
import { handleListGroups } from './list-groups.js'
import { handleOffsetCommit } from './offset-commit.js'
import { handleOffsetDelete } from './offset-delete.js'
import { handleOffsetFetch } from './offset-fetch.js'

const context = (apiVersion: number): { apiVersion: number; correlationId: number; clientId: string; peer: string } =>
  ({ apiVersion, correlationId: 1, clientId: 'rdkafka', peer: '127.0.0.1:5555' })

const notFound = (groupId: string): GregorError => new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`)

const ORDERS_ID = '6f1c2c9e-0000-4000-8000-000000000001'
const PAYMENTS_ID = '6f1c2c9e-0000-4000-8000-000000000002'
const topicIds = new Map([['orders', ORDERS_ID], ['payments', PAYMENTS_ID]])

const consumerGroup: DescribedGroup = {
  groupId: 'kip848', groupType: 'consumer', state: 'reconciling', groupEpoch: 3, assignmentEpoch: 3, assignorName: 'uniform',
  members: [{
    memberId: 'm1', instanceId: '', clientId: 'c1', clientHost: '/127.0.0.1', rackId: '', memberEpoch: 2, state: 'unrevoked_partitions',
    subscribedTopicNames: ['orders', 'gone'], subscribedTopicRegex: '',
    assignment: [{ topic: 'orders', partitions: [0] }, { topic: 'gone', partitions: [1] }], targetAssignment: [{ topic: 'orders', partitions: [0, 1] }],
  }],
}

/** A fake group API: what each method answers, and the join and KIP-848 heartbeat requests it saw. */
function fakeApi (overrides: Partial<KafkaGroupApi> = {}): KafkaGroupApi & { joins: DomainJoin[], heartbeats: DomainHeartbeat[] } {
  const joins: DomainJoin[] = []
  const heartbeats: DomainHeartbeat[] = []
  return {
    joins,
    heartbeats,
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
    consumerGroupHeartbeat: async (request) => {
      heartbeats.push(request)
      if (request.memberId === 'fenced') throw new GregorError(ErrorCode.FENCED_MEMBER_EPOCH, 'member fenced is fenced: epoch 9 is ahead of its epoch 4')
      if (request.memberEpoch === -1) return { memberId: request.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: [] }
      return { memberId: request.memberId, memberEpoch: 5, heartbeatIntervalMs: 5000, assignment: [{ topic: 'orders', partitions: [0, 2] }, { topic: 'gone', partitions: [0] }] }
    },
    describeConsumerGroup: async (groupId) => {
      if (groupId === 'kip848') return consumerGroup
      if (groupId === 'a') return { ...consumerGroup, groupId, groupType: 'classic', members: [] }
      if (groupId === 'moved') throw new GregorError(ErrorCode.NOT_COORDINATOR, 'moved')
      throw notFound(groupId)
    },
    deleteGroup: async (groupId) => {
      if (groupId === 'moved') throw new GregorError(ErrorCode.NOT_COORDINATOR, 'moved')
      if (groupId === 'busy') return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: 'group busy has 2 members' }
      if (groupId === 'empty') return { groupId, errorCode: '', errorMessage: '' }
      return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `group ${groupId} does not exist` }
    },
    deleteOffsets: async (request) => {
      if (request.groupId === 'missing') throw notFound(request.groupId)
      return {
        partitions: request.partitions.flatMap(({ topic, partitions }) => partitions.map((partition) => ({
          topic, partition, errorCode: topic === 'orders' ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : '', errorMessage: '',
        }))),
      }
    },
    topicId: (name) => topicIds.get(name),
    topicName: (topicId) => [...topicIds].find(([, id]) => id === topicId)?.[0],
    ...overrides,
  }
}

const heartbeat = (overrides: Partial<Parameters<typeof handleConsumerGroupHeartbeat>[1]> = {}): Parameters<typeof handleConsumerGroupHeartbeat>[1] => ({
  groupId: 'kip848', memberId: 'm1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 300_000,
  subscribedTopicNames: ['orders'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], ...overrides,
})

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

describe('KIP-848 and group deletion handlers', () => {
  test('ApiVersions advertises DeleteGroups, OffsetDelete, ConsumerGroupHeartbeat and ConsumerGroupDescribe', () => {
    const served = Object.keys(groupHandlers(fakeApi())).map(Number)
    expect(served).toEqual(expect.arrayContaining([ApiKey.DeleteGroups, ApiKey.OffsetDelete, ApiKey.ConsumerGroupHeartbeat, ApiKey.ConsumerGroupDescribe]))
  })

  test('ConsumerGroupHeartbeat: topic ids become names and back, nulls stay "unchanged", the client is named by its connection', async () => {
    const api = fakeApi()
    const answer = await handleConsumerGroupHeartbeat(api, heartbeat({
      memberEpoch: 4, rebalanceTimeoutMs: -1, subscribedTopicNames: null,
      topicPartitions: [{ topicId: ORDERS_ID, partitions: [2, 0] }, { topicId: '00000000-0000-0000-0000-00000000dead', partitions: [7] }],
    }), context(1))
    expect(api.heartbeats[0]).toMatchObject({
      groupId: 'kip848', memberId: 'm1', memberEpoch: 4, instanceId: '', rackId: null, rebalanceTimeoutMs: 0, subscribedTopicNames: null,
      subscribedTopicRegex: null, serverAssignor: null, ownedPartitions: [{ topic: 'orders', partitions: [0, 2] }], clientId: 'rdkafka', clientHost: '/127.0.0.1',
    })
    expect(answer).toEqual({
      throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: 'm1', memberEpoch: 5, heartbeatIntervalMs: 5000,
      assignment: { topicPartitions: [{ topicId: ORDERS_ID, partitions: [0, 2] }] },
    })
    await handleConsumerGroupHeartbeat(api, heartbeat({ topicPartitions: null, memberEpoch: 4 }), context(1))
    expect(api.heartbeats[1]?.ownedPartitions).toBeNull()
  })

  test('ConsumerGroupHeartbeat: Kafka\'s request checks answer INVALID_REQUEST before the coordinator; its refusals keep their code', async () => {
    const api = fakeApi()
    const code = async (overrides: Partial<Parameters<typeof handleConsumerGroupHeartbeat>[1]>, version = 1): Promise<number> =>
      (await handleConsumerGroupHeartbeat(api, heartbeat(overrides), context(version))).errorCode
    expect(await code({ memberId: '' })).toBe(42)
    expect(await code({ memberId: '' }, 0)).toBe(0)
    expect(await code({ rebalanceTimeoutMs: -1 })).toBe(42)
    expect(await code({ topicPartitions: [{ topicId: ORDERS_ID, partitions: [0] }] })).toBe(42)
    expect(await code({ topicPartitions: null })).toBe(42)
    expect(await code({ instanceId: '' })).toBe(42)
    expect(await code({ rackId: ' ' })).toBe(42)
    expect(await code({ groupId: '  ' })).toBe(42)
    expect(api.heartbeats).toHaveLength(1)
    const fenced = await handleConsumerGroupHeartbeat(api, heartbeat({ memberId: 'fenced', memberEpoch: 9 }), context(1))
    expect(fenced).toMatchObject({ errorCode: 110, memberId: null, assignment: null })
    expect(fenced.errorMessage).toContain('fenced')
    const left = await handleConsumerGroupHeartbeat(api, heartbeat({ memberEpoch: -1, subscribedTopicNames: [] }), context(1))
    expect(left).toMatchObject({ errorCode: 0, memberId: 'm1', memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null })
  })

  test('ConsumerGroupDescribe: members with topic ids and names; classic or unknown groups are GROUP_ID_NOT_FOUND', async () => {
    const answer = await handleConsumerGroupDescribe(fakeApi(), { groupIds: ['kip848', 'a', 'nope', 'moved'], includeAuthorizedOperations: false }, context(0))
    expect(answer.groups.map((g) => [g.groupId, g.errorCode])).toEqual([['kip848', 0], ['a', 69], ['nope', 69], ['moved', 16]])
    const [group] = answer.groups
    expect(group).toMatchObject({ groupState: 'Reconciling', groupEpoch: 3, assignmentEpoch: 3, assignorName: 'uniform', errorMessage: null })
    expect(group?.members).toEqual([{
      memberId: 'm1', instanceId: null, rackId: null, memberEpoch: 2, clientId: 'c1', clientHost: '/127.0.0.1',
      subscribedTopicNames: ['orders', 'gone'], subscribedTopicRegex: null,
      assignment: { topicPartitions: [{ topicId: ORDERS_ID, topicName: 'orders', partitions: [0] }, { topicId: '00000000-0000-0000-0000-000000000000', topicName: 'gone', partitions: [1] }] },
      targetAssignment: { topicPartitions: [{ topicId: ORDERS_ID, topicName: 'orders', partitions: [0, 1] }] },
    }])
  })

  test('DeleteGroups: one code per group (deleted, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, NOT_COORDINATOR)', async () => {
    const answer = await handleDeleteGroups(fakeApi(), { groupsNames: ['empty', 'busy', 'nope', 'moved'] }, context(1))
    expect(answer).toEqual({ throttleTimeMs: 0, results: [{ groupId: 'empty', errorCode: 0 }, { groupId: 'busy', errorCode: 68 }, { groupId: 'nope', errorCode: 69 }, { groupId: 'moved', errorCode: 16 }] })
  })

  test('OffsetDelete: per partition GROUP_SUBSCRIBED_TO_TOPIC or UNKNOWN_TOPIC_OR_PARTITION; a group failure has no topics', async () => {
    const api = fakeApi()
    const topics = [
      { name: 'orders', partitions: [{ partitionIndex: 1 }] },
      { name: 'payments', partitions: [{ partitionIndex: 0 }, { partitionIndex: 0 }] },
      { name: 'nosuch', partitions: [{ partitionIndex: 0 }] },
    ]
    expect(await handleOffsetDelete(api, { groupId: 'g', topics }, context(0))).toEqual({
      errorCode: 0, throttleTimeMs: 0,
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 1, errorCode: 86 }] },
        { name: 'payments', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 0, errorCode: 0 }] },
        { name: 'nosuch', partitions: [{ partitionIndex: 0, errorCode: 3 }] },
      ],
    })
    expect(await handleOffsetDelete(api, { groupId: 'missing', topics }, context(0))).toEqual({ errorCode: 69, throttleTimeMs: 0, topics: [] })
  })
})

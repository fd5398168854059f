import { ErrorCode, GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { Admin } from './admin.js'
import { type OffsetResetInput, offsetResetPlan } from './group-admin.js'
import { FakeCluster } from './testing/fake-cluster.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

const input: OffsetResetInput = {
  topic: 't',
  partitions: [2, 0, 1],
  committed: new Map([[0, 20], [1, 60]]),
  logStart: new Map([[0, 10], [1, 0], [2, 5]]),
  logEnd: new Map([[0, 100], [1, 50], [2, 5]]),
  byTimestamp: new Map([[0, 40], [1, -1], [2, 5]]),
}
const newOffsets = (spec: Parameters<typeof offsetResetPlan>[1], from = input): number[] => offsetResetPlan(from, spec).map((row) => row.newOffset)

describe('offsetResetPlan', () => {
  test('earliest and latest are the log start and end; rows sorted by partition with the committed offset', () => {
    expect(offsetResetPlan(input, { kind: 'earliest' })).toEqual([
      { topic: 't', partition: 0, currentOffset: 20, newOffset: 10 },
      { topic: 't', partition: 1, currentOffset: 60, newOffset: 0 },
      { topic: 't', partition: 2, currentOffset: null, newOffset: 5 },
    ])
    expect(newOffsets({ kind: 'latest' })).toEqual([100, 50, 5])
  })

  test('an explicit offset is clamped to [logStart, logEnd]', () => {
    expect(newOffsets({ kind: 'offset', offset: 30 })).toEqual([30, 30, 5])
    expect(newOffsets({ kind: 'offset', offset: 3 })).toEqual([10, 3, 5])
    expect(newOffsets({ kind: 'offset', offset: 1000 })).toEqual([100, 50, 5])
  })

  test('shift moves the committed offset, clamped (a committed offset past the log end comes back into it)', () => {
    const committedOnly = { ...input, partitions: [0, 1] }
    expect(newOffsets({ kind: 'shift', by: -15 }, committedOnly)).toEqual([10, 45])
    expect(newOffsets({ kind: 'shift', by: 5 }, committedOnly)).toEqual([25, 50])
  })

  test('shift refuses partitions without a committed offset', () => {
    expect(() => offsetResetPlan(input, { kind: 'shift', by: 1 })).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_REQUEST, details: { topic: 't', partitions: [2] },
    }))
  })

  test('datetime takes the first offset at or after the time; none that late means the log end', () => {
    expect(newOffsets({ kind: 'datetime', timestampMs: 0 })).toEqual([40, 50, 5])
  })
})

function adminOn (cluster: FakeCluster): { admin: Admin; scheduler: ManualScheduler } {
  const scheduler = new ManualScheduler()
  return { admin: new Admin({ bootstrapServers: 'x:1' }, { connection: cluster, clock: scheduler, scheduler }), scheduler }
}

describe('Admin group methods', () => {
  test('planOffsetReset by datetime asks ListOffsets by timestamp and clamps; resetOffsets sends the plan', async () => {
    const cluster = new FakeCluster({ t: 2 })
    cluster.append('t', 0, ['a', 'b'], 1000) // offsets 0-1
    cluster.append('t', 0, ['c', 'd'], 2000) // 2-3
    cluster.append('t', 1, ['e'], 1000) // 0
    cluster.setLogStart('t', 0, 0)
    cluster.committed.set('t\u00000', 1)
    const { admin } = adminOn(cluster)
    expect(await admin.planOffsetReset('g', 't', { kind: 'datetime', timestampMs: 1500 })).toEqual([
      { topic: 't', partition: 0, currentOffset: 1, newOffset: 2 },
      { topic: 't', partition: 1, currentOffset: null, newOffset: 1 },
    ])
    const timestamps = cluster.calls.filter((c) => c.method === 'ListOffsets').flatMap((c) => c.request.partitions.map((p: { timestamp: number }) => p.timestamp))
    expect(new Set(timestamps)).toEqual(new Set([-2, -1, 1500]))

    cluster.manual.add('ResetOffsets')
    const plan = await admin.planOffsetReset('g', 't', { kind: 'shift', by: 10 }, [0])
    expect(plan).toEqual([{ topic: 't', partition: 0, currentOffset: 1, newOffset: 4 }])
    const resetting = admin.resetOffsets('g', plan)
    const reset = await cluster.nextCall('ResetOffsets')
    expect(reset.address).toBe('b1:9092')
    expect(reset.request).toMatchObject({ groupId: 'g', partitions: [{ topic: 't', partition: 0, offset: 4, leaderEpoch: -1 }] })
    reset.respond({ errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: 'group has members' })
    await expect(resetting).rejects.toMatchObject({ code: ErrorCode.NON_EMPTY_GROUP, message: 'group has members' })
  })

  test('a coordinator that moved is found again and asked again within the request timeout', async () => {
    const cluster = new FakeCluster({ t: 1 })
    cluster.manual.add('DescribeGroups')
    const { admin, scheduler } = adminOn(cluster)
    const describing = admin.describeGroups(['g'])
    const first = await cluster.nextCall('DescribeGroups')
    expect(first.address).toBe('b1:9092')
    cluster.coordinatorId = 3
    first.respond({ groups: [{ groupId: 'g', errorCode: ErrorCode.NOT_COORDINATOR }] })
    await flushMicrotasks()
    scheduler.advance(100)
    const second = await cluster.nextCall('DescribeGroups')
    expect(second.address).toBe('b3:9092')
    second.respond({
      groups: [{
        groupId: 'g', groupType: 'consumer', state: 'stable', groupEpoch: 3, assignmentEpoch: 3, assignorName: 'uniform', coordinatorId: 3,
        members: [{ memberId: 'm1', clientId: 'c', clientHost: '/10.0.0.1', memberEpoch: 3, state: 'stable', subscribedTopicNames: ['t'], assignment: [{ topic: 't', partitions: [0] }] }],
      }],
    })
    const [description] = await describing
    expect(description).toMatchObject({ groupId: 'g', state: 'stable', coordinatorId: 3, members: [{ memberId: 'm1', assignment: [{ topic: 't', partitions: [0] }], targetAssignment: [] }] })
  })

  test('describeGroups throws a group error that is not about the coordinator', async () => {
    const cluster = new FakeCluster({ t: 1 })
    cluster.manual.add('DescribeGroups')
    const { admin } = adminOn(cluster)
    const describing = admin.describeGroups(['nope'])
    ;(await cluster.nextCall('DescribeGroups')).respond({ groups: [{ groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }] })
    await expect(describing).rejects.toBeInstanceOf(GregorError)
    await expect(describing).rejects.toMatchObject({ code: ErrorCode.GROUP_ID_NOT_FOUND })
  })

  test('groupLag: committed and owned partitions with log end, lag and owner', async () => {
    const cluster = new FakeCluster({ t: 3 })
    cluster.append('t', 0, ['a', 'b', 'c'])
    cluster.append('t', 2, ['x'])
    cluster.committed.set('t\u00000', 1)
    cluster.manual.add('DescribeGroups')
    cluster.manual.add('OffsetFetch')
    const { admin } = adminOn(cluster)
    const lagging = admin.groupLag('g')
    ;(await cluster.nextCall('DescribeGroups')).respond({
      groups: [{ groupId: 'g', state: 'stable', members: [{ memberId: 'm1', clientId: 'c', clientHost: 'h', assignment: [{ topic: 't', partitions: [2] }] }] }],
    })
    ;(await cluster.nextCall('OffsetFetch')).respond({ partitions: [{ topic: 't', partition: 0, offset: 1 }, { topic: 't', partition: 1, offset: -1 }] })
    expect(await lagging).toEqual([
      { groupId: 'g', topic: 't', partition: 0, currentOffset: 1, logEndOffset: 3, lag: 2, memberId: null, clientHost: null, clientId: null },
      { groupId: 'g', topic: 't', partition: 2, currentOffset: null, logEndOffset: 1, lag: null, memberId: 'm1', clientHost: 'h', clientId: 'c' },
    ])
  })

  test('listGroups asks every unfenced broker and merges by group id', async () => {
    const cluster = new FakeCluster({ t: 1 })
    cluster.manual.add('DescribeCluster')
    cluster.manual.add('ListGroups')
    const { admin } = adminOn(cluster)
    const listing = admin.listGroups({ states: ['stable'] })
    ;(await cluster.nextCall('DescribeCluster')).respond({
      brokers: [{ brokerId: 1, host: 'b1', port: 9092 }, { brokerId: 2, host: 'b2', port: 9092 }, { brokerId: 3, host: 'b3', port: 9092, fenced: true }],
    })
    await flushMicrotasks()
    const calls = cluster.pending('ListGroups')
    expect(calls.map((c) => c.address)).toEqual(['b1:9092', 'b2:9092'])
    expect(calls[0]?.request.statesFilter).toEqual(['stable'])
    calls[0]?.respond({ groups: [{ groupId: 'b', state: 'stable', groupType: 'consumer', coordinatorId: 1 }] })
    calls[1]?.respond({ groups: [{ groupId: 'a', state: 'stable', groupType: 'consumer', coordinatorId: 2 }] })
    expect((await listing).map((g) => g.groupId)).toEqual(['a', 'b'])
  })
})

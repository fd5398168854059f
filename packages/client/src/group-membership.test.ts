import { ErrorCode, GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import type { PartitionOffset } from './fetch-engine.js'
import { type AssignedPartition, GroupMembership, type GroupMembershipConfig, defaultGroupMembershipConfig } from './group-membership.js'
import type { TopicPartition } from './record-accumulator.js'
import { FakeCluster, type RecordedCall } from './testing/fake-cluster.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

const name = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`

/** A MembershipTarget that records what membership asked of it, in order, with what it owned at that moment. */
class RecordingTarget {
  readonly events: string[] = []
  readonly fetching = new Set<string>()
  /** Positions the "application" has reached, per partition name. */
  readonly positions = new Map<string, number>()
  fatal: GregorError | undefined
  /** When set, onPartitionsRevoked waits for this before returning. */
  revokeGate: Promise<void> | undefined

  startPartitions (partitions: readonly AssignedPartition[]): void {
    for (const p of partitions) this.fetching.add(name(p))
    this.events.push(`start ${partitions.map((p) => `${name(p)}@${p.committedOffset ?? 'none'}`).join(',')}`)
  }

  stopPartitions (partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.fetching.delete(name(p))
    this.events.push(`stop ${partitions.map(name).join(',')}`)
  }

  committableOffsets (partitions: readonly TopicPartition[]): PartitionOffset[] {
    return partitions.flatMap((p) => {
      const offset = this.positions.get(name(p))
      return offset === undefined ? [] : [{ ...p, offset }]
    })
  }

  async onPartitionsAssigned (partitions: TopicPartition[]): Promise<void> {
    this.events.push(`assigned ${partitions.map(name).join(',')}`)
  }

  async onPartitionsRevoked (partitions: TopicPartition[]): Promise<void> {
    this.events.push(`revoked ${partitions.map(name).join(',')}`)
    await this.revokeGate
  }

  onFatalError (error: GregorError): void { this.fatal = error }
}

function setup (config: Partial<GroupMembershipConfig> = {}): { cluster: FakeCluster; target: RecordingTarget; scheduler: ManualScheduler; membership: GroupMembership } {
  const cluster = new FakeCluster({ t: 3 })
  const target = new RecordingTarget()
  const scheduler = new ManualScheduler()
  const membership = new GroupMembership({ ...defaultGroupMembershipConfig, groupId: 'g', clientId: 'c', ...config }, target, {
    connection: cluster, clock: scheduler, scheduler,
  })
  return { cluster, target, scheduler, membership }
}

const assignment = (...partitions: number[]): { topic: string; partitions: number[] }[] => partitions.length === 0 ? [] : [{ topic: 't', partitions }]
const owned = (call: RecordedCall): string[] =>
  (call.request.ownedPartitions as { topic: string; partitions: number[] }[]).flatMap((tps) => tps.partitions.map((p) => `${tps.topic}-${p}`))

/** Joins as m1 and reconciles `partitions`; returns after the heartbeat that acknowledges them has been answered. */
async function joinWith (cluster: FakeCluster, membership: GroupMembership, partitions: number[]): Promise<void> {
  membership.subscribe({ topics: ['t'], regex: '' })
  ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 1000, assignment: assignment(...partitions) })
  ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 1000, assignment: assignment(...partitions) })
  await flushMicrotasks()
}

describe('GroupMembership', () => {
  test('joins with epoch 0 and id "", takes its assignment from committed offsets, then acknowledges it at once', async () => {
    const { cluster, target, scheduler, membership } = setup({ rebalanceTimeoutMs: 1234, groupAssignor: 'range' })
    cluster.committed.set('t\u00000', 5)
    membership.subscribe({ topics: ['t'], regex: '' })
    const join = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(join.address).toBe('b1:9092')
    expect(join.request).toMatchObject({
      groupId: 'g', memberId: '', memberEpoch: 0, subscribedTopicNames: ['t'], rebalanceTimeoutMs: 1234, serverAssignor: 'range', clientId: 'c',
    })
    expect(owned(join)).toEqual([])
    join.respond({ memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 1000, assignment: assignment(0, 1) })

    const ack = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(target.events).toEqual(['start t-0@5,t-1@none', 'assigned t-0,t-1'])
    expect(cluster.calls.find((c) => c.method === 'OffsetFetch')?.request.partitions).toEqual([{ topic: 't', partitions: [0, 1] }])
    expect(ack.request).toMatchObject({ memberId: 'm1', memberEpoch: 1 })
    expect(owned(ack)).toEqual(['t-0', 't-1'])
    expect(membership.owned().map(name)).toEqual(['t-0', 't-1'])
    expect(membership).toMatchObject({ memberId: 'm1', memberEpoch: 1 })
    ack.respond({ memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 1000, assignment: assignment(0, 1) })

    // Nothing changed: the next heartbeat waits for the interval, counted from the last response.
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    scheduler.advance(999)
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    scheduler.advance(1)
    const regular = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(owned(regular)).toEqual(['t-0', 't-1'])
    expect(target.events).toHaveLength(2)
  })

  test('revocation: stop, commit, onPartitionsRevoked, and only then the heartbeat that reports the partition gone', async () => {
    const { cluster, target, membership } = setup()
    await joinWith(cluster, membership, [0, 1])
    target.positions.set('t-1', 42)
    target.events.length = 0
    cluster.manual.add('OffsetCommit')
    let openGate: () => void = () => {}
    target.revokeGate = new Promise((resolve) => { openGate = resolve })

    membership.subscribe({ topics: ['t'], regex: '' }) // a heartbeat now
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 2, heartbeatIntervalMs: 1000, assignment: assignment(0) })

    const commit = await cluster.nextCall('OffsetCommit')
    expect(commit.request).toMatchObject({ groupId: 'g', memberId: 'm1', memberEpoch: 2, partitions: [{ topic: 't', partition: 1, offset: 42 }] })
    expect(target.events).toEqual(['stop t-1'])
    expect(target.fetching.has('t-1')).toBe(false)
    // Still owned while the commit is out: no heartbeat may say otherwise yet.
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    commit.respond({ partitions: [{ topic: 't', partition: 1 }] })

    await flushMicrotasks()
    expect(target.events).toEqual(['stop t-1', 'revoked t-1'])
    expect(membership.owned().map(name)).toEqual(['t-0', 't-1']) // the callback may still commit it
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    openGate()

    const report = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(owned(report)).toEqual(['t-0'])
    expect(membership.owned().map(name)).toEqual(['t-0'])
    report.respond({ memberId: 'm1', memberEpoch: 2, heartbeatIntervalMs: 1000, assignment: assignment(0) })
    await flushMicrotasks()
    expect(target.fetching.has('t-1')).toBe(false)
    expect(target.events).toEqual(['stop t-1', 'revoked t-1'])
  })

  test('a newer assignment that arrives during a revocation is reconciled right after it', async () => {
    const { cluster, target, membership } = setup({ autoCommit: false })
    await joinWith(cluster, membership, [0, 1])
    target.events.length = 0
    let openGate: () => void = () => {}
    target.revokeGate = new Promise((resolve) => { openGate = resolve })
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 2, assignment: assignment(0) })
    await flushMicrotasks()
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 3, assignment: assignment(0, 2) })
    openGate()
    await cluster.nextCall('ConsumerGroupHeartbeat')
    await flushMicrotasks(100)
    expect(target.events).toEqual(['stop t-1', 'revoked t-1', 'start t-2@none', 'assigned t-2'])
    expect(cluster.calls.some((c) => c.method === 'OffsetCommit')).toBe(false)
  })

  test('FENCED_MEMBER_EPOCH: partitions lost without a commit, rejoin with epoch 0 under the same id', async () => {
    const { cluster, target, membership } = setup()
    await joinWith(cluster, membership, [0, 1])
    target.positions.set('t-0', 7)
    target.events.length = 0
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ errorCode: ErrorCode.FENCED_MEMBER_EPOCH, errorMessage: 'fenced' })

    const rejoin = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(rejoin.request).toMatchObject({ memberId: 'm1', memberEpoch: 0 })
    expect(owned(rejoin)).toEqual([])
    expect(target.events).toEqual(['stop t-0,t-1', 'revoked t-0,t-1'])
    expect(membership.owned()).toEqual([])
    expect(cluster.calls.some((c) => c.method === 'OffsetCommit')).toBe(false)

    rejoin.respond({ memberId: 'm1', memberEpoch: 5, assignment: assignment(2) })
    expect(owned(await cluster.nextCall('ConsumerGroupHeartbeat'))).toEqual(['t-2'])
    expect(membership.memberEpoch).toBe(5)
  })

  test('UNKNOWN_MEMBER_ID: rejoin with a new id (member id "") and epoch 0', async () => {
    const { cluster, membership } = setup()
    await joinWith(cluster, membership, [0])
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID })
    expect((await cluster.nextCall('ConsumerGroupHeartbeat')).request).toMatchObject({ memberId: '', memberEpoch: 0 })
    expect(membership.owned()).toEqual([])
  })

  test('NOT_COORDINATOR: finds the coordinator again and heartbeats to the new one after a backoff, keeping its partitions', async () => {
    const { cluster, scheduler, target, membership } = setup({ retryBackoffMs: 100 })
    await joinWith(cluster, membership, [0])
    const findsBefore = cluster.calls.filter((c) => c.method === 'FindCoordinator').length
    cluster.coordinatorId = 2
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ errorCode: ErrorCode.NOT_COORDINATOR })
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    scheduler.advance(100)
    const retried = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(retried.address).toBe('b2:9092')
    expect(retried.request).toMatchObject({ memberId: 'm1', memberEpoch: 1 })
    expect(owned(retried)).toEqual(['t-0'])
    expect(cluster.calls.filter((c) => c.method === 'FindCoordinator').length).toBe(findsBefore + 1)
    expect(target.fetching.has('t-0')).toBe(true)
  })

  test('transport failures back off exponentially; past the session timeout the partitions are dropped as lost', async () => {
    const { cluster, scheduler, target, membership } = setup({ sessionTimeoutMs: 5000, retryBackoffMs: 100, retryBackoffMaxMs: 1000 })
    await joinWith(cluster, membership, [0, 1])
    target.events.length = 0
    const unreachable = (): GregorError => new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'unreachable', { details: { transport: true } })
    scheduler.advance(1000)
    let elapsedMs = 1000
    const delays: number[] = []
    while (elapsedMs < 5000) {
      ;(await cluster.nextCall('ConsumerGroupHeartbeat')).fail(unreachable())
      await flushMicrotasks()
      let waitedMs = 0
      while (cluster.pending('ConsumerGroupHeartbeat').length === 0 && waitedMs < 2000) {
        scheduler.advance(50)
        waitedMs += 50
        await flushMicrotasks()
      }
      delays.push(waitedMs)
      elapsedMs += waitedMs
    }
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800])
    expect(target.events).toEqual(['stop t-0,t-1', 'revoked t-0,t-1'])
    expect(membership.owned()).toEqual([])
    // Once the coordinator answers again, the member rejoins with epoch 0 and owns nothing until assigned again.
    const next = cluster.pending('ConsumerGroupHeartbeat')[0]
    expect(next?.request).toMatchObject({ memberId: 'm1', memberEpoch: 0 })
    expect(next === undefined ? [] : owned(next)).toEqual([])
  })

  test('STALE_MEMBER_EPOCH on commit: waits for the next heartbeat and commits again with the new epoch', async () => {
    const { cluster, membership } = setup()
    await joinWith(cluster, membership, [0])
    cluster.manual.add('OffsetCommit')
    const committing = membership.commit([{ topic: 't', partition: 0, offset: 9 }])
    ;(await cluster.nextCall('OffsetCommit')).respond({ errorCode: ErrorCode.STALE_MEMBER_EPOCH })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 4, assignment: assignment(0) })
    const retried = await cluster.nextCall('OffsetCommit')
    expect(retried.request).toMatchObject({ memberId: 'm1', memberEpoch: 4, partitions: [{ topic: 't', partition: 0, offset: 9 }] })
    retried.respond({ partitions: [{ topic: 't', partition: 0 }] })
    await committing
  })

  test('a fatal error stops heartbeats, drops the partitions and is reported', async () => {
    const { cluster, scheduler, target, membership } = setup()
    await joinWith(cluster, membership, [0])
    membership.subscribe({ topics: ['t'], regex: '' })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED })
    await flushMicrotasks()
    expect(target.fatal?.code).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED)
    expect(membership.owned()).toEqual([])
    scheduler.advance(60_000)
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
  })

  test('close commits, revokes and leaves with epoch -1 at once, even with a heartbeat in flight', async () => {
    const { cluster, scheduler, target, membership } = setup()
    await joinWith(cluster, membership, [0, 1])
    target.positions.set('t-0', 3)
    target.events.length = 0
    membership.subscribe({ topics: ['t'], regex: '' })
    const inFlight = await cluster.nextCall('ConsumerGroupHeartbeat')
    const closing = membership.close()
    const leave = (await cluster.pending('ConsumerGroupHeartbeat')).find((c) => c !== inFlight) ?? await (async () => {
      await flushMicrotasks(100)
      return cluster.pending('ConsumerGroupHeartbeat').find((c) => c !== inFlight)
    })()
    expect(leave?.request).toMatchObject({ memberId: 'm1', memberEpoch: -1 })
    expect(leave === undefined ? ['?'] : owned(leave)).toEqual([])
    expect(cluster.committed.get('t\u00000')).toBe(3)
    expect(target.events).toEqual(['stop t-0,t-1', 'revoked t-0,t-1'])
    const commitIndex = cluster.calls.findIndex((c) => c.method === 'OffsetCommit')
    expect(commitIndex).toBeLessThan(cluster.calls.indexOf(leave as RecordedCall))
    leave?.respond({ memberId: 'm1', memberEpoch: -1 })
    await closing
    expect(membership.memberEpoch).toBe(-1)
    inFlight.respond({ memberId: 'm1', memberEpoch: 2, assignment: assignment(0, 1, 2) })
    scheduler.advance(60_000)
    expect(await cluster.settle('ConsumerGroupHeartbeat')).toEqual([])
    expect(target.events).toEqual(['stop t-0,t-1', 'revoked t-0,t-1'])
  })
})

import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { Consumer } from './consumer.js'
import type { ConsumerMessage } from './fetch-records.js'
import type { PartitionRecords } from './partition-records.js'
import { FakeCluster, type RecordedCall } from './testing/fake-cluster.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { ManualScheduler } from './testing/manual-scheduler.js'

const value = (message: IteratorResult<ConsumerMessage, void>): string => message.done === true ? 'done' : `${message.value.partition}:${message.value.offset}:${message.value.value?.toString() ?? ''}`
const owned = (call: RecordedCall): string[] =>
  (call.request.ownedPartitions as { topic: string; partitions: number[] }[]).flatMap((tps) => tps.partitions.map((p) => `${tps.topic}-${p}`))

describe('Consumer with a group', () => {
  test('joins, consumes from the committed offset, auto-commits what was processed, revokes, and leaves on close', async () => {
    const cluster = new FakeCluster({ t: 2 })
    cluster.append('t', 0, ['a', 'b', 'c'])
    cluster.committed.set('t\u00000', 1)
    const scheduler = new ManualScheduler()
    const revoked: string[] = []
    const consumer = new Consumer({
      bootstrapServers: 'x:1', groupId: 'g', autoOffsetReset: 'earliest', autoCommitIntervalMs: 1000,
      onPartitionsRevoked: (partitions) => { revoked.push(...partitions.map((p) => `${p.topic}-${p.partition}`)) },
    }, { connection: cluster, scheduler, clock: scheduler })
    expect(() => { consumer.assign([]) }).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
    consumer.subscribe(['t'])
    const answer = { memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 60_000, assignment: [{ topic: 't', partitions: [0] }] }
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond(answer)
    const iterator = consumer[Symbol.asyncIterator]()
    expect(value(await iterator.next())).toBe('0:1:b')
    expect(consumer.memberId).toBe('m1')
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 0 }])
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond(answer) // acknowledges t-0
    expect(value(await iterator.next())).toBe('0:2:c')

    // 'b' is finished (the next record was asked for); 'c' is not until the application asks again.
    scheduler.advance(1000)
    await flushMicrotasks(100)
    expect(cluster.committed.get('t\u00000')).toBe(2)
    const waiting = iterator.next()
    scheduler.advance(1000)
    await flushMicrotasks(100)
    expect(cluster.committed.get('t\u00000')).toBe(3)
    const commit = cluster.calls.filter((c) => c.method === 'OffsetCommit').at(-1)
    expect(commit?.request).toMatchObject({ memberId: 'm1', memberEpoch: 1 })

    // Revoked: its buffered and future records are never handed out, and the heartbeat reports it gone.
    consumer.subscribe(['t'])
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ ...answer, memberEpoch: 2, assignment: [{ topic: 't', partitions: [1] }] })
    // First the revocation is reported, then the new partition once it is being fetched.
    const report = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(revoked).toEqual(['t-0'])
    expect(owned(report)).toEqual([])
    report.respond({ ...answer, memberEpoch: 2, assignment: [{ topic: 't', partitions: [1] }] })
    const ack = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(owned(ack)).toEqual(['t-1'])
    ack.respond({ ...answer, memberEpoch: 2, assignment: [{ topic: 't', partitions: [1] }] })
    cluster.append('t', 0, ['late'])
    cluster.append('t', 1, ['x'])
    expect(value(await waiting)).toBe('1:0:x') // earliest: nothing committed for t-1

    const closing = consumer.close()
    const leave = await cluster.nextCall('ConsumerGroupHeartbeat')
    expect(leave.request).toMatchObject({ memberId: 'm1', memberEpoch: -1 })
    leave.respond({ memberId: 'm1', memberEpoch: -1 })
    await closing
    expect(cluster.committed.get('t\u00001')).toBe(0) // 'x' was handed out but never finished
    expect(revoked).toEqual(['t-0', 't-1'])
    expect(cluster.closed).toBe(true)
    expect(value(await iterator.next())).toBe('done')
  })

  test('run({ eachBatch }) hands over one partition at a time and commit() commits the handed-out positions', async () => {
    const cluster = new FakeCluster({ t: 1 })
    cluster.append('t', 0, ['a', 'b'])
    const scheduler = new ManualScheduler()
    const consumer = new Consumer({ bootstrapServers: 'x:1', groupId: 'g', autoOffsetReset: 'earliest', autoCommit: false }, { connection: cluster, scheduler, clock: scheduler })
    consumer.subscribe({ topics: ['t'] })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 1, assignment: [{ topic: 't', partitions: [0] }] })
    const batches: string[][] = []
    const running = consumer.run({
      eachBatch: async (batch) => {
        batches.push(batch.messages.map((m) => m.value?.toString() ?? ''))
        await consumer.commit()
      },
    })
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: 1, assignment: [{ topic: 't', partitions: [0] }] })
    await flushMicrotasks(100)
    expect(batches).toEqual([['a', 'b']])
    expect(cluster.committed.get('t\u00000')).toBe(2)
    const closing = consumer.close()
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: -1 })
    await closing
    await running
  }, 10_000)
})

describe('Consumer with a group: the batch-level path', () => {
  test('records(): a chunk counts as processed when the next one is asked for, not when the loop is left inside it', async () => {
    const cluster = new FakeCluster({ t: 1 })
    cluster.append('t', 0, ['a', 'b'])
    const scheduler = new ManualScheduler()
    const consumer = new Consumer({ bootstrapServers: 'x:1', groupId: 'g', autoOffsetReset: 'earliest', autoCommitIntervalMs: 1000 }, {
      connection: cluster, scheduler, clock: scheduler,
    })
    consumer.subscribe(['t'])
    const answer = { memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 60_000, assignment: [{ topic: 't', partitions: [0] }] }
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond(answer)
    const chunks = consumer.records()
    const first = await chunks.next()
    const read = (result: IteratorResult<PartitionRecords, void>): string[] => result.done === true ? [] : result.value.messages().map((m) => `${m.offset}:${m.value?.toString() ?? ''}`)
    expect(read(first)).toEqual(['0:a', '1:b'])
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond(answer) // acknowledges t-0
    scheduler.advance(1000)
    await flushMicrotasks(100)
    expect(cluster.committed.get('t\u00000') ?? 0).toBe(0) // handed out, not finished

    cluster.append('t', 0, ['c'])
    const second = chunks.next()
    scheduler.advance(1000)
    await flushMicrotasks(100)
    expect(cluster.committed.get('t\u00000')).toBe(2)
    expect(read(await second)).toEqual(['2:c'])
    await chunks.return(undefined) // left inside the chunk: 'c' is not counted as processed

    const closing = consumer.close()
    ;(await cluster.nextCall('ConsumerGroupHeartbeat')).respond({ memberId: 'm1', memberEpoch: -1 })
    await closing
    expect(cluster.committed.get('t\u00000')).toBe(2)
  })
})

describe('Consumer without a group', () => {
  test('assign, iterate, seek and pause', async () => {
    const cluster = new FakeCluster({ t: 2 })
    cluster.append('t', 0, ['a', 'b', 'c'])
    const scheduler = new ManualScheduler()
    const consumer = new Consumer({ bootstrapServers: 'x:1' }, { connection: cluster, scheduler, clock: scheduler })
    expect(() => { consumer.subscribe(['t']) }).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
    consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }, { topic: 't', partition: 1, offset: 0 }])
    const iterator = consumer[Symbol.asyncIterator]()
    expect(value(await iterator.next())).toBe('0:0:a')
    consumer.seek('t', 0, 2)
    expect(value(await iterator.next())).toBe('0:2:c')
    consumer.pause([{ topic: 't', partition: 0 }])
    cluster.append('t', 0, ['d'])
    cluster.append('t', 1, ['x'])
    expect(value(await iterator.next())).toBe('1:0:x')
    consumer.resume([{ topic: 't', partition: 0 }])
    expect(value(await iterator.next())).toBe('0:3:d')
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    void consumer.close()
    expect(cluster.closed).toBe(true)
    expect(value(await iterator.next())).toBe('done')
  })
})

import { ErrorCode, type GregorError } from '@gregor/common'
import { clientMethods, groupMethods } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { CONSUMER_OFFSETS_TOPIC, coordinatorWatch } from './coordinator-lookup.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { advanceToStall, knownLeader, metadata, scriptedConnection } from './testing/scripted-brokers.js'

/** Settles a promise into a value, so a test can check whether it is still pending. */
function track<T> (promise: Promise<T>): { result: T | undefined, error: GregorError | undefined, settled: boolean } {
  const state = { result: undefined as T | undefined, error: undefined as GregorError | undefined, settled: false }
  promise.then((result) => { state.result = result; state.settled = true }, (error: GregorError) => { state.error = error; state.settled = true })
  return state
}

const setup = scriptedConnection

const produce = { acks: -1, timeoutMs: 5_000, partitions: [{ topic: 't', partition: 0, records: Buffer.alloc(0) }] }

describe('per-attempt timeout', () => {
  test('a call nobody answers fails at requestTimeoutMs (plus a long poll wait) as a retriable transport timeout, and is cancelled', async () => {
    const { brokers, scheduler, connection } = setup()
    const plain = track(connection.produce('b1:9092', produce))
    const longPoll = track(connection.call('b2:9092', clientMethods.fetch, { maxWaitMs: 500, partitions: [] }, { extraWaitMs: 500 }))
    await flushMicrotasks()
    scheduler.advance(4_999)
    await flushMicrotasks()
    expect(plain.settled).toBe(false)
    scheduler.advance(1)
    await flushMicrotasks()
    expect(plain.error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, retriable: true, details: { transport: true, address: 'b1:9092' } })
    expect(brokers.of('Produce')[0]?.cancelled).toBe(true)
    expect(longPoll.settled).toBe(false)
    scheduler.advance(500)
    await flushMicrotasks()
    expect(longPoll.error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, details: { transport: true } })
    // grpc's own deadline stays behind the connection's timer, so the timer decides.
    expect(brokers.of('Produce')[0]?.deadlineMs).toBeGreaterThan(5_000)
  })

  test('an answer before the deadline is returned and cancels nothing', async () => {
    const { brokers, scheduler, connection } = setup()
    const call = track(connection.produce('b1:9092', produce))
    await flushMicrotasks()
    brokers.of('Produce')[0]?.respond({ partitions: [{ topic: 't', partition: 0, baseOffset: 7 }] })
    await flushMicrotasks()
    scheduler.advance(10_000)
    expect(call.result?.partitions[0]?.baseOffset).toBe(7)
    expect(brokers.of('Produce')[0]?.cancelled).toBe(false)
    expect(scheduler.pendingTimerCount).toBe(0)
  })
})

describe('stalled requests', () => {
  test('a stalled call asks another broker for its leaders, keeps waiting while they stay, and is abandoned when they move', async () => {
    const { brokers, scheduler, connection } = setup()
    await knownLeader(brokers, connection)
    const call = track(connection.produce('b1:9092', produce, {
      leaders: [{ topic: 't', partition: 0, brokerId: 1, leaderEpoch: 5 }],
    }))
    await flushMicrotasks()
    const { askedBeforeStall, refresh } = await advanceToStall(brokers, scheduler, 300)
    expect(askedBeforeStall).toBe(1)
    // b1 answered last and would be asked first, but it is the one that stalled.
    expect(refresh?.address).toBe('b2:9092')
    expect(refresh?.request.topics).toEqual(['t'])
    refresh?.respond(metadata(1, 5))
    await flushMicrotasks()
    expect(call.settled).toBe(false)

    scheduler.advance(300)
    await flushMicrotasks()
    const again = brokers.of('Metadata')[2]
    expect(again?.address).toBe('b2:9092')
    again?.respond(metadata(3, 6))
    await flushMicrotasks()
    expect(call.error).toMatchObject({
      code: ErrorCode.REQUEST_TIMED_OUT, retriable: true,
      details: { transport: true, leaderMoved: true, sentToBrokerId: 1, leaderId: 3, leaderEpoch: 6 },
    })
    expect(brokers.of('Produce')[0]?.cancelled).toBe(true)
    expect(connection.leaderFor({ topic: 't', partition: 0 })).toMatchObject({ brokerId: 3, address: 'b3:9092', leaderEpoch: 6 })
    // Nothing stalled any more: the watch stops asking.
    scheduler.advance(5_000)
    await flushMicrotasks()
    expect(brokers.of('Metadata')).toHaveLength(3)
  })

  test('a newer leader epoch on the same broker also abandons the call', async () => {
    const { brokers, scheduler, connection } = setup()
    await knownLeader(brokers, connection)
    const call = track(connection.produce('b1:9092', produce, { leaders: [{ topic: 't', partition: 0, brokerId: 1, leaderEpoch: 5 }] }))
    await flushMicrotasks()
    scheduler.advance(300)
    await flushMicrotasks()
    brokers.of('Metadata')[1]?.respond(metadata(1, 7))
    await flushMicrotasks()
    expect(call.error).toMatchObject({ details: { leaderMoved: true, leaderEpoch: 7 } })
  })

  test('a long poll is stalled only after its wait, and a call that names no leaders only makes its broker suspect', async () => {
    const { brokers, scheduler, connection } = setup()
    await knownLeader(brokers, connection)
    track(connection.call('b1:9092', clientMethods.fetch, { maxWaitMs: 500, partitions: [] }, {
      extraWaitMs: 500, leaders: [{ topic: 't', partition: 0, brokerId: 1, leaderEpoch: 5 }],
    }))
    track(connection.call('b2:9092', clientMethods.describeCluster, {}))
    await flushMicrotasks()
    scheduler.advance(300)
    await flushMicrotasks()
    expect(brokers.of('Metadata')).toHaveLength(1)
    scheduler.advance(500)
    await flushMicrotasks()
    // b1 (the stalled fetch) and b2 (the stalled DescribeCluster) are suspects: b3 is asked.
    expect(brokers.of('Metadata')[1]?.address).toBe('b3:9092')
  })
})

describe('the coordinator watch', () => {
  /** Metadata naming `leader` as the leader of `__consumer_offsets` partition 4 (the group's coordinator). */
  function offsetsMetadata (leader: number, leaderEpoch: number): object {
    return {
      clusterId: 'c', controllerId: 1,
      brokers: [1, 2, 3].map((brokerId) => ({ brokerId, host: `b${brokerId}`, port: 9092 })),
      topics: [{ name: CONSUMER_OFFSETS_TOPIC, partitions: [{ partition: 4, leader, leaderEpoch, replicas: [1, 2, 3], isr: [1, 2, 3] }] }],
    }
  }

  test('a heartbeat stalled at the coordinator is abandoned once another broker names a new leader of its offsets partition', async () => {
    const { brokers, scheduler, connection } = setup()
    const coordinator = { groupId: 'g', nodeId: 1, host: 'b1', port: 9092, address: 'b1:9092', partition: 4 }
    const heartbeat = track(connection.call('b1:9092', groupMethods.consumerGroupHeartbeat, { groupId: 'g', memberId: 'm', memberEpoch: 3 }, coordinatorWatch(coordinator)))
    await flushMicrotasks()
    scheduler.advance(300)
    await flushMicrotasks()
    const refresh = brokers.of('Metadata')[0]
    expect(refresh?.address).not.toBe('b1:9092')
    expect(refresh?.request.topics).toEqual([CONSUMER_OFFSETS_TOPIC])
    refresh?.respond(offsetsMetadata(2, 1))
    await flushMicrotasks()
    // A transport error, so the group code forgets the coordinator and finds it again (isCoordinatorError).
    expect(heartbeat.error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, details: { transport: true, leaderMoved: true, leaderId: 2 } })
    expect(brokers.of('ConsumerGroupHeartbeat')[0]?.cancelled).toBe(true)
    expect(scheduler.nowMs()).toBeLessThan(1_000)
  })
})

describe('close', () => {
  test('cancels calls in flight and leaves no timer behind; later calls fail with SHUTTING_DOWN', async () => {
    const { brokers, scheduler, connection } = setup()
    await knownLeader(brokers, connection)
    const call = track(connection.produce('b1:9092', produce, { leaders: [{ topic: 't', partition: 0, brokerId: 1, leaderEpoch: 5 }] }))
    await flushMicrotasks()
    connection.close()
    await flushMicrotasks()
    expect(call.error).toMatchObject({ details: { transport: true, grpcCode: 1 } })
    expect(brokers.of('Produce')[0]?.cancelled).toBe(true)
    expect(scheduler.pendingTimerCount).toBe(0)
    await expect(connection.produce('b1:9092', produce)).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN })
  })
})

describe('callAny', () => {
  test('with hedge, a broker silent for requestStallMs gets company, and the first answer wins', async () => {
    const { brokers, scheduler, connection } = setup()
    const answer = track(connection.metadata(['t']))
    await flushMicrotasks()
    expect(brokers.of('Metadata').map((call) => call.address)).toEqual(['b1:9092'])
    scheduler.advance(300)
    await flushMicrotasks()
    expect(brokers.of('Metadata').map((call) => call.address)).toEqual(['b1:9092', 'b2:9092'])
    brokers.of('Metadata')[1]?.respond(metadata(2, 1))
    await flushMicrotasks()
    expect(answer.settled).toBe(true)
    expect(connection.leaderFor({ topic: 't', partition: 0 })?.brokerId).toBe(2)
    // b2 answered: it is asked first next time.
    track(connection.metadata(['t']))
    await flushMicrotasks()
    expect(brokers.of('Metadata')[2]?.address).toBe('b2:9092')
  })

  test('a broker that failed in transport is asked last until it answers again', async () => {
    const { brokers, connection } = setup()
    const failing = track(connection.call('b1:9092', clientMethods.describeCluster, {}))
    await flushMicrotasks()
    brokers.calls[0]?.fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 14 }))
    await flushMicrotasks()
    expect(failing.error).toMatchObject({ details: { transport: true } })
    track(connection.callAny(clientMethods.describeCluster, {}))
    await flushMicrotasks()
    expect(brokers.calls[1]?.address).toBe('b2:9092')
  })
})

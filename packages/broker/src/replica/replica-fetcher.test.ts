// The fetch loop on hand-driven time over a fake transport: one request in flight, the response deadline, reconnect
// backoff, and per-partition backoff after an error.
import { describe, expect, test } from 'vitest'
import { ErrorCode, GregorError, silentLogger } from '@gregor/common'
import type { ReplicaFetchPartition, ReplicaFetchRequest, ReplicaFetchResponse } from './leader-requests.js'
import type { ReplicaFetchSession, ReplicaFetchTransport } from './replica-fetch-transport.js'
import { ReplicaFetcher, type ReplicaFetcherHost } from './replica-fetcher.js'
import { validateReplicationConfig } from './replication-config.js'
import { ManualTimers, flushPromises } from './testing/manual-timers.js'

interface Sent { readonly session: number; readonly request: ReplicaFetchRequest; answer: (response: ReplicaFetchResponse) => void }

/** Sessions whose fetches the test answers by hand; `reachable` false makes `open` find no address. */
class FakeTransport implements ReplicaFetchTransport {
  reachable = true
  opened = 0
  closed = 0
  readonly sent: Sent[] = []

  open (): ReplicaFetchSession | undefined {
    if (!this.reachable) return undefined
    const session = ++this.opened
    let reject: ((error: Error) => void) | undefined
    return {
      fetch: async (request) => await new Promise<ReplicaFetchResponse>((resolve, fail) => {
        reject = fail
        this.sent.push({ session, request, answer: resolve })
      }),
      close: () => { this.closed += 1; reject?.(new Error('closed')) },
    }
  }
}

const config = validateReplicationConfig({
  replicaFetchMaxWaitMs: 500, replicaFetchResponseTimeoutMs: 1000, reconnectBackoffMsMin: 50, reconnectBackoffMsMax: 400, replicaFetchBackoffMs: 200,
})

function start (
  transport: FakeTransport, timers: ManualTimers, results: Array<boolean | Error> = [], brokerEpoch: () => number = () => -1,
): { fetcher: ReplicaFetcher; applied: string[] } {
  const applied: string[] = []
  const host: ReplicaFetcherHost = {
    fetchState: (key): ReplicaFetchPartition => ({
      topic: key.split('-')[0], partition: Number(key.split('-')[1]), fetchOffset: 0, currentLeaderEpoch: 0, lastFetchedEpoch: -1, logStartOffset: 0, topicId: 'id-t',
    }),
    handleFetchResult: async (key) => {
      applied.push(key)
      const result = results.shift() ?? true
      if (result instanceof Error) throw result
      return result
    },
  }
  const fetcher = new ReplicaFetcher({ brokerId: 2, leaderId: 1, brokerEpoch, transport, config, clock: timers, timers, logger: silentLogger, host })
  return { fetcher, applied }
}

const answer = (partitions: string[]): ReplicaFetchResponse => ({
  partitions: partitions.map((key) => ({ topic: key.split('-')[0], partition: Number(key.split('-')[1]), errorCode: '', highWatermark: 0 })),
})

describe('ReplicaFetcher', () => {
  test('records refused as corrupt make the next fetch of that partition ask the leader to verify its copy, once', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher } = start(transport, timers, [new GregorError(ErrorCode.CORRUPT_MESSAGE, 'batch crc mismatch'), true])
    fetcher.addPartition('t-0')
    await flushPromises()
    expect(transport.sent[0]?.request.partitions?.[0]?.verifyRecords).toBeUndefined()
    transport.sent[0]?.answer(answer(['t-0']))
    await flushPromises()
    await timers.advance(config.replicaFetchBackoffMs)
    expect(transport.sent.length).toBe(2)
    expect(transport.sent[1]?.request.partitions?.[0]?.verifyRecords).toBe(true)
    transport.sent[1]?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent.length).toBe(3)
    expect(transport.sent[2]?.request.partitions?.[0]?.verifyRecords).toBeUndefined()
    await fetcher.close()
  })

  test('one request in flight; a silent session is closed at maxWait + responseTimeout and replaced after the backoff', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher } = start(transport, timers)
    fetcher.addPartition('t-0')
    fetcher.addPartition('t-1')
    await flushPromises()
    expect(transport.sent.length).toBe(1)
    await timers.advance(1499) // no second request while the first is out
    expect(transport.sent.length).toBe(1)
    await timers.advance(1)
    expect(transport.closed).toBe(1)
    await timers.advance(49)
    expect(transport.opened).toBe(1)
    await timers.advance(1)
    expect(transport.opened).toBe(2)
    expect(transport.sent.map((s) => s.session)).toEqual([1, 2])
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([0, 1])
    transport.sent[1]?.answer(answer(['t-0', 't-1']))
    await flushPromises()
    expect(transport.sent.length).toBe(3) // answered: the next request follows at once, on the same session
    expect(transport.sent[2]?.session).toBe(2)
    await fetcher.close()
  })

  test('an unknown leader address backs off exponentially up to the maximum', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    transport.reachable = false
    const { fetcher } = start(transport, timers)
    fetcher.addPartition('t-0')
    const attemptsAtMs: number[] = []
    const open = transport.open.bind(transport)
    transport.open = () => { attemptsAtMs.push(timers.nowMs()); return open() }
    for (let i = 0; i < 40; i++) await timers.advance(50)
    const gaps = attemptsAtMs.slice(1).map((at, i) => at - (attemptsAtMs[i] ?? 0))
    expect(gaps.slice(0, 5)).toEqual([50, 100, 200, 400, 400])
    transport.reachable = true
    await timers.advance(400)
    expect(transport.sent.length).toBe(1)
    await fetcher.close()
  })

  test('a partition whose result failed waits replicaFetchBackoffMs; the others are fetched meanwhile', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher } = start(transport, timers, [false, true])
    fetcher.addPartition('t-0')
    fetcher.addPartition('t-1')
    await flushPromises()
    transport.sent[0]?.answer(answer(['t-0', 't-1']))
    await flushPromises()
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([1])
    transport.sent[1]?.answer(answer(['t-1']))
    await timers.advance(199)
    expect(transport.sent.slice(2).flatMap((s) => s.request.partitions?.map((p) => p.partition))).not.toContain(0)
    await timers.advance(1)
    transport.sent.at(-1)?.answer(answer(['t-1']))
    await flushPromises()
    expect(transport.sent.at(-1)?.request.partitions?.map((p) => p.partition)).toEqual([0, 1])
    await fetcher.close()
  })

  test('the partitions of one response are applied at once (each waits for its own sync); the next request waits for all', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const started: string[] = []
    const syncs = new Map<string, () => void>()
    const host: ReplicaFetcherHost = {
      fetchState: (key): ReplicaFetchPartition => ({
        topic: key.split('-')[0], partition: Number(key.split('-')[1]), fetchOffset: 0, currentLeaderEpoch: 0, lastFetchedEpoch: -1, logStartOffset: 0, topicId: 'id-t',
      }),
      handleFetchResult: async (key) => {
        started.push(key)
        await new Promise<void>((resolve) => { syncs.set(key, resolve) })
        return true
      },
    }
    const fetcher = new ReplicaFetcher({ brokerId: 2, leaderId: 1, brokerEpoch: () => -1, transport, config, clock: timers, timers, logger: silentLogger, host })
    for (const key of ['t-0', 't-1', 't-2']) fetcher.addPartition(key)
    await flushPromises()
    transport.sent[0]?.answer(answer(['t-0', 't-1', 't-2']))
    await flushPromises()
    // Sequential applies would have started t-1 only after t-0's sync: all three are in their syncs together.
    expect(started).toEqual(['t-0', 't-1', 't-2'])
    syncs.get('t-2')?.()
    syncs.get('t-0')?.()
    await flushPromises()
    expect(transport.sent.length).toBe(1) // t-1 is not durable yet: its fetch offset may not be reported
    syncs.get('t-1')?.()
    await flushPromises()
    expect(transport.sent.length).toBe(2)
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([0, 1, 2])
    await fetcher.close()
  })

  test('every request carries the broker epoch of the moment it is sent (KIP-903)', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    let brokerEpoch = -1
    const { fetcher } = start(transport, timers, [], () => brokerEpoch)
    fetcher.addPartition('t-0')
    await flushPromises()
    expect(transport.sent[0]?.request.brokerEpoch).toBe(-1)
    brokerEpoch = 17
    transport.sent[0]?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent[1]?.request).toMatchObject({ replicaId: 2, brokerEpoch: 17 })
    expect(transport.sent[1]?.request.partitions?.map((p) => p.topicId)).toEqual(['id-t'])
    await fetcher.close()
  })

  test('a topic id refused by the leader hands the host nothing (not even records) and backs the partition off', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher, applied } = start(transport, timers)
    for (const key of ['t-0', 't-1', 't-2']) fetcher.addPartition(key)
    await flushPromises()
    transport.sent[0]?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([0, 1, 2])
    applied.length = 0
    const refused = (partition: number, errorCode: string): NonNullable<ReplicaFetchResponse['partitions']>[number] =>
      ({ topic: 't', partition, errorCode, highWatermark: 5, records: Buffer.from('batches of another incarnation') })
    transport.sent[1]?.answer({
      partitions: [refused(0, ErrorCode.UNKNOWN_TOPIC_ID), refused(1, ErrorCode.INCONSISTENT_TOPIC_ID), { topic: 't', partition: 2, errorCode: '', highWatermark: 0 }],
    })
    await flushPromises()
    expect(applied).toEqual(['t-2'])
    expect(transport.sent[2]?.request.partitions?.map((p) => p.partition)).toEqual([2])
    transport.sent[2]?.answer(answer(['t-2']))
    await timers.advance(199)
    expect(transport.sent.slice(3).flatMap((s) => s.request.partitions?.map((p) => p.partition))).toEqual([2])
    transport.sent.at(-1)?.answer(answer(['t-2']))
    await timers.advance(1)
    // After the backoff they are asked for again: their metadata may have caught up meanwhile.
    expect(transport.sent.at(-1)?.request.partitions?.map((p) => p.partition)).toEqual([0, 1, 2])
    expect(applied.filter((key) => key !== 't-2')).toEqual([])
    await fetcher.close()
  })
})

describe('ReplicaFetcher after a leadership moved (issue 12, failover)', () => {
  test('a partition added while a long poll is out is fetched at once: the poll is abandoned, its session closed, one request in flight', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher, applied } = start(transport, timers)
    fetcher.addPartition('t-0')
    await flushPromises()
    // A session that never answered is not abandoned (its connection may still be coming up): t-1 waits.
    await timers.advance(100)
    fetcher.addPartition('t-1')
    await flushPromises()
    expect(transport.closed).toBe(0)
    transport.sent[0]?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent).toHaveLength(2)
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([0, 1])
    // A request out for less than 50 ms may be an answer on its way: not abandoned yet, but at 50 ms, when it is a
    // long poll on a session that answered. t-2's leader died and this fetcher's leader took over: its first fetch
    // does not wait out the rest of the 500 ms poll.
    await timers.advance(30)
    fetcher.addPartition('t-2')
    await flushPromises()
    expect(transport.closed).toBe(0)
    await timers.advance(20)
    await flushPromises()
    expect(transport.closed).toBe(1)
    expect(transport.sent).toHaveLength(3)
    expect(transport.sent[2]?.session).toBe(2)
    expect(transport.sent[2]?.request.partitions?.map((p) => p.partition)).toEqual([0, 1, 2])
    // The abandoned poll's answer, if it comes, is not applied; adding a partition it already fetches abandons nothing.
    transport.sent[1]?.answer(answer(['t-0', 't-1']))
    await timers.advance(100)
    fetcher.addPartition('t-0')
    await flushPromises()
    expect(applied).toEqual(['t-0'])
    // Nor is the new session's request abandoned before that session has answered once.
    fetcher.addPartition('t-3')
    await flushPromises()
    expect(transport.closed).toBe(1)
    transport.sent[2]?.answer(answer(['t-0', 't-1', 't-2']))
    await flushPromises()
    expect(applied).toEqual(['t-0', 't-0', 't-1', 't-2'])
    expect(transport.sent.at(-1)?.request.partitions?.map((p) => p.partition)).toEqual([0, 1, 2, 3])
    await fetcher.close()
  })

  test('a partition its leader does not lead yet is asked again 20 ms later; other errors wait replicaFetchBackoffMs', async () => {
    const timers = new ManualTimers()
    const transport = new FakeTransport()
    const { fetcher } = start(transport, timers, [false, false])
    fetcher.addPartition('t-0')
    fetcher.addPartition('t-1')
    await flushPromises()
    transport.sent[0]?.answer({
      partitions: [
        { topic: 't', partition: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: 0 },
        { topic: 't', partition: 1, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, highWatermark: 0 },
      ],
    })
    await flushPromises()
    expect(transport.sent).toHaveLength(1)
    await timers.advance(19)
    expect(transport.sent).toHaveLength(1)
    await timers.advance(1)
    expect(transport.sent[1]?.request.partitions?.map((p) => p.partition)).toEqual([0])
    transport.sent[1]?.answer(answer(['t-0']))
    await flushPromises()
    await timers.advance(config.replicaFetchBackoffMs - 21)
    transport.sent.at(-1)?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent.map((sent) => sent.request.partitions?.map((p) => p.partition))).toEqual([[0, 1], [0], [0], [0]])
    // While t-1 backs off, t-0's long poll lasts only until t-1 is due again, not the whole 500 ms.
    expect(transport.sent.map((sent) => sent.request.maxWaitMs)).toEqual([500, 180, 180, 1])
    await timers.advance(1)
    transport.sent.at(-1)?.answer(answer(['t-0']))
    await flushPromises()
    expect(transport.sent.at(-1)?.request.partitions?.map((p) => p.partition)).toEqual([0, 1])
    await fetcher.close()
  })
})

import { nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing, nextFencingDeadlineMs } from './broker-fencing.js'
import { brokerLiveness, connectionLost, heartbeatReceived } from './broker-heartbeat.js'
import type { MetadataImage } from './metadata-image.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import { type MetadataRecord, NO_LEADER } from './metadata-record.js'
import { defaultMetadataConfig } from './metadata-config.js'
import { heartbeat, incarnationOf, index, livenessInput, scenario, topicIdOf } from './testing/metadata-scenario.js'

// Defaults: session 3000 ms, connection-loss grace 500 ms.
const sessionMs = 3000
const graceMs = 500

function threeBrokers () {
  return scenario().brokers(1, 2, 3)
}

const fencedIds = (decision: ReturnType<typeof decideBrokerFencing>): number[] =>
  decision.fencedBrokers.map((fenced) => fenced.brokerId)

describe('broker liveness: when a broker is fenced', () => {
  const { image } = threeBrokers()
  const alive = (nowMs: number) => [heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)] as const

  test('a silent broker is fenced at its session timeout, not a millisecond before', () => {
    const lastMs = 1000
    const before = decideBrokerFencing(image, livenessInput(lastMs + sessionMs - 1, [heartbeat(1, lastMs, 0), ...alive(lastMs + sessionMs - 1)]))
    expect(before.fencedBrokers).toEqual([])
    const at = decideBrokerFencing(image, livenessInput(lastMs + sessionMs, [heartbeat(1, lastMs, 0), ...alive(lastMs + sessionMs)]))
    expect(at.fencedBrokers).toEqual([{ brokerId: 1, incarnationId: incarnationOf(1), reason: 'session-timeout', overdueMs: 0 }])
  })

  test('a broker whose connection dropped is fenced after the short grace, not before', () => {
    const lostMs = 2000
    const entry = connectionLost(heartbeatReceived(undefined, { nowMs: 1900, incarnationId: incarnationOf(1), metadataAppliedIndex: raftIndex(0) }), lostMs)
    const input = (nowMs: number) => livenessInput(nowMs, [[nodeId(1), entry!], ...alive(nowMs)])
    expect(decideBrokerFencing(image, input(lostMs + graceMs - 1)).fencedBrokers).toEqual([])
    expect(decideBrokerFencing(image, input(lostMs + graceMs)).fencedBrokers)
      .toEqual([expect.objectContaining({ brokerId: 1, reason: 'connection-lost' })])
  })

  test('a heartbeat within the grace cancels the suspicion; the broker then lives to its session timeout', () => {
    const lost = connectionLost(heartbeatReceived(undefined, { nowMs: 1900, incarnationId: incarnationOf(1), metadataAppliedIndex: raftIndex(0) }), 2000)
    const reconnected = heartbeatReceived(lost, { nowMs: 2300, incarnationId: incarnationOf(1), metadataAppliedIndex: raftIndex(0) })
    expect(reconnected.connectionLostMs).toBeUndefined()
    const input = (nowMs: number) => livenessInput(nowMs, [[nodeId(1), reconnected], ...alive(nowMs)])
    expect(decideBrokerFencing(image, input(2000 + graceMs)).fencedBrokers).toEqual([])
    expect(fencedIds(decideBrokerFencing(image, input(2300 + sessionMs)))).toEqual([1])
  })

  test('only the first drop counts: a second drop does not extend the grace', () => {
    const first = connectionLost(heartbeatReceived(undefined, { nowMs: 0, incarnationId: incarnationOf(1), metadataAppliedIndex: raftIndex(0) }), 100)
    expect(connectionLost(first, 400)?.connectionLostMs).toBe(100)
  })

  test('a broker a new controller never hears from is fenced one heartbeat interval plus the grace after activation', () => {
    // A live broker reconnects its heartbeat stream to a new controller within about one interval; one that does not
    // (killed together with the old controller) is treated as a broken connection at activation + interval.
    const activatedMs = 50_000
    const { brokerHeartbeatIntervalMs: intervalMs } = defaultMetadataConfig
    const input = (nowMs: number) => livenessInput(nowMs, alive(nowMs), activatedMs)
    expect(decideBrokerFencing(image, input(activatedMs + intervalMs + graceMs - 1)).fencedBrokers).toEqual([])
    expect(fencedIds(decideBrokerFencing(image, input(activatedMs + intervalMs + graceMs)))).toEqual([1])
  })

  test('...but not one whose Raft voter answers the new controller: it is alive, and gets the session timeout', () => {
    // Seen in Docker: with the old controller's name slow to resolve, the survivors took seconds to reopen their
    // heartbeat streams, and the fast rule fenced every broker, the new controller's own included. With Raft's word
    // on who is alive, the dead one goes one heartbeat interval into the term, without the grace.
    const activatedMs = 50_000
    const { brokerHeartbeatIntervalMs: intervalMs } = defaultMetadataConfig
    const input = (nowMs: number) => ({ ...livenessInput(nowMs, [], activatedMs), activeVoters: new Set([nodeId(2), nodeId(3)]) })
    expect(fencedIds(decideBrokerFencing(image, input(activatedMs + intervalMs - 1)))).toEqual([])
    expect(fencedIds(decideBrokerFencing(image, input(activatedMs + intervalMs)))).toEqual([1])
    expect(fencedIds(decideBrokerFencing(image, input(activatedMs + sessionMs - 1)))).toEqual([1])
    expect(fencedIds(decideBrokerFencing(image, input(activatedMs + sessionMs)))).toEqual([1, 2, 3])
  })

  test('a heartbeat from an earlier incarnation does not keep the current one alive', () => {
    const stale = heartbeat(1, 10_000, 0, { incarnationId: 'incarnation-1-old' })
    expect(fencedIds(decideBrokerFencing(image, livenessInput(10_000, [stale, ...alive(10_000)])))).toEqual([1])
  })

  test('fenced brokers are not fenced again', () => {
    const { image: withFenced } = scenario().brokers(1, 2).broker(3, { fenced: true })
    expect(fencedIds(decideBrokerFencing(withFenced, livenessInput(100_000, [])))).toEqual([1, 2])
  })

  test('nextFencingDeadlineMs is the earliest expiry among unfenced brokers', () => {
    const lost = connectionLost({ incarnationId: incarnationOf(3), lastHeartbeatMs: 900, metadataAppliedIndex: raftIndex(0) }, 1200)!
    const input = livenessInput(1000, [heartbeat(1, 1000, 0), heartbeat(2, 800, 0), [nodeId(3), lost]])
    expect(nextFencingDeadlineMs(image, input)).toBe(1200 + graceMs)
    expect(brokerLiveness(image.broker(nodeId(2))!, input)).toEqual({ deadlineMs: 800 + sessionMs, reason: 'session-timeout', expired: false })
    expect(nextFencingDeadlineMs(scenario().broker(1, { fenced: true }).image, input)).toBeUndefined()
  })
})

describe('fencing: the records that follow', () => {
  const nowMs = 10_000
  const only = (...live: number[]) => livenessInput(nowMs, live.map((id) => heartbeat(id, nowMs, 0)))

  test('the fenced broker leaves every ISR, and the partitions it led get the next ISR member in assignment order', () => {
    const s = threeBrokers().topic('orders', [[1, 2, 3], [2, 3, 1], [3, 1, 2]])
    const decision = decideBrokerFencing(s.image, only(2, 3))
    const topicId = topicIdOf('orders')
    expect(decision.records).toEqual([
      { type: 'FenceBroker', brokerId: 1, incarnationId: incarnationOf(1) },
      { type: 'PartitionChange', topicId, partition: 0, leader: 2, isr: [2, 3] },
      { type: 'PartitionChange', topicId, partition: 1, isr: [2, 3] },
      { type: 'PartitionChange', topicId, partition: 2, isr: [3, 2] },
    ])
    s.commit(decision.records)
    expect(s.image.broker(nodeId(1))?.fenced).toBe(true)
    expect(s.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 })
    // Where the leader did not change, neither did the leader epoch.
    expect(s.partition('orders', 1)).toMatchObject({ leader: 2, leaderEpoch: 0, partitionEpoch: 1 })
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('fencing the sole ISR member leaves the partition leaderless with the ISR intact (no unclean election)', () => {
    const s = threeBrokers().topic('orders', [[1, 2, 3]], { isr: [[1]] })
    s.commit(decideBrokerFencing(s.image, only(2, 3)).records)
    expect(s.partition('orders')).toMatchObject({ leader: NO_LEADER, isr: [1], leaderEpoch: 1 })
    expect(s.image.offlinePartitions()).toHaveLength(1)
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('brokers fenced together: no election picks one of them, and an ISR of only them is kept whole', () => {
    const s = threeBrokers().topic('orders', [[1, 2, 3], [1, 2, 3]], { isr: [[1, 2, 3], [1, 2]] })
    const decision = decideBrokerFencing(s.image, only(3))
    expect(fencedIds(decision)).toEqual([1, 2])
    s.commit(decision.records)
    expect(s.partition('orders', 0)).toMatchObject({ leader: 3, isr: [3] })
    expect(s.partition('orders', 1)).toMatchObject({ leader: NO_LEADER, isr: [1, 2] })
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('fencing a follower never moves leadership', () => {
    const s = threeBrokers().topic('orders', [[1, 2, 3]])
    s.commit(decideBrokerFencing(s.image, only(1, 2)).records)
    expect(s.partition('orders')).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 2] })
  })

  test('when nobody expired there is nothing to propose', () => {
    const s = threeBrokers().topic('orders', [[1, 2, 3]])
    expect(decideBrokerFencing(s.image, only(1, 2, 3))).toEqual({ fencedBrokers: [], records: [], complete: true })
  })
})

describe('broker fencing: bounded batches', () => {
  /** Brokers 1..3; broker 1 is in every ISR, leads a third, and is the sole ISR member of the `solo` partitions. */
  function crowded () {
    const replicas = Array.from({ length: 30 }, (_, i) => [[1, 2, 3], [2, 1, 3], [3, 2, 1]][i % 3] ?? [])
    return threeBrokers().topic('wide', replicas).topic('solo', Array.from({ length: 6 }, () => [1]))
  }
  const expired = (nowMs: number) => livenessInput(nowMs, [heartbeat(1, 0, 0), heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])

  function fenceInBatches (image: MetadataImage, batchBytesMax: number) {
    const batches: (readonly MetadataRecord[])[] = []
    for (let round = 0; round < 100; round++) {
      const decision = decideBrokerFencing(image, expired(sessionMs + 1), batchBytesMax)
      if (decision.records.length === 0) break
      expect(metadataBatchBytes(decision.records)).toBeLessThanOrEqual(batchBytesMax)
      expect(decision.records.some((record) => record.type === 'FenceBroker')).toBe(decision.complete)
      image.applyBatch(decision.records, index(image.appliedIndex + 1))
      expect(image.invariantProblems()).toEqual([])
      batches.push(decision.records)
      if (decision.complete) break
    }
    return batches
  }

  test('unbounded, or when it fits, the fence and every move are one batch', () => {
    const { image } = crowded()
    const decision = decideBrokerFencing(image, expired(sessionMs + 1), 1024 * 1024)
    expect(decision.complete).toBe(true)
    expect(decision.records[0]).toEqual({ type: 'FenceBroker', brokerId: 1, incarnationId: incarnationOf(1) })
    expect(decision).toEqual({ ...decideBrokerFencing(image, expired(sessionMs + 1)), complete: true })
  })

  test('above the limit: partitions move first while the broker is live, leaderless ones last, FenceBroker with the last batch', () => {
    const { image } = crowded()
    const unbounded = decideBrokerFencing(image, expired(sessionMs + 1))
    const batches = fenceInBatches(image, 1000)
    expect(batches.length).toBeGreaterThan(2)
    expect(batches.flat()).toHaveLength(unbounded.records.length)
    // Until the last batch broker 1 stays unfenced; once a batch takes a partition offline, no later one moves a led one.
    const offlineFrom = batches.findIndex((batch) => batch.some((record) => record.type === 'PartitionChange' && record.leader === NO_LEADER))
    for (const batch of batches.slice(offlineFrom + 1)) {
      expect(batch.every((record) => record.type !== 'PartitionChange' || record.leader === NO_LEADER || record.leader === undefined)).toBe(true)
    }
    expect(image.broker(nodeId(1))?.fenced).toBe(true)
    // The same end state as one unbounded batch.
    const once = crowded().image
    once.applyBatch(unbounded.records, index(once.appliedIndex + 1))
    expect(image.partitions().map(({ leader, isr }) => ({ leader, isr })))
      .toEqual(once.partitions().map(({ leader, isr }) => ({ leader, isr })))
  })

  test('a broker that heartbeats halfway is not fenced: the moves made stand, the image stays valid', () => {
    const { image } = crowded()
    const first = decideBrokerFencing(image, expired(sessionMs + 1), 1000)
    expect(first.complete).toBe(false)
    image.applyBatch(first.records, index(image.appliedIndex + 1))
    const revived = livenessInput(sessionMs + 2, [heartbeat(1, sessionMs + 2, 0), heartbeat(2, sessionMs + 2, 0), heartbeat(3, sessionMs + 2, 0)])
    expect(decideBrokerFencing(image, revived, 1000).records).toEqual([])
    expect(image.broker(nodeId(1))?.fenced).toBe(false)
    expect(image.invariantProblems()).toEqual([])
  })
})

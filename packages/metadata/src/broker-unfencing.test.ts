import { nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing } from './broker-fencing.js'
import { connectionLost, heartbeatReceived } from './broker-heartbeat.js'
import { decideBrokerRegistration } from './broker-registration.js'
import { decideBrokerUnfencing } from './broker-unfencing.js'
import { NO_LEADER } from './metadata-record.js'
import { heartbeat, incarnationOf, livenessInput, scenario, topicIdOf } from './testing/metadata-scenario.js'

const nowMs = 10_000

describe('unfencing waits for catch-up', () => {
  const s = scenario().brokers(1, 2).broker(3, { fenced: true })
  const appliedIndex = s.image.appliedIndex

  test('a broker behind the controller\'s applied index stays fenced', () => {
    const decision = decideBrokerUnfencing(s.image, livenessInput(nowMs, [heartbeat(3, nowMs, appliedIndex - 1)]))
    expect(decision).toEqual({ unfencedBrokers: [], records: [], complete: true })
  })

  test('a broker that has applied everything the controller has is unfenced', () => {
    const decision = decideBrokerUnfencing(s.image, livenessInput(nowMs, [heartbeat(3, nowMs, appliedIndex)]))
    expect(decision.unfencedBrokers).toEqual([3])
    expect(decision.records).toEqual([{ type: 'UnfenceBroker', brokerId: 3, incarnationId: incarnationOf(3) }])
  })

  test.each([
    ['it asks to stay fenced (still recovering its logs)', { wantFence: true }, nowMs],
    ['its connection to the controller is down', { connectionLostMs: nowMs - 10 }, nowMs],
    ['its session expired', {}, nowMs - 3000],
    ['the heartbeat came from an earlier incarnation', { incarnationId: 'incarnation-3-old' }, nowMs],
  ])('a caught-up broker stays fenced while %s', (_name, extra, lastHeartbeatMs) => {
    const input = livenessInput(nowMs, [heartbeat(3, lastHeartbeatMs, appliedIndex, extra)])
    expect(decideBrokerUnfencing(s.image, input).unfencedBrokers).toEqual([])
  })

  test('a broker in controlled shutdown is never unfenced', () => {
    const { image } = scenario().broker(1).commit([
      { type: 'FenceBroker', brokerId: nodeId(1), incarnationId: incarnationOf(1) },
      { type: 'BrokerShutdownRequested', brokerId: nodeId(1), incarnationId: incarnationOf(1) },
    ])
    expect(decideBrokerUnfencing(image, livenessInput(nowMs, [heartbeat(1, nowMs, image.appliedIndex)])).records).toEqual([])
  })
})

describe('unfencing restores leaderless partitions', () => {
  test('a killed broker that was the sole ISR member leads again once it restarts and catches up', () => {
    const s = scenario().brokers(1, 2, 3).topic('orders', [[1, 2, 3]], { isr: [[1]] })
    // Broker 1 is killed: its connection drops and the grace runs out.
    const dropped = connectionLost(heartbeatReceived(undefined, { nowMs, incarnationId: incarnationOf(1), metadataAppliedIndex: raftIndex(0) }), nowMs)!
    const killedAt = livenessInput(nowMs + 500, [[nodeId(1), dropped], heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])
    s.commit(decideBrokerFencing(s.image, killedAt).records)
    expect(s.partition('orders')).toMatchObject({ leader: NO_LEADER, isr: [1], leaderEpoch: 1 })

    // It restarts as a new incarnation and registers (fenced).
    const restarted = { brokerId: nodeId(1), incarnationId: 'incarnation-1-2', listeners: [{ name: 'INTERNAL', host: 'broker-1', port: 9092 }] }
    s.commit(decideBrokerRegistration(s.image, restarted, killedAt).records)
    expect(s.image.broker(nodeId(1))).toMatchObject({ incarnationId: 'incarnation-1-2', fenced: true })

    // Once it has applied its own registration and everything before it, it is unfenced and elected.
    const caughtUp = heartbeatReceived(undefined, { nowMs: nowMs + 900, incarnationId: 'incarnation-1-2', metadataAppliedIndex: s.image.appliedIndex })
    const decision = decideBrokerUnfencing(s.image, livenessInput(nowMs + 900, [[nodeId(1), caughtUp]]))
    expect(decision.records).toEqual([
      { type: 'UnfenceBroker', brokerId: 1, incarnationId: 'incarnation-1-2' },
      { type: 'PartitionChange', topicId: topicIdOf('orders'), partition: 0, leader: 1 },
    ])
    s.commit(decision.records)
    expect(s.partition('orders')).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 })
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('brokers fenced together stay in the ISR; the first to return leads, and the others still fenced leave the ISR', () => {
    const s = scenario().brokers(1, 2, 3).topic('orders', [[1, 2, 3]], { isr: [[1, 2]] })
    s.commit(decideBrokerFencing(s.image, livenessInput(nowMs, [heartbeat(3, nowMs, 0)])).records)
    expect(s.partition('orders')).toMatchObject({ leader: NO_LEADER, isr: [1, 2] })

    const decision = decideBrokerUnfencing(s.image, livenessInput(nowMs + 100, [heartbeat(2, nowMs + 100, s.image.appliedIndex)]))
    expect(decision.records).toEqual([
      { type: 'UnfenceBroker', brokerId: 2, incarnationId: incarnationOf(2) },
      // Broker 1 would hold back the new leader's high watermark if it stayed in the ISR while not fetching. It
      // left an ISR below min.insync.replicas (2) holding every committed record: it is an eligible leader (KIP-966).
      { type: 'PartitionChange', topicId: topicIdOf('orders'), partition: 0, leader: 2, isr: [2], elr: [1] },
    ])
    s.commit(decision.records)
    expect(s.image.invariantProblems()).toEqual([])
  })
})

import { ErrorCode, nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideControlledShutdown } from './controlled-shutdown.js'
import { decidePreferredLeaderElection } from './leader-election.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import { NO_LEADER } from './metadata-record.js'
import { incarnationOf, scenario } from './testing/metadata-scenario.js'

const shutdownOf = (id: number) => ({ brokerId: nodeId(id), incarnationId: incarnationOf(id) })

function cluster () {
  // Broker 1 leads orders-0 and orders-2, follows in orders-1, and is the only ISR member of solo-0.
  return scenario().brokers(1, 2, 3)
    .topic('orders', [[1, 2, 3], [2, 1, 3], [1, 3, 2]])
    .topic('solo', [[1, 2]], { isr: [[1]] })
}

describe('controlled shutdown', () => {
  test('moves every leadership away, leaves ISRs that keep another member, and reports ready once committed', () => {
    const s = cluster()
    const first = decideControlledShutdown(s.image, shutdownOf(1))
    expect(first.shutdownReady).toBe(false)
    expect(first.records[0]).toEqual({ type: 'BrokerShutdownRequested', brokerId: 1, incarnationId: incarnationOf(1) })
    s.commit(first.records)

    expect(s.image.partitionsLedBy(nodeId(1))).toEqual([])
    expect(s.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 })
    expect(s.partition('orders', 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0 })
    expect(s.partition('orders', 2)).toMatchObject({ leader: 3, isr: [3, 2], leaderEpoch: 1 })
    // The last ISR member stays in the ISR, leaderless: it leads again, cleanly, after its restart.
    expect(s.partition('solo')).toMatchObject({ leader: NO_LEADER, isr: [1] })
    expect(s.image.invariantProblems()).toEqual([])

    const second = decideControlledShutdown(s.image, shutdownOf(1))
    expect(second).toEqual({ records: [], complete: true, shutdownReady: true })
  })

  test('a broker that leads nothing still needs its shutdown committed before it may exit', () => {
    const s = scenario().brokers(1, 2)
    const first = decideControlledShutdown(s.image, shutdownOf(2))
    expect(first.shutdownReady).toBe(false)
    s.commit(first.records)
    expect(decideControlledShutdown(s.image, shutdownOf(2)).shutdownReady).toBe(true)
  })

  test('new leaders are never the broker shutting down, nor another fenced broker', () => {
    const s = scenario().brokers(1, 2).broker(3, { fenced: true }).topic('orders', [[1, 3, 2]], { isr: [[1, 2]] })
    s.commit(decideControlledShutdown(s.image, shutdownOf(1)).records)
    expect(s.partition('orders')).toMatchObject({ leader: 2, isr: [2] })
  })

  test('preferred-leader election does not hand leadership back to a broker shutting down', () => {
    const s = cluster()
    s.commit(decideControlledShutdown(s.image, shutdownOf(1)).records)
    expect(decidePreferredLeaderElection(s.image, {}).records).toEqual([])
  })

  test('refuses a request from a stale incarnation or an unknown broker', () => {
    const { image } = cluster()
    expect(() => decideControlledShutdown(image, { brokerId: nodeId(1), incarnationId: 'incarnation-1-old' }))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST, details: expect.objectContaining({ kafkaCode: 'STALE_BROKER_EPOCH' }) }))
    expect(() => decideControlledShutdown(image, shutdownOf(9)))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST, details: expect.objectContaining({ kafkaCode: 'BROKER_ID_NOT_REGISTERED' }) }))
  })
})

describe('controlled shutdown: bounded batches', () => {
  test('above the limit, leaderships move in several valid batches and the shutdown record comes with the last', () => {
    const replicas = Array.from({ length: 24 }, (_, i) => [[1, 2, 3], [2, 1, 3], [3, 1, 2]][i % 3] ?? [])
    const s = scenario().brokers(1, 2, 3).topic('wide', replicas).topic('solo', [[1, 2], [1, 3]], { isr: [[1], [1]] })
    const batchBytesMax = 700
    let rounds = 0
    for (;;) {
      const decision = decideControlledShutdown(s.image, shutdownOf(1), batchBytesMax)
      if (decision.records.length === 0) {
        expect(decision.shutdownReady).toBe(true)
        break
      }
      expect(metadataBatchBytes(decision.records)).toBeLessThanOrEqual(batchBytesMax)
      expect(decision.shutdownReady).toBe(false)
      expect(decision.records.some((record) => record.type === 'BrokerShutdownRequested')).toBe(decision.complete)
      s.commit(decision.records)
      expect(s.image.invariantProblems()).toEqual([])
      rounds++
      expect(rounds).toBeLessThan(50)
    }
    expect(rounds).toBeGreaterThan(2)
    expect(s.image.broker(nodeId(1))?.shuttingDown).toBe(true)
    expect(s.image.partitionsLedBy(nodeId(1))).toEqual([])
    expect(s.partition('solo', 1)).toMatchObject({ leader: NO_LEADER, isr: [1] })
  })
})

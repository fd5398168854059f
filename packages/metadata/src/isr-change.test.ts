import { ErrorCode, leaderEpoch, nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing } from './broker-fencing.js'
import { type AlterPartitionRequest, decideIsrChange } from './isr-change.js'
import { heartbeat, ids, livenessInput, scenario, topicIdOf } from './testing/metadata-scenario.js'

/** Brokers 1..3 live, 4 fenced, 5 shutting down; orders-0 on [1, 2, 3, 4, 5] with ISR [1, 2], led by 1 at epoch 0/0. */
function cluster () {
  return scenario().brokers(1, 2, 3).broker(4, { fenced: true }).broker(5, { shuttingDown: true })
    .topic('orders', [[1, 2, 3, 4, 5]], { isr: [[1, 2]] })
}

const request = (fields: Partial<AlterPartitionRequest> = {}): AlterPartitionRequest => ({
  brokerId: nodeId(1), topicId: topicIdOf('orders'), partition: 0, leaderEpoch: leaderEpoch(0), partitionEpoch: 0,
  newIsr: ids(1, 2, 3), ...fields,
})

describe('decideIsrChange: accepted changes', () => {
  test('an ISR expansion by the current leader becomes a PartitionChange of the ISR only', () => {
    const s = cluster()
    const { records } = decideIsrChange(s.image, request())
    expect(records).toEqual([{ type: 'PartitionChange', topicId: topicIdOf('orders'), partition: 0, isr: [1, 2, 3] }])
    s.commit(records)
    // An ISR change bumps the partition epoch, not the leader epoch: followers keep fetching undisturbed.
    expect(s.partition('orders')).toMatchObject({ isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 1 })
  })

  test('an ISR shrink to the leader alone is accepted', () => {
    const s = cluster()
    s.commit(decideIsrChange(s.image, request({ newIsr: ids(1) })).records)
    expect(s.partition('orders')).toMatchObject({ isr: [1], partitionEpoch: 1 })
  })

  test('asking for the ISR it already has changes nothing', () => {
    expect(decideIsrChange(cluster().image, request({ newIsr: ids(1, 2) })).records).toEqual([])
  })
})

describe('decideIsrChange: refusals', () => {
  test.each([
    ['an unknown partition', { partition: 7 }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /unknown partition 7/],
    ['an unknown topic id', { topicId: 'gone' }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /unknown partition/],
    ['a leader epoch newer than this controller knows', { leaderEpoch: leaderEpoch(1) }, ErrorCode.NOT_CONTROLLER, /newer than this controller/],
    ['a partition epoch newer than this controller knows', { partitionEpoch: 3 }, ErrorCode.NOT_CONTROLLER, /newer/],
    ['a sender that is not the leader', { brokerId: nodeId(2) }, ErrorCode.NOT_LEADER_OR_FOLLOWER, /broker 2 is not the leader; 1 is/],
    ['an empty ISR', { newIsr: [] }, ErrorCode.INVALID_REQUEST, /is empty/],
    ['an ISR that repeats a broker', { newIsr: ids(1, 2, 2) }, ErrorCode.INVALID_REQUEST, /repeats a broker/],
    ['an ISR with a non-replica', { newIsr: ids(1, 9) }, ErrorCode.INVALID_REQUEST, /not a subset of the replicas/],
    ['an ISR without the leader', { newIsr: ids(2, 3) }, ErrorCode.INVALID_REQUEST, /does not contain the leader 1/],
  ])('refuses %s', (_name, fields, code, message) => {
    expect(() => decideIsrChange(cluster().image, request(fields)))
      .toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }))
  })

  test.each([
    ['fenced', 4], ['shutting down', 5],
  ])('refuses to add a broker that is %s (KIP-841 INELIGIBLE_REPLICA)', (_state, id) => {
    expect(() => decideIsrChange(cluster().image, request({ newIsr: ids(1, 2, id) }))).toThrow(expect.objectContaining({
      code: ErrorCode.INELIGIBLE_REPLICA, details: expect.objectContaining({ ineligible: [id] }),
    }))
  })

  test('KIP-903: refuses to add a broker seen fetching by an incarnation that has since been replaced', () => {
    const s = cluster()
    const epochOf = (id: number): number => s.image.broker(nodeId(id))?.brokerEpoch ?? -1
    const seen = epochOf(3)
    // Broker 3 restarts (it may have lost its unsynced tail) before the leader's expansion reaches the controller.
    s.brokers(3)
    expect(epochOf(3)).toBeGreaterThan(seen)
    expect(() => decideIsrChange(s.image, request({ brokerEpochs: [-1, -1, seen] }))).toThrow(expect.objectContaining({
      code: ErrorCode.INELIGIBLE_REPLICA, details: expect.objectContaining({ stale: [3] }),
    }))
    // Members already in the ISR need no epoch; the added one with its current epoch is accepted.
    expect(decideIsrChange(s.image, request({ brokerEpochs: [-1, -1, epochOf(3)] })).records).toHaveLength(1)
    expect(() => decideIsrChange(s.image, request({ brokerEpochs: [-1, epochOf(3)] })))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST, message: expect.stringMatching(/one broker epoch per member/) }))
  })

  test('a deposed leader is fenced by its stale leader epoch', () => {
    const s = cluster()
    // Broker 1 dies; the controller fences it and broker 2 takes over at leader epoch 1.
    const nowMs = 10_000
    s.commit(decideBrokerFencing(s.image, livenessInput(nowMs, [heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])).records)
    expect(s.partition('orders')).toMatchObject({ leader: 2, leaderEpoch: 1 })
    expect(() => decideIsrChange(s.image, request({ newIsr: ids(1, 2, 3) }))).toThrow(expect.objectContaining({
      code: ErrorCode.FENCED_LEADER_EPOCH, message: expect.stringMatching(/leader epoch 0 is stale; the current one is 1/),
    }))
  })

  test('a request built before another change is refused by its stale partition epoch, so it cannot undo that change', () => {
    const s = cluster()
    // The leader's first shrink commits; a second request still built on partition epoch 0 would re-add broker 2.
    s.commit(decideIsrChange(s.image, request({ newIsr: ids(1) })).records)
    expect(() => decideIsrChange(s.image, request({ newIsr: ids(1, 2) }))).toThrow(expect.objectContaining({
      code: ErrorCode.FENCED_LEADER_EPOCH,
      message: expect.stringMatching(/partition epoch 0 is stale; the current one is 1/),
      details: expect.objectContaining({ kafkaCode: 'INVALID_UPDATE_VERSION', partitionEpoch: 1 }),
    }))
  })
})

import { ErrorCode, nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decidePreferredLeaderElection, electLeader, electPreferredLeader, isAcceptableLeader } from './leader-election.js'
import { NO_LEADER } from './metadata-record.js'
import { ids, scenario, topicIdOf } from './testing/metadata-scenario.js'

describe('isAcceptableLeader (KRaft isActive)', () => {
  const { image } = scenario().broker(1).broker(2, { fenced: true }).broker(3, { shuttingDown: true })
  test.each([
    [1, true, 'an unfenced live broker'],
    [2, false, 'a fenced broker'],
    [3, false, 'a broker in controlled shutdown'],
    [4, false, 'an unregistered broker'],
  ])('broker %i: %s (%s)', (id, expected) => {
    expect(isAcceptableLeader(image, nodeId(id))).toBe(expected)
  })
})

describe('electLeader: clean election only', () => {
  // Brokers 1..4 live, 5 fenced, 6 shutting down.
  const { image } = scenario().brokers(1, 2, 3, 4).broker(5, { fenced: true }).broker(6, { shuttingDown: true })
  test.each([
    ['keeps a current leader that is still valid (no needless epoch bump)', [1, 2, 3], [2, 3, 1], 3, 3],
    ['takes the first replica in assignment order that is in the ISR', [3, 1, 2], [1, 2, 3], NO_LEADER, 3],
    ['never a replica outside the ISR, even the preferred one', [1, 2, 3], [2, 3], NO_LEADER, 2],
    ['never a fenced replica', [5, 2, 3], [5, 2, 3], 5, 2],
    ['never a replica in controlled shutdown', [6, 4], [6, 4], 6, 4],
    ['never an unregistered replica', [9, 1], [9, 1], NO_LEADER, 1],
    ['no leader when no ISR member is acceptable, rather than an unclean one', [1, 5, 6], [5, 6], 5, NO_LEADER],
  ])('%s', (_name, replicas, isr, leader, expected) => {
    expect(electLeader(image, { replicas: ids(...replicas), isr: ids(...isr), leader: nodeId(leader) })).toBe(expected)
  })
})

describe('electPreferredLeader', () => {
  const { image } = scenario().brokers(1, 2, 3).broker(4, { fenced: true }).broker(5, { shuttingDown: true })
  test.each([
    ['moves leadership to the preferred replica when it is in the ISR and live', [1, 2, 3], [1, 2, 3], 2, 1],
    ['never to a preferred replica still catching up (not in the ISR)', [1, 2, 3], [2, 3], 2, 2],
    ['never to a fenced preferred replica', [4, 2], [4, 2], 2, 2],
    ['never to a preferred replica in controlled shutdown', [5, 2], [5, 2], 2, 2],
  ])('%s', (_name, replicas, isr, leader, expected) => {
    expect(electPreferredLeader(image, { replicas: ids(...replicas), isr: ids(...isr), leader: nodeId(leader) })).toBe(expected)
  })
})

describe('decidePreferredLeaderElection', () => {
  function cluster () {
    // orders-0 is led by its preferred replica, orders-1 is not (1 leads, 2 is preferred and in sync),
    // orders-2's preferred replica 3 has fallen out of the ISR.
    return scenario().brokers(1, 2, 3).topic('orders', [[1, 2, 3], [2, 1, 3], [3, 1, 2]], {
      isr: [[1, 2, 3], [2, 1, 3], [1, 2]], leaders: [1, 1, 1],
    })
  }

  test('moves leadership back to eligible preferred replicas only, and says what happened to each', () => {
    const s = cluster()
    const decision = decidePreferredLeaderElection(s.image, {})
    expect(decision.results.map((result) => result.outcome))
      .toEqual(['election-not-needed', 'elected', 'preferred-leader-not-available'])
    expect(decision.records).toEqual([{ type: 'PartitionChange', topicId: topicIdOf('orders'), partition: 1, leader: 2 }])
    s.commit(decision.records)
    expect(s.partition('orders', 1)).toMatchObject({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 })
  })

  test('takes named partitions, and reports unknown ones', () => {
    const { image } = cluster()
    const decision = decidePreferredLeaderElection(image, {
      partitions: [{ topicId: topicIdOf('orders'), partition: 1 }, { topicId: 'nope', partition: 0 }],
    })
    expect(decision.results.map((result) => result.outcome)).toEqual(['elected', 'unknown-topic-or-partition'])
  })

  test('refuses a request that names a partition twice', () => {
    const { image } = cluster()
    const twice = [{ topicId: topicIdOf('orders'), partition: 1 }, { topicId: topicIdOf('orders'), partition: 1 }]
    expect(() => decidePreferredLeaderElection(image, { partitions: twice }))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
  })
})

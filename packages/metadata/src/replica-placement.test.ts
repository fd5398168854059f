import { ErrorCode, type NodeId, nodeId } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { type PlacementBroker, assignReplicasToBrokers, placeReplicas } from './replica-placement.js'
import { scenario } from './testing/metadata-scenario.js'

const brokers = (...specs: (number | [number, string])[]): PlacementBroker[] =>
  specs.map((spec) => (typeof spec === 'number' ? { brokerId: nodeId(spec) } : { brokerId: nodeId(spec[0]), rack: spec[1] }))

const asNumbers = (assignment: readonly (readonly NodeId[])[]): number[][] => assignment.map((replicas) => [...replicas])

describe('assignReplicasToBrokers: rack-unaware (Kafka AdminUtils)', () => {
  test('reproduces the example in Kafka AdminUtils: 5 brokers, 10 partitions, RF 3', () => {
    const assignment = assignReplicasToBrokers(brokers(0, 1, 2, 3, 4), { partitionCount: 10, replicationFactor: 3, startIndex: 0 })
    expect(asNumbers(assignment)).toEqual([
      [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
      // After one round the follower shift grows by one, so followers do not repeat the first round's pattern.
      [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
    ])
  })

  test('the start index rotates which broker leads partition 0', () => {
    const assignment = assignReplicasToBrokers(brokers(1, 2, 3), { partitionCount: 3, replicationFactor: 1, startIndex: 4 })
    expect(asNumbers(assignment)).toEqual([[2], [3], [1]])
  })

  test('brokers are taken in id order whatever order they are given in', () => {
    const request = { partitionCount: 6, replicationFactor: 2, startIndex: 1 }
    expect(assignReplicasToBrokers(brokers(3, 1, 2), request)).toEqual(assignReplicasToBrokers(brokers(1, 2, 3), request))
  })

  test('a single broker holds every partition alone', () => {
    expect(asNumbers(assignReplicasToBrokers(brokers(7), { partitionCount: 3, replicationFactor: 1, startIndex: 0 })))
      .toEqual([[7], [7], [7]])
  })
})

describe('assignReplicasToBrokers: rack-aware', () => {
  // Kafka's AdminUtils doc example: racks rack1 {0, 5}, rack2 {3, 4}, rack3 {1, 2}; alternated list 0, 3, 1, 5, 4, 2.
  const kafkaExample = brokers([0, 'rack1'], [1, 'rack3'], [2, 'rack3'], [3, 'rack2'], [4, 'rack2'], [5, 'rack1'])

  test('reproduces the example in Kafka AdminUtils: 6 brokers over 3 racks, 6 partitions, RF 3', () => {
    const assignment = assignReplicasToBrokers(kafkaExample, { partitionCount: 6, replicationFactor: 3, startIndex: 0 })
    expect(asNumbers(assignment)).toEqual([[0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3]])
  })

  test('puts replicas on distinct racks even when racks are uneven', () => {
    const uneven = brokers([1, 'a'], [2, 'a'], [3, 'a'], [4, 'b'], [5, 'c'])
    const rackOf = new Map(uneven.map((broker) => [broker.brokerId, broker.rack]))
    for (const replicas of assignReplicasToBrokers(uneven, { partitionCount: 20, replicationFactor: 3, startIndex: 2 })) {
      expect(new Set(replicas.map((id) => rackOf.get(id))).size).toBe(3)
    }
  })

  test('ignores racks when only some brokers have one (Kafka RackAwareMode.Safe)', () => {
    const request = { partitionCount: 6, replicationFactor: 2, startIndex: 0 }
    expect(assignReplicasToBrokers(brokers([1, 'a'], 2, [3, 'b']), request)).toEqual(assignReplicasToBrokers(brokers(1, 2, 3), request))
  })
})

describe('assignReplicasToBrokers: properties', () => {
  const cases = fc.record({
    brokerCount: fc.integer({ min: 1, max: 9 }),
    rackCount: fc.integer({ min: 0, max: 4 }),
    rackSeed: fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
    partitionCount: fc.integer({ min: 1, max: 60 }),
    replicationSeed: fc.nat(),
    startIndex: fc.nat({ max: 10_000 }),
    replicaShift: fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
  })

  test('replicas are distinct, leaders spread to ⌊P/B⌋ or ⌈P/B⌉ per broker, racks distinct when RF ≤ racks', () => {
    fc.assert(fc.property(cases, (c) => {
      const placed: PlacementBroker[] = Array.from({ length: c.brokerCount }, (_, i) => ({
        brokerId: nodeId(10 + i * 3),
        ...(c.rackCount === 0 ? {} : { rack: `rack-${(c.rackSeed[i] ?? 0) % c.rackCount}` }),
      }))
      const replicationFactor = 1 + (c.replicationSeed % c.brokerCount)
      const request = { partitionCount: c.partitionCount, replicationFactor, startIndex: c.startIndex, replicaShift: c.replicaShift }
      const assignment = assignReplicasToBrokers(placed, request)
      expect(assignment).toHaveLength(c.partitionCount)
      const leaderCounts = new Map(placed.map((broker) => [broker.brokerId, 0]))
      const racks = new Set(placed.map((broker) => broker.rack))
      const rackOf = new Map(placed.map((broker) => [broker.brokerId, broker.rack]))
      for (const replicas of assignment) {
        expect(replicas).toHaveLength(replicationFactor)
        expect(new Set(replicas).size).toBe(replicationFactor)
        leaderCounts.set(replicas[0]!, (leaderCounts.get(replicas[0]!) ?? 0) + 1)
        if (c.rackCount > 0) {
          expect(new Set(replicas.map((id) => rackOf.get(id))).size).toBe(Math.min(replicationFactor, racks.size))
        }
      }
      const low = Math.floor(c.partitionCount / c.brokerCount)
      const high = Math.ceil(c.partitionCount / c.brokerCount)
      for (const count of leaderCounts.values()) expect(count === low || count === high).toBe(true)
    }), { numRuns: 300 })
  })
})

describe('assignReplicasToBrokers: errors', () => {
  test.each([
    ['a replication factor above the live brokers', { partitionCount: 1, replicationFactor: 4 }, ErrorCode.INVALID_REPLICATION_FACTOR, /replication factor 4 is larger than the 3 live brokers \[1, 2, 3\]/],
    ['a replication factor of 0', { partitionCount: 1, replicationFactor: 0 }, ErrorCode.INVALID_REPLICATION_FACTOR, /positive integer, not 0/],
    ['a fractional replication factor', { partitionCount: 1, replicationFactor: 1.5 }, ErrorCode.INVALID_REPLICATION_FACTOR, /positive integer/],
    ['no partitions', { partitionCount: 0, replicationFactor: 1 }, ErrorCode.INVALID_PARTITIONS, /partition count must be an integer from 1/],
    ['a negative start index', { partitionCount: 1, replicationFactor: 1, startIndex: -1 }, ErrorCode.INVALID_REQUEST, /startIndex/],
  ])('refuses %s', (_name, request, code, message) => {
    expect(() => assignReplicasToBrokers(brokers(1, 2, 3), { startIndex: 0, ...request }))
      .toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }))
  })
})

describe('placeReplicas', () => {
  test('places only on live brokers: fenced and shutting-down brokers get nothing', () => {
    const { image } = scenario().brokers(1, 2).broker(3, { fenced: true }).broker(4, { shuttingDown: true }).broker(5)
    const assignment = placeReplicas(image, { partitionCount: 6, replicationFactor: 3, startIndex: 0 })
    expect(new Set(assignment.flat())).toEqual(new Set([1, 2, 5]))
  })

  test('counts only live brokers against the replication factor', () => {
    const { image } = scenario().brokers(1, 2).broker(3, { fenced: true })
    expect(() => placeReplicas(image, { partitionCount: 1, replicationFactor: 3, startIndex: 0 }))
      .toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REPLICATION_FACTOR, message: expect.stringMatching(/2 live brokers \[1, 2\]/) }))
  })
})

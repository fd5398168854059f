import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { TopicPartitions } from '../coordinator-types.js'
import { partitionCount, toPartitionSet } from '../topic-partitions.js'
import type { AssignorInput, AssignorMember } from './assignor.js'
import { rangeAssign } from './range-assignor.js'
import { uniformAssign } from './uniform-assignor.js'

const member = (memberId: string, topics: string[], current: TopicPartitions[] = []): AssignorMember =>
  ({ memberId, subscribedTopics: new Set(topics), currentTarget: toPartitionSet(current) })

/** Each partition of a subscribed topic to exactly one subscriber; nothing else. */
function checkValid (input: AssignorInput, result: Map<string, TopicPartitions[]>): void {
  const seen = new Set<string>()
  for (const m of input.members) {
    for (const { topic, partitions } of result.get(m.memberId) ?? []) {
      expect(m.subscribedTopics.has(topic)).toBe(true)
      for (const p of partitions) {
        expect(p).toBeLessThan(input.partitionCounts.get(topic) ?? 0)
        const key = `${topic}-${p}`
        expect(seen.has(key)).toBe(false)
        seen.add(key)
      }
    }
  }
  let expected = 0
  for (const [topic, count] of input.partitionCounts) if (input.members.some((m) => m.subscribedTopics.has(topic))) expected += count
  expect(seen.size).toBe(expected)
}

describe('range assignor', () => {
  test("Kafka's layout: contiguous ranges, the first members get the extra", () => {
    const input = { members: [member('c', ['t1', 't2']), member('a', ['t1', 't2']), member('b', ['t1'])], partitionCounts: new Map([['t1', 7], ['t2', 3]]) }
    const result = rangeAssign(input)
    expect(result.get('a')).toEqual([{ topic: 't1', partitions: [0, 1, 2] }, { topic: 't2', partitions: [0, 1] }])
    expect(result.get('b')).toEqual([{ topic: 't1', partitions: [3, 4] }])
    expect(result.get('c')).toEqual([{ topic: 't1', partitions: [5, 6] }, { topic: 't2', partitions: [2] }])
    checkValid(input, result)
  })
})

describe('uniform assignor', () => {
  test('a 4th member joining 3 members on 6 partitions takes only what it must', () => {
    const counts = new Map([['t', 6]])
    const first = uniformAssign({ members: ['a', 'b', 'c'].map((id) => member(id, ['t'])), partitionCounts: counts })
    const members = ['a', 'b', 'c'].map((id) => member(id, ['t'], first.get(id)))
    const second = uniformAssign({ members: [...members, member('d', ['t'])], partitionCounts: counts })
    expect(partitionCount(second.get('d') ?? [])).toBe(1)
    let kept = 0
    for (const id of ['a', 'b', 'c']) {
      const before = toPartitionSet(first.get(id) ?? []).get('t') ?? new Set()
      const after = toPartitionSet(second.get(id) ?? []).get('t') ?? new Set()
      for (const p of after) expect(before.has(p)).toBe(true)
      kept += after.size
    }
    expect(kept).toBe(5)
  })

  test('heterogeneous subscriptions are assigned correctly and balanced where possible', () => {
    const input = { members: [member('a', ['t1']), member('b', ['t1', 't2'])], partitionCounts: new Map([['t1', 4], ['t2', 4]]) }
    const result = uniformAssign(input)
    checkValid(input, result)
    expect(result.get('a')).toEqual([{ topic: 't1', partitions: [0, 1, 2, 3] }])
    expect(result.get('b')).toEqual([{ topic: 't2', partitions: [0, 1, 2, 3] }])
  })

  test('property: valid, homogeneous balanced within 1, sticky on a rerun', () => {
    const topics = ['t0', 't1', 't2', 't3']
    fc.assert(fc.property(
      fc.array(fc.subarray(topics, { minLength: 1 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      (subscriptions, counts, homogeneous) => {
        const members = subscriptions.map((s, i) => member(`m${i}`, homogeneous ? topics : s))
        const partitionCounts = new Map(topics.map((t, i) => [t, counts[i] as number]))
        const input = { members, partitionCounts }
        const result = uniformAssign(input)
        checkValid(input, result)
        if (homogeneous) {
          const loads = members.map((m) => partitionCount(result.get(m.memberId) ?? []))
          expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1)
        }
        // Same members, same counts, current = result: nothing moves.
        const again = uniformAssign({ members: members.map((m) => ({ ...m, currentTarget: toPartitionSet(result.get(m.memberId) ?? []) })), partitionCounts })
        expect(again).toEqual(result)
        const range = rangeAssign(input)
        checkValid(input, range)
      },
    ), { seed: 42, numRuns: 300 })
  })
})

import { type Rng, seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { StickyPartitionCache } from './sticky-partition-cache.js'

const all = (count: number): number[] => Array.from({ length: count }, (_, partition) => partition)

describe('StickyPartitionCache', () => {
  const layout = (availablePartitions: readonly number[], partitionCount = 6) => ({ topic: 't', partitionCount, availablePartitions })

  test('chooses only among partitions with a leader when any is known', () => {
    const cache = new StickyPartitionCache({ rng: seededRng(8) })
    let previous = cache.partition(layout([1, 4]))
    for (let i = 0; i < 100; i++) {
      expect([1, 4]).toContain(previous)
      previous = cache.nextPartition({ ...layout([1, 4]), previousPartition: previous })
    }
  })

  test('alternates between two available partitions (never re-picks the previous one)', () => {
    const cache = new StickyPartitionCache({ rng: seededRng(9) })
    let previous = cache.partition(layout([2, 5]))
    for (let i = 0; i < 20; i++) {
      const next = cache.nextPartition({ ...layout([2, 5]), previousPartition: previous })
      expect(next).toBe(previous === 2 ? 5 : 2)
      previous = next
    }
  })

  test('stays on the only available partition, and falls back to all partitions when none is known', () => {
    const cache = new StickyPartitionCache({ rng: seededRng(10) })
    expect(cache.nextPartition({ ...layout([3]), previousPartition: 3 })).toBe(3)
    const chosen = new Set<number>()
    let previous = cache.partition(layout([]))
    for (let i = 0; i < 200; i++) {
      previous = cache.nextPartition({ ...layout([]), previousPartition: previous })
      chosen.add(previous)
    }
    expect([...chosen].sort()).toEqual(all(6))
  })

  test('a stale onNewBatch (previous is no longer sticky) does not move the partition twice', () => {
    const cache = new StickyPartitionCache({ rng: seededRng(11) })
    const first = cache.partition(layout(all(6)))
    const second = cache.nextPartition({ ...layout(all(6)), previousPartition: first })
    expect(cache.nextPartition({ ...layout(all(6)), previousPartition: first })).toBe(second)
  })

  test('spreads evenly over time: every partition gets about 1/n of the switches', () => {
    const counts = new Map<number, number>()
    const cache = new StickyPartitionCache({ rng: seededRng(12) })
    let previous = cache.partition(layout(all(4), 4))
    for (let i = 0; i < 40_000; i++) {
      previous = cache.nextPartition({ ...layout(all(4), 4), previousPartition: previous })
      counts.set(previous, (counts.get(previous) ?? 0) + 1)
    }
    for (const partition of all(4)) expect(counts.get(partition)).toBeGreaterThan(9_500)
  })

  test('rechooses when the partition count shrank below the sticky partition', () => {
    const rng: Rng = { next: () => 0.99, int: (min, max) => max - 1 }
    const cache = new StickyPartitionCache({ rng })
    expect(cache.partition(layout([], 10))).toBe(9)
    expect(cache.partition(layout([], 4))).toBe(3)
  })
})

import { describe, expect, test } from 'vitest'
import { isGregorError } from '@gregor/common'
import { ProducerIdAllocator, producerIdsPerIncarnation } from './producer-id-allocator.js'

describe('ProducerIdAllocator', () => {
  test('ids of two incarnations never collide: the broker epoch (registration index) is the high part', () => {
    const first = new ProducerIdAllocator(() => 7)
    const second = new ProducerIdAllocator(() => 8)
    const a = Array.from({ length: 1000 }, () => first.allocate().producerId)
    const b = Array.from({ length: 1000 }, () => second.allocate().producerId)
    expect(new Set([...a, ...b]).size).toBe(2000)
    expect(a[0]).toBe(7 * producerIdsPerIncarnation)
    expect(Math.max(...a)).toBeLessThan(b[0] as number)
  })

  test('before registration, and once the incarnation ran out, the answer is a retriable error', () => {
    const unregistered = new ProducerIdAllocator(() => 0)
    expect(() => unregistered.allocate()).toThrow(expect.objectContaining({ code: 'LEADER_NOT_AVAILABLE', retriable: true }))
    const allocator = new ProducerIdAllocator(() => 1)
    for (let i = 0; i < producerIdsPerIncarnation; i++) allocator.allocate()
    try {
      allocator.allocate()
      throw new Error('expected exhaustion')
    } catch (error) {
      expect(isGregorError(error) && error.retriable).toBe(true)
    }
  })
})

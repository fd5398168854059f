import { describe, expect, it } from 'vitest'
import { ReadBufferPool } from './read-buffer-pool.js'

describe('ReadBufferPool', () => {
  it('never hands out a buffer that an unreleased lease still holds', () => {
    const pool = new ReadBufferPool({ bufferBytes: 1024, freeBuffersMax: 4 })
    const first = pool.lease()
    const a = first.allocate(100)
    const b = first.allocate(1024)
    const second = pool.lease()
    const c = second.allocate(10)
    for (const x of [a, b]) expect(x.buffer).not.toBe(c.buffer)
    expect(a.buffer).not.toBe(b.buffer)
    expect([a.length, b.length, c.length]).toEqual([100, 1024, 10])
    // Bytes written through one lease survive everything the other does until it is released.
    a.fill(7)
    c.fill(9)
    second.release()
    const third = pool.lease()
    third.allocate(1024).fill(1)
    expect(a.every((byte) => byte === 7)).toBe(true)
  })

  it('reuses released buffers instead of allocating', () => {
    const pool = new ReadBufferPool({ bufferBytes: 1024, freeBuffersMax: 4 })
    for (let i = 0; i < 50; i++) {
      const lease = pool.lease()
      lease.allocate(500)
      lease.allocate(600)
      lease.release()
    }
    expect(pool.allocatedCount).toBe(2)
    expect(pool.freeCount).toBe(2)
  })

  it('keeps at most freeBuffersMax free, and a read larger than a pooled buffer gets its own', () => {
    const pool = new ReadBufferPool({ bufferBytes: 1024, freeBuffersMax: 1 })
    const lease = pool.lease()
    lease.allocate(10)
    lease.allocate(10)
    const large = lease.allocate(4096)
    expect(large.length).toBe(4096)
    expect(pool.allocatedCount).toBe(2)
    lease.release()
    expect(pool.freeCount).toBe(1)
  })

  it('a released lease gives nothing back twice and takes nothing more from the pool', () => {
    const pool = new ReadBufferPool({ bufferBytes: 1024, freeBuffersMax: 4 })
    const lease = pool.lease()
    const held = lease.allocate(10)
    lease.release()
    lease.release()
    expect(pool.freeCount).toBe(1)
    const late = lease.allocate(10) // a read that finished after the release: a plain buffer
    expect(late.buffer).not.toBe(held.buffer)
    expect(pool.freeCount).toBe(1)
    const next = pool.lease().allocate(10)
    expect(next.buffer).toBe(held.buffer)
    expect(late.buffer).not.toBe(next.buffer)
  })

  it('refuses nonsense sizes', () => {
    expect(() => new ReadBufferPool({ bufferBytes: 0, freeBuffersMax: 1 })).toThrow(RangeError)
    expect(() => new ReadBufferPool({ bufferBytes: 10, freeBuffersMax: -1 })).toThrow(RangeError)
  })
})

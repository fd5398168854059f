import { describe, expect, test } from 'vitest'
import { DelayedOperations } from './delayed-operations.js'

describe('DelayedOperations', () => {
  test('a waiter completes when notified and its condition holds, not before', async () => {
    const delayed = new DelayedOperations({ waitersMax: 10 })
    let hw = 0
    const waiting = delayed.wait({ keys: ['t-0'], timeoutMs: 10_000, ready: () => hw > 5 })
    expect(delayed.size).toBe(1)
    hw = 3
    delayed.notify('t-0')
    expect(delayed.size).toBe(1)
    hw = 6
    delayed.notify('t-1')
    expect(delayed.size).toBe(1)
    delayed.notify('t-0')
    expect(await waiting).toBe(true)
    expect(delayed.size).toBe(0)
  })

  test('a waiter expires at its deadline, and a full purgatory expires new waiters at once', async () => {
    const delayed = new DelayedOperations({ waitersMax: 1 })
    const first = delayed.wait({ keys: ['a'], timeoutMs: 20, ready: () => false })
    expect(await delayed.wait({ keys: ['b'], timeoutMs: 10_000, ready: () => false })).toBe(false)
    expect(await first).toBe(false)
    expect(delayed.size).toBe(0)
  })

  test('expireAll settles every waiter as not ready', async () => {
    const delayed = new DelayedOperations({ waitersMax: 10 })
    const waits = [delayed.wait({ keys: ['a', 'b'], timeoutMs: 10_000, ready: () => false }), delayed.wait({ keys: ['b'], timeoutMs: 10_000, ready: () => false })]
    delayed.expireAll()
    expect(await Promise.all(waits)).toEqual([false, false])
    expect(delayed.size).toBe(0)
  })
})

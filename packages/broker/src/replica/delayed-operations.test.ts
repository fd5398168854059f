import { describe, expect, test } from 'vitest'
import { DelayedOperations } from './delayed-operations.js'
import { ManualTimers } from './testing/manual-timers.js'

const limits = (max: number): { produce: number; consumerFetch: number; followerFetch: number } => ({ produce: max, consumerFetch: max, followerFetch: max })

describe('DelayedOperations', () => {
  test('a waiter completes when notified and its condition holds, not before', async () => {
    const delayed = new DelayedOperations({ waitersMax: limits(10), timers: new ManualTimers() })
    let hw = 0
    const waiting = delayed.wait({ kind: 'produce', keys: ['t-0'], timeoutMs: 10_000, ready: () => hw > 5 })
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
    expect(delayed.taken()).toEqual(limits(0))
  })

  test('a waiter expires at its deadline, and a full queue expires new waiters of its kind at once', async () => {
    const timers = new ManualTimers()
    const delayed = new DelayedOperations({ waitersMax: limits(1), timers })
    let settled: boolean | undefined
    void delayed.wait({ kind: 'consumerFetch', keys: ['a'], timeoutMs: 20, ready: () => false }).then((ready) => { settled = ready })
    expect(await delayed.wait({ kind: 'consumerFetch', keys: ['b'], timeoutMs: 10_000, ready: () => false })).toBe(false)
    await timers.advance(19)
    expect(settled).toBeUndefined()
    await timers.advance(1)
    expect(settled).toBe(false)
    expect(timers.pending).toBe(0)
    expect(delayed.size).toBe(0)
  })

  test('each kind has its own queue; a reserved place is never refused and is freed by its release', async () => {
    const timers = new ManualTimers()
    const delayed = new DelayedOperations({ waitersMax: { produce: 1, consumerFetch: 2, followerFetch: 1 }, timers })
    const polls = [0, 1].map(() => delayed.wait({ kind: 'consumerFetch', keys: ['t-0'], timeoutMs: 1000, ready: () => false }))
    expect(delayed.taken()).toEqual({ produce: 0, consumerFetch: 2, followerFetch: 0 })
    // Consumers are at their limit; produce and follower waits are unaffected.
    const slot = delayed.reserve('produce')
    expect(slot).toBeDefined()
    expect(delayed.reserve('produce')).toBeUndefined()
    let ready = false
    const produce = delayed.wait({ kind: 'produce', ...(slot === undefined ? {} : { slot }), keys: ['t-0'], timeoutMs: 1000, ready: () => ready })
    const follower = delayed.wait({ kind: 'followerFetch', keys: ['t-0'], timeoutMs: 1000, ready: () => ready })
    expect(delayed.size).toBe(4)
    ready = true
    delayed.notify('t-0')
    expect(await produce).toBe(true)
    expect(await follower).toBe(true)
    expect(delayed.taken()).toEqual({ produce: 1, consumerFetch: 2, followerFetch: 0 }) // the slot is the caller's
    slot?.release()
    slot?.release()
    expect(delayed.taken()).toEqual({ produce: 0, consumerFetch: 2, followerFetch: 0 })
    await timers.advance(1000)
    expect(await Promise.all(polls)).toEqual([false, false])
    expect(delayed.taken()).toEqual(limits(0))
  })

  test('expireAll settles every waiter as not ready', async () => {
    const delayed = new DelayedOperations({ waitersMax: limits(10), timers: new ManualTimers() })
    const waits = [
      delayed.wait({ kind: 'produce', keys: ['a', 'b'], timeoutMs: 10_000, ready: () => false }),
      delayed.wait({ kind: 'followerFetch', keys: ['b'], timeoutMs: 10_000, ready: () => false }),
    ]
    delayed.expireAll()
    expect(await Promise.all(waits)).toEqual([false, false])
    expect(delayed.size).toBe(0)
  })
})

/**
 * The produce stream's correlation table: ids never in flight twice, at most `inFlightMax` in flight (a cancelled
 * request keeps its slot until the broker answers it), waiting requests promoted in submission order, a bounded wait.
 */
import { describe, expect, test } from 'vitest'
import { CorrelationTable } from './correlation-table.js'

describe('CorrelationTable', () => {
  test('numbers requests, matches answers in any order by id, and promotes waiting ones in order', () => {
    const table = new CorrelationTable<string>({ inFlightMax: 2, waitingMax: 10 })
    expect(table.submit('a')).toEqual({ outcome: 'send', id: 0 })
    expect(table.submit('b')).toEqual({ outcome: 'send', id: 1 })
    expect(table.submit('c')).toEqual({ outcome: 'wait' })
    expect(table.submit('d')).toEqual({ outcome: 'wait' })
    // The second request is answered first: its entry, and the first waiting request gets the free slot.
    expect(table.answered(1)).toEqual({ entry: 'b', send: [{ id: 2, entry: 'c' }] })
    expect(table.answered(0)).toEqual({ entry: 'a', send: [{ id: 3, entry: 'd' }] })
    expect(table.answered(7)).toEqual({ entry: undefined, send: [] })
    expect([table.inFlight, table.waiting]).toEqual([2, 0])
  })

  test('a request submitted while others wait waits too, so the send order is the submission order', () => {
    const table = new CorrelationTable<string>({ inFlightMax: 1, waitingMax: 10 })
    table.submit('a')
    table.submit('b')
    table.cancel('a') // its slot stays taken until the answer: the broker still counts it
    expect(table.submit('c')).toEqual({ outcome: 'wait' })
    expect(table.answered(0)).toEqual({ entry: undefined, send: [{ id: 1, entry: 'b' }] })
  })

  test('a cancelled request is not answered or cleared; a waiting one is dropped', () => {
    const table = new CorrelationTable<string>({ inFlightMax: 1, waitingMax: 10 })
    table.submit('a')
    table.submit('b')
    expect(table.cancel('b')).toBe(true)
    expect(table.cancel('a')).toBe(true)
    expect(table.cancel('z')).toBe(false)
    expect(table.live(0)).toBe(false)
    expect(table.inFlight).toBe(1)
    expect(table.answered(0)).toEqual({ entry: undefined, send: [] })
    table.submit('c')
    table.submit('d')
    expect(table.clear()).toEqual(['c', 'd'])
    expect([table.inFlight, table.waiting]).toEqual([0, 0])
  })

  test('the wait is bounded', () => {
    const table = new CorrelationTable<number>({ inFlightMax: 1, waitingMax: 2 })
    expect([1, 2, 3, 4].map((n) => table.submit(n).outcome)).toEqual(['send', 'wait', 'wait', 'refused'])
  })

  test('ids wrap at 2^32', () => {
    const table = new CorrelationTable<string>({ inFlightMax: 2, waitingMax: 1 }, 2 ** 32 - 1)
    expect(table.submit('a')).toEqual({ outcome: 'send', id: 2 ** 32 - 1 })
    expect(table.submit('b')).toEqual({ outcome: 'send', id: 0 })
    expect(table.answered(2 ** 32 - 1).entry).toBe('a')
    expect(table.submit('c')).toEqual({ outcome: 'send', id: 1 })
  })
})

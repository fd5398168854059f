import { describe, expect, test } from 'vitest'
import { TimeIndex } from './time-index.js'

describe('TimeIndex', () => {
  test('entries are 12 bytes: 8-byte timestamp, 4-byte relative offset; only growing timestamps are kept', () => {
    const index = new TimeIndex(100)
    expect(index.maybeAppend(5000, 100)).toBe(true)
    expect(index.maybeAppend(5000, 110)).toBe(false)
    expect(index.maybeAppend(4000, 120)).toBe(false)
    expect(index.maybeAppend(6000, 130)).toBe(true)
    expect(index.toBytes().toString('hex')).toBe('0000000000001388' + '00000000' + '0000000000001770' + '0000001e')
    expect(index.lastEntry).toEqual({ timestamp: 6000, offset: 130 })
  })

  test('lookupBefore returns the entry with the largest timestamp strictly below the target', () => {
    const index = new TimeIndex(0)
    for (const [ts, offset] of [[100, 0], [200, 10], [300, 20]] as const) index.maybeAppend(ts, offset)
    expect(index.lookupBefore(100)).toBeUndefined()
    expect(index.lookupBefore(101)).toEqual({ timestamp: 100, offset: 0 })
    expect(index.lookupBefore(300)).toEqual({ timestamp: 200, offset: 10 })
    expect(index.lookupBefore(1e12)).toEqual({ timestamp: 300, offset: 20 })
  })

  test('truncateToOffset and sanityCheck', () => {
    const index = new TimeIndex(0)
    for (const [ts, offset] of [[100, 0], [200, 10], [300, 20]] as const) index.maybeAppend(ts, offset)
    index.truncateToOffset(20)
    expect(index.entryCount).toBe(2)
    expect(new TimeIndex(0, Buffer.from(index.toBytes())).sanityCheck({ nextOffset: 15 })).toBeUndefined()
    expect(new TimeIndex(0, Buffer.from(index.toBytes())).sanityCheck({ nextOffset: 10 })).toMatch(/past the end/)
    expect(new TimeIndex(0, Buffer.alloc(13)).sanityCheck({ nextOffset: 10 })).toMatch(/multiple of 12/)
    const backwards = Buffer.concat([index.toBytes().subarray(12, 24), index.toBytes().subarray(0, 12)])
    expect(new TimeIndex(0, backwards).sanityCheck({ nextOffset: 100 })).toMatch(/increasing/)
  })
})

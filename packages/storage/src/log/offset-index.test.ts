import { describe, expect, test } from 'vitest'
import { OffsetIndex } from './offset-index.js'

describe('OffsetIndex', () => {
  test('entries are 8 bytes, big-endian relative offset then position', () => {
    const index = new OffsetIndex(1000)
    index.append(1005, 300)
    expect(index.toBytes().toString('hex')).toBe('00000005' + '0000012c')
  })

  test('lookup finds the largest entry at or below the offset, or the segment start', () => {
    const index = new OffsetIndex(100)
    for (const [offset, position] of [[110, 1000], [120, 2000], [135, 3000]] as const) index.append(offset, position)
    expect(index.lookup(99)).toEqual({ offset: 100, position: 0 })
    expect(index.lookup(109)).toEqual({ offset: 100, position: 0 })
    expect(index.lookup(110)).toEqual({ offset: 110, position: 1000 })
    expect(index.lookup(134)).toEqual({ offset: 120, position: 2000 })
    expect(index.lookup(10_000)).toEqual({ offset: 135, position: 3000 })
  })

  test('truncateToOffset drops entries at and above the offset; loading from bytes round-trips', () => {
    const index = new OffsetIndex(0)
    for (let i = 1; i <= 10; i++) index.append(i * 10, i * 100)
    index.truncateToOffset(50)
    expect(index.lastEntry).toEqual({ offset: 40, position: 400 })
    const loaded = new OffsetIndex(0, Buffer.from(index.toBytes()))
    expect(loaded.entryCount).toBe(4)
    expect(loaded.sanityCheck({ sizeBytes: 500, nextOffset: 45 })).toBeUndefined()
  })

  test('appending out of order is a programming error', () => {
    const index = new OffsetIndex(0)
    index.append(10, 100)
    expect(() => { index.append(10, 200) }).toThrow()
    expect(() => { index.append(20, 50) }).toThrow()
  })

  test('sanityCheck reports torn files, entries past the segment and non-increasing entries', () => {
    expect(new OffsetIndex(0, Buffer.alloc(12)).sanityCheck({ sizeBytes: 100, nextOffset: 10 })).toMatch(/multiple of 8/)
    const bytes = Buffer.alloc(16)
    bytes.writeInt32BE(5, 0)
    bytes.writeInt32BE(50, 4)
    bytes.writeInt32BE(5, 8)
    bytes.writeInt32BE(60, 12)
    expect(new OffsetIndex(0, bytes).sanityCheck({ sizeBytes: 100, nextOffset: 10 })).toMatch(/increasing/)
    expect(new OffsetIndex(0, bytes.subarray(0, 8)).sanityCheck({ sizeBytes: 40, nextOffset: 10 })).toMatch(/past the end/)
    expect(new OffsetIndex(0, bytes.subarray(0, 8)).sanityCheck({ sizeBytes: 100, nextOffset: 5 })).toMatch(/offset past/)
  })
})

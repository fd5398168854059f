import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { leaderEpoch as e, offset as o } from '@gregor/common'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { LeaderEpochCache } from './leader-epoch-cache.js'

let temp: { path: string; remove: () => Promise<void> }
let path: string
beforeEach(async () => {
  temp = await makeTempDir()
  path = join(temp.path, 'leader-epoch-checkpoint')
})
afterEach(async () => { await temp.remove() })

async function cacheWith (entries: Array<[number, number]>): Promise<LeaderEpochCache> {
  const { cache } = await LeaderEpochCache.load(nodeFileSystem, path)
  for (const [epoch, start] of entries) cache.assign(e(epoch), o(start))
  return cache
}

describe('LeaderEpochCache', () => {
  test('assign follows Kafka: same epoch later is a no-op, a lower or overlapping entry replaces the tail', async () => {
    const cache = await cacheWith([[1, 0], [1, 5], [3, 10], [4, 20]])
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }, { epoch: 4, startOffset: 20 }])
    cache.assign(e(2), o(15))
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 15 }])
    cache.assign(e(2), o(12))
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 12 }])
  })

  test('an older epoch appended after a leadership that wrote nothing keeps where that epoch really starts (seed 8616)', async () => {
    // Epoch 1 wrote 0..1; this replica then led epoch 2 at its log end (2) and wrote nothing; as a follower again it
    // appends epoch 1's next batches, from 2. Epoch 2 goes; epoch 1 still starts at 0 (Kafka would move it to 2).
    const cache = await cacheWith([[1, 0], [2, 2]])
    expect(cache.assign(e(1), o(2))).toBe(true)
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 0 }])
    expect(cache.endOffsetFor(e(0), o(4))).toEqual({ epoch: 0, endOffset: 0 })
    expect(cache.epochForOffset(o(1))).toBe(1)
  })

  test('endOffsetFor answers the KIP-101 question', async () => {
    const cache = await cacheWith([[1, 0], [3, 10], [4, 20]])
    expect(cache.endOffsetFor(e(4), o(25))).toEqual({ epoch: 4, endOffset: 25 })
    expect(cache.endOffsetFor(e(3), o(25))).toEqual({ epoch: 3, endOffset: 20 })
    expect(cache.endOffsetFor(e(2), o(25))).toEqual({ epoch: 1, endOffset: 10 })
    expect(cache.endOffsetFor(e(0), o(25))).toEqual({ epoch: 0, endOffset: 0 })
    expect(cache.endOffsetFor(e(5), o(25))).toBeUndefined()
    expect(cache.epochForOffset(o(19))).toBe(3)
    expect((await cacheWith([])).endOffsetFor(e(1), o(0))).toBeUndefined()
  })

  test('epochForOffset: the entry with the largest start at or below the offset, none before the first', async () => {
    const cache = await cacheWith([[1, 5], [3, 10], [4, 20], [7, 21]])
    const asked = [0, 4, 5, 9, 10, 19, 20, 21, 1000].map((at) => cache.epochForOffset(o(at)))
    expect(asked).toEqual([undefined, undefined, 1, 1, 3, 3, 4, 7, 7])
    expect((await cacheWith([])).epochForOffset(o(0))).toBeUndefined()
  })

  test('truncateFromEnd and truncateFromStart', async () => {
    const cache = await cacheWith([[1, 0], [3, 10], [4, 20]])
    cache.truncateFromEnd(o(20))
    expect(cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }])
    cache.truncateFromStart(o(15))
    expect(cache.entries).toEqual([{ epoch: 3, startOffset: 15 }])
    cache.truncateFromStart(o(5))
    expect(cache.entries).toEqual([{ epoch: 3, startOffset: 15 }])
  })

  test('flush writes Kafka\'s leader-epoch-checkpoint and load reads it back', async () => {
    const cache = await cacheWith([[1, 0], [3, 10]])
    expect(cache.dirty).toBe(true)
    await cache.flush()
    expect(cache.dirty).toBe(false)
    expect(await readFile(path, 'utf8')).toBe('0\n2\n1 0\n3 10\n')
    const loaded = await LeaderEpochCache.load(nodeFileSystem, path)
    expect(loaded.state).toBe('loaded')
    expect(loaded.cache.entries).toEqual(cache.entries)
  })

  test('a missing or malformed checkpoint loads empty and says which', async () => {
    expect((await LeaderEpochCache.load(nodeFileSystem, path)).state).toBe('missing')
    await writeFile(path, '0\n2\n3 10\n1 0\n')
    expect((await LeaderEpochCache.load(nodeFileSystem, path)).state).toBe('malformed')
    await writeFile(path, '0\n1\n')
    expect((await LeaderEpochCache.load(nodeFileSystem, path)).state).toBe('malformed')
  })
})

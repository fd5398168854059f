import { isGregorError, nodeId, raftIndex, term } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { MemoryStorage } from './memory-storage.js'
import type { Entry } from './types.js'

const voters = [nodeId(1), nodeId(2), nodeId(3)]
const entry = (index: number, t: number, size = 0): Entry => ({ index: raftIndex(index), term: term(t), data: new Uint8Array(size) })
const range = (from: number, to: number, t = 1): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, t))

function codeOf (run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isGregorError(error) ? error.code : 'assertion'
  }
  return undefined
}

describe('MemoryStorage', () => {
  test('starts empty: first index 1, last index 0, the term of index 0 is 0', () => {
    const storage = new MemoryStorage({ voters })
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(raftIndex(0))]).toEqual([1, 0, 0])
    expect(storage.initialState()).toEqual({ hardState: { term: 0, vote: 0, commitIndex: 0 }, voters })
  })

  test('append replaces the suffix from the first new index and refuses a gap', () => {
    const storage = new MemoryStorage({ voters })
    storage.append(range(1, 5))
    storage.append([entry(3, 2), entry(4, 2)])
    expect(storage.lastIndex()).toBe(4)
    expect([1, 2, 3, 4].map((i) => storage.term(raftIndex(i)))).toEqual([1, 1, 2, 2])
    expect(codeOf(() => storage.append([entry(6, 2)]))).toBe('assertion')
    expect(codeOf(() => storage.append([entry(5, 2), entry(7, 2)]))).toBe('assertion')
  })

  test('entries honours the byte limit but returns at least one entry', () => {
    const storage = new MemoryStorage({ voters })
    storage.append([entry(1, 1, 100), entry(2, 1, 100), entry(3, 1, 100)])
    expect(storage.entries(raftIndex(1), raftIndex(4), 1)).toHaveLength(1)
    expect(storage.entries(raftIndex(1), raftIndex(4), 2 * 116)).toHaveLength(2)
    expect(storage.entries(raftIndex(2), raftIndex(4), Number.MAX_SAFE_INTEGER)).toHaveLength(2)
  })

  test('createSnapshot then compact drops covered entries but keeps the term of the compaction point', () => {
    const storage = new MemoryStorage({ voters })
    storage.append([...range(1, 3, 1), ...range(4, 6, 2)])
    const snapshot = storage.createSnapshot(raftIndex(4), new Uint8Array([9]))
    expect(snapshot.metadata).toEqual({ index: 4, term: 2, voters })
    storage.compact(raftIndex(4))
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(raftIndex(4))]).toEqual([5, 6, 2])
    expect(codeOf(() => storage.entries(raftIndex(4), raftIndex(6), 100))).toBe('assertion')
    storage.compact(raftIndex(2)) // already compacted: no-op
    expect(storage.firstIndex()).toBe(5)
  })

  test('compaction beyond the snapshot or the log, and snapshots outside the log, are refused', () => {
    const storage = new MemoryStorage({ voters })
    storage.append(range(1, 5))
    expect(codeOf(() => storage.compact(raftIndex(3)))).toBe('INVALID_REQUEST')
    storage.createSnapshot(raftIndex(3), new Uint8Array(0))
    expect(codeOf(() => storage.compact(raftIndex(4)))).toBe('INVALID_REQUEST')
    expect(codeOf(() => storage.createSnapshot(raftIndex(6), new Uint8Array(0)))).toBe('INVALID_REQUEST')
    expect(codeOf(() => storage.createSnapshot(raftIndex(2), new Uint8Array(0)))).toBe('INVALID_REQUEST')
  })

  test('applySnapshot replaces the log and refuses an older snapshot', () => {
    const storage = new MemoryStorage({ voters })
    storage.append(range(1, 3))
    storage.applySnapshot({ metadata: { index: raftIndex(10), term: term(4), voters }, data: new Uint8Array(0) })
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(raftIndex(10))]).toEqual([11, 10, 4])
    storage.append([entry(11, 4)])
    expect(storage.lastIndex()).toBe(11)
    const older = { metadata: { index: raftIndex(9), term: term(4), voters }, data: new Uint8Array(0) }
    expect(codeOf(() => storage.applySnapshot(older))).toBe('INVALID_REQUEST')
    expect(storage.lastIndex()).toBe(11)
  })

  test('append skips entries the snapshot already covers', () => {
    const storage = new MemoryStorage({ voters })
    storage.applySnapshot({ metadata: { index: raftIndex(5), term: term(1), voters }, data: new Uint8Array(0) })
    storage.append(range(3, 7))
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([6, 7])
  })

  test('clone is independent of the original', () => {
    const storage = new MemoryStorage({ voters })
    storage.append(range(1, 3))
    const copy = storage.clone()
    storage.append([entry(2, 2)])
    storage.setHardState({ term: term(2), vote: nodeId(1), commitIndex: raftIndex(1) })
    expect([copy.lastIndex(), copy.term(raftIndex(2)), copy.hardState().term]).toEqual([3, 1, 0])
  })
})

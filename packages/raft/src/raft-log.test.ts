import { nodeId, raftIndex, silentLogger, term } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { MemoryStorage } from './memory-storage.js'
import { RaftLog } from './raft-log.js'
import type { Entry } from './types.js'

const entry = (index: number, t: number, size = 0): Entry => ({ index: raftIndex(index), term: term(t), data: new Uint8Array(size) })

/** A log whose entries 1..stored are in storage and the rest (up to terms.length) unstable. */
function log (terms: number[], stored: number): RaftLog {
  const storage = new MemoryStorage({ voters: [nodeId(1)] })
  storage.append(terms.slice(0, stored).map((t, i) => entry(i + 1, t, 10)))
  const raftLog = new RaftLog(storage, silentLogger)
  raftLog.append(terms.slice(stored).map((t, i) => entry(stored + i + 1, t, 10)))
  return raftLog
}

describe('RaftLog', () => {
  test('terms and slices span storage and the unstable tail, within the byte limit', () => {
    const l = log([1, 1, 2, 2, 3], 3)
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => l.term(raftIndex(i)))).toEqual([0, 1, 1, 2, 2, 3, undefined])
    expect(l.slice(raftIndex(2), raftIndex(6), 1000)?.map((e) => e.index)).toEqual([2, 3, 4, 5])
    expect(l.slice(raftIndex(2), raftIndex(6), 52)?.map((e) => e.index)).toEqual([2, 3])
    expect(l.slice(raftIndex(3), raftIndex(6), 78)?.map((e) => e.index)).toEqual([3, 4, 5])
  })

  test('findConflictByTerm finds the last index at or below a term, for fast backtracking', () => {
    const l = log([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 10)
    expect(l.findConflictByTerm(raftIndex(10), term(3))).toEqual({ index: 3, term: 1 })
    expect(l.findConflictByTerm(raftIndex(10), term(5))).toEqual({ index: 7, term: 5 })
    expect(l.findConflictByTerm(raftIndex(10), term(6))).toEqual({ index: 10, term: 6 })
    expect(l.findConflictByTerm(raftIndex(2), term(0))).toEqual({ index: 0, term: 0 })
  })

  test('maybeAppend checks the previous entry, truncates a conflicting tail, and commits no further than it appended', () => {
    const l = log([1, 1, 2, 2], 4)
    expect(l.maybeAppend(raftIndex(2), term(2), raftIndex(4), [entry(3, 3)])).toBeUndefined()
    expect(l.maybeAppend(raftIndex(2), term(1), raftIndex(9), [entry(3, 3)])).toBe(3)
    expect([l.lastIndex(), l.term(raftIndex(3)), l.commitIndex]).toEqual([3, 3, 3])
    // An append we already hold (a duplicate) changes nothing.
    expect(l.maybeAppend(raftIndex(1), term(1), raftIndex(3), [entry(2, 1)])).toBe(2)
    expect(l.lastIndex()).toBe(3)
  })

  test('a stale persistence report for entries since replaced is ignored', () => {
    const l = log([1, 1], 0)
    l.append([entry(2, 2)])
    l.unstable.stableTo(raftIndex(2), term(1))
    expect(l.unstableEntries().map((e) => e.index)).toEqual([1, 2])
    l.unstable.stableTo(raftIndex(2), term(2))
    expect(l.unstableEntries()).toEqual([])
  })

  test('the up-to-date rule compares last terms first, then lengths (§5.4.1)', () => {
    const l = log([1, 2, 2], 3)
    expect(l.isUpToDate(raftIndex(1), term(3))).toBe(true)
    expect(l.isUpToDate(raftIndex(3), term(2))).toBe(true)
    expect(l.isUpToDate(raftIndex(2), term(2))).toBe(false)
    expect(l.isUpToDate(raftIndex(9), term(1))).toBe(false)
  })
})

import { type NodeId, nodeId, type RaftIndex, raftIndex } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Inflights } from './inflights.js'
import { Progress } from './progress.js'
import { committedIndex, majority, voteResult } from './quorum.js'

describe('quorum', () => {
  test('committedIndex is the largest index that a majority has reached', () => {
    fc.assert(fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 7 }), (matches) => {
      const voters = matches.map((_, i) => nodeId(i + 1))
      const index = committedIndex(voters, (id) => raftIndex(matches[id - 1] as number))
      const reached = (i: number): boolean => matches.filter((m) => m >= i).length >= majority(matches.length)
      expect(reached(index)).toBe(true)
      expect(reached(index + 1)).toBe(false)
    }), { seed: 1 })
  })

  test('voteResult is won with a majority of grants, lost once a majority is out of reach, pending otherwise', () => {
    const voters = [1, 2, 3, 4, 5].map(nodeId)
    const votes = (entries: Array<[number, boolean]>): Map<NodeId, boolean> => new Map(entries.map(([id, granted]) => [nodeId(id), granted]))
    expect(voteResult(voters, votes([[1, true], [2, true]]))).toBe('pending')
    expect(voteResult(voters, votes([[1, true], [2, true], [3, true]]))).toBe('won')
    expect(voteResult(voters, votes([[1, true], [2, false], [3, false]]))).toBe('pending')
    expect(voteResult(voters, votes([[1, true], [2, false], [3, false], [4, false]]))).toBe('lost')
    expect(voteResult([nodeId(1)], votes([[1, true]]))).toBe('won')
  })
})

describe('Inflights', () => {
  test('bounded FIFO of last indexes, freed by acknowledgement', () => {
    const inflights = new Inflights(3)
    for (const index of [5, 7, 9]) inflights.add(raftIndex(index))
    expect(inflights.full()).toBe(true)
    inflights.freeLE(raftIndex(7))
    expect(inflights.count()).toBe(1)
    inflights.add(raftIndex(10))
    inflights.add(raftIndex(11))
    inflights.freeFirstOne()
    expect(inflights.count()).toBe(2)
    inflights.freeLE(raftIndex(100))
    expect(inflights.count()).toBe(0)
  })
})

describe('Progress', () => {
  const progress = (next: number): Progress => new Progress({ next: raftIndex(next), inflightMessagesMax: 2, isLearner: false })

  test('probe sends one append per round; an acknowledgement moves to replicate', () => {
    const p = progress(10)
    expect(p.isPaused()).toBe(false)
    p.sentEntries(3, raftIndex(12))
    expect(p.isPaused()).toBe(true)
    expect(p.maybeUpdate(raftIndex(12))).toBe(true)
    p.becomeReplicate()
    expect([p.match, p.next, p.isPaused()]).toEqual([12, 13, false])
  })

  test('replicate pipelines up to the inflight limit; a rejection falls back to just after match', () => {
    const p = progress(1)
    p.maybeUpdate(raftIndex(4))
    p.becomeReplicate()
    p.sentEntries(2, raftIndex(6))
    p.sentEntries(2, raftIndex(8))
    expect([p.next, p.isPaused()]).toEqual([9, true])
    expect(p.maybeDecrTo(raftIndex(3), raftIndex(0))).toBe(false) // stale: at or below match
    expect(p.maybeDecrTo(raftIndex(6), raftIndex(5))).toBe(true)
    expect(p.next).toBe(5)
  })

  test('a probe rejection moves next to the hint, never below match + 1, and ignores stale rejections', () => {
    const p = progress(20)
    p.maybeUpdate(raftIndex(3))
    p.next = raftIndex(20)
    expect(p.maybeDecrTo(raftIndex(18), raftIndex(1))).toBe(false)
    expect(p.maybeDecrTo(raftIndex(19), raftIndex(1))).toBe(true)
    expect(p.next).toBe(4)
    expect(p.maybeDecrTo(raftIndex(3), raftIndex(10))).toBe(true)
    expect(p.next).toBe(4)
  })

  test('snapshot state pauses appends; afterwards probing starts after the snapshot', () => {
    const p = progress(5)
    p.becomeSnapshot(raftIndex(40))
    expect(p.isPaused()).toBe(true)
    p.becomeProbe()
    expect(p.next).toBe(41 as RaftIndex)
  })
})

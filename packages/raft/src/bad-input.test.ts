/**
 * Bad input: a message from an unknown node, addressed elsewhere, malformed, or with absurd terms and indexes is
 * rejected with INVALID_REQUEST and changes nothing (no state, no output).
 */
import { isGregorError, nodeId, raftIndex, term } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { message } from './message.js'
import { InMemoryCluster } from './testing/in-memory-cluster.js'
import type { Message } from './types.js'

function cluster (): InMemoryCluster {
  const c = new InMemoryCluster({ size: 3 })
  c.elect(1)
  c.propose(1, 'x')
  c.stabilize()
  return c
}

/** Everything observable about a node: its status, whether it has output, and what it persisted. */
function observe (c: InMemoryCluster, id: number): unknown {
  const node = c.get(id)
  return { status: node.raw.status(), hasReady: node.raw.hasReady(), hardState: node.storage.hardState(), lastIndex: node.storage.lastIndex() }
}

function expectRejected (c: InMemoryCluster, target: number, m: Message): void {
  const before = observe(c, target)
  let code: string | undefined
  try {
    c.raw(target).step(m)
  } catch (error) {
    code = isGregorError(error) ? error.code : `not a GregorError: ${String(error)}`
  }
  expect(code).toBe('INVALID_REQUEST')
  expect(observe(c, target)).toEqual(before)
}

const heartbeat = message({ type: 'heartbeat', from: nodeId(1), to: nodeId(2), term: term(1), commitIndex: raftIndex(2) })
const append = message({
  type: 'append', from: nodeId(1), to: nodeId(2), term: term(1), index: raftIndex(2), logTerm: term(1),
  entries: [{ term: term(1), index: raftIndex(3), data: new Uint8Array([1]) }],
})
const absurd = Number.MAX_SAFE_INTEGER + 2

const cases: Array<[string, number, Message]> = [
  ['from an unknown node', 2, { ...heartbeat, from: nodeId(9) }],
  ['from itself', 2, { ...heartbeat, from: nodeId(2) }],
  ['addressed to another node', 2, { ...heartbeat, to: nodeId(3) }],
  ['of a local-only type', 2, { ...heartbeat, type: 'hup' as never }],
  ['of an unknown type', 2, { ...heartbeat, type: 'bogus' as never }],
  ['with a negative term', 2, { ...heartbeat, term: term(-1) }],
  ['with a term beyond 2^53', 2, { ...heartbeat, term: term(absurd) }],
  ['with a fractional index', 2, { ...append, index: raftIndex(1.5) }],
  ['with a NaN commit index', 2, { ...heartbeat, commitIndex: raftIndex(Number.NaN) }],
  ['with a zero term', 2, { ...heartbeat, term: term(0) }],
  ['with logTerm above its term', 2, { ...append, logTerm: term(2) }],
  ['with entries not contiguous after index', 2, { ...append, entries: [{ term: term(1), index: raftIndex(4), data: new Uint8Array(0) }] }],
  ['with an entry term above the message term', 2, { ...append, entries: [{ term: term(2), index: raftIndex(3), data: new Uint8Array(0) }] }],
  ['with entry terms that decrease', 2, { ...append, logTerm: term(1), term: term(2), entries: [{ term: term(2), index: raftIndex(3), data: new Uint8Array(0) }, { term: term(1), index: raftIndex(4), data: new Uint8Array(0) }] }],
  ['with entries beyond the safe index range', 2, { ...append, index: raftIndex(Number.MAX_SAFE_INTEGER - 1), entries: [{ term: term(1), index: raftIndex(Number.MAX_SAFE_INTEGER), data: new Uint8Array(0) }, { term: term(1), index: raftIndex(absurd - 1), data: new Uint8Array(0) }] }],
  ['with entry data that is not bytes', 2, { ...append, entries: [{ term: term(1), index: raftIndex(3), data: 'x' as never }] }],
  ['with entries on a heartbeat', 2, { ...heartbeat, entries: append.entries }],
  ['with a context that is not bytes', 2, { ...heartbeat, context: 'ctx' as never }],
  ['with a transfer flag on an append', 2, { ...append, transfer: true }],
  ['of type snapshot without a snapshot', 2, message({ type: 'snapshot', from: nodeId(1), to: nodeId(2), term: term(1) })],
  ['with a snapshot naming unknown voters', 2, message({ type: 'snapshot', from: nodeId(1), to: nodeId(2), term: term(1), snapshot: { metadata: { index: raftIndex(5), term: term(1), voters: [nodeId(1), nodeId(7)] }, data: new Uint8Array(0) } })],
  ['with a snapshot of a later term than the message', 2, message({ type: 'snapshot', from: nodeId(1), to: nodeId(2), term: term(1), snapshot: { metadata: { index: raftIndex(5), term: term(3), voters: [nodeId(1)] }, data: new Uint8Array(0) } })],
  ['with a heartbeat commit beyond the local log', 2, { ...heartbeat, commitIndex: raftIndex(100) }],
  ['with an acknowledgement beyond the leader log', 1, message({ type: 'appendResponse', from: nodeId(2), to: nodeId(1), term: term(1), index: raftIndex(100) })],
]

describe('bad input', () => {
  for (const [name, target, m] of cases) {
    test(`a message ${name} is rejected with INVALID_REQUEST and changes nothing`, () => {
      const c = cluster()
      expectRejected(c, target, m)
      // The node still works afterwards.
      c.propose(1, 'after')
      c.stabilize()
      expect(c.appliedText(target)).toEqual(['x', 'after'])
    })
  }

  test('the valid forms of those messages are accepted (the cases above fail for the stated reason only)', () => {
    const c = cluster()
    c.raw(2).step(heartbeat)
    c.raw(2).step({ ...append, entries: [] })
  })

  test('any field set to a negative, fractional, non-finite or too large number is rejected, changing nothing', () => {
    const badNumber = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true, noNaN: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 2 ** 64),
    )
    const field = fc.constantFrom('term', 'logTerm', 'index', 'commitIndex', 'rejectHint')
    const base = fc.constantFrom(heartbeat, append, message({ type: 'appendResponse', from: nodeId(2), to: nodeId(1), term: term(1), index: raftIndex(1) }))
    const c = cluster()
    fc.assert(fc.property(base, field, badNumber, (m, key, value) => {
      expectRejected(c, m.to, { ...m, [key]: value })
    }), { numRuns: 300, seed: 42 })
  })

  test('messages from any id that is not a peer are rejected, changing nothing', () => {
    const c = cluster()
    fc.assert(fc.property(fc.integer({ min: -5, max: 1_000 }).filter((id) => id !== 1 && id !== 3), (from) => {
      expectRejected(c, 2, { ...heartbeat, from: nodeId(from) })
    }), { numRuns: 200, seed: 7 })
  })
})

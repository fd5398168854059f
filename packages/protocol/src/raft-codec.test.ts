import { describe, expect, test } from 'vitest'
import { isGregorError, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import { entryDataBytesMax, type Message } from '@gregor/raft'
import { decodeRaftMessage, encodeRaftMessage } from './raft-codec.js'
import { wire } from './generated.js'

const voters = new Set([1, 2, 3])

const append: Message = {
  type: 'append', from: 1 as NodeId, to: 2 as NodeId, term: 5 as Term, logTerm: 4 as Term, index: 10 as RaftIndex,
  entries: [{ term: 5 as Term, index: 11 as RaftIndex, data: Buffer.from('a') }, { term: 5 as Term, index: 12 as RaftIndex, data: new Uint8Array(0) }],
  commitIndex: 9 as RaftIndex, reject: false, rejectHint: 0 as RaftIndex, context: new Uint8Array(0),
}

function roundTrip (message: Message): Message {
  const bytes = wire.raft.Message.encode(encodeRaftMessage(message)).finish()
  return decodeRaftMessage(wire.raft.Message.decode(bytes), voters)
}

function codeOf (fn: () => unknown): string | undefined {
  try { fn() } catch (error) { return isGregorError(error) ? error.code : 'not a GregorError' }
  return undefined
}

describe('raft codec', () => {
  test('round-trips a message with entries through protobuf bytes', () => {
    const decoded = roundTrip(append)
    expect({ ...decoded, entries: decoded.entries.map((entry) => ({ ...entry, data: Buffer.from(entry.data) })) })
      .toEqual({ ...append, entries: append.entries.map((entry) => ({ ...entry, data: Buffer.from(entry.data) })), context: expect.any(Uint8Array) })
  })

  test('round-trips a snapshot message', () => {
    const snapshot = { metadata: { index: 100 as RaftIndex, term: 3 as Term, voters: [1, 2, 3] as NodeId[] }, data: Buffer.from('image') }
    const decoded = roundTrip({ ...append, type: 'snapshot', entries: [], snapshot })
    expect(decoded.snapshot?.metadata).toEqual(snapshot.metadata)
    expect(Buffer.from(decoded.snapshot?.data ?? [])).toEqual(snapshot.data)
  })

  test('carries the leadership-transfer flag of a vote request', () => {
    expect(roundTrip({ ...append, type: 'vote', entries: [], transfer: true }).transfer).toBe(true)
    expect(roundTrip({ ...append, type: 'vote', entries: [] }).transfer).toBeUndefined()
  })

  test('rejects a sender that is not a voter, an unknown type and absurd counters', () => {
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), from: 9 }, voters))).toBe('INVALID_REQUEST')
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), type: 99 }, voters))).toBe('INVALID_REQUEST')
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), type: 0 }, voters))).toBe('INVALID_REQUEST')
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), term: 2 ** 60 }, voters))).toBe('INVALID_REQUEST')
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), index: -1 }, voters))).toBe('INVALID_REQUEST')
    expect(codeOf(() => decodeRaftMessage({ ...encodeRaftMessage(append), entries: [{ term: 1, index: 1.5, data: new Uint8Array(0) }] }, voters))).toBe('INVALID_REQUEST')
  })

  test('enforces entry count and size limits', () => {
    const limits = { entriesMax: 1, entryBytesMax: 4, snapshotBytesMax: 4 }
    expect(codeOf(() => decodeRaftMessage(encodeRaftMessage(append), voters, limits))).toBe('INVALID_REQUEST')
    const big = { ...append, entries: [{ term: 5 as Term, index: 11 as RaftIndex, data: Buffer.alloc(5) }] }
    expect(codeOf(() => decodeRaftMessage(encodeRaftMessage(big), voters, limits))).toBe('INVALID_REQUEST')
  })

  test('by default an entry may carry exactly the raft entry limit, not a byte more', () => {
    const sized = (bytes: number): Message => ({ ...append, entries: [{ term: 5 as Term, index: 11 as RaftIndex, data: Buffer.alloc(bytes) }] })
    expect(roundTrip(sized(entryDataBytesMax)).entries[0]?.data.byteLength).toBe(entryDataBytesMax)
    expect(codeOf(() => roundTrip(sized(entryDataBytesMax + 1)))).toBe('INVALID_REQUEST')
  })

  test('a 64-bit value beyond 2^53 on the wire is rejected, not rounded into a valid term', () => {
    const writer = wire.raft.Message.encode({ type: wire.raft.MessageType.HEARTBEAT, from: 1, to: 2 })
    writer.uint32(4 << 3).uint64(Number.MAX_SAFE_INTEGER + 2)
    const decoded = wire.raft.Message.decode(writer.finish())
    expect(codeOf(() => decodeRaftMessage(decoded, voters))).toBe('INVALID_REQUEST')
  })
})

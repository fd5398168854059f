/**
 * Raft messages between the wire (`proto/raft.proto`) and the core's domain types, with validation.
 *
 * Invariant: a domain `Message` that leaves `decodeRaftMessage` has a known type, ids that are voters, terms and
 * indexes that are safe non-negative integers, and at most `entriesMax` entries / `entryBytesMax` per entry. Anything
 * else is an `INVALID_REQUEST` GregorError: bad input from the network is rejected here, before the core sees it.
 * (The core re-checks its own semantic rules, e.g. contiguous entries.)
 *
 * `entryBytesMax` defaults to @gregor/raft's `entryDataBytesMax`, the one owner of that limit: proposers (the
 * controller, the raft driver) refuse a bigger entry against the same number, so none is proposed that this refuses.
 */
import { ErrorCode, GregorError, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import { type Entry, entryDataBytesMax, type Message, type MessageType, type Snapshot } from '@gregor/raft'
import { wire, type gregor } from './generated.js'

type WireMessage = gregor.raft.Message.$Properties

const toWireType: Record<MessageType, gregor.raft.MessageType> = {
  preVote: wire.raft.MessageType.PRE_VOTE,
  preVoteResponse: wire.raft.MessageType.PRE_VOTE_RESPONSE,
  vote: wire.raft.MessageType.VOTE,
  voteResponse: wire.raft.MessageType.VOTE_RESPONSE,
  append: wire.raft.MessageType.APPEND,
  appendResponse: wire.raft.MessageType.APPEND_RESPONSE,
  heartbeat: wire.raft.MessageType.HEARTBEAT,
  heartbeatResponse: wire.raft.MessageType.HEARTBEAT_RESPONSE,
  snapshot: wire.raft.MessageType.SNAPSHOT,
  timeoutNow: wire.raft.MessageType.TIMEOUT_NOW,
}
const fromWireType = new Map<number, MessageType>(
  Object.entries(toWireType).map(([domain, wireType]) => [wireType, domain as MessageType]),
)

export interface RaftCodecLimits {
  readonly entriesMax: number
  readonly entryBytesMax: number
  readonly snapshotBytesMax: number
}

export const defaultRaftCodecLimits: RaftCodecLimits = Object.freeze({
  entriesMax: 10_000,
  entryBytesMax: entryDataBytesMax,
  snapshotBytesMax: 64 * 1024 * 1024,
})

export function encodeRaftMessage (message: Message): WireMessage {
  return {
    type: toWireType[message.type],
    from: message.from,
    to: message.to,
    term: message.term,
    logTerm: message.logTerm,
    index: message.index,
    entries: message.entries.map((entry) => ({ term: entry.term, index: entry.index, data: entry.data })),
    commitIndex: message.commitIndex,
    reject: message.reject,
    rejectHint: message.rejectHint,
    snapshot: message.snapshot === undefined ? null : encodeSnapshot(message.snapshot),
    context: message.context,
    transfer: message.transfer === true,
  }
}

function encodeSnapshot (snapshot: Snapshot): gregor.raft.Snapshot.$Properties {
  const { index, term, voters } = snapshot.metadata
  return { metadata: { index, term, voters: [...voters] }, data: snapshot.data }
}

/** Validates and converts a decoded wire message; `voters` is the static voter set of this cluster. */
export function decodeRaftMessage (
  message: WireMessage,
  voters: ReadonlySet<number>,
  limits: RaftCodecLimits = defaultRaftCodecLimits,
): Message {
  const type = fromWireType.get(message.type ?? 0)
  if (type === undefined) throw invalid('unknown raft message type', { type: message.type })
  const from = nodeField(message.from, 'from', voters)
  const to = nodeField(message.to, 'to', voters)
  const entries = message.entries ?? []
  if (entries.length > limits.entriesMax) throw invalid('too many entries', { count: entries.length })
  return {
    type,
    from,
    to,
    term: counter(message.term, 'term') as Term,
    logTerm: counter(message.logTerm, 'logTerm') as Term,
    index: counter(message.index, 'index') as RaftIndex,
    entries: entries.map((entry) => decodeEntry(entry, limits)),
    commitIndex: counter(message.commitIndex, 'commitIndex') as RaftIndex,
    reject: message.reject === true,
    rejectHint: counter(message.rejectHint, 'rejectHint') as RaftIndex,
    ...(message.snapshot == null ? {} : { snapshot: decodeSnapshot(message.snapshot, voters, limits) }),
    context: message.context ?? new Uint8Array(0),
    ...(message.transfer === true ? { transfer: true } : {}),
  }
}

function decodeEntry (entry: gregor.raft.Entry.$Properties, limits: RaftCodecLimits): Entry {
  const data = entry.data ?? new Uint8Array(0)
  if (data.length > limits.entryBytesMax) throw invalid('entry too large', { bytes: data.length })
  return { term: counter(entry.term, 'entry.term') as Term, index: counter(entry.index, 'entry.index') as RaftIndex, data }
}

function decodeSnapshot (snapshot: gregor.raft.Snapshot.$Properties, voters: ReadonlySet<number>, limits: RaftCodecLimits): Snapshot {
  const data = snapshot.data ?? new Uint8Array(0)
  if (data.length > limits.snapshotBytesMax) throw invalid('snapshot too large', { bytes: data.length })
  const metadata = snapshot.metadata ?? {}
  return {
    metadata: {
      index: counter(metadata.index, 'snapshot.index') as RaftIndex,
      term: counter(metadata.term, 'snapshot.term') as Term,
      voters: (metadata.voters ?? []).map((id) => nodeField(id, 'snapshot.voters', voters)),
    },
    data,
  }
}

function nodeField (value: number | null | undefined, field: string, voters: ReadonlySet<number>): NodeId {
  if (value == null || !voters.has(value)) throw invalid('message names a node that is not a voter', { field, value })
  return value as NodeId
}

/** Terms and indexes: non-negative safe integers. Larger values cannot be real (2^53 elections or entries). */
function counter (value: number | null | undefined, field: string): number {
  const number = value ?? 0
  if (!Number.isSafeInteger(number) || number < 0) throw invalid('raft counter out of range', { field, value })
  return number
}

function invalid (message: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.INVALID_REQUEST, message, { details })
}

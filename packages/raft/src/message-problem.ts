/**
 * What is wrong with an inbound message, if anything: checked before the core touches any state, so bad input is
 * rejected whole (INVALID_REQUEST) and never half-applied.
 *
 * Two kinds of checks: shape (known type, ids, counters that are non-negative safe integers, contiguous entries
 * whose terms fit the message) and the few semantic facts a correct peer can never violate (a heartbeat never
 * commits beyond our log, an acknowledgement in our term never exceeds the leader's log). The protocol layer
 * already rejects most shape errors; this is the core defending its own invariants.
 */
import type { NodeId, RaftIndex, Term } from '@gregor/common'
import { networkMessageTypes } from './message.js'
import type { Message, Role } from './types.js'

export interface MessageCheckView {
  readonly id: NodeId
  readonly term: Term
  readonly role: Role
  readonly lastIndex: RaftIndex
  isKnownPeer (id: NodeId): boolean
}

const isCounter = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0

export function messageProblem (m: Message, view: MessageCheckView): string | undefined {
  if (typeof m !== 'object' || m === null) return 'message is not an object'
  if (!networkMessageTypes.has(m.type)) return 'unknown or local-only message type'
  if (m.to !== view.id) return 'message addressed to another node'
  if (m.from === view.id || !view.isKnownPeer(m.from)) return 'message from an unknown node'
  for (const field of ['term', 'logTerm', 'index', 'commitIndex', 'rejectHint'] as const) {
    if (!isCounter(m[field])) return `${field} is not a non-negative safe integer`
  }
  // Every message but a pre-vote rejection from a node that has never seen a term is sent in some term.
  if (m.term === 0 && m.type !== 'preVoteResponse') return 'term is zero'
  if (m.logTerm > m.term) return 'logTerm is above the message term'
  if (typeof m.reject !== 'boolean') return 'reject is not a boolean'
  if (!(m.context instanceof Uint8Array)) return 'context is not bytes'
  if (m.transfer !== undefined && typeof m.transfer !== 'boolean') return 'transfer is not a boolean'
  if (m.transfer === true && m.type !== 'vote') return 'transfer flag on a non-vote message'
  return entriesProblem(m) ?? snapshotProblem(m, view) ?? semanticProblem(m, view)
}

function entriesProblem (m: Message): string | undefined {
  if (!Array.isArray(m.entries)) return 'entries is not a list'
  if (m.entries.length === 0) return undefined
  if (m.type !== 'append') return 'entries on a non-append message'
  if (m.index + m.entries.length > Number.MAX_SAFE_INTEGER) return 'entry index beyond the safe integer range'
  let previousTerm = m.logTerm
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i]
    if (typeof entry !== 'object' || entry === null) return 'entry is not an object'
    if (entry.index !== m.index + 1 + i) return 'entries are not contiguous after index'
    if (!isCounter(entry.term) || entry.term === 0) return 'entry term is not a positive safe integer'
    if (entry.term > m.term) return 'entry term is above the message term'
    if (entry.term < previousTerm) return 'entry terms decrease'
    if (!(entry.data instanceof Uint8Array)) return 'entry data is not bytes'
    previousTerm = entry.term
  }
  return undefined
}

function snapshotProblem (m: Message, view: MessageCheckView): string | undefined {
  if (m.type !== 'snapshot') return m.snapshot === undefined ? undefined : 'snapshot on a non-snapshot message'
  const snapshot = m.snapshot
  if (typeof snapshot !== 'object' || snapshot === null || typeof snapshot.metadata !== 'object' || snapshot.metadata === null) {
    return 'snapshot message without a snapshot'
  }
  const { index, term, voters } = snapshot.metadata
  if (!isCounter(index) || index === 0) return 'snapshot index is not a positive safe integer'
  if (!isCounter(term) || term === 0 || term > m.term) return 'snapshot term is not a positive integer within the message term'
  if (!Array.isArray(voters) || !voters.every((id) => id === view.id || view.isKnownPeer(id))) return 'snapshot names unknown voters'
  if (!(snapshot.data instanceof Uint8Array)) return 'snapshot data is not bytes'
  return undefined
}

/** Facts no correct peer violates; checked only where they hold for messages that will be acted upon. */
function semanticProblem (m: Message, view: MessageCheckView): string | undefined {
  if (m.type === 'heartbeat' && m.term >= view.term && m.commitIndex > view.lastIndex) {
    // A leader sends min(its commit, our match): committing beyond our log would commit entries we do not hold.
    return 'heartbeat commits beyond the local log'
  }
  if (m.type === 'appendResponse' && !m.reject && m.term === view.term && view.role === 'leader' && m.index > view.lastIndex) {
    return 'acknowledgement beyond the leader log'
  }
  return undefined
}

/**
 * Building messages: every field of `Message` is required on the wire, so this fills the ones a type does not use
 * with their zero values (etcd's zero-valued `raftpb.Message` fields).
 */
import { raftIndex, term } from '@gregor/common'
import type { Message, MessageType } from './types.js'

export const emptyContext: Uint8Array = new Uint8Array(0)

export type MessageFields = Pick<Message, 'type' | 'from' | 'to' | 'term'> & Partial<Omit<Message, 'type' | 'from' | 'to' | 'term'>>

export function message (fields: MessageFields): Message {
  return {
    logTerm: term(0),
    index: raftIndex(0),
    entries: [],
    commitIndex: raftIndex(0),
    reject: false,
    rejectHint: raftIndex(0),
    context: emptyContext,
    ...fields,
  }
}

/** The message types that travel between nodes (everything a `step` may receive). */
export const networkMessageTypes: ReadonlySet<MessageType> = new Set<MessageType>([
  'preVote', 'preVoteResponse', 'vote', 'voteResponse', 'append', 'appendResponse',
  'heartbeat', 'heartbeatResponse', 'snapshot', 'timeoutNow',
])

export function isVoteRequest (type: MessageType): boolean {
  return type === 'vote' || type === 'preVote'
}

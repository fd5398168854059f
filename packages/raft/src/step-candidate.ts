/**
 * The candidate and pre-candidate roles (they share a step function, as in etcd): count votes, and give way to a
 * leader of the same term (Raft §5.2).
 */
import type { Raft } from './raft.js'
import { type Message, NO_NODE } from './types.js'

export function stepCandidate (r: Raft, m: Message): void {
  // A pre-candidate counts only pre-vote responses, a candidate only vote responses; anything else is stale.
  const voteResponseType = r.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse'
  switch (m.type) {
    case 'append':
      r.becomeFollower(m.term, m.from)
      r.handleAppend(m)
      return
    case 'heartbeat':
      r.becomeFollower(m.term, m.from)
      r.handleHeartbeat(m)
      return
    case 'snapshot':
      r.becomeFollower(m.term, m.from)
      r.handleSnapshot(m)
      return
    default:
      if (m.type === voteResponseType) handleVoteResponse(r, m)
      else r.logger.trace({ term: r.term, peerId: m.from, type: m.type }, 'ignored message as candidate')
  }
}

function handleVoteResponse (r: Raft, m: Message): void {
  r.logger.debug({ term: r.term, peerId: m.from, type: m.type, reject: m.reject }, 'received vote response')
  const result = r.poll(m.from, !m.reject)
  if (result === 'won') {
    if (r.role === 'preCandidate') r.campaign('election')
    else r.becomeLeader()
  } else if (result === 'lost') {
    // A majority refused: wait for a leader, or for our next election timeout.
    r.becomeFollower(r.term, NO_NODE)
  }
}

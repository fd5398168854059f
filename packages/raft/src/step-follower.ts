/**
 * The follower role: accept the leader's appends, heartbeats and snapshots, and campaign when the leader goes quiet
 * for a randomized election timeout (Raft §5.2) or when told to by a leadership transfer (thesis §3.10).
 */
import type { NodeId } from '@gregor/common'
import type { Raft } from './raft.js'
import type { Message } from './types.js'

export function stepFollower (r: Raft, m: Message): void {
  switch (m.type) {
    case 'append':
      heardFromLeader(r, m.from)
      r.handleAppend(m)
      return
    case 'heartbeat':
      heardFromLeader(r, m.from)
      r.handleHeartbeat(m)
      return
    case 'snapshot':
      heardFromLeader(r, m.from)
      r.handleSnapshot(m)
      return
    case 'timeoutNow':
      // The leader chose us and we are caught up: campaign at once, skipping PreVote, past every leader lease.
      r.logger.info({ term: r.term, leaderId: m.from }, 'campaigning on leadership transfer')
      r.hup(true)
      return
    default:
      r.logger.trace({ term: r.term, peerId: m.from, type: m.type }, 'ignored message as follower')
  }
}

function heardFromLeader (r: Raft, leaderId: NodeId): void {
  r.electionElapsed = 0
  if (r.leaderId !== leaderId) {
    r.leaderId = leaderId
    r.logger.info({ term: r.term, leaderId }, 'leader changed')
  }
}

/** The follower's and candidate's tick: campaign once the randomized election timeout passes. */
export function tickElection (r: Raft): void {
  r.electionElapsed++
  if (r.promotable() && r.electionElapsed >= r.randomizedElectionTicks) {
    r.electionElapsed = 0
    r.hup(false)
  }
}

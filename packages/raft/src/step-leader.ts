/**
 * The leader role: how it handles its followers' replies and what a tick means to it.
 *
 * Owns the replication flow control (Raft §5.3 with etcd's probe/replicate/snapshot progress states), the commit
 * advance on acknowledgements (§5.4.2 via `Raft.maybeCommit`), the ReadIndex heartbeat quorum (thesis §6.4),
 * CheckQuorum (thesis §6.2) and the leadership-transfer deadline (thesis §3.10).
 */
import type { Progress } from './progress.js'
import type { Raft } from './raft.js'
import { type Message, NO_NODE } from './types.js'

export function stepLeader (r: Raft, m: Message): void {
  const progress = r.tracker.get(m.from)
  if (progress === undefined) return
  switch (m.type) {
    case 'appendResponse':
      handleAppendResponse(r, progress, m)
      return
    case 'heartbeatResponse':
      handleHeartbeatResponse(r, progress, m)
      return
    case 'append':
    case 'heartbeat':
    case 'snapshot':
      // Election Safety makes a second leader in our term impossible; a peer claiming to be one is broken.
      r.logger.warn({ term: r.term, peerId: m.from, type: m.type }, 'ignored leader message from a peer in own term')
      return
    default:
      r.logger.trace({ term: r.term, peerId: m.from, type: m.type }, 'ignored message as leader')
  }
}

function handleAppendResponse (r: Raft, progress: Progress, m: Message): void {
  progress.recentActive = true
  if (m.reject) {
    // Fast backtracking: the follower's hint, refined by our own log, skips a whole conflicting term at once.
    const hint = m.logTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint
    r.logger.debug({ term: r.term, peerId: m.from, index: m.index, rejectHint: hint }, 'append rejected')
    if (progress.maybeDecrTo(m.index, hint)) {
      if (progress.state === 'replicate') progress.becomeProbe()
      r.sendAppend(m.from)
    }
    return
  }
  const wasPaused = progress.isPaused()
  if (!progress.maybeUpdate(m.index)) return
  if (progress.state === 'probe') {
    progress.becomeReplicate()
  } else if (progress.state === 'snapshot') {
    // The follower installed the snapshot, or caught up from entries we still hold: back to normal appends.
    if (progress.match >= progress.pendingSnapshot || progress.match + 1 >= r.log.firstIndex()) {
      progress.becomeProbe()
      progress.becomeReplicate()
    }
  } else {
    progress.inflights.freeLE(m.index)
  }
  if (r.maybeCommit()) {
    // Followers learn the new commit index from the next append.
    r.bcastAppend()
  } else if (wasPaused) {
    r.sendAppend(m.from)
  }
  while (r.maybeSendAppend(m.from, false)) { /* fill the pipeline up to the inflight limit */ }
  if (m.from === r.leadTransferee && progress.match === r.log.lastIndex()) {
    // Thesis §3.10: the target has caught up; tell it to start its election now.
    r.sendTimeoutNow(m.from)
  }
}

function handleHeartbeatResponse (r: Raft, progress: Progress, m: Message): void {
  progress.recentActive = true
  progress.probeSent = false
  // The follower is alive: let one more append through even if earlier ones may have been lost.
  if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirstOne()
  if (progress.match < r.log.lastIndex()) r.sendAppend(m.from)
  if (m.context.length === 0) return
  const acks = r.readOnly.recvAck(m.from, m.context)
  if (acks === undefined || !r.tracker.isQuorum(acks)) return
  // Thesis §6.4 step 3: a majority confirmed our leadership after the read index was taken.
  for (const status of r.readOnly.advance(m.context)) r.readStates.push({ index: status.index, context: status.context })
}

/** The leader's tick: CheckQuorum and the transfer deadline every election timeout, heartbeats every heartbeatTicks. */
export function tickHeartbeat (r: Raft): void {
  r.heartbeatElapsed++
  r.electionElapsed++
  if (r.electionElapsed >= r.config.electionTicks) {
    r.electionElapsed = 0
    if (r.config.checkQuorum && !r.checkQuorumActive()) return
    if (r.leadTransferee !== NO_NODE) r.abortLeaderTransfer()
  }
  if (r.role !== 'leader') return
  retryLostSnapshots(r)
  if (r.heartbeatElapsed >= r.config.heartbeatTicks) {
    r.heartbeatElapsed = 0
    r.bcastHeartbeat()
  }
}

/**
 * A snapshot (or its acknowledgement) may be lost and nothing reports it, so after two election timeouts in snapshot
 * state the follower is probed again, which sends a fresh snapshot if it still needs one.
 */
function retryLostSnapshots (r: Raft): void {
  for (const [id, progress] of r.tracker.progress) {
    if (id === r.id || progress.state !== 'snapshot') continue
    progress.snapshotTicks++
    if (progress.snapshotTicks >= 2 * r.config.electionTicks) {
      r.logger.debug({ term: r.term, peerId: id, index: progress.pendingSnapshot }, 'snapshot unacknowledged, probing again')
      progress.becomeProbe()
    }
  }
}

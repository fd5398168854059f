/**
 * The Raft state machine of one node (etcd's `raft` struct): term, vote, role and leader, the log, the peers'
 * progress, and the outgoing messages, all advanced synchronously by `tick()` and `step()`.
 *
 * Roles are not classes: `becomeX` swaps `stepFn` (how network messages are handled in that role, see step-*.ts)
 * and `tickFn` (what the passage of time means: election timeout or heartbeat/CheckQuorum). Term handling common to
 * all roles lives in `step` here (Raft §5.1: a higher term turns anyone into a follower, a lower one is stale).
 *
 * Invariants (asserted): the term never decreases; a node votes at most once per term (Raft §5.2); leader is only
 * reached from candidate; the commit index never decreases (RaftLog). Nothing here does I/O: messages and read
 * states accumulate in `messages` / `readStates` and leave through `RawNode.ready()`, after the hard state and
 * entries they depend on were persisted.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type Logger, type NodeId, raftIndex, type RaftIndex, type Rng, type Term, term as toTerm } from '@gregor/common'
import { payloadBytes } from './entry-size.js'
import { emptyContext, isVoteRequest, message, type MessageFields } from './message.js'
import type { Progress } from './progress.js'
import { ProgressTracker } from './progress-tracker.js'
import type { RaftConfig } from './raft-config.js'
import { RaftLog } from './raft-log.js'
import { ReadOnly } from './read-only.js'
import { stepCandidate } from './step-candidate.js'
import { stepFollower, tickElection } from './step-follower.js'
import { stepLeader, tickHeartbeat } from './step-leader.js'
import { type Entry, type HardState, type Message, NO_NODE, type RaftStorage, type ReadState, type Role, type SoftState } from './types.js'

/** Ticks from a failure hint to the first follower's campaign (see `Raft.forgetLeader`). */
const hintFirstCampaignTicks = 2

export type StepFn = (raft: Raft, m: Message) => void
export type TickFn = (raft: Raft) => void
/** preElection: PreVote round (thesis §9.6); transfer: a leadership transfer's election (thesis §3.10). */
export type CampaignKind = 'preElection' | 'election' | 'transfer'

export class Raft {
  readonly id: NodeId
  term: Term = toTerm(0)
  /** The candidate voted for in `term`, or NO_NODE. */
  vote: NodeId = NO_NODE
  role: Role = 'follower'
  leaderId: NodeId = NO_NODE
  readonly log: RaftLog
  readonly tracker: ProgressTracker
  readOnly = new ReadOnly()
  /** ReadIndex requests waiting until this leader has committed an entry of its own term (thesis §6.4 step 1). */
  pendingReadContexts: Uint8Array[] = []
  messages: Message[] = []
  readStates: ReadState[] = []
  /** Ticks since the last election timeout reset (follower, candidate) or CheckQuorum round (leader). */
  electionElapsed = 0
  heartbeatElapsed = 0
  /** Drawn from [electionTicks, 2 * electionTicks) at every reset, so split votes resolve (Raft §5.2). */
  randomizedElectionTicks = 0
  /** The node this leader is handing leadership to (thesis §3.10), or NO_NODE. */
  leadTransferee: NodeId = NO_NODE
  /** Payload bytes this leader appended but has not seen applied (bounded by uncommittedBytesMax). */
  uncommittedBytes = 0
  /** On a leader: the voters active in the CheckQuorum round before the current one (empty in its first round). */
  previouslyActive: ReadonlySet<NodeId> = new Set()
  stepFn: StepFn = stepFollower
  tickFn: TickFn = tickElection

  constructor (readonly config: RaftConfig, storage: RaftStorage, private readonly rng: Rng, readonly logger: Logger) {
    this.id = config.id
    this.log = new RaftLog(storage, logger)
    this.tracker = new ProgressTracker(config.voters, [], config.inflightMessagesMax)
    const { hardState, voters } = storage.initialState()
    const sameVoters = voters.length === 0 ||
      (voters.length === config.voters.length && voters.every((id) => config.voters.includes(id)))
    if (!sameVoters) {
      throw new GregorError(ErrorCode.INVALID_CONFIG, 'voters differ from the voters in storage', {
        details: { voters: config.voters, storedVoters: voters },
      })
    }
    this.loadState(hardState, config.appliedIndex)
    this.becomeFollower(this.term, NO_NODE)
    logger.info({
      term: this.term, vote: this.vote, commitIndex: this.log.commitIndex, appliedIndex: this.log.appliedIndex,
      lastIndex: this.log.lastIndex(), voters: config.voters,
    }, 'raft node started')
  }

  /**
   * Restores term, vote and cursors. The commit index is at least the snapshot index (a snapshot holds only
   * committed entries) and the applied index (the application applied only committed entries): an unsynced
   * commit-only hard state may have been lost in a crash, and that is allowed.
   */
  private loadState (hardState: HardState, appliedIndex: RaftIndex): void {
    const firstIndex = this.log.firstIndex()
    const lastIndex = this.log.lastIndex()
    const problems: string[] = []
    if (appliedIndex < firstIndex - 1) problems.push('appliedIndex is below the snapshot index: restore the state machine from the snapshot')
    if (appliedIndex > lastIndex) problems.push('appliedIndex is beyond the last index in storage')
    if (hardState.commitIndex > lastIndex) problems.push('stored commitIndex is beyond the last index in storage')
    if (problems.length > 0) {
      throw new GregorError(ErrorCode.INVALID_CONFIG, 'raft state does not match storage', {
        details: { problems, appliedIndex, commitIndex: hardState.commitIndex, firstIndex, lastIndex },
      })
    }
    this.term = hardState.term
    this.vote = hardState.vote
    this.log.commitIndex = raftIndex(Math.max(hardState.commitIndex, firstIndex - 1, appliedIndex))
    this.log.appliedIndex = appliedIndex
  }

  softState (): SoftState {
    return { leaderId: this.leaderId, role: this.role }
  }

  hardState (): HardState {
    return { term: this.term, vote: this.vote, commitIndex: this.log.commitIndex }
  }

  /** Only voters campaign (learners, once they exist, never do). */
  promotable (): boolean {
    return this.tracker.isVoter(this.id)
  }

  /** Peers this node replicates to when leading. */
  peers (): NodeId[] {
    return [...this.tracker.progress.keys()].filter((id) => id !== this.id)
  }

  selfProgress (): Progress {
    const progress = this.tracker.get(this.id)
    assert(progress !== undefined, 'a node always tracks its own progress')
    return progress
  }

  send (fields: Omit<MessageFields, 'from' | 'term'> & { readonly term?: Term }): void {
    this.messages.push(message({ term: this.term, ...fields, from: this.id }))
  }

  tick (): void {
    this.tickFn(this)
  }

  // ---- role transitions -------------------------------------------------------------------------------------

  private reset (term: Term): void {
    assert(term >= this.term, `term must not decrease (${this.term} -> ${term})`)
    if (term !== this.term) {
      this.term = term
      this.vote = NO_NODE
    }
    this.leaderId = NO_NODE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTicks = this.rng.int(this.config.electionTicks, 2 * this.config.electionTicks)
    this.leadTransferee = NO_NODE
    this.tracker.resetVotes()
    this.tracker.resetProgress(this.log.lastIndex(), this.id)
    this.uncommittedBytes = 0
    this.readOnly = new ReadOnly()
    this.pendingReadContexts = []
  }

  becomeFollower (term: Term, leaderId: NodeId): void {
    this.stepFn = stepFollower
    this.reset(term)
    this.tickFn = tickElection
    this.leaderId = leaderId
    this.role = 'follower'
    this.logger.info({ term, leaderId }, 'became follower')
  }

  becomePreCandidate (): void {
    assert(this.role !== 'leader', 'invalid transition leader -> preCandidate')
    // PreVote does not touch term or vote (thesis §9.6): a pre-candidate that loses has disturbed no one.
    this.stepFn = stepCandidate
    this.tracker.resetVotes()
    this.tickFn = tickElection
    this.leaderId = NO_NODE
    this.role = 'preCandidate'
    this.randomizedElectionTicks = this.rng.int(this.config.electionTicks, 2 * this.config.electionTicks)
    this.logger.info({ term: this.term }, 'became pre-candidate')
  }

  becomeCandidate (): void {
    assert(this.role !== 'leader', 'invalid transition leader -> candidate')
    this.stepFn = stepCandidate
    this.reset(toTerm(this.term + 1))
    this.tickFn = tickElection
    this.vote = this.id
    this.role = 'candidate'
    this.logger.info({ term: this.term }, 'became candidate')
  }

  becomeLeader (): void {
    assert(this.role === 'candidate', `invalid transition ${this.role} -> leader`)
    this.stepFn = stepLeader
    this.reset(this.term)
    this.tickFn = tickHeartbeat
    this.leaderId = this.id
    this.role = 'leader'
    const self = this.selfProgress()
    self.becomeReplicate()
    self.recentActive = true
    this.previouslyActive = new Set()
    // Raft §5.4.2 / §8: entries of earlier terms commit only once an entry of this term does, so append an empty
    // one now rather than wait for a client proposal.
    this.appendEntries([{ term: this.term, index: raftIndex(this.log.lastIndex() + 1), data: new Uint8Array(0) }])
    this.logger.info({ term: this.term, leaderId: this.id, lastIndex: this.log.lastIndex() }, 'became leader')
    this.bcastAppend()
  }

  // ---- elections --------------------------------------------------------------------------------------------

  /** Starts an election if this node may (etcd `hup`): with PreVote first unless a leadership transfer asked for it. */
  hup (transfer: boolean): void {
    if (this.role === 'leader') return
    if (!this.promotable()) return
    this.campaign(transfer ? 'transfer' : this.config.preVote ? 'preElection' : 'election')
  }

  campaign (kind: CampaignKind): void {
    const pre = kind === 'preElection'
    if (pre) this.becomePreCandidate()
    else this.becomeCandidate()
    // A pre-vote asks about the term the candidate would campaign in, without having entered it.
    const voteTerm = toTerm(pre ? this.term + 1 : this.term)
    const type = pre ? 'preVote' : 'vote'
    this.logger.info({ term: voteTerm, kind, lastIndex: this.log.lastIndex() }, 'starting election')
    if (this.poll(this.id, true) === 'won') {
      // A single voter wins on its own vote.
      if (pre) this.campaign('election')
      else this.becomeLeader()
      return
    }
    const lastIndex = this.log.lastIndex()
    const lastTerm = this.log.lastTerm()
    for (const id of this.tracker.voters) {
      if (id === this.id) continue
      this.send({ type, to: id, term: voteTerm, index: lastIndex, logTerm: lastTerm, ...(kind === 'transfer' ? { transfer: true } : {}) })
    }
  }

  poll (from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(from, granted)
    return this.tracker.voteResult()
  }

  /** Heard from a leader within the election timeout (thesis §4.2.3): disruptive vote requests are ignored. */
  inLease (): boolean {
    return this.config.checkQuorum && this.leaderId !== NO_NODE && this.electionElapsed < this.config.electionTicks
  }

  // ---- message dispatch -------------------------------------------------------------------------------------

  /** Handles one validated network message (etcd `Step`): term rules for every role, then the role's `stepFn`. */
  step (m: Message): void {
    if (m.term > this.term) {
      if (isVoteRequest(m.type) && m.transfer !== true && this.inLease()) {
        // The leader lease: a node that hears from a live leader does not help depose it (thesis §4.2.3, §9.6).
        this.logger.debug({ term: this.term, peerId: m.from, type: m.type, leaderId: this.leaderId }, 'ignored vote request within leader lease')
        return
      }
      // A pre-vote request or a granted pre-vote response carries a term nobody has entered yet: it changes nothing.
      const preVote = m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)
      if (!preVote) {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot'
        this.becomeFollower(m.term, fromLeader ? m.from : NO_NODE)
      }
    } else if (m.term < this.term) {
      this.stepStale(m)
      return
    }
    if (isVoteRequest(m.type)) this.handleVoteRequest(m)
    else this.stepFn(this, m)
  }

  /**
   * A message from an older term. A leader that was partitioned away (with CheckQuorum or PreVote, our term moved on
   * without it) learns it is stale from our response and steps down; a pre-candidate learns our term from the
   * rejection. Everything else is ignored (Raft §5.1).
   */
  private stepStale (m: Message): void {
    if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'heartbeat' || m.type === 'append')) {
      this.send({ type: 'appendResponse', to: m.from })
    } else if (m.type === 'preVote') {
      this.send({ type: 'preVoteResponse', to: m.from, reject: true })
    } else {
      this.logger.trace({ term: this.term, peerId: m.from, type: m.type, messageTerm: m.term }, 'ignored stale message')
    }
  }

  /** Raft §5.2 (one vote per term) and §5.4.1 (only for a candidate whose log is at least as up-to-date). */
  private handleVoteRequest (m: Message): void {
    const responseType = m.type === 'preVote' ? 'preVoteResponse' : 'voteResponse'
    const canVote = this.vote === m.from ||
      (this.vote === NO_NODE && this.leaderId === NO_NODE) ||
      (m.type === 'preVote' && m.term > this.term)
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.logger.debug({ term: this.term, peerId: m.from, type: m.type }, 'granted vote')
      // A grant carries the requested term, so a pre-candidate can tell it apart from a stale rejection.
      this.send({ type: responseType, to: m.from, term: m.term })
      if (m.type === 'vote') {
        assert(this.vote === NO_NODE || this.vote === m.from, `second vote in term ${this.term}`)
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.logger.debug({ term: this.term, peerId: m.from, type: m.type, vote: this.vote }, 'rejected vote')
      this.send({ type: responseType, to: m.from, reject: true })
    }
  }

  // ---- follower side of replication -------------------------------------------------------------------------

  /** Raft §5.3 AppendEntries receiver, with a rejection hint for fast backtracking. */
  handleAppend (m: Message): void {
    if (m.index < this.log.commitIndex) {
      // Everything up to our commit index matches the leader already; tell it where we really are.
      this.send({ type: 'appendResponse', to: m.from, index: this.log.commitIndex })
      return
    }
    const lastNewIndex = this.log.maybeAppend(m.index, m.logTerm, m.commitIndex, m.entries)
    if (lastNewIndex !== undefined) {
      this.send({ type: 'appendResponse', to: m.from, index: lastNewIndex })
      return
    }
    const hint = this.log.findConflictByTerm(raftIndex(Math.min(m.index, this.log.lastIndex())), m.logTerm)
    this.logger.debug({ term: this.term, index: m.index, logTerm: m.logTerm, rejectHint: hint.index }, 'rejected append')
    this.send({ type: 'appendResponse', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term })
  }

  handleHeartbeat (m: Message): void {
    // The leader sends min(its commit, our match), so this never exceeds what we hold (validated on entry).
    this.log.commitTo(m.commitIndex)
    this.send({ type: 'heartbeatResponse', to: m.from, context: m.context })
  }

  /** Raft §7 InstallSnapshot receiver. */
  handleSnapshot (m: Message): void {
    const snapshot = m.snapshot
    assert(snapshot !== undefined, 'snapshot message without snapshot (validated on entry)')
    const { index, term } = snapshot.metadata
    if (index > this.log.commitIndex) {
      if (this.log.matchTerm(index, term)) {
        // We hold the snapshot's last entry, hence (Log Matching) everything before it: just commit up to it. Our
        // entries after it may still conflict with the leader's, so acknowledge no further than `index`.
        this.log.commitTo(index)
      } else {
        this.log.restore(snapshot)
        this.tracker.resetProgress(this.log.lastIndex(), this.id)
        this.logger.info({ term: this.term, index, snapshotTerm: term }, 'restored snapshot')
      }
    }
    this.send({ type: 'appendResponse', to: m.from, index: this.log.commitIndex })
  }

  // ---- leader side of replication ---------------------------------------------------------------------------

  /** Appends entries of the current term to the leader's own log and counts them towards commit. */
  appendEntries (entries: readonly Entry[]): void {
    this.log.append(entries)
    this.selfProgress().maybeUpdate(this.log.lastIndex())
    this.maybeCommit()
  }

  /**
   * Raft §5.4.2: the commit index moves to the highest index a majority holds, but only when that entry is of the
   * current term; entries of earlier terms commit indirectly, with it (Log Matching). Counting replicas of an older
   * entry is not enough (Fig. 8).
   */
  maybeCommit (): boolean {
    if (!this.log.maybeCommit(this.tracker.committed(), this.term)) return false
    this.releasePendingReads()
    return true
  }

  propose (data: Uint8Array): { term: Term; index: RaftIndex } {
    if (this.role !== 'leader') throw this.dropped('not the leader')
    if (this.leadTransferee !== NO_NODE) throw this.dropped('leadership transfer in progress')
    const entry: Entry = { term: this.term, index: raftIndex(this.log.lastIndex() + 1), data }
    const bytes = data.byteLength
    // One entry is always accepted when nothing is outstanding, however large (etcd); otherwise the budget holds.
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.config.uncommittedBytesMax) {
      throw this.dropped('uncommitted bytes over limit')
    }
    this.uncommittedBytes += bytes
    this.appendEntries([entry])
    this.bcastAppend()
    return { term: entry.term, index: entry.index }
  }

  private dropped (reason: string): GregorError {
    return new GregorError(ErrorCode.PROPOSAL_DROPPED, `proposal dropped: ${reason}`, {
      details: { leaderId: this.leaderId, reason, uncommittedBytes: this.uncommittedBytes },
    })
  }

  /** Committed entries were handed to the application: their payload no longer counts against the budget. */
  reduceUncommittedBytes (entries: readonly Entry[]): void {
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(entries))
  }

  bcastAppend (): void {
    for (const id of this.peers()) this.sendAppend(id)
  }

  sendAppend (to: NodeId): void {
    this.maybeSendAppend(to, true)
  }

  /**
   * Sends `to` the entries from its `next` index (or a snapshot when they are compacted); returns whether a message
   * went out. With `sendIfEmpty` false, an append without entries is not worth sending.
   */
  maybeSendAppend (to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.tracker.get(to)
    assert(progress !== undefined, `no progress for ${to}`)
    if (progress.isPaused()) return false
    const prevIndex = raftIndex(progress.next - 1)
    const prevTerm = this.log.term(prevIndex)
    const entries = prevTerm === undefined ? undefined : this.log.entriesFrom(progress.next, this.config.messageBytesMax)
    if (prevTerm === undefined || entries === undefined) return this.maybeSendSnapshot(to, progress)
    if (entries.length === 0 && !sendIfEmpty) return false
    this.send({ type: 'append', to, index: prevIndex, logTerm: prevTerm, entries, commitIndex: this.log.commitIndex })
    progress.sentEntries(entries.length, raftIndex(prevIndex + entries.length))
    return true
  }

  /** Raft §7: the follower needs entries we compacted, so send the snapshot that covers them. */
  private maybeSendSnapshot (to: NodeId, progress: Progress): boolean {
    if (!progress.recentActive) {
      // Do not ship a snapshot to a node that may be down; wait until it answers a heartbeat.
      this.logger.debug({ term: this.term, peerId: to }, 'snapshot withheld from inactive follower')
      return false
    }
    const snapshot = this.log.snapshot()
    assert(snapshot.metadata.index > 0, 'entries are compacted but storage holds no snapshot')
    progress.becomeSnapshot(snapshot.metadata.index)
    this.send({ type: 'snapshot', to, snapshot })
    this.logger.info({ term: this.term, peerId: to, index: snapshot.metadata.index }, 'sent snapshot')
    return true
  }

  sendHeartbeat (to: NodeId, context: Uint8Array): void {
    const progress = this.tracker.get(to)
    assert(progress !== undefined, `no progress for ${to}`)
    // The follower may not have our entries up to our commit index yet: never make it commit beyond its match.
    const commitIndex = raftIndex(Math.min(progress.match, this.log.commitIndex))
    this.send({ type: 'heartbeat', to, commitIndex, context })
  }

  bcastHeartbeat (): void {
    const context = this.readOnly.lastPendingContext() ?? emptyContext
    for (const id of this.peers()) this.sendHeartbeat(id, context)
  }

  /**
   * Thesis §6.2 CheckQuorum, once per election timeout: a leader that has not heard from a majority steps down, so
   * a partitioned leader stops accepting proposals and serving reads it cannot commit.
   */
  checkQuorumActive (): boolean {
    const active = this.tracker.quorumActive(this.id)
    this.previouslyActive = new Set([...this.tracker.progress].filter(([, progress]) => progress.recentActive).map(([id]) => id))
    for (const [id, progress] of this.tracker.progress) if (id !== this.id) progress.recentActive = false
    if (!active) {
      this.logger.info({ term: this.term }, 'stepping down: quorum not active')
      this.becomeFollower(this.term, NO_NODE)
    }
    return active
  }

  // ---- ReadIndex (thesis §6.4) ------------------------------------------------------------------------------

  readIndex (context: Uint8Array): void {
    if (this.role !== 'leader') throw this.dropped('not the leader')
    // Step 1: until an entry of this term commits, the leader may not know the latest commit index.
    if (this.log.term(this.log.commitIndex) !== this.term) {
      this.pendingReadContexts.push(context)
      return
    }
    this.sendReadIndex(context)
  }

  private sendReadIndex (context: Uint8Array): void {
    if (this.tracker.isSingleton()) {
      this.readStates.push({ index: this.log.commitIndex, context })
      return
    }
    // Steps 2-3: record the commit index, then confirm leadership with a heartbeat round that echoes the context.
    this.readOnly.addRequest(this.log.commitIndex, context)
    this.readOnly.recvAck(this.id, context)
    for (const id of this.peers()) this.sendHeartbeat(id, context)
  }

  private releasePendingReads (): void {
    if (this.pendingReadContexts.length === 0 || this.log.term(this.log.commitIndex) !== this.term) return
    const contexts = this.pendingReadContexts
    this.pendingReadContexts = []
    for (const context of contexts) this.sendReadIndex(context)
  }

  // ---- failure hints ------------------------------------------------------------------------------------------

  /**
   * A side channel says `leaderId` is gone (etcd's ForgetLeader; here the transport saw the leader's stream die with
   * its process). A follower of that leader forgets it and counts its lease as run out, as if an election timeout
   * had passed since it last heard from it: it grants pre-votes at once and campaigns soon. Returns whether anything
   * changed.
   *
   * Every follower of a dead leader gets the hint at about the same moment, so random delays drawn from one short
   * window let two of them campaign together and split the vote, which then costs a whole randomized timeout. The
   * followers take turns instead: ranked by id among the voters other than the dead leader, rank r campaigns
   * `hintFirstCampaignTicks + r × ⌊electionTicks / 2⌋` ticks after the hint. The first turn waits two ticks, not
   * one, so the other followers have their hint too (a follower still in the dead leader's lease ignores pre-votes);
   * the next turn comes only after the first candidate has won (its appends reset the others' timers) or been refused
   * for a shorter log (then a longer one campaigns next).
   *
   * Only liveness is touched: terms and votes follow the usual rules. A wrong hint costs nothing while the leader
   * lives: the other followers still hear it, are in its lease and reject the pre-vote, and its next heartbeat gives
   * this follower its leader back.
   */
  forgetLeader (leaderId: NodeId): boolean {
    if (this.role !== 'follower' || this.leaderId === NO_NODE || this.leaderId !== leaderId) return false
    this.leaderId = NO_NODE
    const rank = this.tracker.voters.filter((id) => id !== leaderId && id < this.id).length
    const staggerTicks = Math.max(1, Math.floor(this.config.electionTicks / 2))
    this.electionElapsed = this.config.electionTicks
    this.randomizedElectionTicks = this.config.electionTicks + hintFirstCampaignTicks + rank * staggerTicks
    this.logger.info({ term: this.term, leaderId, campaignInTicks: this.randomizedElectionTicks - this.electionElapsed }, 'forgot leader on a failure hint')
    return true
  }

  // ---- leadership transfer (thesis §3.10) -------------------------------------------------------------------

  transferLeadership (to: NodeId): void {
    if (!this.tracker.isVoter(to)) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'leadership transfer target is not a voter', { details: { to } })
    }
    if (this.role !== 'leader') {
      // Leadership may have moved since the caller looked; like etcd, a non-leader drops the request.
      this.logger.info({ term: this.term, transferee: to, leaderId: this.leaderId }, 'ignored leadership transfer as non-leader')
      return
    }
    if (this.leadTransferee === to || to === this.id) return
    if (this.leadTransferee !== NO_NODE) this.abortLeaderTransfer()
    // The transfer must finish within an election timeout or it is aborted (tickHeartbeat), and proposals are
    // refused meanwhile so the target can catch up.
    this.electionElapsed = 0
    this.leadTransferee = to
    this.logger.info({ term: this.term, transferee: to }, 'leadership transfer started')
    const progress = this.tracker.get(to)
    if (progress !== undefined && progress.match === this.log.lastIndex()) this.sendTimeoutNow(to)
    else this.sendAppend(to)
  }

  sendTimeoutNow (to: NodeId): void {
    this.logger.info({ term: this.term, transferee: to }, 'sent timeout now')
    this.send({ type: 'timeoutNow', to })
  }

  abortLeaderTransfer (): void {
    if (this.leadTransferee === NO_NODE) return
    this.logger.info({ term: this.term, transferee: this.leadTransferee }, 'leadership transfer aborted')
    this.leadTransferee = NO_NODE
  }
}

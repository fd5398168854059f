/**
 * The public face of the Raft core (etcd's `RawNode`): ticks, messages and requests go in, `Ready`s come out.
 *
 * Synchronous and single-threaded; the driver owns the loop: tick/step/propose, then while `hasReady()`:
 * `ready()`, persist, send, apply, `advance(ready)`. Between `ready()` and `advance()` the core may still be
 * stepped; the next `ready()` must wait for `advance()` (asserted).
 *
 * `mustSync` is true exactly when the Ready changes what must survive a crash for safety: the term, the vote
 * (Raft §5.2: never vote twice in a term), new entries (they may be acknowledged) or a snapshot. A commit-index-only
 * change needs no sync: a lost commit index is recomputed from the leader. Every message of a Ready is sent after
 * that Ready was persisted (the `Ready` contract), which is what makes votes and acknowledgements durable before
 * anyone can count them.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type Logger, type NodeId, type RaftIndex, raftIndex, type Rng, type Term } from '@gregor/common'
import { messageProblem } from './message-problem.js'
import { Raft } from './raft.js'
import { type RaftConfig, validateRaftConfig } from './raft-config.js'
import type { Entry, HardState, Message, RaftStorage, Ready, Role, SoftState } from './types.js'

export interface RawNodeDeps {
  readonly storage: RaftStorage
  readonly rng: Rng
  readonly logger: Logger
}

export interface RaftStatus {
  readonly id: NodeId
  readonly term: Term
  readonly vote: NodeId
  readonly role: Role
  readonly leaderId: NodeId
  readonly commitIndex: RaftIndex
  readonly appliedIndex: RaftIndex
  readonly lastIndex: RaftIndex
  readonly firstIndex: RaftIndex
}

export class RawNode {
  private readonly raft: Raft
  private readonly logger: Logger
  private prevSoftState: SoftState
  private prevHardState: HardState
  /** The Ready handed out and not yet advanced. */
  private pendingReady: Ready | undefined = undefined

  constructor (config: RaftConfig, deps: RawNodeDeps) {
    const valid = validateRaftConfig(config)
    this.logger = deps.logger.child({ component: 'raft', nodeId: valid.id })
    this.raft = new Raft(valid, deps.storage, deps.rng, this.logger)
    this.prevSoftState = this.raft.softState()
    // What storage holds; the Ready reports a commit index raised at load (to the snapshot or applied index).
    this.prevHardState = deps.storage.initialState().hardState
  }

  /** One logical tick: election timeouts and heartbeats are counted in ticks. */
  tick (): void {
    this.raft.tick()
  }

  /**
   * Handles a message from a peer. Throws GregorError(INVALID_REQUEST) for a message from an unknown node, to
   * another node, of a local-only or unknown type, or malformed; such a message changes nothing.
   */
  step (message: Message): void {
    const raft = this.raft
    const problem = messageProblem(message, {
      id: raft.id,
      term: raft.term,
      role: raft.role,
      lastIndex: raft.log.lastIndex(),
      isKnownPeer: (id) => raft.tracker.isKnown(id),
    })
    if (problem !== undefined) {
      this.logger.debug({ problem, type: message?.type, peerId: message?.from }, 'rejected invalid message')
      throw new GregorError(ErrorCode.INVALID_REQUEST, `invalid raft message: ${problem}`, {
        details: { problem, type: message?.type, from: message?.from, to: message?.to },
      })
    }
    this.logger.trace({ term: raft.term, type: message.type, peerId: message.from, messageTerm: message.term, index: message.index }, 'step')
    raft.step(message)
  }

  /**
   * Appends `data` to the log if this node leads. Throws GregorError(PROPOSAL_DROPPED, details.leaderId) when it
   * does not, while it transfers leadership, or when uncommitted entries would exceed uncommittedBytesMax.
   */
  propose (data: Uint8Array): { term: Term; index: RaftIndex } {
    return this.raft.propose(data)
  }

  /** Starts an election now (with PreVote when configured), as if the election timeout had passed. */
  campaign (): void {
    this.raft.hup(false)
  }

  /**
   * Raft thesis §3.10: bring `to` up to date, then tell it to campaign at once (timeoutNow); proposals are refused
   * meanwhile, and the transfer is aborted if it has not happened within an election timeout.
   * A non-leader ignores the request (leadership may have moved since the caller checked); a target that is not a
   * voter is an INVALID_REQUEST.
   */
  transferLeadership (to: NodeId): void {
    this.raft.transferLeadership(to)
  }

  /**
   * A failure hint from outside Raft (etcd's ForgetLeader): `leaderId` is believed gone, e.g. its connection died
   * with its process. A follower of that leader forgets it and may campaign within one election timeout's worth of
   * randomized ticks; anything else ignores the hint. Safe whether or not the hint is true (see `Raft.forgetLeader`).
   * Returns whether the hint changed anything.
   */
  forgetLeader (leaderId: NodeId): boolean {
    return this.raft.forgetLeader(leaderId)
  }

  /**
   * Raft thesis §6.4 ReadIndex: once this leader has confirmed with a heartbeat quorum that it still leads, a
   * `ReadState { index, context }` appears in a Ready; a read tagged `context` is linearizable once `index` is
   * applied. `context` must be unique among pending reads. Followers do not forward: they throw
   * GregorError(PROPOSAL_DROPPED, details.leaderId) so the caller can redirect.
   */
  readIndex (context: Uint8Array): void {
    this.raft.readIndex(context)
  }

  hasReady (): boolean {
    const raft = this.raft
    const soft = raft.softState()
    if (soft.role !== this.prevSoftState.role || soft.leaderId !== this.prevSoftState.leaderId) return true
    if (!hardStateEqual(raft.hardState(), this.prevHardState)) return true
    if (raft.log.unstable.snapshot !== undefined || raft.log.unstableEntries().length > 0) return true
    if (raft.messages.length > 0 || raft.readStates.length > 0) return true
    return raft.log.hasNextCommittedEntries()
  }

  ready (): Ready {
    assert(this.pendingReady === undefined, 'advance() the previous Ready before asking for the next one')
    const raft = this.raft
    const softState = raft.softState()
    const hardState = raft.hardState()
    const entries = raft.log.unstableEntries().slice()
    const snapshot = raft.log.unstable.snapshot
    const softChanged = softState.role !== this.prevSoftState.role || softState.leaderId !== this.prevSoftState.leaderId
    const hardChanged = !hardStateEqual(hardState, this.prevHardState)
    const mustSync = entries.length > 0 || snapshot !== undefined ||
      hardState.term !== this.prevHardState.term || hardState.vote !== this.prevHardState.vote
    const ready: Ready = {
      ...(softChanged ? { softState } : {}),
      ...(hardChanged ? { hardState } : {}),
      entries,
      ...(snapshot !== undefined ? { snapshot } : {}),
      committedEntries: raft.log.nextCommittedEntries(raft.config.messageBytesMax),
      messages: raft.messages,
      readStates: raft.readStates,
      mustSync,
    }
    raft.messages = []
    raft.readStates = []
    this.prevSoftState = softState
    this.prevHardState = hardState
    this.pendingReady = ready
    return ready
  }

  /** The application persisted, sent and applied everything in `ready` (which must be the last `ready()`). */
  advance (ready: Ready): void {
    assert(ready === this.pendingReady, 'advance() takes the Ready returned by the last ready()')
    this.pendingReady = undefined
    const log = this.raft.log
    const lastEntry: Entry | undefined = ready.entries[ready.entries.length - 1]
    if (lastEntry !== undefined) log.unstable.stableTo(lastEntry.index, lastEntry.term)
    if (ready.snapshot !== undefined) log.unstable.stableSnapTo(ready.snapshot.metadata.index)
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1]
    if (lastCommitted !== undefined) log.appliedTo(lastCommitted.index)
    else if (ready.snapshot !== undefined) log.appliedTo(ready.snapshot.metadata.index)
    this.raft.reduceUncommittedBytes(ready.committedEntries)
  }

  /**
   * On the leader: the voters it has heard from in the current or the previous CheckQuorum round (itself included),
   * i.e. within about two election timeouts — proof that their processes are alive. The previous round counts too,
   * so a live voter is not missing for the moment between a round's reset and its next heartbeat response. Empty on
   * any other node.
   */
  activeVoters (): NodeId[] {
    const raft = this.raft
    if (raft.role !== 'leader') return []
    return raft.tracker.voters.filter((id) =>
      id === raft.id || raft.tracker.progress.get(id)?.recentActive === true || raft.previouslyActive.has(id))
  }

  /**
   * On the leader: how far each voter's log is known to match this one (its own: the last index), for
   * DescribeQuorum's replication status; empty elsewhere, where no follower progress is tracked.
   */
  voterMatchIndexes (): ReadonlyMap<NodeId, RaftIndex> {
    const raft = this.raft
    if (raft.role !== 'leader') return new Map()
    return new Map(raft.tracker.voters.map((id) => [id, id === raft.id ? raft.log.lastIndex() : raft.tracker.progress.get(id)?.match ?? raftIndex(0)]))
  }

  status (): RaftStatus {
    const raft = this.raft
    return {
      id: raft.id,
      term: raft.term,
      vote: raft.vote,
      role: raft.role,
      leaderId: raft.leaderId,
      commitIndex: raft.log.commitIndex,
      appliedIndex: raft.log.appliedIndex,
      lastIndex: raft.log.lastIndex(),
      firstIndex: raft.log.firstIndex(),
    }
  }
}

function hardStateEqual (a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commitIndex === b.commitIndex
}

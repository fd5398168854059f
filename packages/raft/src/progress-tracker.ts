/**
 * The leader's and candidate's view of the cluster (etcd `tracker.ProgressTracker`): one `Progress` per peer, the
 * votes of the current election, and the quorum questions asked of them.
 *
 * The voter set is static. `learners` exists so observers can be added later without reshaping this: they get a
 * `Progress` (they are replicated to) but never count towards a quorum.
 */
import { type NodeId, type RaftIndex, raftIndex } from '@gregor/common'
import { Progress } from './progress.js'
import { committedIndex, majority, voteResult, type VoteResult } from './quorum.js'

export class ProgressTracker {
  readonly progress = new Map<NodeId, Progress>()
  readonly votes = new Map<NodeId, boolean>()

  constructor (
    readonly voters: readonly NodeId[],
    readonly learners: readonly NodeId[],
    private readonly inflightMessagesMax: number,
  ) {}

  isVoter (id: NodeId): boolean {
    return this.voters.includes(id)
  }

  isKnown (id: NodeId): boolean {
    return this.voters.includes(id) || this.learners.includes(id)
  }

  isSingleton (): boolean {
    return this.voters.length === 1
  }

  get (id: NodeId): Progress | undefined {
    return this.progress.get(id)
  }

  /** Fresh progress for everyone, as a new term starts: nothing is known to match, probe from the end of our log. */
  resetProgress (lastIndex: RaftIndex, self: NodeId): void {
    const add = (id: NodeId, isLearner: boolean): void => {
      const progress = new Progress({ next: raftIndex(lastIndex + 1), inflightMessagesMax: this.inflightMessagesMax, isLearner })
      if (id === self) progress.match = lastIndex
      this.progress.set(id, progress)
    }
    for (const id of this.voters) add(id, false)
    for (const id of this.learners) add(id, true)
  }

  committed (): RaftIndex {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? raftIndex(0))
  }

  resetVotes (): void {
    this.votes.clear()
  }

  /** Records `id`'s vote; a voter's first answer in an election counts, duplicates and learners are ignored. */
  recordVote (id: NodeId, granted: boolean): void {
    if (this.isVoter(id) && !this.votes.has(id)) this.votes.set(id, granted)
  }

  voteResult (): VoteResult {
    return voteResult(this.voters, this.votes)
  }

  /** Whether a majority of voters (counting `self`) was heard from since the last CheckQuorum round. */
  quorumActive (self: NodeId): boolean {
    let active = 0
    for (const id of this.voters) if (id === self || this.progress.get(id)?.recentActive === true) active++
    return active >= majority(this.voters.length)
  }

  /** Acknowledgements (by voter id) are a majority. */
  isQuorum (ids: ReadonlySet<NodeId>): boolean {
    let count = 0
    for (const id of this.voters) if (ids.has(id)) count++
    return count >= majority(this.voters.length)
  }
}

/**
 * What a leader knows about one follower's log (etcd `tracker.Progress`), and how it paces appends to it.
 *
 * States (etcd design.md):
 * ```
 *            +--------------------------------------------------------+
 *            |                  send snapshot                         |
 *            |                                                        |
 *  +---------+----------+                                  +----------v---------+
 *  |       probe        |                                  |      snapshot      |
 *  | one append per     |<---------------------------------+ no appends until   |
 *  | heartbeat round    |  snapshot acked / timed out      | acked or timed out |
 *  +---------+----------+                                  +--------------------+
 *            | append acked                   ^
 *  +---------v----------+                     | append rejected
 *  |     replicate      +---------------------+
 *  | pipelined appends, |
 *  | inflight-limited   |
 *  +--------------------+
 * ```
 * Invariants: `match < next`; `match` only grows while this node leads (a follower acknowledges only entries it
 * persisted); in snapshot state `pendingSnapshot` is the index of the snapshot sent.
 */
import { type RaftIndex, raftIndex } from '@gregor/common'
import { Inflights } from './inflights.js'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

export class Progress {
  /** The highest index known to be replicated on the follower. */
  match: RaftIndex
  /** The index of the next entry to send. */
  next: RaftIndex
  state: ProgressState = 'probe'
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot: RaftIndex = raftIndex(0)
  /** Ticks spent in snapshot state, so a lost snapshot is retried (there is no snapshot-status report). */
  snapshotTicks = 0
  /** Heard from since the last CheckQuorum round (thesis §6.2). */
  recentActive = false
  /** In probe state: an append was sent and no reply or heartbeat response has come since. */
  probeSent = false
  readonly inflights: Inflights
  /** Learners replicate but neither vote nor count for commit (kept for observers; not built yet). */
  readonly isLearner: boolean

  constructor (options: { next: RaftIndex; inflightMessagesMax: number; isLearner: boolean }) {
    this.match = raftIndex(0)
    this.next = options.next
    this.inflights = new Inflights(options.inflightMessagesMax)
    this.isLearner = options.isLearner
  }

  private resetState (state: ProgressState): void {
    this.probeSent = false
    this.pendingSnapshot = raftIndex(0)
    this.snapshotTicks = 0
    this.state = state
    this.inflights.reset()
  }

  becomeProbe (): void {
    // After a snapshot, the follower has at least the snapshot: probe right after it.
    const next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1
    this.resetState('probe')
    this.next = raftIndex(next)
  }

  becomeReplicate (): void {
    this.resetState('replicate')
    this.next = raftIndex(this.match + 1)
  }

  becomeSnapshot (snapshotIndex: RaftIndex): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
  }

  /** An acknowledgement up to `index`; returns whether it was news (not a stale or duplicated reply). */
  maybeUpdate (index: RaftIndex): boolean {
    if (index <= this.match) return false
    this.match = index
    this.next = raftIndex(Math.max(this.next, index + 1))
    this.probeSent = false
    return true
  }

  /** Appends of `count` entries up to `lastIndex` were sent. */
  sentEntries (count: number, lastIndex: RaftIndex): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = raftIndex(lastIndex + 1)
        this.inflights.add(lastIndex)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  /**
   * The follower rejected the append after `rejected`, hinting that its log matches at most up to `hint`. Returns
   * false for a stale rejection (already superseded), otherwise moves `next` back.
   */
  maybeDecrTo (rejected: RaftIndex, hint: RaftIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = raftIndex(this.match + 1)
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = raftIndex(Math.max(Math.min(rejected, hint + 1), this.match + 1))
    this.probeSent = false
    return true
  }

  /** Whether the leader should hold back appends to this follower. */
  isPaused (): boolean {
    switch (this.state) {
      case 'probe': return this.probeSent
      case 'replicate': return this.inflights.full()
      case 'snapshot': return true
    }
  }
}

/**
 * The vocabulary of the Raft core: entries, hard state, snapshots, messages and the `Ready` contract.
 *
 * These are plain data: no methods, no I/O. `protocol` maps them to and from the wire (`proto/raft.proto`), the
 * broker persists and sends what a `Ready` holds. Raft words only: `term`, `index`, `commitIndex`; a partition's
 * `offset` or `leaderEpoch` never appears here.
 */
import type { NodeId, RaftIndex, Term } from '@gregor/common'

/** "No node": vote and leader fields use 0, node ids start at 1. */
export const NO_NODE = 0 as NodeId

/**
 * One log entry. An entry with empty `data` is the no-op a new leader appends to commit entries of earlier terms
 * (Raft §5.4.2, §8); the state machine skips it.
 */
export interface Entry {
  readonly term: Term
  readonly index: RaftIndex
  readonly data: Uint8Array
}

/** What must be on stable storage before any message that depends on it is sent (Raft Fig. 2 "persistent state"). */
export interface HardState {
  readonly term: Term
  /** The candidate voted for in `term`, or NO_NODE. */
  readonly vote: NodeId
  readonly commitIndex: RaftIndex
}

export interface SnapshotMetadata {
  /** The last index the snapshot covers, and that entry's term. */
  readonly index: RaftIndex
  readonly term: Term
  /** The voter set in force at `index` (static today; membership changes will make it vary). */
  readonly voters: readonly NodeId[]
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata
  /** The application's state machine image at `metadata.index`; opaque to raft. */
  readonly data: Uint8Array
}

export type MessageType =
  | 'preVote' | 'preVoteResponse'
  | 'vote' | 'voteResponse'
  | 'append' | 'appendResponse'
  | 'heartbeat' | 'heartbeatResponse'
  | 'snapshot'
  | 'timeoutNow'

/**
 * A message between voters. Field meaning depends on `type` (as in etcd's raftpb.Message):
 * - preVote/vote: `index`/`logTerm` are the candidate's last log index and term. For preVote `term` is the term the
 *   candidate would campaign in, not its current one.
 * - append: `index`/`logTerm` identify the entry preceding `entries`; `commitIndex` is the leader's commit index.
 * - appendResponse: on success `index` is the follower's last matching index; on reject `index` is the rejected
 *   `index` and `rejectHint`/`logTerm` carry the follower's hint for fast backtracking.
 * - heartbeat: `commitIndex` is min(leader commit, follower match); `context` echoes a read-index request.
 * - snapshot: `snapshot` is set.
 */
export interface Message {
  readonly type: MessageType
  readonly from: NodeId
  readonly to: NodeId
  readonly term: Term
  readonly logTerm: Term
  readonly index: RaftIndex
  readonly entries: readonly Entry[]
  readonly commitIndex: RaftIndex
  readonly reject: boolean
  readonly rejectHint: RaftIndex
  readonly snapshot?: Snapshot
  /** Opaque bytes echoed by heartbeat responses (read-index rounds); empty otherwise. */
  readonly context: Uint8Array
  /**
   * vote only: the campaign was started by a leadership transfer (`timeoutNow`, Raft thesis §3.10), so a receiver
   * grants it even while it still hears from the current leader (the leader-lease rule of thesis §4.2.3 would
   * otherwise ignore it). Absent means false.
   */
  readonly transfer?: boolean
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile state the application may want to log or show; never persisted. */
export interface SoftState {
  readonly leaderId: NodeId
  readonly role: Role
}

/** A linearizable read point: once `index` is applied, a read tagged `context` may be served (Raft thesis §6.4). */
export interface ReadState {
  readonly index: RaftIndex
  readonly context: Uint8Array
}

/**
 * Everything the application must do, in this order:
 * 1. persist `hardState`, `entries` and `snapshot` in one atomic write, synced when `mustSync`;
 * 2. then send `messages` (fire and forget: raft tolerates loss);
 * 3. apply `snapshot` then `committedEntries` to the state machine, in order; serve `readStates` once applied;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState
  readonly hardState?: HardState
  readonly entries: readonly Entry[]
  readonly snapshot?: Snapshot
  readonly committedEntries: readonly Entry[]
  readonly messages: readonly Message[]
  readonly readStates: readonly ReadState[]
  readonly mustSync: boolean
}

/**
 * Read-only, synchronous view of the durable log that the core consults (etcd's `Storage`). The application writes
 * to it only after the corresponding `Ready` was persisted, never the core.
 */
export interface RaftStorage {
  /** Hard state and voter set as recovered from stable storage. */
  initialState (): { readonly hardState: HardState; readonly voters: readonly NodeId[] }
  /** Entries in [lo, hi), at least one if any, at most `bytesMax` of data beyond the first. */
  entries (lo: RaftIndex, hi: RaftIndex, bytesMax: number): readonly Entry[]
  /** Term of the entry at `index`; valid for firstIndex()-1 ..= lastIndex(). */
  term (index: RaftIndex): Term
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex (): RaftIndex
  lastIndex (): RaftIndex
  snapshot (): Snapshot
}

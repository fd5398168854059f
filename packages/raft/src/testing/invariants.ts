/**
 * The safety properties of Raft (paper Fig. 3, plus durability), checked by the simulation after every event and at
 * every persist and apply. A violation throws `InvariantViolation` naming the property.
 *
 * - election safety: at most one leader per term, ever (history is kept);
 * - vote safety: a node's persisted vote in a term never changes, its persisted term never decreases;
 * - log matching: two entries with the same index and term have the same data and the same predecessor term, on
 *   every node at every time (by induction: identical prefixes);
 * - committed entries are immutable: an entry once seen committed (index, term, data) never changes, a node's commit
 *   index never decreases while it runs, and after a restart its log still holds what it had committed;
 * - leader completeness: a leader of term T holds every entry committed in a term below T, checked when it is
 *   elected and when an entry is seen committed later. The term an entry was committed in is the lowest term of a
 *   node seen holding it as committed (the leader that commits it sees it first). Elections are not in term order in
 *   real time: a paused candidate may count votes of an old term after later terms committed entries;
 * - state machine safety: every node applies the same sequence (hash chain), in index order, only committed entries,
 *   and installs only snapshots of that sequence.
 *
 * Memory is proportional to the number of entries ever created in the run.
 */
import type { NodeId, RaftIndex } from '@gregor/common'
import type { MemoryStorage } from '../memory-storage.js'
import type { RaftStatus } from '../raw-node.js'
import type { Entry } from '../types.js'
import type { StateMachine } from './state-machine.js'

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation'
  constructor (readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`)
  }
}

export interface ObservedNode {
  readonly id: NodeId
  readonly up: boolean
  status (): RaftStatus
  readonly storage: MemoryStorage
}

interface NodeRecord {
  termMax: number
  /** Commit index checked so far in this incarnation, and the highest ever. */
  commitSeen: number
  commitEver: number
  /** Term in which this node was last seen leading (to detect a new leadership). */
  leaderTerm: number
}

function keyOf (data: Uint8Array): string {
  return data.length === 0 ? '' : String.fromCharCode(...data)
}

export class SafetyChecker {
  private readonly leaderByTerm = new Map<number, NodeId>()
  private readonly votes = new Map<string, NodeId>()
  private readonly created = new Map<string, { key: string; prevTerm: number | undefined }>()
  private readonly committedTerm: number[] = []
  private readonly committedKey: string[] = []
  /** Lowest term of a node seen with the entry committed: an upper bound of the term it was committed in. */
  private readonly committedInTerm: number[] = []
  private commitMax = 0
  private readonly appliedHash: number[] = [0]
  private readonly appliedTerm: number[] = [0]
  private readonly records = new Map<NodeId, NodeRecord>()

  constructor (private readonly nodes: () => readonly ObservedNode[]) {}

  committedIndexMax (): number {
    return this.commitMax
  }

  private record (id: NodeId): NodeRecord {
    let record = this.records.get(id)
    if (record === undefined) {
      record = { termMax: 0, commitSeen: 0, commitEver: 0, leaderTerm: 0 }
      this.records.set(id, record)
    }
    return record
  }

  /** Log matching, checked on every entry a node persists (after it was written to its storage). */
  onPersistEntries (node: ObservedNode, entries: readonly Entry[]): void {
    const storage = node.storage
    for (const entry of entries) {
      if (entry.index < storage.firstIndex()) continue
      const prevIndex = entry.index - 1
      const prevTerm = prevIndex >= storage.firstIndex() - 1 ? storage.term(prevIndex as RaftIndex) : undefined
      const id = `${entry.index}:${entry.term}`
      const key = keyOf(entry.data)
      const known = this.created.get(id)
      if (known === undefined) {
        this.created.set(id, { key, prevTerm })
      } else if (known.key !== key || (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm)) {
        throw new InvariantViolation('log matching', `node ${node.id} holds entry ${id} with data "${key}" after term ${prevTerm}, elsewhere "${known.key}" after term ${known.prevTerm}`)
      }
    }
  }

  /** Everything that can be checked of a running node once its Ready was processed (before any compaction). */
  afterReady (node: ObservedNode): void {
    const status = node.status()
    const record = this.record(node.id)
    this.checkTermAndVote(node, record)
    if (status.role === 'leader') this.checkLeader(node, status, record)
    this.checkCommit(node, status, record)
  }

  private checkTermAndVote (node: ObservedNode, record: NodeRecord): void {
    const { term, vote } = node.storage.hardState()
    if (term < record.termMax) throw new InvariantViolation('term monotonic', `node ${node.id} persisted term ${term} after ${record.termMax}`)
    record.termMax = term
    if (vote === 0) return
    const key = `${node.id}:${term}`
    const earlier = this.votes.get(key)
    if (earlier === undefined) this.votes.set(key, vote)
    else if (earlier !== vote) throw new InvariantViolation('vote safety', `node ${node.id} voted for ${earlier} and then ${vote} in term ${term}`)
  }

  private checkLeader (node: ObservedNode, status: RaftStatus, record: NodeRecord): void {
    const other = this.leaderByTerm.get(status.term)
    if (other !== undefined && other !== node.id) {
      throw new InvariantViolation('election safety', `nodes ${other} and ${node.id} both led term ${status.term}`)
    }
    if (record.leaderTerm === status.term) return
    this.leaderByTerm.set(status.term, node.id)
    record.leaderTerm = status.term
    // Leader completeness at election: every entry committed so far is in the new leader's log.
    const storage = node.storage
    for (let i = Math.max(storage.firstIndex(), 1); i <= this.commitMax; i++) {
      if ((this.committedInTerm[i] ?? Number.MAX_SAFE_INTEGER) < status.term) this.checkLeaderHolds(node, status.term, i)
    }
  }

  private checkLeaderHolds (leader: ObservedNode, leaderTerm: number, index: number): void {
    const term = this.committedTerm[index]
    const storage = leader.storage
    if (term === undefined || index < storage.firstIndex()) return
    const held = index <= storage.lastIndex() ? storage.term(index as RaftIndex) : undefined
    if (held !== term) {
      throw new InvariantViolation('leader completeness', `leader ${leader.id} of term ${leaderTerm} holds term ${held} at committed index ${index} (term ${term})`)
    }
  }

  private checkCommit (node: ObservedNode, status: RaftStatus, record: NodeRecord): void {
    if (status.commitIndex < record.commitSeen) {
      throw new InvariantViolation('commit monotonic', `node ${node.id} commit index went from ${record.commitSeen} to ${status.commitIndex}`)
    }
    const storage = node.storage
    for (let i = Math.max(record.commitSeen + 1, storage.firstIndex()); i <= status.commitIndex; i++) {
      const entry = storage.entries(i as RaftIndex, (i + 1) as RaftIndex, Number.MAX_SAFE_INTEGER)[0] as Entry
      this.recordCommitted(node, status.term, entry)
    }
    record.commitSeen = status.commitIndex
    record.commitEver = Math.max(record.commitEver, status.commitIndex)
  }

  private recordCommitted (node: ObservedNode, observerTerm: number, entry: Entry): void {
    const key = keyOf(entry.data)
    const knownTerm = this.committedTerm[entry.index]
    if (knownTerm !== undefined) {
      if (knownTerm !== entry.term || this.committedKey[entry.index] !== key) {
        throw new InvariantViolation('committed entry changed', `node ${node.id} committed index ${entry.index} as term ${entry.term} "${key}", earlier term ${knownTerm} "${this.committedKey[entry.index]}"`)
      }
      this.committedInTerm[entry.index] = Math.min(this.committedInTerm[entry.index] as number, observerTerm)
      return
    }
    this.committedTerm[entry.index] = entry.term
    this.committedKey[entry.index] = key
    this.committedInTerm[entry.index] = observerTerm
    this.commitMax = Math.max(this.commitMax, entry.index)
    const appliedTerm = this.appliedTerm[entry.index]
    if (appliedTerm !== undefined && appliedTerm !== entry.term) {
      throw new InvariantViolation('state machine safety', `index ${entry.index} applied as term ${appliedTerm} but committed as term ${entry.term}`)
    }
    // Leader completeness for an entry seen committed late: every leader of a later term must hold it already.
    for (const other of this.nodes()) {
      if (!other.up) continue
      const status = other.status()
      if (status.role === 'leader' && status.term > observerTerm) this.checkLeaderHolds(other, status.term, entry.index)
    }
  }

  /** State machine safety: `node` applied `entry` and its state became `after`. */
  onApply (node: ObservedNode, before: StateMachine, entry: Entry, after: StateMachine): void {
    if (entry.index !== before.appliedIndex + 1) {
      throw new InvariantViolation('state machine safety', `node ${node.id} applied index ${entry.index} after ${before.appliedIndex}`)
    }
    const known = this.appliedHash[entry.index]
    if (known === undefined) {
      if (this.appliedHash[before.appliedIndex] !== before.hash) {
        throw new InvariantViolation('state machine safety', `node ${node.id} extended a state at ${before.appliedIndex} that no one else had`)
      }
      this.appliedHash[entry.index] = after.hash
      this.appliedTerm[entry.index] = entry.term
    } else if (known !== after.hash || this.appliedTerm[entry.index] !== entry.term) {
      throw new InvariantViolation('state machine safety', `node ${node.id} applied a different entry at index ${entry.index} (term ${entry.term})`)
    }
    const committedTerm = this.committedTerm[entry.index]
    if (committedTerm !== undefined && (committedTerm !== entry.term || this.committedKey[entry.index] !== keyOf(entry.data))) {
      throw new InvariantViolation('state machine safety', `node ${node.id} applied index ${entry.index} which differs from the committed entry`)
    }
  }

  onInstallSnapshot (node: ObservedNode, state: StateMachine): void {
    if (this.appliedHash[state.appliedIndex] !== state.hash) {
      throw new InvariantViolation('state machine safety', `node ${node.id} installed a snapshot at ${state.appliedIndex} that matches no applied state`)
    }
  }

  /** Durability: a restarted node kept its term and everything it had committed. */
  onRestart (node: ObservedNode): void {
    const record = this.record(node.id)
    const storage = node.storage
    const { term } = storage.hardState()
    if (term < record.termMax) throw new InvariantViolation('term monotonic', `node ${node.id} restarted with term ${term} after ${record.termMax}`)
    if (record.commitEver > storage.lastIndex()) {
      throw new InvariantViolation('committed entry lost', `node ${node.id} restarted with last index ${storage.lastIndex()} below its commit ${record.commitEver}`)
    }
    for (let i = storage.firstIndex(); i <= record.commitEver; i++) {
      const committedTerm = this.committedTerm[i]
      if (committedTerm !== undefined && storage.term(i as RaftIndex) !== committedTerm) {
        throw new InvariantViolation('committed entry lost', `node ${node.id} restarted with term ${storage.term(i as RaftIndex)} at committed index ${i}`)
      }
    }
    record.commitSeen = 0
    record.leaderTerm = 0
  }
}

/**
 * The one async loop around the synchronous Raft core (ARCHITECTURE.md §4): drain the inbox (ticks, inbound
 * messages, proposals), then for each Ready: persist it in one atomic batch, send its messages, apply what committed,
 * advance. Snapshots the state machine every `snapshotEntries` applied entries so the log stays bounded.
 *
 * Invariants:
 * - Nothing touches the core while an await is pending: network callbacks, timers and callers only enqueue.
 * - Messages of a Ready leave only after that Ready is durable (raft's "persist before send" rule).
 * - Every queue is bounded: the inbox drops messages beyond `inboxMessagesMax` (raft tolerates loss), proposals
 *   beyond `proposalsPendingMax` fail at once, and a pending proposal fails with REQUEST_TIMED_OUT after
 *   `proposalTimeoutMs` (its outcome is then unknown, as with any timed-out write).
 * - No entry above `entryDataBytesMax` (@gregor/raft) is proposed: followers' decoders refuse it, so it would never
 *   commit and every later proposal would wait behind it. `propose` refuses one at once with MESSAGE_TOO_LARGE, as
 *   the controller refuses an oversized metadata batch.
 */
import { type Clock, ErrorCode, GregorError, isGregorError, type Logger, type NodeId, type RaftIndex, type Term, type TimerHandle, type Timers } from '@gregor/common'
import { type Entry, entryDataBytesMax, type MemoryStorage, type Message, type RawNode, type Ready, type Snapshot, type SoftState } from '@gregor/raft'

/** The replicated state machine the driver applies committed entries to. Synchronous: apply must not await. */
export interface StateMachine {
  /** Applies one committed entry; entries with empty data are raft no-ops and are passed for completeness. */
  apply (entry: Entry): void
  snapshot (): Uint8Array
  restore (snapshot: Snapshot): void
}

export interface RaftDriverConfig {
  readonly tickIntervalMs: number
  readonly snapshotEntries: number
  readonly inboxMessagesMax: number
  readonly proposalsPendingMax: number
  readonly proposalTimeoutMs: number
}

export const defaultRaftDriverConfig: RaftDriverConfig = Object.freeze({
  tickIntervalMs: 50,
  snapshotEntries: 10_000,
  inboxMessagesMax: 10_000,
  proposalsPendingMax: 10_000,
  proposalTimeoutMs: 5_000,
})

/**
 * Where raft's durable state lives: the level-backed `RaftStore` in production, an in-memory store that survives
 * simulated crashes in the whole-cluster simulation. `persist` makes a Ready's hard state, entries and snapshot
 * durable atomically (synced when `mustSync`) and only then shows them to the core through `storage`.
 */
export interface RaftLogStore {
  readonly storage: MemoryStorage
  persist (ready: Ready): Promise<void>
  saveSnapshot (index: RaftIndex, data: Uint8Array): Promise<Snapshot>
}

/** Where the driver's outbound messages go: fire and forget (raft retransmits what matters). */
export interface RaftMessageTransport {
  send (message: Message): void
}

export interface RaftDriverDeps {
  readonly node: RawNode
  readonly store: RaftLogStore
  /** Tick timer and proposal deadlines (real in production, virtual in the simulation). */
  readonly timers: Timers
  readonly clock: Clock
  readonly transport: RaftMessageTransport
  readonly stateMachine: StateMachine
  readonly logger: Logger
  /** Role or leader changed (called after the Ready that carries the change was persisted). */
  readonly onSoftState?: (softState: SoftState) => void
}

interface PendingProposal {
  readonly term: Term
  readonly deadlineMs: number
  readonly resolve: (result: { index: RaftIndex }) => void
  readonly reject: (error: GregorError) => void
}

interface QueuedProposal {
  readonly data: Uint8Array
  readonly resolve: (result: { index: RaftIndex }) => void
  readonly reject: (error: GregorError) => void
}

export class RaftDriver {
  readonly #config: RaftDriverConfig
  readonly #deps: RaftDriverDeps
  readonly #log: Logger
  #inbox: Message[] = []
  #proposals: QueuedProposal[] = []
  #transfers: NodeId[] = []
  #peersGone: NodeId[] = []
  #reads: Array<{ readonly context: Uint8Array; readonly resolve: () => void; readonly reject: (error: GregorError) => void }> = []
  readonly #pendingReads = new Map<string, { readonly resolve: () => void; readonly reject: (error: GregorError) => void; readonly deadlineMs: number; index?: RaftIndex }>()
  #readSequence = 0
  #ticks = 0
  readonly #pending = new Map<RaftIndex, PendingProposal>()
  #wake: (() => void) | undefined
  #timer: TimerHandle | undefined
  #stopped = false
  #loop: Promise<void> | undefined
  #appliedIndex: RaftIndex
  droppedMessages = 0

  constructor (config: RaftDriverConfig, deps: RaftDriverDeps) {
    this.#config = config
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'raft-driver' })
    this.#appliedIndex = deps.store.storage.firstIndex() - 1 as RaftIndex
  }

  get appliedIndex (): RaftIndex { return this.#appliedIndex }

  start (): void {
    this.#timer = this.#deps.timers.setInterval(() => { this.#ticks++; this.#notify() }, this.#config.tickIntervalMs)
    this.#loop = this.#run().catch((error: unknown) => {
      // A failed persist means the durable state is unknown: continuing could break raft's guarantees.
      this.#log.error({ err: error }, 'raft driver failed')
      throw error
    })
  }

  /** Inbound message from the network; dropped when the inbox is full (raft retransmits what matters). */
  receive (message: Message): void {
    if (this.#inbox.length >= this.#config.inboxMessagesMax) { this.droppedMessages++; return }
    this.#inbox.push(message)
    this.#notify()
  }

  /** Resolves once the entry committed and was applied here; an entry above the raft entry limit is refused at once. */
  async propose (data: Uint8Array): Promise<{ index: RaftIndex }> {
    if (this.#stopped) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'raft driver stopped')
    if (data.byteLength > entryDataBytesMax) {
      throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE,
        `an entry of ${data.byteLength} bytes is above the ${entryDataBytesMax}-byte limit of one raft entry`,
        { details: { bytes: data.byteLength, entryDataBytesMax } })
    }
    if (this.#pending.size + this.#proposals.length >= this.#config.proposalsPendingMax) {
      throw new GregorError(ErrorCode.PROPOSAL_DROPPED, 'too many proposals pending', { details: { pending: this.#pending.size } })
    }
    return await new Promise((resolve, reject) => {
      this.#proposals.push({ data, resolve, reject })
      this.#notify()
    })
  }

  /**
   * Resolves once this node's state machine reflects every entry committed before the call (Raft thesis §6.4
   * ReadIndex): the leader confirms it still leads with a heartbeat round, then waits until it applied that index.
   * Fails with PROPOSAL_DROPPED (retriable, with leaderId) on a follower.
   */
  async linearizableRead (): Promise<void> {
    if (this.#stopped) throw new GregorError(ErrorCode.SHUTTING_DOWN, 'raft driver stopped')
    if (this.#pendingReads.size + this.#reads.length >= this.#config.proposalsPendingMax) {
      throw new GregorError(ErrorCode.PROPOSAL_DROPPED, 'too many reads pending')
    }
    const context = Buffer.from(`read-${++this.#readSequence}`)
    return await new Promise((resolve, reject) => {
      this.#reads.push({ context, resolve, reject })
      this.#notify()
    })
  }

  transferLeadership (to: NodeId): void {
    this.#transfers.push(to)
    this.#notify()
  }

  /**
   * The transport saw the last stream from `peerId` close: if it leads, the Raft core forgets it and elects a new
   * leader without waiting out the lease (`RawNode.forgetLeader`; a wrong hint is harmless). Bounded: a repeat of a
   * queued hint is not queued again.
   */
  peerGone (peerId: NodeId): void {
    if (this.#peersGone.includes(peerId)) return
    this.#peersGone.push(peerId)
    this.#notify()
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#timer?.cancel()
    this.#notify()
    await this.#loop?.catch(() => {})
    const stopping = new GregorError(ErrorCode.SHUTTING_DOWN, 'raft driver stopped')
    for (const proposal of this.#proposals) proposal.reject(stopping)
    for (const pending of this.#pending.values()) pending.reject(stopping)
    for (const read of [...this.#reads, ...this.#pendingReads.values()]) read.reject(stopping)
    this.#proposals = []
    this.#pending.clear()
    this.#reads = []
    this.#pendingReads.clear()
  }

  #notify (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  async #run (): Promise<void> {
    while (!this.#stopped) {
      if (this.#inbox.length === 0 && this.#proposals.length === 0 && this.#reads.length === 0 && this.#transfers.length === 0 && this.#peersGone.length === 0 && this.#ticks === 0) {
        await new Promise<void>((resolve) => { this.#wake = resolve })
        continue
      }
      this.#drain()
      const { node } = this.#deps
      while (node.hasReady() && !this.#stopped) await this.#handleReady()
    }
  }

  #drain (): void {
    const { node } = this.#deps
    const ticks = this.#ticks
    this.#ticks = 0
    for (let i = 0; i < ticks; i++) node.tick()
    if (ticks > 0) this.#expireProposals()
    const inbox = this.#inbox
    this.#inbox = []
    for (const message of inbox) {
      try {
        node.step(message)
      } catch (error) {
        if (!isGregorError(error)) throw error
        this.#log.warn({ err: { code: error.code, message: error.message, details: error.details }, from: message.from }, 'raft message rejected')
      }
    }
    for (const peerId of this.#peersGone.splice(0)) node.forgetLeader(peerId)
    for (const to of this.#transfers.splice(0)) {
      try {
        node.transferLeadership(to)
      } catch (error) {
        if (!isGregorError(error)) throw error
        this.#log.warn({ to, err: { code: error.code, message: error.message } }, 'leadership transfer refused')
      }
    }
    const proposals = this.#proposals
    this.#proposals = []
    for (const proposal of proposals) this.#proposeOne(proposal)
    for (const read of this.#reads.splice(0)) this.#readOne(read)
  }

  #readOne (read: { readonly context: Uint8Array; readonly resolve: () => void; readonly reject: (error: GregorError) => void }): void {
    try {
      this.#deps.node.readIndex(read.context)
      this.#pendingReads.set(Buffer.from(read.context).toString(), { resolve: read.resolve, reject: read.reject, deadlineMs: this.#deps.clock.nowMs() + this.#config.proposalTimeoutMs })
    } catch (error) {
      if (!isGregorError(error)) throw error
      read.reject(error)
    }
  }

  /** Serves reads whose read index is known and applied. */
  #settleReads (): void {
    for (const [key, read] of this.#pendingReads) {
      if (read.index === undefined || read.index > this.#appliedIndex) continue
      this.#pendingReads.delete(key)
      read.resolve()
    }
  }

  #proposeOne (proposal: QueuedProposal): void {
    try {
      const { term, index } = this.#deps.node.propose(proposal.data)
      this.#pending.set(index, { term, deadlineMs: this.#deps.clock.nowMs() + this.#config.proposalTimeoutMs, resolve: proposal.resolve, reject: proposal.reject })
    } catch (error) {
      if (!isGregorError(error)) throw error
      proposal.reject(error)
    }
  }

  async #handleReady (): Promise<void> {
    const { node, store, transport, stateMachine } = this.#deps
    const ready = node.ready()
    await store.persist(ready)
    for (const message of ready.messages) transport.send(message)
    if (ready.softState !== undefined) {
      this.#log.info({ ...ready.softState, term: node.status().term }, 'raft role changed')
      this.#deps.onSoftState?.(ready.softState)
    }
    if (ready.snapshot !== undefined) {
      stateMachine.restore(ready.snapshot)
      this.#appliedIndex = ready.snapshot.metadata.index
      this.#failPendingUpTo(this.#appliedIndex)
    }
    for (const entry of ready.committedEntries) {
      stateMachine.apply(entry)
      this.#appliedIndex = entry.index
      this.#settle(entry)
    }
    for (const readState of ready.readStates) {
      const read = this.#pendingReads.get(Buffer.from(readState.context).toString())
      if (read !== undefined) read.index = readState.index
    }
    this.#settleReads()
    node.advance(ready)
    await this.#maybeSnapshot()
  }

  #settle (entry: Entry): void {
    const pending = this.#pending.get(entry.index)
    if (pending === undefined) return
    this.#pending.delete(entry.index)
    if (pending.term === entry.term) pending.resolve({ index: entry.index })
    // Another leader's entry took this index: ours was never committed.
    else pending.reject(new GregorError(ErrorCode.PROPOSAL_DROPPED, 'proposal overwritten by a new leader', { details: { index: entry.index } }))
  }

  #failPendingUpTo (index: RaftIndex): void {
    for (const [pendingIndex, pending] of this.#pending) {
      if (pendingIndex > index) continue
      this.#pending.delete(pendingIndex)
      // The snapshot hides whether our entry or another leader's was committed at this index.
      pending.reject(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'proposal outcome unknown after snapshot install', { details: { index: pendingIndex } }))
    }
  }

  #expireProposals (): void {
    const nowMs = this.#deps.clock.nowMs()
    for (const [key, read] of this.#pendingReads) {
      if (read.deadlineMs > nowMs) continue
      this.#pendingReads.delete(key)
      read.reject(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'read index not confirmed in time'))
    }
    for (const [index, pending] of this.#pending) {
      if (pending.deadlineMs > nowMs) continue
      this.#pending.delete(index)
      pending.reject(new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'proposal not committed in time', { details: { index } }))
    }
  }

  async #maybeSnapshot (): Promise<void> {
    const { store, stateMachine } = this.#deps
    if (this.#appliedIndex - store.storage.firstIndex() + 1 < this.#config.snapshotEntries) return
    await store.saveSnapshot(this.#appliedIndex, stateMachine.snapshot())
  }
}

/**
 * One simulated node: a RawNode driven exactly as the broker's driver drives it (persist the Ready, then send, then
 * apply, then advance), over a live MemoryStorage backed by a `SimDisk` that loses unsynced writes on a crash, and a
 * hash-chain state machine that the application snapshots every `snapshotEveryEntries` applied entries.
 *
 * A crash discards the RawNode and the state machine; a restart rebuilds both from what the disk kept (state
 * machine from the snapshot), like a process restart. The node reports persists, applies and Ready rounds to the
 * `SafetyChecker`.
 */
import { type Logger, type NodeId, raftIndex, type Rng } from '@gregor/common'
import type { MemoryStorage } from '../memory-storage.js'
import type { RaftConfig } from '../raft-config.js'
import { type RaftStatus, RawNode } from '../raw-node.js'
import type { Entry, Message, Ready, Role } from '../types.js'
import type { ObservedNode, SafetyChecker } from './invariants.js'
import { SimDisk } from './sim-disk.js'
import { applyEntry, decodeStateMachine, encodeStateMachine, initialStateMachine, type StateMachine } from './state-machine.js'

export interface SimNodeOptions {
  readonly config: Omit<RaftConfig, 'id' | 'appliedIndex'>
  readonly snapshotEveryEntries: number
  /** Entries kept in the log behind a snapshot (so slightly lagging followers need no snapshot). */
  readonly snapshotKeepEntries: number
  readonly rng: Rng
  readonly logger: Logger
  readonly checker: SafetyChecker
  readonly send: (m: Message) => void
  readonly onApply?: (entry: Entry) => void
  readonly onRoleChange?: (node: SimNode, role: Role) => void
}

export class SimNode implements ObservedNode {
  up = true
  incarnation = 0
  /** Frozen (no ticks, inbound messages wait) until this virtual time. */
  pausedUntilMs = 0
  storage: MemoryStorage
  stateMachine: StateMachine = initialStateMachine
  private raw: RawNode
  private readonly disk: SimDisk

  constructor (readonly id: NodeId, private readonly options: SimNodeOptions) {
    this.disk = new SimDisk(options.config.voters)
    this.storage = this.disk.load()
    this.raw = this.start()
  }

  private start (): RawNode {
    const snapshot = this.storage.snapshot()
    this.stateMachine = snapshot.metadata.index === 0 ? initialStateMachine : decodeStateMachine(snapshot.data)
    const config: RaftConfig = { ...this.options.config, id: this.id, appliedIndex: snapshot.metadata.index }
    return new RawNode(config, { storage: this.storage, rng: this.options.rng, logger: this.options.logger })
  }

  status (): RaftStatus {
    return this.raw.status()
  }

  node (): RawNode {
    return this.raw
  }

  crash (): void {
    this.up = false
    this.pausedUntilMs = 0
    this.incarnation++
    this.storage = this.disk.crash(this.options.rng)
  }

  restart (): void {
    this.up = true
    this.options.checker.onRestart(this)
    this.raw = this.start()
    this.processReadies()
  }

  tick (): void {
    this.raw.tick()
    this.processReadies()
  }

  step (m: Message): void {
    this.raw.step(m)
    this.processReadies()
  }

  /** A failure hint from the transport: `leaderId` is believed gone. */
  forgetLeader (leaderId: NodeId): boolean {
    const forgot = this.raw.forgetLeader(leaderId)
    this.processReadies()
    return forgot
  }

  /** The driver loop body, until the node has nothing more to hand out. */
  processReadies (): void {
    while (this.raw.hasReady()) {
      const ready = this.raw.ready()
      if (ready.softState !== undefined) this.options.onRoleChange?.(this, ready.softState.role)
      this.persist(ready)
      for (const m of ready.messages) this.options.send(m)
      this.apply(ready)
      this.raw.advance(ready)
      this.options.checker.afterReady(this)
    }
    this.maybeSnapshot()
  }

  private persist (ready: Ready): void {
    const write = {
      kind: 'ready' as const,
      entries: ready.entries,
      ...(ready.hardState !== undefined ? { hardState: ready.hardState } : {}),
      ...(ready.snapshot !== undefined ? { snapshot: ready.snapshot } : {}),
    }
    if (write.entries.length === 0 && write.hardState === undefined && write.snapshot === undefined) return
    if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot)
    this.storage.append(ready.entries)
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState)
    this.disk.write(write, ready.mustSync)
    this.options.checker.onPersistEntries(this, ready.entries)
  }

  private apply (ready: Ready): void {
    if (ready.snapshot !== undefined) {
      this.stateMachine = decodeStateMachine(ready.snapshot.data)
      this.options.checker.onInstallSnapshot(this, this.stateMachine)
    }
    for (const entry of ready.committedEntries) {
      const before = this.stateMachine
      this.stateMachine = applyEntry(before, entry.data)
      this.options.checker.onApply(this, before, entry, this.stateMachine)
      this.options.onApply?.(entry)
    }
  }

  /** The application snapshots its state machine every so many entries and compacts the log behind it. */
  private maybeSnapshot (): void {
    const applied = this.stateMachine.appliedIndex
    const snapshotIndex = this.storage.snapshot().metadata.index
    if (applied - snapshotIndex < this.options.snapshotEveryEntries) return
    const compactIndex = raftIndex(Math.max(snapshotIndex, applied - this.options.snapshotKeepEntries))
    const write = { kind: 'snapshot' as const, index: applied, data: encodeStateMachine(this.stateMachine), compactIndex }
    this.storage.createSnapshot(write.index, write.data)
    this.storage.compact(write.compactIndex)
    this.disk.write(write, true)
  }

  lostWrites (): number {
    return this.disk.lostWrites
  }
}

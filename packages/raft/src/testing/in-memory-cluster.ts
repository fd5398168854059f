/**
 * A scripted cluster of RawNodes for rule tests (etcd's `network` in raft_test.go): messages queue up and are
 * delivered only when the test says so, through links the test can cut.
 *
 * Each node persists its Ready to a MemoryStorage the way a driver would (snapshot, entries, hard state, then
 * messages, then apply, then advance); storage here is always durable, so `restart` reloads exactly what was
 * persisted. Deterministic: the only randomness is a seeded Rng per node.
 */
import { type Logger, type NodeId, nodeId, type RaftIndex, raftIndex, type Rng, seededRng, silentLogger, term } from '@gregor/common'
import { MemoryStorage } from '../memory-storage.js'
import { defaultRaftConfig, type RaftConfig } from '../raft-config.js'
import { type RaftStatus, RawNode } from '../raw-node.js'
import { type Entry, type Message, NO_NODE, type ReadState, type Ready } from '../types.js'

export interface ClusterNode {
  readonly id: NodeId
  raw: RawNode
  storage: MemoryStorage
  /** Applied entries with data (no-ops skipped), in order, since the last restart. */
  applied: Entry[]
  readStates: ReadState[]
  /** Every Ready this node produced (for tests of the Ready contract). */
  readies: Ready[]
}

export interface InMemoryClusterOptions {
  readonly size: number
  readonly seed?: number
  readonly config?: Partial<Omit<RaftConfig, 'id' | 'voters'>>
  readonly logger?: Logger
  /**
   * Pre-existing logs, as the terms of entries 1, 2, ... per node id (payload `t<term>i<index>`); the node's stored
   * term is the last entry's term. For the paper's figures (Fig. 7, Fig. 8).
   */
  readonly logs?: Readonly<Record<number, readonly number[]>>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const bytes = (text: string): Uint8Array => encoder.encode(text)
export const text = (data: Uint8Array): string => decoder.decode(data)

export class InMemoryCluster {
  readonly voters: readonly NodeId[]
  readonly nodes = new Map<NodeId, ClusterNode>()
  /** Messages sent and not yet delivered, in send order. */
  inFlight: Message[] = []
  private readonly cut = new Set<string>()
  private readonly rngs = new Map<NodeId, Rng>()
  /** Drops a message when it returns true (in addition to cut links). */
  dropIf: ((m: Message) => boolean) | undefined = undefined

  constructor (private readonly options: InMemoryClusterOptions) {
    this.voters = Array.from({ length: options.size }, (_, i) => nodeId(i + 1))
    for (const id of this.voters) {
      this.rngs.set(id, seededRng((options.seed ?? 1) * 1000 + id))
      const storage = new MemoryStorage({ voters: this.voters })
      const terms = options.logs?.[id] ?? []
      storage.append(terms.map((t, i) => ({ term: term(t), index: raftIndex(i + 1), data: bytes(`t${t}i${i + 1}`) })))
      storage.setHardState({ term: term(terms[terms.length - 1] ?? 0), vote: NO_NODE, commitIndex: raftIndex(0) })
      this.nodes.set(id, { id, raw: this.newRawNode(id, storage), storage, applied: [], readStates: [], readies: [] })
    }
  }

  private newRawNode (id: NodeId, storage: MemoryStorage): RawNode {
    const config: RaftConfig = {
      ...defaultRaftConfig,
      appliedIndex: storage.snapshot().metadata.index,
      ...this.options.config,
      id,
      voters: this.voters,
    }
    return new RawNode(config, { storage, rng: this.rngs.get(id) as Rng, logger: this.options.logger ?? silentLogger })
  }

  get (id: NodeId | number): ClusterNode {
    const node = this.nodes.get(id as NodeId)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  raw (id: NodeId | number): RawNode {
    return this.get(id).raw
  }

  status (id: NodeId | number): RaftStatus {
    return this.get(id).raw.status()
  }

  /** Applied payloads of `id` as text. */
  appliedText (id: NodeId | number): string[] {
    return this.get(id).applied.map((entry) => text(entry.data))
  }

  /** The terms of `id`'s stored log from its first index on. */
  logTerms (id: NodeId | number): number[] {
    const storage = this.get(id).storage
    const terms: number[] = []
    for (let i = storage.firstIndex(); i <= storage.lastIndex(); i++) terms.push(storage.term(raftIndex(i)))
    return terms
  }

  /** The leader with the highest term, if any node thinks it leads. */
  leader (): NodeId | undefined {
    let best: RaftStatus | undefined
    for (const node of this.nodes.values()) {
      const status = node.raw.status()
      if (status.role === 'leader' && (best === undefined || status.term > best.term)) best = status
    }
    return best?.id
  }

  /** Persists, "sends" (queues) and applies every pending Ready of `id`, as a driver would. */
  processReady (id: NodeId | number): void {
    const node = this.get(id)
    while (node.raw.hasReady()) {
      const ready = node.raw.ready()
      node.readies.push(ready)
      if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot)
      node.storage.append(ready.entries)
      if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState)
      this.inFlight.push(...ready.messages)
      if (ready.snapshot !== undefined) node.applied = []
      for (const entry of ready.committedEntries) if (entry.data.length > 0) node.applied.push(entry)
      node.readStates.push(...ready.readStates)
      node.raw.advance(ready)
    }
  }

  processAll (): void {
    for (const id of this.voters) this.processReady(id)
  }

  tick (id: NodeId | number, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.raw(id).tick()
      this.processReady(id)
    }
  }

  /** Ticks every node `times` times, round-robin, delivering nothing. */
  tickAll (times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.voters) this.tick(id)
  }

  campaign (id: NodeId | number): void {
    this.raw(id).campaign()
    this.processReady(id)
  }

  propose (id: NodeId | number, data: string): { term: number; index: RaftIndex } {
    const result = this.raw(id).propose(bytes(data))
    this.processReady(id)
    return result
  }

  /** Takes the queued messages out without delivering them (to inspect or deliver selectively). */
  takeMessages (filter: (m: Message) => boolean = () => true): Message[] {
    const taken = this.inFlight.filter(filter)
    this.inFlight = this.inFlight.filter((m) => !filter(m))
    return taken
  }

  /** Delivers one message (unless its link is cut or it is dropped) and processes the receiver's Ready. */
  deliver (m: Message): void {
    if (this.cut.has(`${m.from}>${m.to}`) || this.dropIf?.(m) === true) return
    this.raw(m.to).step(m)
    this.processReady(m.to)
  }

  /** Delivers everything in flight once; what that produces stays queued. Returns how many were in flight. */
  deliverAll (): number {
    const batch = this.takeMessages()
    for (const m of batch) this.deliver(m)
    return batch.length
  }

  /** Delivers until no message is in flight. */
  stabilize (roundsMax = 100): void {
    this.processAll()
    for (let round = 0; round < roundsMax; round++) {
      if (this.deliverAll() === 0) return
    }
    throw new Error('cluster did not stabilize')
  }

  /** Campaigns `id`, delivers everything, and checks it won. */
  elect (id: NodeId | number): void {
    this.campaign(id)
    this.stabilize()
    const status = this.status(id)
    if (status.role !== 'leader') throw new Error(`node ${id} did not become leader (role ${status.role}, term ${status.term})`)
  }

  /** Cuts both directions between `a` and `b`. */
  cutLink (a: NodeId | number, b: NodeId | number): void {
    this.cut.add(`${a}>${b}`)
    this.cut.add(`${b}>${a}`)
  }

  cutOneWay (from: NodeId | number, to: NodeId | number): void {
    this.cut.add(`${from}>${to}`)
  }

  isolate (id: NodeId | number): void {
    for (const other of this.voters) if (other !== id) this.cutLink(id, other)
  }

  heal (): void {
    this.cut.clear()
    this.dropIf = undefined
  }

  /** The application snapshots `id`'s applied state at `index` and compacts its log up to it. */
  compact (id: NodeId | number, index: RaftIndex): void {
    const node = this.get(id)
    node.storage.createSnapshot(index, bytes(`snapshot@${index}`))
    node.storage.compact(index)
  }

  /** Restarts `id` from what it persisted: a new RawNode over the same storage, state machine from the snapshot. */
  restart (id: NodeId | number): void {
    const node = this.get(id)
    node.raw = this.newRawNode(node.id, node.storage)
    node.applied = []
    node.readStates = []
    this.inFlight = this.inFlight.filter((m) => m.from !== node.id)
  }
}

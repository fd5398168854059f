/**
 * One deterministic simulation run: N RawNodes on a seeded scheduler and network, a nemesis that crashes nodes and
 * partitions links, clients proposing to whoever leads, and the SafetyChecker watching every Ready. After the fault
 * phase everything heals and a new proposal must reach every node's state machine within the liveness window.
 *
 * Everything, from message delays to which node crashes, comes from the seed: `runSimulation(drawSimParams(seed))`
 * replays a failure exactly. A failure carries the violated invariant and the tail of the event trace.
 */
import { isGregorError, type NodeId, nodeId, type Rng, seededRng, silentLogger } from '@gregor/common'
import type { Entry, Message, Role } from '../types.js'
import { InvariantViolation, SafetyChecker } from './invariants.js'
import { SimNetwork } from './sim-network.js'
import { SimNode } from './sim-node.js'
import type { NemesisWeights, SimParams } from './sim-params.js'
import { SimScheduler } from './sim-scheduler.js'

export interface SimFailure {
  readonly invariant: string
  readonly message: string
  readonly timeMs: number
  readonly trace: readonly string[]
}

export interface SimResult {
  readonly seed: number
  readonly events: number
  readonly virtualTimeMs: number
  readonly failure?: SimFailure
  readonly stats: { readonly committed: number; readonly crashes: number; readonly partitions: number; readonly lostWrites: number; readonly leadersForgotten: number }
}

const traceLength = 60
/** A run that needs more events than this is stuck in a loop (a failure in itself). */
const eventsMax = 5_000_000
const encoder = new TextEncoder()

class Trace {
  private readonly lines: string[] = []
  private next = 0
  constructor (private readonly scheduler: SimScheduler) {}

  add (line: string): void {
    this.lines[this.next % traceLength] = `${this.scheduler.nowMs.toFixed(1)}ms ${line}`
    this.next++
  }

  tail (): string[] {
    const start = Math.max(0, this.next - traceLength)
    return Array.from({ length: this.next - start }, (_, i) => this.lines[(start + i) % traceLength] as string)
  }
}

function describeMessage (m: Message): string {
  const parts = [`${m.type} ${m.from}->${m.to} term=${m.term}`]
  if (m.index !== 0 || m.logTerm !== 0) parts.push(`index=${m.index} logTerm=${m.logTerm}`)
  if (m.entries.length > 0) parts.push(`entries=${m.entries[0]?.index}..${m.entries[m.entries.length - 1]?.index}`)
  if (m.commitIndex !== 0) parts.push(`commit=${m.commitIndex}`)
  if (m.reject) parts.push(`reject hint=${m.rejectHint}`)
  if (m.snapshot !== undefined) parts.push(`snapshot=${m.snapshot.metadata.index}`)
  return parts.join(' ')
}

export class SimCluster {
  readonly scheduler = new SimScheduler()
  readonly nodes: SimNode[]
  readonly network: SimNetwork
  readonly checker: SafetyChecker
  readonly trace: Trace
  private readonly rng: Rng
  private healed = false
  private proposals = 0
  private probeIndex = 0
  private crashes = 0
  /** Heals the current partition (see `cut`). */
  private healPartition: () => void = () => {}
  private partitions = 0
  private leadersForgotten = 0

  constructor (readonly params: SimParams) {
    this.rng = seededRng(params.seed)
    this.trace = new Trace(this.scheduler)
    this.checker = new SafetyChecker(() => this.nodes)
    this.network = new SimNetwork(this.scheduler, this.rng, params.network, (m) => this.deliver(m))
    const voters = Array.from({ length: params.nodeCount }, (_, i) => nodeId(i + 1))
    this.nodes = voters.map((id) => new SimNode(id, {
      config: {
        voters,
        electionTicks: params.electionTicks,
        heartbeatTicks: params.heartbeatTicks,
        preVote: params.preVote,
        checkQuorum: params.checkQuorum,
        messageBytesMax: params.messageBytesMax,
        inflightMessagesMax: params.inflightMessagesMax,
        uncommittedBytesMax: params.uncommittedBytesMax,
      },
      snapshotEveryEntries: params.snapshotEveryEntries,
      snapshotKeepEntries: params.snapshotKeepEntries,
      rng: seededRng(params.seed * 31 + id),
      logger: silentLogger,
      checker: this.checker,
      send: (m) => this.network.send(m),
      onApply: (entry) => this.onApply(entry),
      onRoleChange: (node, role) => this.onRoleChange(node, role),
    }))
  }

  private node (id: NodeId): SimNode {
    return this.nodes[id - 1] as SimNode
  }

  private deliver (m: Message): void {
    const node = this.node(m.to)
    if (!node.up) return
    if (node.pausedUntilMs > this.scheduler.nowMs) {
      this.scheduler.at(node.pausedUntilMs, () => this.deliver(m))
      return
    }
    this.trace.add(describeMessage(m))
    node.step(m)
  }

  private onRoleChange (node: SimNode, role: Role): void {
    this.trace.add(`node ${node.id} became ${role} term=${node.status().term}`)
    if (role !== 'leader' || this.healed || this.rng.next() >= this.params.newLeaderFaultProbability) return
    const incarnation = node.incarnation
    const crash = this.rng.next() < 0.2
    const { delayMinMs, delayMeanMs } = this.params.network
    this.scheduler.after(this.rng.next() * 8 * (delayMinMs + delayMeanMs), () => {
      if (this.healed || !node.up || node.incarnation !== incarnation) return
      if (crash) this.crash(node)
      else this.isolate(node, this.faultDurationMs())
    })
  }

  /** Notes where the first liveness probe landed ("live-..." is the only payload starting with 'l'). */
  private onApply (entry: Entry): void {
    if (this.probeIndex === 0 && entry.data[0] === 0x6c) this.probeIndex = entry.index
  }

  /** Runs the whole scenario; returns instead of throwing. */
  run (): SimResult {
    try {
      this.schedule()
      const deadlineMs = this.params.faultPhaseMs + this.params.livenessWindowMs
      while (!this.livenessReached()) {
        if (this.scheduler.nowMs > deadlineMs) throw new InvariantViolation('liveness', `no proposal reached every node within ${this.params.livenessWindowMs}ms after healing: ${this.describeNodes()}`)
        if (this.scheduler.eventsRun > eventsMax) throw new InvariantViolation('liveness', `more than ${eventsMax} events`)
        if (!this.scheduler.runNext()) throw new InvariantViolation('liveness', 'no events left')
      }
      return this.result()
    } catch (error) {
      const invariant = error instanceof InvariantViolation ? error.invariant : isGregorError(error) ? `error ${error.code}` : 'crash'
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
      return this.result({ invariant, message, timeMs: this.scheduler.nowMs, trace: this.trace.tail() })
    }
  }

  private result (failure?: SimFailure): SimResult {
    return {
      seed: this.params.seed,
      events: this.scheduler.eventsRun,
      virtualTimeMs: this.scheduler.nowMs,
      ...(failure === undefined ? {} : { failure }),
      stats: {
        committed: this.checker.committedIndexMax(),
        crashes: this.crashes,
        partitions: this.partitions,
        lostWrites: this.nodes.reduce((sum, node) => sum + node.lostWrites(), 0),
        leadersForgotten: this.leadersForgotten,
      },
    }
  }

  private describeNodes (): string {
    return this.nodes.map((node) => {
      if (!node.up) return `${node.id}:down`
      const s = node.status()
      return `${node.id}:${s.role} term=${s.term} commit=${s.commitIndex} applied=${node.stateMachine.appliedIndex} last=${s.lastIndex}`
    }).join(', ')
  }

  private livenessReached (): boolean {
    if (!this.healed || this.probeIndex === 0) return false
    return this.nodes.every((node) => node.up && node.stateMachine.appliedIndex >= this.probeIndex)
  }

  private schedule (): void {
    for (const node of this.nodes) this.scheduleTicks(node, this.params.tickIntervalMs[node.id - 1] as number)
    this.scheduler.after(this.exponential(this.params.proposalMeanIntervalMs), () => this.proposeRandom())
    this.scheduler.after(this.exponential(this.params.nemesisMeanIntervalMs), () => this.nemesis())
    this.scheduler.at(this.params.faultPhaseMs, () => this.heal())
  }

  private scheduleTicks (node: SimNode, intervalMs: number): void {
    const tick = (): void => {
      if (node.up && node.pausedUntilMs <= this.scheduler.nowMs) node.tick()
      this.scheduler.after(intervalMs, tick)
    }
    this.scheduler.after(intervalMs * this.rng.next(), tick)
  }

  private exponential (meanMs: number): number {
    return -Math.log(1 - this.rng.next()) * meanMs
  }

  private leaders (): SimNode[] {
    return this.nodes.filter((node) => node.up && node.status().role === 'leader')
  }

  private pick<T> (items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.rng.int(0, items.length)]
  }

  /** A client proposes to a node that believes it leads (sometimes to any node, which must refuse cleanly). */
  private proposeRandom (): void {
    if (this.healed) return
    const target = this.rng.next() < 0.9 ? this.pick(this.leaders()) : this.pick(this.nodes.filter((node) => node.up))
    if (target !== undefined) this.propose(target, `p${++this.proposals}:${'x'.repeat(this.rng.int(0, 48))}`)
    this.scheduler.after(this.exponential(this.params.proposalMeanIntervalMs), () => this.proposeRandom())
  }

  private propose (node: SimNode, payload: string): void {
    try {
      const { index } = node.node().propose(encoder.encode(payload))
      this.trace.add(`propose ${payload.slice(0, 12)} to ${node.id} -> index ${index}`)
      node.processReadies()
    } catch (error) {
      if (!isGregorError(error) || error.code !== 'PROPOSAL_DROPPED') throw error
    }
  }

  private nemesis (): void {
    if (this.healed) return
    const action = this.chooseAction(this.params.nemesis)
    if (action !== undefined) this.runAction(action)
    this.scheduler.after(this.exponential(this.params.nemesisMeanIntervalMs), () => this.nemesis())
  }

  private chooseAction (weights: NemesisWeights): keyof NemesisWeights | undefined {
    const entries = Object.entries(weights) as Array<[keyof NemesisWeights, number]>
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
    if (total === 0) return undefined
    let r = this.rng.next() * total
    for (const [name, weight] of entries) {
      r -= weight
      if (r < 0) return name
    }
    return undefined
  }

  private faultDurationMs (): number {
    return this.params.faultDurationMinMs + this.rng.next() * (this.params.faultDurationMaxMs - this.params.faultDurationMinMs)
  }

  private runAction (action: keyof NemesisWeights): void {
    const up = this.nodes.filter((node) => node.up)
    switch (action) {
      case 'crashNode': return this.crash(this.pick(up))
      case 'crashLeader': return this.crash(this.pick(this.leaders()))
      case 'crashMajority': return this.crashMajority()
      case 'pauseNode': return this.pause(this.rng.next() < 0.5 ? this.pick(this.leaders()) : this.pick(up))
      case 'isolateNode': return this.isolate(this.pick(this.nodes), this.faultDurationMs())
      case 'isolateLeader': return this.isolate(this.pick(this.leaders()), this.faultDurationMs())
      case 'splitHalves': return this.splitHalves()
      case 'oneWay': return this.oneWay()
      case 'flapLink': return this.flapLink()
      case 'healAll':
        this.trace.add('heal all links')
        this.network.healAll()
    }
  }

  private crash (node: SimNode | undefined): void {
    if (node === undefined || !node.up) return
    this.crashes++
    node.crash()
    this.trace.add(`crash node ${node.id}`)
    this.hint(node.id, this.nodes.filter((other) => other !== node))
    const incarnation = node.incarnation
    this.scheduler.after(this.faultDurationMs(), () => {
      if (!node.up && node.incarnation === incarnation) this.restart(node)
    })
  }

  /**
   * With `failureHintProbability`, tells each of `to` a moment later that `about` is gone, as the transport does when
   * the stream from `about` breaks. A paused or crashed receiver misses it.
   */
  private hint (about: NodeId, to: readonly SimNode[]): void {
    if (this.rng.next() >= this.params.failureHintProbability) return
    const { delayMinMs, delayMeanMs } = this.params.network
    for (const node of to) {
      const incarnation = node.incarnation
      this.scheduler.after(delayMinMs + this.rng.next() * delayMeanMs, () => {
        if (!node.up || node.incarnation !== incarnation || node.pausedUntilMs > this.scheduler.nowMs) return
        this.trace.add(`hint to node ${node.id}: node ${about} gone`)
        if (node.forgetLeader(about)) this.leadersForgotten++
      })
    }
  }

  private pause (node: SimNode | undefined): void {
    if (node === undefined || node.pausedUntilMs > this.scheduler.nowMs) return
    node.pausedUntilMs = this.scheduler.nowMs + this.faultDurationMs()
    this.trace.add(`pause node ${node.id} until ${node.pausedUntilMs.toFixed(1)}ms`)
  }

  private crashMajority (): void {
    const count = this.rng.int(Math.floor(this.nodes.length / 2) + 1, this.nodes.length + 1)
    const victims = this.nodes.slice()
    for (let i = 0; i < count; i++) {
      const j = this.rng.int(i, victims.length)
      ;[victims[i], victims[j]] = [victims[j] as SimNode, victims[i] as SimNode]
      this.crash(victims[i])
    }
  }

  private restart (node: SimNode): void {
    this.trace.add(`restart node ${node.id}`)
    node.restart()
  }

  /**
   * Cuts `links` for `durationMs`. A partition replaces the previous one (which heals now): a new leader cut off
   * while the previously cut-off node comes back is the rotation of Raft Fig. 8. Flapping links (`replace` false)
   * overlap with everything.
   */
  private cut (describe: string, links: Array<readonly [NodeId, NodeId]>, durationMs: number, replace = true): void {
    this.partitions++
    if (replace) this.healPartition()
    this.trace.add(`${describe} for ${durationMs.toFixed(0)}ms`)
    const heal = this.network.cut(links)
    for (const [from, to] of links) this.hint(from, [this.node(to)])
    let healed = false
    const healOnce = (): void => {
      if (healed) return
      healed = true
      this.trace.add(`healed: ${describe}`)
      heal()
    }
    if (replace) this.healPartition = healOnce
    this.scheduler.after(durationMs, healOnce)
  }

  private isolate (node: SimNode | undefined, durationMs: number): void {
    if (node === undefined) return
    const links = this.nodes.filter((other) => other !== node).flatMap((other) => [[node.id, other.id] as const, [other.id, node.id] as const])
    this.cut(`isolate node ${node.id}`, links, durationMs)
  }

  private splitHalves (): void {
    const shuffled = this.nodes.map((node) => node.id)
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i + 1)
      ;[shuffled[i], shuffled[j]] = [shuffled[j] as NodeId, shuffled[i] as NodeId]
    }
    const size = this.rng.int(1, shuffled.length)
    const sideA = shuffled.slice(0, size)
    const sideB = shuffled.slice(size)
    const links = sideA.flatMap((a) => sideB.flatMap((b) => [[a, b] as const, [b, a] as const]))
    this.cut(`split ${sideA.join(',')} | ${sideB.join(',')}`, links, this.faultDurationMs())
  }

  /** A single link flaps: down one way or both for up to ten ticks (FoundationDB's clogging). */
  private flapLink (): void {
    const from = this.pick(this.nodes)
    const to = this.pick(this.nodes.filter((node) => node !== from))
    if (from === undefined || to === undefined) return
    const both = this.rng.next() < 0.5
    const links: Array<readonly [NodeId, NodeId]> = both ? [[from.id, to.id], [to.id, from.id]] : [[from.id, to.id]]
    this.cut(`cut ${from.id}${both ? '<' : ''}->${to.id}`, links, this.rng.next() * 10 * (this.params.tickIntervalMs[0] as number), false)
  }

  /** One node can send but not receive, or receive but not send (often the leader: a zombie or a deaf leader). */
  private oneWay (): void {
    const node = this.rng.next() < 0.5 ? this.pick(this.leaders()) ?? this.pick(this.nodes) : this.pick(this.nodes)
    if (node === undefined) return
    const inbound = this.rng.next() < 0.5
    const links = this.nodes.filter((other) => other !== node).map((other) => inbound ? [other.id, node.id] as const : [node.id, other.id] as const)
    this.cut(`one-way: node ${node.id} ${inbound ? 'cannot receive' : 'cannot send'}`, links, this.faultDurationMs())
  }

  /** End of the fault phase: heal the network, restart every node, stop dropping; then probe for liveness. */
  private heal (): void {
    this.healed = true
    this.network.healAll()
    this.network.faults = { ...this.network.faults, dropProbability: 0, duplicateProbability: 0 }
    this.trace.add('fault phase over: healed')
    for (const node of this.nodes) {
      node.pausedUntilMs = 0
      if (!node.up) this.restart(node)
    }
    this.probe(0)
  }

  private probe (attempt: number): void {
    if (this.probeIndex !== 0) return
    const leader = this.leaders().sort((a, b) => b.status().term - a.status().term)[0]
    if (leader !== undefined) this.propose(leader, `live-${attempt}`)
    this.scheduler.after(100, () => this.probe(attempt + 1))
  }
}

export function runSimulation (params: SimParams): SimResult {
  return new SimCluster(params).run()
}

/**
 * One whole-cluster simulation run: N brokers (raft voter, controller, replica manager, group coordinator, logs on a
 * simulated disk) built by the same `BrokerNode` composition as production, idempotent acks=all producers and group
 * consumers, all in one process on the raft simulation's seeded scheduler with a virtual clock. A nemesis injects
 * network, process, disk and clock faults; after every event the invariants (cluster-invariants.ts) are checked.
 * After the fault phase everything heals, and liveness is checked: every partition led with a full ISR and every
 * acknowledged record readable, within the liveness window.
 *
 * Determinism: the broker code is asynchronous, so after each scheduler event the run waits one `setImmediate`
 * turn, which drains every promise the event set off (nothing here does real I/O or uses real timers), before the
 * next event. Everything else comes from the seed.
 */
import { isGregorError, seededRng, type Rng } from '@gregor/common'
import { SimScheduler } from '@gregor/raft/testing'
import { ClusterInvariants, ClusterInvariantViolation } from './cluster-invariants.js'
import type { ClusterNemesisWeights, ClusterSimParams } from './cluster-sim-params.js'
import { SimBroker } from './sim-broker.js'
import { SimClient } from './sim-client.js'
import { SimGroupConsumer } from './sim-group-consumer.js'
import { SimProcess } from './sim-process.js'
import { SimProducer } from './sim-producer.js'
import { SimRpcNetwork } from './sim-rpc-network.js'

export interface ClusterSimFailure {
  readonly invariant: string
  readonly message: string
  readonly timeMs: number
}

export interface ClusterSimResult {
  readonly seed: number
  readonly events: number
  readonly virtualTimeMs: number
  readonly failure?: ClusterSimFailure
  readonly trace: readonly string[]
  readonly stats: {
    readonly acknowledged: number
    readonly consumed: number
    readonly faults: number
    readonly crashes: number
    readonly producerResets: number
    readonly checks: number
  }
}

/** A run needing more events than this is stuck in a loop (a failure in itself). */
const eventsMax = 3_000_000
const traceTailLength = 200
export const TOPIC = 'sim'
export const GROUP = 'sim-group'
/** Client process ids start here (brokers are 1..N). */
const clientIdBase = 100

class Trace {
  readonly #lines: string[] = []
  #next = 0
  readonly #scheduler: SimScheduler
  readonly #all: boolean
  readonly #kept: string[] = []
  constructor (scheduler: SimScheduler, all: boolean) {
    this.#scheduler = scheduler
    this.#all = all
  }

  add (line: string): void {
    const stamped = `${this.#scheduler.nowMs.toFixed(1)}ms ${line}`
    if (this.#all) this.#kept.push(stamped)
    this.#lines[this.#next % traceTailLength] = stamped
    this.#next++
  }

  lines (): string[] {
    if (this.#all) return this.#kept
    const start = Math.max(0, this.#next - traceTailLength)
    return Array.from({ length: this.#next - start }, (_, i) => this.#lines[(start + i) % traceTailLength] as string)
  }
}

export class ClusterSimulation {
  readonly params: ClusterSimParams
  readonly scheduler = new SimScheduler()
  readonly invariants = new ClusterInvariants()
  readonly network: SimRpcNetwork
  readonly brokers: SimBroker[]
  readonly trace: Trace
  readonly #rng: Rng
  readonly #clients = new Map<number, SimProcess>()
  readonly #producers: SimProducer[] = []
  readonly #consumers: SimGroupConsumer[] = []
  #healed = false
  #faults = 0
  /** Partition directory → the one broker whose copy of it the nemesis may corrupt (the fault atlas). */
  readonly #corruptedOn = new Map<string, number>()
  #crashes = 0
  /** Broker id → the metadata index of the image last checked for soundness. */
  readonly #imageChecked = new Map<number, number>()
  /** A crash armed to follow the next acknowledgement (given the broker that acknowledged it). */
  #afterAck: ((leaderId: number) => void) | undefined
  /** Undo actions of the faults in force (heal runs them all). */
  readonly #undo = new Set<() => void>()
  #unhandled: () => unknown = () => undefined

  constructor (params: ClusterSimParams, options: { traceAll?: boolean } = {}) {
    this.params = params
    this.#rng = seededRng(params.seed)
    this.trace = new Trace(this.scheduler, options.traceAll ?? false)
    this.network = new SimRpcNetwork(this.scheduler, seededRng(params.seed * 31 + 7), params.network, (id) => this.#processOf(id))
    const brokerIds = Array.from({ length: params.brokerCount }, (_, i) => i + 1)
    this.brokers = brokerIds.map((id) => new SimBroker({
      id, brokerIds, scheduler: this.scheduler, network: this.network, seed: params.seed, syncLatencyMeanMs: params.syncLatencyMeanMs,
      peer: (brokerId) => this.brokers[brokerId - 1],
      onProduceAcknowledged: () => { this.#acknowledged(id) },
      trace: (line) => { this.trace.add(`b${id} ${line}`) },
    }))
  }

  #processOf (id: number): SimProcess | undefined {
    return id < clientIdBase ? this.brokers[id - 1]?.process : this.#clients.get(id)
  }

  async run (): Promise<ClusterSimResult> {
    // A promise rejected with nobody to catch it is a bug in the code under test: the run fails with it.
    let unhandled: unknown
    const onUnhandled = (reason: unknown): void => { unhandled ??= reason }
    process.on('unhandledRejection', onUnhandled)
    this.#unhandled = () => unhandled
    try {
      for (const broker of this.brokers) broker.start()
      await this.#runUntil(() => this.#topicReady(), 30_000, 'the topic was not created')
      this.#startWorkload()
      this.#scheduleNemesis()
      const healAtMs = this.scheduler.nowMs + this.params.faultPhaseMs
      await this.#runUntil(() => this.scheduler.nowMs >= healAtMs, this.params.faultPhaseMs + 1_000, 'the fault phase did not end')
      this.#heal()
      await this.#runUntil(() => this.#settled(), this.params.livenessWindowMs, 'the cluster did not recover after healing')
      for (const broker of this.brokers) this.#checkBroker(broker, true)
      this.invariants.checkEveryAcknowledgedRecordStored()
      return this.#result()
    } catch (error) {
      const invariant = error instanceof ClusterInvariantViolation ? error.invariant : isGregorError(error) ? `error ${error.code}` : 'crash'
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
      return this.#result({ invariant, message, timeMs: this.scheduler.nowMs })
    } finally {
      process.off('unhandledRejection', onUnhandled)
      for (const broker of this.brokers) broker.crash()
      for (const client of this.#clients.values()) client.kill()
    }
  }

  /** Runs events until `done()` (checked after each), failing on a timeout, an empty queue or a violation. */
  async #runUntil (done: () => boolean, withinMs: number, what: string): Promise<void> {
    const deadlineMs = this.scheduler.nowMs + withinMs
    while (!done()) {
      if (this.scheduler.nowMs > deadlineMs) throw new ClusterInvariantViolation('liveness', `${what} within ${withinMs} ms: ${this.#describe()}`)
      if (this.scheduler.eventsRun > eventsMax) throw new ClusterInvariantViolation('liveness', `more than ${eventsMax} events`)
      if (!this.scheduler.runNext()) throw new ClusterInvariantViolation('liveness', `no events left: ${this.#describe()}`)
      await new Promise<void>((resolve) => { setImmediate(resolve) })
      const unhandled = this.#unhandled()
      if (unhandled !== undefined) {
        throw new ClusterInvariantViolation('no unhandled error', unhandled instanceof Error ? (unhandled.stack ?? unhandled.message) : String(unhandled))
      }
      this.#checkAll(this.scheduler.eventsRun % 997 === 0)
    }
  }

  #checkAll (full: boolean): void {
    for (const broker of this.brokers) this.#checkBroker(broker, full)
  }

  #checkBroker (broker: SimBroker, full: boolean): void {
    if (!broker.running) return
    const status = broker.quorumStatus()
    if (status !== undefined) this.invariants.observeRole(broker.id, status.term, status.role === 'leader')
    for (const { index, fingerprint } of broker.newlyCommittedMetadata()) this.invariants.observeCommittedMetadata(broker.id, index, fingerprint)
    const image = broker.image()
    if (image !== undefined && this.#imageChecked.get(broker.id) !== image.appliedIndex) {
      this.#imageChecked.set(broker.id, image.appliedIndex)
      this.invariants.checkMetadataImage(broker.id, image.appliedIndex, image.invariantProblems())
    }
    for (const replica of broker.replicaViews(TOPIC)) this.invariants.checkReplica(replica, full)
  }

  #topicReady (): boolean {
    const broker = this.brokers.find((item) => item.running && item.isController())
    if (broker === undefined) return false
    return broker.ensureTopic(TOPIC, this.params.partitions)
  }

  #client (name: string): SimClient {
    const id = clientIdBase + this.#clients.size
    const process = new SimProcess(this.scheduler, id, 0)
    this.#clients.set(id, process)
    return new SimClient({
      process, network: this.network, brokers: (brokerId) => this.brokers[brokerId - 1]?.api(),
      brokerIds: this.brokers.map((broker) => broker.id), rng: seededRng(this.params.seed * 131 + id), requestTimeoutMs: 3_000,
    })
  }

  #startWorkload (): void {
    const traceLine = (line: string): void => { this.trace.add(line) }
    for (let partition = 0; partition < this.params.partitions; partition++) {
      const producer = new SimProducer(this.#client(`producer-${partition}`), {
        name: `p${partition}`, topic: TOPIC, partition, batchRecordsMax: this.params.batchRecordsMax,
        sendIntervalMs: this.params.producerIntervalMs, deliveryTimeoutMs: 20_000, retryBackoffMs: 100,
        maxInFlight: this.params.producerMaxInFlight,
      }, this.invariants, traceLine)
      this.#producers.push(producer)
      producer.start()
    }
    for (let i = 0; i < this.params.consumers; i++) {
      const consumer = new SimGroupConsumer(this.#client(`consumer-${i}`), {
        name: `c${i}`, groupId: GROUP, topic: TOPIC, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500,
        fetchIntervalMs: 50, commitIntervalMs: 1_000,
      }, this.invariants, traceLine)
      this.#consumers.push(consumer)
      consumer.start()
    }
  }

  // ---- the nemesis ----

  /**
   * Runs a crash armed by the nemesis right after broker `leaderId` sent an acknowledgement: as the next event, so the
   * answer is already on the wire (the network delivers it whatever happens to its sender) while a replica counted
   * for it may still be syncing.
   */
  #acknowledged (leaderId: number): void {
    const action = this.#afterAck
    if (action === undefined || this.#healed) return
    this.#afterAck = undefined
    this.scheduler.after(0, () => { if (!this.#healed) action(leaderId) })
  }

  #exponential (meanMs: number): number {
    return -Math.log(1 - this.#rng.next()) * meanMs
  }

  #pick<T> (items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.#rng.int(0, items.length)]
  }

  #durationMs (): number {
    const { faultDurationMinMs, faultDurationMaxMs } = this.params
    return faultDurationMinMs + this.#rng.next() * (faultDurationMaxMs - faultDurationMinMs)
  }

  #scheduleNemesis (): void {
    const next = (): void => {
      if (this.#healed) return
      const action = this.#choose(this.params.nemesis)
      if (action !== undefined) this.#inject(action)
      this.scheduler.after(this.#exponential(this.params.nemesisMeanIntervalMs), next)
    }
    this.scheduler.after(this.#exponential(this.params.nemesisMeanIntervalMs), next)
  }

  #choose (weights: ClusterNemesisWeights): keyof ClusterNemesisWeights | undefined {
    const entries = Object.entries(weights) as Array<[keyof ClusterNemesisWeights, number]>
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
    let r = this.#rng.next() * total
    for (const [name, weight] of entries) {
      r -= weight
      if (r < 0) return name
    }
    return undefined
  }

  /** Runs `undo` after a fault duration (drawn unless given), or at healing, whichever is first. */
  #temporary (what: string, undo: () => void, durationMs = this.#durationMs()): void {
    this.#faults++
    this.trace.add(`nemesis ${what}`)
    let done = false
    const once = (): void => {
      if (done) return
      done = true
      this.#undo.delete(once)
      this.trace.add(`nemesis undo ${what}`)
      undo()
    }
    this.#undo.add(once)
    this.scheduler.after(durationMs, once)
  }

  #inject (action: keyof ClusterNemesisWeights): void {
    const running = this.brokers.filter((broker) => broker.running)
    const ids = this.brokers.map((broker) => broker.id)
    switch (action) {
      case 'crashBroker': return this.#crash(this.#pick(running))
      case 'crashController': return this.#crash(running.find((broker) => broker.isController()))
      case 'crashAll': return this.#powerLoss('nemesis power loss: every broker crashes')
      case 'crashLeaderAfterAck': {
        this.#afterAck = (leaderId) => {
          this.trace.add(`nemesis crash b${leaderId} right after it acknowledged`)
          this.#crash(this.brokers[leaderId - 1])
        }
        return
      }
      case 'powerLossAfterAck': {
        this.#afterAck = () => { this.#powerLoss('nemesis power loss right after an ack: every broker crashes') }
        return
      }
      case 'pauseBroker': {
        const broker = this.#pick(running)
        if (broker === undefined) return
        broker.process.pause()
        const process = broker.process
        this.#temporary(`pause b${broker.id}`, () => { process.resume() })
        return
      }
      case 'isolateBroker': {
        const broker = this.#pick(this.brokers)
        if (broker === undefined) return
        const others = [...ids.filter((id) => id !== broker.id), ...this.#clients.keys()]
        const heal = this.network.cut(others.flatMap((id) => [[broker.id, id] as const, [id, broker.id] as const]))
        this.#temporary(`isolate b${broker.id}`, heal)
        return
      }
      case 'oneWay': {
        const from = this.#pick(ids) as number
        const to = this.#pick(ids.filter((id) => id !== from)) as number
        this.#temporary(`cut b${from}->b${to}`, this.network.cut([[from, to]]))
        return
      }
      case 'cutFromController': {
        const controller = running.find((broker) => broker.isController())
        const broker = this.#pick(running.filter((item) => item !== controller))
        if (controller === undefined || broker === undefined) return
        // Longer than the broker session timeout (3 s), so the broker is fenced while it can still fetch.
        const durationMs = 3_500 + this.#rng.next() * 5_000
        this.#temporary(`cut b${broker.id}->controller b${controller.id}`, this.network.cut([[broker.id, controller.id]]), durationMs)
        return
      }
      case 'bridge': {
        const bridge = this.#pick(ids) as number
        const [a, b] = ids.filter((id) => id !== bridge)
        if (a === undefined || b === undefined) return
        this.#temporary(`bridge via b${bridge}: b${a} and b${b} cut`, this.network.cut([[a, b], [b, a]]))
        return
      }
      case 'isolateFromClients': {
        const broker = this.#pick(this.brokers) as SimBroker
        const clients = [...this.#clients.keys()]
        this.#temporary(`clients cut from b${broker.id}`, this.network.cut(clients.flatMap((id) => [[broker.id, id] as const, [id, broker.id] as const])))
        return
      }
      case 'fsyncFails': {
        const broker = this.#pick(running)
        if (broker === undefined) return
        this.#faults++
        this.trace.add(`nemesis next fsync fails on b${broker.id}`)
        broker.disk.failNextSync('')
        return
      }
      case 'diskFull': {
        const broker = this.#pick(this.brokers) as SimBroker
        broker.disk.setFull(true)
        this.#temporary(`disk full on b${broker.id}`, () => { broker.disk.setFull(false) })
        return
      }
      case 'readErrors': {
        const broker = this.#pick(this.brokers) as SimBroker
        broker.disk.failReads('', true)
        this.#temporary(`read errors on b${broker.id}`, () => { broker.disk.failReads('', false) })
        return
      }
      case 'flipByte': {
        // A fault atlas, as TigerBeetle's VOPR keeps one: a partition's log is corrupted on one broker at most, so
        // some intact copy of every committed record always exists and the cluster is expected to recover.
        const broker = this.#pick(this.brokers) as SimBroker
        const flipped = broker.flipRandomByte(this.#rng, (partitionDir) => {
          const owner = this.#corruptedOn.get(partitionDir)
          return owner === undefined || owner === broker.id
        })
        if (flipped !== undefined) {
          this.#corruptedOn.set(flipped.partitionDir, broker.id)
          this.#faults++
          this.trace.add(`nemesis flipped a byte of ${flipped.path} at ${flipped.position} on b${broker.id}`)
        }
        return
      }
      case 'clockJump': {
        const broker = this.#pick(running)
        if (broker === undefined) return
        const deltaMs = this.#rng.int(100, 3_000)
        this.#faults++
        this.trace.add(`nemesis clock of b${broker.id} jumps ${deltaMs} ms`)
        broker.process.jumpClock(deltaMs)
        return
      }
      case 'healAll': {
        for (const undo of [...this.#undo]) undo()
        return
      }
    }
  }

  /**
   * Power loss of the whole host: every running broker crashes at once and loses what it had not synced. One of them
   * comes back late (a slow boot), after the others' sessions are up again and its own has expired: the controller
   * then moves its leaderships to the replicas that are back, whatever they kept of what they had reported.
   */
  #powerLoss (what: string): void {
    const running = this.brokers.filter((broker) => broker.running)
    if (running.length === 0) return
    this.#faults++
    this.trace.add(what)
    const late = this.#pick(running)
    for (const broker of running) this.#crash(broker, true, broker === late ? this.#durationMs() + 4_000 + this.#rng.next() * 4_000 : this.#durationMs())
  }

  #crash (broker: SimBroker | undefined, powerLoss = false, downMs = this.#durationMs()): void {
    if (broker === undefined || !broker.running) return
    this.#crashes++
    if (!powerLoss) this.#faults++
    broker.crash()
    // Power loss (and, as drawn per seed, a plain crash: a kernel panic) loses what was not synced: all of it, or
    // a random prefix of each file's unsynced appends.
    const loses = powerLoss || this.#rng.next() < this.params.crashLosesUnsyncedProbability
    const all = loses && this.#rng.next() < this.params.unsyncedAllLostProbability
    this.trace.add(`nemesis crash b${broker.id}${powerLoss ? ' (power loss)' : ''}${loses ? (all ? ': every unsynced byte lost' : ': unsynced tail cut') : ''}`)
    if (loses) broker.disk.crash(all ? undefined : this.#rng)
    this.scheduler.after(downMs, () => { if (!broker.running) this.#restart(broker) })
  }

  #restart (broker: SimBroker): void {
    this.trace.add(`restart b${broker.id}`)
    broker.start()
  }

  #heal (): void {
    this.#healed = true
    this.trace.add('heal: every fault undone, crashed brokers restart')
    for (const undo of [...this.#undo]) undo()
    this.network.healAll()
    this.network.faults = { dropProbability: 0, duplicateProbability: 0, delayMinMs: 0.2, delayMeanMs: 1 }
    for (const broker of this.brokers) {
      broker.disk.setFull(false)
      broker.disk.failReads('', false)
      broker.process.resume()
      if (!broker.running) this.#restart(broker)
    }
    for (const producer of this.#producers) producer.stop()
  }

  /** Liveness: every partition has a leader and a full ISR, and every replica's high watermark is the log end. */
  #settled (): boolean {
    if (this.brokers.some((broker) => !broker.running)) return false
    const controller = this.brokers.find((broker) => broker.isController())
    if (controller === undefined) return false
    return controller.partitionsSettled(TOPIC, this.params.brokerCount) && this.brokers.every((broker) => broker.replicasCaughtUp(TOPIC))
  }

  #describe (): string {
    return this.brokers.map((broker) => broker.describe()).join(' | ')
  }

  #result (failure?: ClusterSimFailure): ClusterSimResult {
    return {
      seed: this.params.seed,
      events: this.scheduler.eventsRun,
      virtualTimeMs: this.scheduler.nowMs,
      ...(failure === undefined ? {} : { failure }),
      trace: this.trace.lines(),
      stats: {
        acknowledged: this.invariants.acknowledgedCount,
        consumed: this.#consumers.reduce((sum, consumer) => sum + consumer.consumed, 0),
        faults: this.#faults,
        crashes: this.#crashes,
        producerResets: this.#producers.reduce((sum, producer) => sum + producer.resets, 0),
        checks: this.invariants.checks,
      },
    }
  }
}

export async function runClusterSimulation (params: ClusterSimParams, options: { traceAll?: boolean } = {}): Promise<ClusterSimResult> {
  return await new ClusterSimulation(params, options).run()
}

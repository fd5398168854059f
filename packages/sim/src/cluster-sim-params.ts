/**
 * What one whole-cluster seed runs: cluster size, workload, network and disk fault mix, all drawn from the seed
 * (swarm testing: each seed gets its own mix, so rare combinations come up across seeds instead of never).
 */
import { type Rng, seededRng } from '@gregor/common'
import type { LinkFaults } from './sim-rpc-network.js'

export interface ClusterNemesisWeights {
  crashBroker: number
  /** Crash the broker that leads the metadata quorum (the active controller). */
  crashController: number
  /** Power loss of the whole host: every broker crashes at once and loses what it had not synced. */
  crashAll: number
  /**
   * Crash the broker that just acknowledged a batch, right after the ack (a plain crash, unsynced loss as drawn):
   * the window in which an acknowledged record exists only where the high watermark counted it.
   */
  crashLeaderAfterAck: number
  /** Power loss of the whole host right after an ack: what was unsynced is lost while the ack is fresh. */
  powerLossAfterAck: number
  /** SIGSTOP for a while: timers and messages wait, then run late, with stale views. */
  pauseBroker: number
  isolateBroker: number
  /** One direction of one broker pair. */
  oneWay: number
  /** A sees B and C; B and C do not see each other. */
  bridge: number
  /**
   * Cut one broker -> the active controller, one way, for longer than the broker session timeout: the broker is
   * fenced while it can still fetch from the other leaders (the situation KIP-841 is about).
   */
  cutFromController: number
  /** Cut a leader of partitions off from the clients only. */
  isolateFromClients: number
  fsyncFails: number
  diskFull: number
  readErrors: number
  flipByte: number
  clockJump: number
  healAll: number
}

export interface ClusterSimParams {
  readonly seed: number
  readonly brokerCount: number
  readonly partitions: number
  readonly consumers: number
  /** Faults happen during [0, faultPhaseMs); then everything heals and liveness is checked. */
  readonly faultPhaseMs: number
  /** After healing, every partition must have a leader and a full ISR, and every acked record be readable, within this. */
  readonly livenessWindowMs: number
  readonly network: LinkFaults
  readonly nemesisMeanIntervalMs: number
  readonly nemesis: ClusterNemesisWeights
  readonly faultDurationMinMs: number
  readonly faultDurationMaxMs: number
  readonly producerIntervalMs: number
  readonly batchRecordsMax: number
  /** Batches a producer keeps in flight per partition (1..5, as Kafka's idempotent producer allows). */
  readonly producerMaxInFlight: number
  /** Probability that a plain crash (not a power loss) also loses unsynced writes (a kernel panic). */
  readonly crashLosesUnsyncedProbability: number
  /**
   * Probability that a crash losing unsynced writes loses every unsynced byte; otherwise a random prefix of each
   * file's unsynced appends survives (pages the kernel happened to write back).
   */
  readonly unsyncedAllLostProbability: number
  /**
   * Mean virtual time an fsync/fdatasync takes (exponential per call, so one replica's sync often ends after
   * another's; a write takes the disk latency only): the window in which written data is not yet durable.
   */
  readonly syncLatencyMeanMs: number
}

function weights (rng: Rng): ClusterNemesisWeights {
  // Each kind is switched on or off per seed (so some seeds run only crashes, others only disk faults).
  const on = (weight: number): number => rng.next() < 0.6 ? weight : 0
  return {
    crashBroker: on(3),
    crashController: on(2),
    crashAll: on(1),
    crashLeaderAfterAck: on(2),
    powerLossAfterAck: on(3),
    pauseBroker: on(2),
    isolateBroker: on(3),
    oneWay: on(2),
    bridge: on(2),
    cutFromController: on(2),
    isolateFromClients: on(2),
    fsyncFails: on(1),
    diskFull: on(1),
    readErrors: on(1),
    flipByte: on(1),
    clockJump: on(1),
    healAll: 2,
  }
}

function networkFaults (rng: Rng): LinkFaults {
  const dropProbability = rng.next() < 0.5 ? 0 : rng.next() * 0.05
  const duplicateProbability = rng.next() < 0.5 ? 0 : rng.next() * 0.05
  // Half the seeds run on a data-centre LAN (tens of microseconds), where an acknowledgement can reach the client
  // before a replica's fdatasync completes; the others on a slower network.
  if (rng.next() < 0.5) return { dropProbability, duplicateProbability, delayMinMs: 0.02 + rng.next() * 0.08, delayMeanMs: 0.05 + rng.next() * 0.5 }
  return { dropProbability, duplicateProbability, delayMinMs: 0.1 + rng.next(), delayMeanMs: 0.5 + rng.next() * 5 }
}

/** The disk faults: with them off, a seed runs only network, process and clock faults. */
export const diskFaultKinds = ['fsyncFails', 'diskFull', 'readErrors', 'flipByte'] as const

export function drawClusterSimParams (seed: number, options: { diskFaults?: boolean } = {}, overrides: Partial<ClusterSimParams> = {}): ClusterSimParams {
  const rng = seededRng(seed * 7_919 + 17)
  const params: ClusterSimParams = {
    seed,
    brokerCount: 3,
    partitions: rng.int(1, 7),
    consumers: rng.int(1, 4),
    faultPhaseMs: rng.int(8_000, 20_000),
    livenessWindowMs: 40_000,
    network: networkFaults(rng),
    nemesisMeanIntervalMs: rng.int(500, 3_000),
    nemesis: weights(rng),
    faultDurationMinMs: 200,
    faultDurationMaxMs: rng.int(1_000, 8_000),
    producerIntervalMs: rng.int(5, 50),
    batchRecordsMax: rng.int(1, 5),
    producerMaxInFlight: rng.int(1, 6),
    crashLosesUnsyncedProbability: [0.3, 0.7, 1][rng.int(0, 3)] as number,
    unsyncedAllLostProbability: rng.next() < 0.5 ? 0.5 : 1,
    // A fast SSD, or a cloud or spinning disk whose fdatasync takes milliseconds.
    syncLatencyMeanMs: rng.next() < 0.5 ? 0.05 + rng.next() * 1 : 1 + rng.next() * 5,
    ...overrides,
  }
  if (options.diskFaults !== false) return params
  const nemesis = { ...params.nemesis }
  for (const kind of diskFaultKinds) nemesis[kind] = 0
  return { ...params, nemesis }
}

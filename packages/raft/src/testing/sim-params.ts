/**
 * What one simulation seed runs: cluster size, timing, fault mix and Raft limits, all drawn from the seed (swarm
 * testing: each seed gets its own mix, so rare combinations come up across seeds instead of never).
 */
import { type Rng, seededRng } from '@gregor/common'
import type { NetworkFaults } from './sim-network.js'

export interface NemesisWeights {
  crashNode: number
  crashLeader: number
  /** Crash a majority (sometimes every node) at once. */
  crashMajority: number
  /** Freeze a node (a GC or VM pause): no ticks, its inbound messages wait; then it resumes with stale views. */
  pauseNode: number
  isolateNode: number
  isolateLeader: number
  splitHalves: number
  oneWay: number
  healAll: number
  /** Cut one link (one way or both) for a short while, independently of other cuts (FoundationDB's clogging). */
  flapLink: number
}

export interface SimParams {
  readonly seed: number
  readonly family: SimFamily
  readonly nodeCount: number
  /** Per node: virtual milliseconds between ticks (skewed per node; safety must not depend on timing). */
  readonly tickIntervalMs: readonly number[]
  /** Faults happen during [0, faultPhaseMs); then everything heals and liveness is checked. */
  readonly faultPhaseMs: number
  /** After healing, a leader must commit a new proposal on every node within this long. */
  readonly livenessWindowMs: number
  readonly network: NetworkFaults
  readonly nemesisMeanIntervalMs: number
  readonly nemesis: NemesisWeights
  /**
   * Chance that a newly elected leader is isolated or crashed moments later, before or while its first appends
   * spread: the situations of Raft Fig. 8 (leaders holding uncommitted entries of different terms).
   */
  readonly newLeaderFaultProbability: number
  /** A fault lasts between these (crash downtime, partition length). */
  readonly faultDurationMinMs: number
  readonly faultDurationMaxMs: number
  readonly proposalMeanIntervalMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly messageBytesMax: number
  readonly inflightMessagesMax: number
  readonly uncommittedBytesMax: number
  readonly snapshotEveryEntries: number
  readonly snapshotKeepEntries: number
  /**
   * Chance that a crash or a cut link is reported to the nodes that lose the stream, as the gRPC transport does
   * (`RawNode.forgetLeader`). A cut link gives hints that are wrong for the rest of the cluster (the leader lives).
   */
  readonly failureHintProbability: number
}

const uniform = (rng: Rng, min: number, max: number): number => min + rng.next() * (max - min)
const chance = (rng: Rng, probability: number): boolean => rng.next() < probability

/**
 * Fault families (reliability.md §6a): `swarm` mixes everything with random weights; `leaderChurn` isolates new
 * leaders and brings old ones back (the Fig. 8 rotation that tests §5.4.2); `crash` kills and pauses nodes often,
 * losing unsynced writes, up to all of them at once; `partition` splits, cuts one way and flaps links.
 */
export type SimFamily = 'swarm' | 'leaderChurn' | 'crash' | 'partition'

const noFaults: NemesisWeights = { crashNode: 0, crashLeader: 0, crashMajority: 0, pauseNode: 0, isolateNode: 0, isolateLeader: 0, splitHalves: 0, oneWay: 0, healAll: 0, flapLink: 0 }

function drawFamily (rng: Rng): SimFamily {
  const r = rng.next()
  return r < 0.4 ? 'swarm' : r < 0.7 ? 'leaderChurn' : r < 0.85 ? 'crash' : 'partition'
}

function drawNemesis (rng: Rng, family: SimFamily): NemesisWeights {
  const weight = (): number => (chance(rng, 0.2) ? 0 : rng.next())
  switch (family) {
    case 'swarm':
      return {
        crashNode: weight(), crashLeader: weight(), crashMajority: weight() * 0.2, pauseNode: weight(), isolateNode: weight(),
        isolateLeader: weight(), splitHalves: weight(), oneWay: weight(), healAll: weight() * 0.5, flapLink: weight() * 4,
      }
    case 'leaderChurn':
      return { ...noFaults, isolateNode: 0.2, crashLeader: weight() * 0.2 }
    case 'crash':
      return { ...noFaults, crashNode: 1 + weight(), crashLeader: 1 + weight(), crashMajority: 0.3, pauseNode: weight() }
    case 'partition':
      return { ...noFaults, isolateNode: weight(), isolateLeader: weight(), splitHalves: 1, oneWay: 1, healAll: weight() * 0.3, flapLink: 4 * weight() }
  }
}

export function drawSimParams (seed: number, overrides: Partial<SimParams> = {}): SimParams {
  const rng = seededRng(seed ^ 0x5eed)
  const family = overrides.family ?? drawFamily(rng)
  const nodeCount = overrides.nodeCount ?? (chance(rng, 0.25) ? 5 : 3)
  const churn = family === 'leaderChurn'
  return {
    seed,
    family,
    nodeCount,
    tickIntervalMs: Array.from({ length: nodeCount }, () => Math.round(10 * uniform(rng, 0.8, 1.25) * 10) / 10),
    faultPhaseMs: Math.round(uniform(rng, 4_000, 12_000)),
    livenessWindowMs: 10_000,
    network: {
      dropProbability: chance(rng, 0.2) ? 0 : uniform(rng, 0, 0.2),
      duplicateProbability: chance(rng, 0.3) ? 0 : uniform(rng, 0, 0.05),
      delayMinMs: uniform(rng, 0.2, 3),
      delayMeanMs: uniform(rng, 0.5, 15),
    },
    nemesisMeanIntervalMs: family === 'crash' ? uniform(rng, 100, 600) : uniform(rng, 150, 1_500),
    nemesis: drawNemesis(rng, family),
    newLeaderFaultProbability: churn ? uniform(rng, 0.6, 0.95) : chance(rng, 0.3) ? 0 : uniform(rng, 0, 0.7),
    faultDurationMinMs: 20,
    faultDurationMaxMs: Math.round(churn ? uniform(rng, 800, 2_500) : uniform(rng, 300, 3_000)),
    proposalMeanIntervalMs: churn ? uniform(rng, 3, 15) : uniform(rng, 3, 40),
    electionTicks: 10,
    heartbeatTicks: chance(rng, 0.7) ? 1 : rng.int(2, 4),
    preVote: chance(rng, 0.8),
    checkQuorum: chance(rng, 0.8),
    // Small messages split a leader's backlog across many appends, so acknowledgements cover partial logs.
    messageBytesMax: churn || chance(rng, 0.5) ? rng.int(24, 60) : rng.int(60, 600),
    inflightMessagesMax: churn ? rng.int(1, 3) : chance(rng, 0.4) ? 1 : rng.int(2, 17),
    uncommittedBytesMax: churn ? rng.int(1_024, 4_096) : rng.int(64, 4_096),
    snapshotEveryEntries: rng.int(4, 60),
    snapshotKeepEntries: rng.int(0, 12),
    // Drawn last so that adding it left every earlier draw of a seed as it was.
    failureHintProbability: chance(rng, 0.3) ? 0 : uniform(rng, 0.3, 1),
    ...overrides,
  }
}

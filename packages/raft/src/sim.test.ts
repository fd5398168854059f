/**
 * The deterministic simulation (src/testing/sim-*.ts) over many seeds: crashes that lose unsynced writes, partitions
 * (symmetric, one-way, around elections), drops, duplicates, reordering; safety checked after every Ready, liveness
 * after healing. SIM_SEEDS=n and SIM_START=s choose the seeds, SIM_SEED=s runs one (env is read here only: the
 * simulation itself is pure). Replay a failure with `npm run sim -- --seeds 1 --start <seed>`.
 */
import { describe, expect, test } from 'vitest'
import { runSimulation, type SimResult } from './testing/sim-cluster.js'
import { drawSimParams } from './testing/sim-params.js'

const env = process.env
const single = env.SIM_SEED === undefined ? undefined : Number(env.SIM_SEED)
const start = single ?? Number(env.SIM_START ?? 1)
const count = single === undefined ? Number(env.SIM_SEEDS ?? 500) : 1
const chunk = 50

function describeFailure (result: SimResult): string {
  const failure = result.failure
  if (failure === undefined) return ''
  return [
    `seed=${result.seed} invariant="${failure.invariant}" at ${failure.timeMs.toFixed(1)}ms (replay: npm run sim -- --seeds 1 --start ${result.seed})`,
    failure.message.split('\n')[0],
    ...failure.trace.slice(-15).map((line) => `  ${line}`),
  ].join('\n')
}

describe('deterministic simulation', () => {
  for (let first = start; first < start + count; first += chunk) {
    const last = Math.min(first + chunk, start + count) - 1
    test(`seeds ${first}..${last}: safety after every event, liveness after healing`, () => {
      const failures: string[] = []
      for (let seed = first; seed <= last; seed++) {
        const result = runSimulation(drawSimParams(seed))
        if (result.failure !== undefined) failures.push(describeFailure(result))
      }
      expect(failures).toEqual([])
    })
  }

  test('a seed replays exactly', () => {
    const params = drawSimParams(start)
    const a = runSimulation(params)
    const b = runSimulation(drawSimParams(start))
    expect(b).toEqual(a)
    expect(a.events).toBeGreaterThan(1_000)
  })

  test('the seeds cover every fault family, 3 and 5 voters, and actually commit, crash, partition and forget leaders on hints', () => {
    const seeds = Array.from({ length: 40 }, (_, i) => drawSimParams(i + 1))
    expect(new Set(seeds.map((p) => p.family))).toEqual(new Set(['swarm', 'leaderChurn', 'crash', 'partition']))
    expect(new Set(seeds.map((p) => p.nodeCount))).toEqual(new Set([3, 5]))
    const totals = seeds.slice(0, 10).map((p) => runSimulation(p).stats)
    expect(totals.reduce((sum, s) => sum + s.committed, 0)).toBeGreaterThan(1_000)
    expect(totals.reduce((sum, s) => sum + s.crashes, 0)).toBeGreaterThan(10)
    expect(totals.reduce((sum, s) => sum + s.partitions, 0)).toBeGreaterThan(10)
    expect(totals.reduce((sum, s) => sum + s.lostWrites, 0)).toBeGreaterThan(0)
    // Failure hints (RawNode.forgetLeader) reach followers of live and of dead leaders.
    expect(totals.reduce((sum, s) => sum + s.leadersForgotten, 0)).toBeGreaterThan(10)
  })
})

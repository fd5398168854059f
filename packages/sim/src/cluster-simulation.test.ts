/**
 * The whole-cluster simulation in `npm test`: 150 seeds, each replayable with the printed command.
 *
 * - Network, process and clock faults (partitions one-way and bridged, drops, duplicates, delays, crashes, power loss
 *   of the whole host, pauses, clock jumps): every invariant must hold, liveness after healing included.
 * - Disk faults (failed fsync, full disk, read errors, bit rot) are not in this test: with them the simulation finds
 *   violations today (issue 10's defect 5: a failed log stays offline while its broker stays in the ISR and can be
 *   elected). They run with `npm run sim:cluster` (disk faults are on by default there), and the failing seeds are
 *   the regression tests for that fix.
 * - A seed replays exactly: the same seed gives the same events, virtual time and trace.
 */
import { describe, expect, test } from 'vitest'
import { runClusterSimulation } from './cluster-simulation.js'
import { drawClusterSimParams } from './cluster-sim-params.js'

const noDiskFaultSeeds = 150

function replay (seed: number, diskFaults: boolean): string {
  return `npm run sim:cluster -- --seeds 1 --start ${seed} --trace${diskFaults ? '' : ' --no-disk-faults'}`
}

describe('whole-cluster simulation', () => {
  test(`${noDiskFaultSeeds} seeds of network, process and clock faults: every invariant, liveness included`, async () => {
    const failures: string[] = []
    let acknowledged = 0
    for (let seed = 1; seed <= noDiskFaultSeeds; seed++) {
      const result = await runClusterSimulation(drawClusterSimParams(seed, { diskFaults: false }))
      acknowledged += result.stats.acknowledged
      if (result.failure !== undefined) failures.push(`seed=${seed} ${result.failure.invariant}: ${result.failure.message.split('\n')[0] ?? ''} (${replay(seed, false)})`)
    }
    expect(failures).toEqual([])
    expect(acknowledged).toBeGreaterThan(noDiskFaultSeeds * 10)
  }, 600_000)

  test('a seed replays exactly', async () => {
    const params = drawClusterSimParams(3, { diskFaults: false })
    const first = await runClusterSimulation(params)
    const second = await runClusterSimulation(params)
    expect({ events: second.events, virtualTimeMs: second.virtualTimeMs, stats: second.stats }).toEqual({ events: first.events, virtualTimeMs: first.virtualTimeMs, stats: first.stats })
    expect(second.trace).toEqual(first.trace)
  }, 60_000)
})

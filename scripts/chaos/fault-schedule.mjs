/**
 * The seeded fault schedule of a chaos run: which fault, on which brokers, when and for how long. Pure: the same
 * seed and duration give the same list, so a run that found something can be replayed (the interleavings inside
 * the real processes will differ, the injected faults will not).
 *
 * Invariants: faults never overlap (one is healed before the next starts), so a quorum of the three brokers is
 * always reachable apart from the fault itself; every fault ends by `durationSeconds`.
 */
import { seededRng } from '@gregor/common'

export const faultKinds = ['kill', 'pause', 'partition', 'one-way', 'leader-from-clients', 'isolate']

const durationMinMs = 2_000
const durationMaxMs = 9_000
const gapMinMs = 1_000
const gapMaxMs = 5_000
/** No fault in the first seconds: the producer and the group consumer first show the cluster works at all. */
const quietStartMs = 3_000

/**
 * A list of `{ atMs, kind, durationMs, broker, other, partition }` relative to the start of the fault phase:
 * `broker` (1..3) is the victim (kill, pause, isolate) or one side (partition, one-way: `broker` → `other`
 * dropped); for leader-from-clients the victim is whichever broker leads `partition` when the fault starts.
 */
export function faultSchedule (seed, durationSeconds, brokerCount = 3) {
  const rng = seededRng(seed)
  const endMs = durationSeconds * 1000
  const faults = []
  let atMs = quietStartMs
  for (;;) {
    const kind = faultKinds[rng.int(0, faultKinds.length)]
    const durationMs = rng.int(durationMinMs, durationMaxMs + 1)
    const broker = rng.int(1, brokerCount + 1)
    const other = ((broker - 1 + rng.int(1, brokerCount)) % brokerCount) + 1
    const partition = rng.int(0, 3)
    const gapMs = rng.int(gapMinMs, gapMaxMs + 1)
    if (atMs + durationMs > endMs) break
    faults.push({ atMs, kind, durationMs, broker, other, partition })
    atMs += durationMs + gapMs
  }
  return faults
}

/** One line describing a fault, for the run's log. */
export function describeFault (fault, victim = fault.broker) {
  switch (fault.kind) {
    case 'kill': return `kill -9 broker ${victim}, restart after ${fault.durationMs} ms`
    case 'pause': return `SIGSTOP broker ${victim} for ${fault.durationMs} ms`
    case 'partition': return `partition brokers ${fault.broker} <-> ${fault.other} for ${fault.durationMs} ms`
    case 'one-way': return `drop broker ${fault.broker} -> ${fault.other} (one way) for ${fault.durationMs} ms`
    case 'leader-from-clients': return `cut broker ${victim} (leader of partition ${fault.partition}) from the clients for ${fault.durationMs} ms`
    case 'isolate': return `isolate broker ${victim} from everyone for ${fault.durationMs} ms`
    default: return fault.kind
  }
}

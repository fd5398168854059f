/**
 * `gregor bench quorum`: measures the metadata quorum with three real voter processes on 127.0.0.1.
 * - commits/s: proposals with synced level writes, `concurrency` in flight to the leader;
 * - election after kill -9 of the leader, `trials` times: from the kill until the surviving voters agree on a new
 *   leader, and until that leader commits a first proposal. The victim restarts and catches up between trials.
 * Prints one JSON object per line, the last one a summary.
 */
import { parseArgs } from 'node:util'
import { VoterProcesses } from '../voter-processes.js'
import { waitFor } from '../wait-for.js'

export async function quorumBench (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { trials: { type: 'string', default: '20' }, proposals: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '64' } },
    strict: true,
  })
  const trials = Number(values.trials)
  const proposals = Number(values.proposals)
  const concurrency = Number(values.concurrency)
  const cluster = await VoterProcesses.start(3, { logLevel: 'warn' })
  try {
    await cluster.waitForLeader(30_000)
    print({ name: 'quorum-commits', ...await measureCommits(cluster, proposals, concurrency) })
    const electionsMs: number[] = []
    const firstCommitsMs: number[] = []
    for (let trial = 1; trial <= trials; trial++) {
      const result = await electionTrial(cluster, trial)
      electionsMs.push(result.electionMs)
      firstCommitsMs.push(result.firstCommitMs)
      print({ name: 'election-after-kill', trial, ...result })
    }
    print({ name: 'election-after-kill-summary', trials, electionMsMedian: median(electionsMs), electionMsMax: Math.max(...electionsMs), firstCommitMsMedian: median(firstCommitsMs), firstCommitMsMax: Math.max(...firstCommitsMs) })
    return 0
  } finally {
    await cluster.stop()
  }
}

async function measureCommits (cluster: VoterProcesses, count: number, concurrency: number): Promise<Record<string, number>> {
  const { leaderId } = await cluster.waitForLeader()
  const leader = cluster.voter(leaderId).client
  const latenciesMs: number[] = []
  let next = 0
  const startMs = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const payload = Buffer.from(`bench-${next++}`)
      const sentMs = performance.now()
      await leader.propose(payload)
      latenciesMs.push(performance.now() - sentMs)
    }
  }))
  const elapsedMs = performance.now() - startMs
  latenciesMs.sort((a, b) => a - b)
  return {
    proposals: count, concurrency, commitsPerSec: Math.round(count / (elapsedMs / 1000)),
    latencyMsP50: round(percentile(latenciesMs, 0.5)), latencyMsP99: round(percentile(latenciesMs, 0.99)),
  }
}

async function electionTrial (cluster: VoterProcesses, trial: number): Promise<{ electionMs: number; firstCommitMs: number; victim: number }> {
  const { leaderId: victim } = await cluster.waitForLeader()
  const killedAtMs = performance.now()
  await cluster.kill(victim)
  const { leaderId } = await cluster.waitForLeader(10_000)
  const electionMs = performance.now() - killedAtMs
  await waitFor('a first commit by the new leader', async () => await cluster.voter(leaderId).client.propose(Buffer.from(`trial-${trial}`), 2_000), { intervalMs: 5 })
  const firstCommitMs = performance.now() - killedAtMs
  cluster.startVoter(victim)
  await waitFor('the victim to catch up', async () => {
    const [victimStatus, leaderStatus] = await Promise.all([cluster.voter(victim).client.status(500), cluster.voter(leaderId).client.status(500)])
    return victimStatus.appliedCount === leaderStatus.appliedCount && victimStatus.leaderId === leaderId ? true : undefined
  }, { timeoutMs: 30_000 })
  return { victim, electionMs: round(electionMs), firstCommitMs: round(firstCommitMs) }
}

function print (record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`)
}

function median (values: number[]): number {
  return round(percentile([...values].sort((a, b) => a - b), 0.5))
}

function percentile (sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0
}

function round (value: number): number {
  return Math.round(value * 10) / 10
}

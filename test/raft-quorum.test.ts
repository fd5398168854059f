/**
 * The metadata quorum as three real OS processes on loopback addresses (real level, real gRPC): election, 1,000 commits,
 * kill -9 of the leader, catch-up of the restarted node, and a full stop/restart that loses nothing committed.
 *
 * Check used throughout: every proposal that was acknowledged appears exactly once in every voter's applied
 * sequence, and all voters applied the same sequence (compared in full, not by a digest).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { VoterProcesses, waitFor } from '@gregor/cli'

const acknowledged: string[] = []

async function proposeAll (cluster: VoterProcesses, prefix: string, count: number, concurrency: number): Promise<void> {
  const { leaderId } = await cluster.waitForLeader()
  const leader = cluster.voter(leaderId).client
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const payload = `${prefix}-${next++}`
      await leader.propose(Buffer.from(payload))
      acknowledged.push(payload)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

async function expectAllVotersApplied (cluster: VoterProcesses): Promise<void> {
  const sequences = await waitFor('every running voter to apply every acknowledged proposal', async () => {
    const applied = await Promise.all(cluster.running().map(async (voter) => await cluster.readApplied(voter.nodeId)))
    const complete = applied.every((sequence) => acknowledged.every((payload) => sequence.includes(payload)))
    return complete && applied.every((sequence) => sequence.length === applied[0]?.length) ? applied : undefined
  }, { timeoutMs: 30_000, intervalMs: 100 })
  for (const sequence of sequences) {
    expect(sequence).toEqual(sequences[0])
    expect(new Set(sequence).size).toBe(sequence.length)
  }
}

describe('metadata quorum: three voter processes', () => {
  let cluster: VoterProcesses

  beforeAll(async () => { cluster = await VoterProcesses.start(3) })
  afterAll(async () => { await cluster?.stop() })

  test('a leader is elected and 1,000 proposals commit on every voter', async () => {
    await cluster.waitForLeader()
    await proposeAll(cluster, 'first', 1_000, 32)
    expect(acknowledged).toHaveLength(1_000)
    await expectAllVotersApplied(cluster)
  })

  test('kill -9 of the leader: a new leader commits new proposals', async () => {
    const { leaderId: oldLeader, term: oldTerm } = await cluster.waitForLeader()
    await cluster.kill(oldLeader)
    const { leaderId, term } = await cluster.waitForLeader(10_000)
    expect(leaderId).not.toBe(oldLeader)
    expect(term).toBeGreaterThan(oldTerm)
    // The survivors did not wait out the leader lease: each saw the stream from the dead leader close and forgot it.
    for (const survivor of cluster.voters.filter((voter) => voter.nodeId !== oldLeader)) {
      await waitFor(`voter ${survivor.nodeId} to log that it forgot leader ${oldLeader}`, async () => {
        const lines = (await readFile(join(cluster.dir, `voter-${survivor.nodeId}.log`), 'utf8')).split('\n')
        return lines.some((line) => line.includes('"msg":"forgot leader on a failure hint"') && line.includes(`"leaderId":${oldLeader}`)) ? true : undefined
      }, { timeoutMs: 5_000 })
    }
    await proposeAll(cluster, 'after-kill', 200, 16)
    await expectAllVotersApplied(cluster)
  })

  test('the killed voter restarts and catches up', async () => {
    const killed = cluster.voters.find((voter) => voter.process === undefined)
    expect(killed).toBeDefined()
    cluster.startVoter(killed!.nodeId)
    await cluster.waitForLeader()
    await proposeAll(cluster, 'after-restart', 100, 8)
    await expectAllVotersApplied(cluster)
  })

  test('all three stop and restart: no committed entry is lost', async () => {
    await Promise.all(cluster.voters.map(async (voter) => await cluster.kill(voter.nodeId)))
    for (const voter of cluster.voters) cluster.startVoter(voter.nodeId)
    await cluster.waitForLeader()
    await proposeAll(cluster, 'after-full-restart', 10, 2)
    await expectAllVotersApplied(cluster)
    expect(acknowledged).toHaveLength(1_310)
  })
})

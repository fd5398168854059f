/**
 * Issue 10, defect 1, on real broker processes: a metadata decision too big for one Raft entry must not wedge the
 * controller. Before the fix, `gregor topics create --topic big --partitions 6500 --replication-factor 3` proposed one
 * ~1.08 MB entry that followers refuse (the Raft entry limit is 1 MiB), so it never committed: the command timed out,
 * and every later decision queued behind it (a broker killed afterwards stayed active and leader). Now a topic's
 * records travel in one entry or the topic is refused at once, with POLICY_VIOLATION naming the limit; and the
 * controller goes on fencing and failing over within the usual fraction of a second.
 */
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { describePartitions, runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

describe('metadata decisions above the raft entry limit', () => {
  test('a 6,500-partition RF 3 topic is refused at once; a broker killed afterwards is fenced and its partitions fail over', async () => {
    const startedMs = Date.now()
    const refused = await runGregor(cluster, ['topics', 'create', '--topic', 'big', '--partitions', '6500', '--replication-factor', '3'])
    const refusedMs = Date.now() - startedMs
    expect(refused.code).not.toBe(0)
    expect(refused.stdout + refused.stderr).toMatch(/POLICY_VIOLATION/)
    expect(refused.stdout + refused.stderr).toMatch(/1048576-byte limit of one metadata log entry/)
    // At once: the CLI's own start-up and one round trip, far from the 30 s request timeout it used to wait out.
    expect(refusedMs).toBeLessThan(10_000)
    expect(await admin.listTopics()).not.toContain('big')

    // The controller is not wedged: it still creates topics ...
    await admin.createTopics([{ topic: 'after-big', numPartitions: 6, replicationFactor: 3 }])
    await waitForIsr(cluster, 'after-big', 3)

    // ... and fences a killed broker and moves its leaderships within a few seconds.
    const { controllerId } = await admin.describeCluster()
    const partitions = await describePartitions(cluster, 'after-big')
    const victim = partitions.map((partition) => partition.leader).find((leader) => leader !== controllerId)
    expect(victim).toBeDefined()
    if (victim === undefined) return
    const killedMs = Date.now()
    await cluster.kill(victim)
    await waitFor(`broker ${victim} fenced`, async () => {
      const { brokers } = await admin.describeCluster()
      return brokers.find((broker) => broker.brokerId === victim)?.fenced === true ? true : undefined
    }, { timeoutMs: 5_000, intervalMs: 50 })
    const fencedMs = Date.now() - killedMs
    await waitFor(`partitions of broker ${victim} led elsewhere, without it in the ISR`, async () => {
      const now = await describePartitions(cluster, 'after-big')
      return now.length === 6 && now.every((partition) => partition.leader > 0 && partition.leader !== victim && !partition.isr.includes(victim))
        ? true
        : undefined
    }, { timeoutMs: 5_000, intervalMs: 50 })
    const failedOverMs = Date.now() - killedMs
    console.log(JSON.stringify({ name: 'large-metadata', refusedMs, victim, fencedMs, failedOverMs }))
  }, 60_000)
})

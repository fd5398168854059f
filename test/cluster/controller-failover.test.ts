/**
 * The controller as the victim (issue 4, scenario 2 repeated): kill -9 of the broker that is both the metadata-quorum
 * leader (the active controller) and a partition leader, under acks=all load. A new controller is elected, fences
 * the dead broker (it never heartbeats the new controller: the activation-window rule), moves its leaderships to ISR
 * members, and the producer carries on. The broker restarts, catches up, rejoins the ISR, and the auto leader
 * rebalance (here every 2 s) hands its preferred partitions back. Nothing acknowledged is lost, nothing is stored twice.
 */
import { describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { AcksAllLoad, describePartitions, expectAckedReadBack, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, {
  env: { GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS: '2000' },
})

describe('controller failover', () => {
  test('kill -9 of the controller under acks=all load: new controller, new leaders, no acknowledged record lost, preferred leaders restored', async () => {
    await admin.createTopics([{ topic: 'controller-victim', numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, 'controller-victim', 3)
    const { controllerId: victim, raftTerm: termBefore } = await admin.describeCluster()
    // The victim must also lead a partition, so the test covers both roles dying at once: wait for the rebalance.
    await waitFor('the controller to lead its preferred partition', async () => {
      const partitions = await describePartitions(cluster, 'controller-victim')
      return partitions.some((partition) => partition.leader === victim) ? true : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const ledByVictim = new Set((await describePartitions(cluster, 'controller-victim')).filter((p) => p.leader === victim).map((p) => p.partition))

    const load = new AcksAllLoad(new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 5, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 }), 'controller-victim', { workers: 6, prefix: 'c' })
    try {
      await load.waitForAcks(1_000, 'load before the kill')
      await cluster.kill(victim)
      load.markKilled(ledByVictim)
      const after = await waitFor('a new controller in a later term', async () => {
        const description = await admin.describeCluster()
        return description.controllerId > 0 && description.controllerId !== victim ? description : undefined
      }, { timeoutMs: 15_000, intervalMs: 50 })
      expect(after.raftTerm).toBeGreaterThan(termBefore)
      await waitFor('new leaders for the dead controller\'s partitions', async () => {
        const partitions = await describePartitions(cluster, 'controller-victim')
        return partitions.every((partition) => partition.leader > 0 && partition.leader !== victim && !partition.isr.includes(victim)) ? true : undefined
      }, { timeoutMs: 15_000, intervalMs: 50 })
      await load.waitForAcks(1_000, 'acks after the failover')

      cluster.startBroker(victim)
      await cluster.waitForReady()
      await waitForIsr(cluster, 'controller-victim', 3, 60_000)
      // Leadership goes back to each partition's preferred replica (replicas[0]) once it is in the ISR again.
      await waitFor('preferred leaders restored', async () => {
        const partitions = await describePartitions(cluster, 'controller-victim')
        return partitions.every((partition) => partition.leader === partition.replicas[0]) ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 200 })
      expect((await describePartitions(cluster, 'controller-victim')).some((partition) => partition.leader === victim)).toBe(true)
    } finally {
      await load.stop()
    }
    expect(load.failures).toEqual([])
    await expectAckedReadBack(cluster, 'controller-victim', [0, 1, 2], load.acked, load.sent)
    const { firstAckAfterKillMs, acked } = load
    console.log(JSON.stringify({ name: 'controller-failover', victim, firstAckAfterKillMs, acked: acked.length }))
  }, 180_000)
})

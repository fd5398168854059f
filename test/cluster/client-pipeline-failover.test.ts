/**
 * The idempotent producer's pipeline through a kill -9 (issue 12): with `maxInFlightPerPartition` 5, `sendMany` keeps
 * up to five batches in flight per partition, so when the leader of a partition dies, several numbered batches are out at once, some stored and
 * replicated, some not, their answers lost. Each is retried, one at a time in sequence order, at the new leader,
 * which knows what was replicated (a resend of it is a duplicate) and refuses what would leave a gap.
 *
 * The check needs no per-record offsets: each partition gets values numbered in send order (`p<partition>-<n>`), so
 * reading it back must show them strictly increasing (order kept), each once (nothing stored twice), and every value
 * of a `sendMany` that resolved must be there (nothing acknowledged lost). A call that failed may be partly stored;
 * there must be none here, as the delivery timeout outlasts the failover.
 */
import { describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { describePartitions, leadersOf, readPartition, useCluster, waitForIsr, waitForLiveBrokers } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

const partitions = [0, 1, 2]

describe('a pipelining producer through a leader kill -9', () => {
  test('sendMany with five batches in flight per partition: every acknowledged record read back once, in send order', async () => {
    const topic = 'pipeline-failover'
    await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, topic, 3)
    const leaders = await leadersOf(cluster, topic)
    const counts = new Map<number, number>()
    for (const leader of leaders.values()) counts.set(leader, (counts.get(leader) ?? 0) + 1)
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as number

    // Small batches so that each partition has several in flight at once.
    const producer = new Producer({
      bootstrapServers: cluster.running().map((broker) => broker.clientAddress), batchBytesMax: 16 * 1024, maxInFlightPerPartition: 5, deliveryTimeoutMs: 60_000, requestTimeoutMs: 5_000,
    })
    const next = new Map(partitions.map((partition) => [partition, 0]))
    const acknowledged = new Map<number, number>(partitions.map((partition) => [partition, -1]))
    const failures: unknown[] = []
    let calls = 0
    let producing = true
    // One loop (so records reach the producer in sequence order), up to 8 calls of 500 records per partition
    // outstanding: several batches of each partition queue up, and up to five of them are in flight.
    const outstanding = new Set<Promise<void>>()
    const loop = (async () => {
      while (producing) {
        const messages = partitions.flatMap((partition) => Array.from({ length: 500 }, () => {
          const sequence = next.get(partition) as number
          next.set(partition, sequence + 1)
          return { value: `p${partition}-${sequence}`, partition }
        }))
        const highest = new Map(partitions.map((partition) => [partition, (next.get(partition) as number) - 1]))
        const call: Promise<void> = producer.sendMany(topic, messages).then(() => {
          calls++
          for (const [partition, sequence] of highest) acknowledged.set(partition, Math.max(acknowledged.get(partition) as number, sequence))
        }, (error: unknown) => { failures.push(error) }).finally(() => { outstanding.delete(call) })
        outstanding.add(call)
        if (outstanding.size >= 8) await Promise.race(outstanding)
      }
      await Promise.all(outstanding)
    })()
    try {
      await waitFor('load before the kill', () => (calls >= 20 ? true : undefined), { timeoutMs: 30_000, intervalMs: 20 })
      await cluster.kill(victim)
      await waitFor('new leaders for every partition', async () => {
        const described = await describePartitions(cluster, topic)
        return described.every((partition) => partition.leader > 0 && partition.leader !== victim) ? true : undefined
      }, { timeoutMs: 15_000, intervalMs: 50 })
      const afterKill = calls
      await waitFor('acknowledgements after the failover', () => (calls >= afterKill + 20 ? true : undefined), { timeoutMs: 45_000, intervalMs: 20 })
    } finally {
      producing = false
      await loop
      await producer.close()
    }
    expect(failures).toEqual([])
    cluster.startBroker(victim)
    await cluster.waitForReady()
    await waitForIsr(cluster, topic, 3, 60_000)
    await waitForLiveBrokers(cluster)

    for (const partition of partitions) {
      // Every value up to the highest acknowledged one is there; read until the last value sent, if it got stored.
      const sent = next.get(partition) as number
      const read = await readPartition(cluster, topic, partition, sent, { timeoutMs: 20_000 })
      const sequences = read.map((message) => Number((message.value?.toString() ?? '').split('-')[1]))
      const outOfOrder = sequences.filter((sequence, index) => index > 0 && sequence <= (sequences[index - 1] as number))
      expect(outOfOrder, `partition ${partition}: stored out of order or twice`).toEqual([])
      expect(sequences.length).toBeGreaterThan(acknowledged.get(partition) as number)
      expect(sequences.slice(0, (acknowledged.get(partition) as number) + 1)).toEqual(
        Array.from({ length: (acknowledged.get(partition) as number) + 1 }, (_, index) => index))
    }
    console.log(JSON.stringify({ name: 'pipeline-failover', victim, calls, records: [...next.values()] }))
  }, 240_000)
})

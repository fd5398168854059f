/**
 * `/metrics` on three real `gregor broker` processes, scraped over HTTP as Prometheus would: after an RF 3 topic is
 * created and written, exactly one broker is the active controller and nothing is under-replicated; after kill -9 of
 * a follower, the partition leader reports the partition under-replicated and counts the ISR shrink.
 */
import { describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcess, type BrokerProcesses, waitFor } from '@gregor/cli'
import { leadersOf, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

async function scrape (broker: BrokerProcess): Promise<string> {
  const response = await fetch(`${broker.adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return await response.text()
}

/** The value of the sample `series` (metric name plus exact label text). */
function sample (text: string, series: string): number {
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  if (line === undefined) throw new Error(`no sample ${series} in the scrape`)
  return Number(line.slice(series.length + 1))
}

describe('/metrics on three broker processes', () => {
  test('one active controller, nothing under-replicated, bytes and latency counted; kill -9 of a follower shows on the leader', async () => {
    await admin.createTopics([{ topic: 'metrics', numPartitions: 1, replicationFactor: 3 }])
    await waitForIsr(cluster, 'metrics', 3)
    const producer = new Producer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 5 })
    const messages = Array.from({ length: 1_000 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }))
    await producer.send({ topic: 'metrics', messages, acks: 'all' })
    await producer.close()

    const leaderId = (await leadersOf(cluster, 'metrics')).get(0) as number
    const leader = cluster.broker(leaderId)
    // Gauges follow each broker's applied image, which may trail the answer above by a moment: wait, with a deadline.
    const texts = await waitFor('every broker to report the topic fully replicated', async () => {
      const scraped = await Promise.all(cluster.brokers.map(scrape))
      return scraped.every((text) => sample(text, 'gregor_replica_manager_partition_count') === 1 &&
        sample(text, 'gregor_replica_manager_under_replicated_partitions') === 0)
        ? scraped
        : undefined
    }, { timeoutMs: 10_000, intervalMs: 100 })
    expect(texts.reduce((sum, text) => sum + sample(text, 'gregor_controller_active_controller_count'), 0)).toBe(1)
    const leaderText = texts[cluster.brokers.indexOf(leader)] as string
    expect(sample(leaderText, 'gregor_replica_manager_leader_count')).toBe(1)
    expect(sample(leaderText, 'gregor_broker_topic_bytes_in_total')).toBeGreaterThan(0)
    expect(sample(leaderText, 'gregor_request_latency_seconds_count{api="produce"}')).toBeGreaterThan(0)
    for (const text of texts) {
      expect(sample(text, 'gregor_controller_offline_partitions_count')).toBe(0)
      expect(sample(text, 'gregor_raft_leader_id')).toBe(sample(texts[0] as string, 'gregor_raft_leader_id'))
    }

    // Kill -9 a follower (not the controller, so the metadata quorum keeps its leader and the fence is quick).
    const controllerIndex = texts.findIndex((text) => sample(text, 'gregor_controller_active_controller_count') === 1)
    const follower = cluster.brokers.find((broker, i) => broker !== leader && i !== controllerIndex) ??
      cluster.brokers.find((broker) => broker !== leader) as BrokerProcess
    await cluster.kill(follower.nodeId)
    const after = await waitFor('the leader to report the partition under-replicated', async () => {
      const text = await scrape(leader)
      return sample(text, 'gregor_replica_manager_under_replicated_partitions') > 0 ? text : undefined
    }, { timeoutMs: 15_000, intervalMs: 100 })
    expect(sample(after, 'gregor_replica_manager_isr_shrinks_total')).toBeGreaterThan(0)
    expect(sample(after, 'gregor_controller_active_broker_count')).toBe(2)
    expect(sample(after, 'gregor_controller_fenced_broker_count')).toBe(1)
  })
})

// Three real Brokers in this one process (real raft, logs, gRPC and admin HTTP on loopback), scraped over HTTP:
// each has its own registry, and the numbers describe the cluster the way Kafka's would. The kill -9 scenario needs
// separate processes and lives in test/cluster/metrics.test.ts; here a follower leaves by controlled shutdown.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loopbackHost, silentLogger } from '@gregor/common'
import { clientMethods, type gregor, unaryCall } from '@gregor/protocol'
import { buildBatch } from '@gregor/records'
import { Broker } from '../broker.js'
import { type BrokerConfig, validateBrokerConfig } from '../broker-config.js'

interface Node { readonly id: number; readonly broker: Broker; readonly client: string; readonly admin: string; running: boolean }

/**
 * A listening address no other process can take before the broker binds it: this process's own loopback address
 * (block 128, apart from @gregor/cli's block 64) and ports below Linux's ephemeral range. An OS-picked port, closed
 * and passed on, may meanwhile become some outgoing connection's source port.
 */
let nextPort = 21_000
const privateAddress = (): string => `${loopbackHost(process.pid, 128)}:${nextPort++}`

/** Polls `probe` until it returns a value, or fails at the deadline (never a bare sleep). */
async function until<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) { lastError = error }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(lastError)})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function call<Response> (address: string, method: unknown, request: unknown): Promise<Response> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  try {
    return await unaryCall(client, method as never, request as never, { deadlineMs: 10_000 }) as Response
  } finally {
    client.close()
  }
}

async function scrape (node: Node): Promise<string> {
  const response = await fetch(`http://${node.admin}/metrics`, { signal: AbortSignal.timeout(5_000) })
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return await response.text()
}

function sample (text: string, series: string): number {
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  if (line === undefined) throw new Error(`no sample ${series}`)
  return Number(line.slice(series.length + 1))
}

const TOPIC = 'metrics'
let dir: string
const nodes: Node[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-metrics-'))
  const addresses = [1, 2, 3].map(() => ({ client: privateAddress(), broker: privateAddress(), admin: privateAddress() }))
  const voters = addresses.map((a, i) => `${i + 1}@${a.broker}`).join(',')
  for (const [i, a] of addresses.entries()) {
    const config: BrokerConfig = validateBrokerConfig({
      nodeId: String(i + 1), clusterId: 'metrics-test', voters, dataDir: join(dir, `broker-${i + 1}`),
      listeners: `CLIENT://${a.client},BROKER://${a.broker},ADMIN://${a.admin}`,
    })
    nodes.push({ id: i + 1, broker: new Broker(config, silentLogger), client: a.client, admin: a.admin, running: true })
  }
  await Promise.all(nodes.map(async (node) => { await node.broker.start() }))
  await until('every broker ready', async () => nodes.every((node) => node.broker.readiness().ready) ? true : undefined)
})

afterAll(async () => {
  await Promise.all(nodes.filter((node) => node.running).map(async (node) => { await node.broker.stop() }))
  await rm(dir, { recursive: true, force: true })
})

describe('/metrics of three in-process brokers', () => {
  test('RF 3 topic, produce and fetch: one active controller, nothing under-replicated, bytes and latency counted; a follower leaving shrinks the ISR', async () => {
    const first = nodes[0] as Node
    const created = await call<gregor.cluster.CreateTopicsResponse>(first.client, clientMethods.createTopics, {
      topics: [{ name: TOPIC, partitions: 1, replicationFactor: 3 }], timeoutMs: 10_000,
    })
    expect(created.topics[0]?.errorCode).toBe('')
    const partition = await until('partition 0 led with 3 in sync', async () => {
      const metadata = await call<gregor.cluster.MetadataResponse>(first.client, clientMethods.metadata, { topics: [TOPIC] })
      const p = metadata.topics[0]?.partitions?.[0]
      return p !== undefined && p !== null && (p.leader ?? 0) > 0 && (p.isr ?? []).length === 3 ? { leader: p.leader as number } : undefined
    })
    const leader = nodes.find((node) => node.id === partition.leader) as Node
    const records = buildBatch([{ value: Buffer.from('hello metrics') }], { nowMs: Date.now() })
    // The leader's replica manager applies the image a moment after the metadata answer shows it: retry until then.
    let attempts = 0
    const produced = await until('an acks=all produce accepted', async () => {
      attempts++
      const response = await call<gregor.cluster.ProduceResponse>(leader.client, clientMethods.produce, {
        acks: -1, timeoutMs: 10_000, partitions: [{ topic: TOPIC, partition: 0, records }],
      })
      return response.partitions[0]?.errorCode === '' ? response : undefined
    })
    expect(produced.partitions[0]?.baseOffset).toBe(0)
    const fetched = await call<gregor.cluster.FetchResponse>(leader.client, clientMethods.fetch, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }],
    })
    expect(fetched.partitions[0]?.records?.byteLength).toBe(records.byteLength)

    const texts = await Promise.all(nodes.map(scrape))
    expect(texts.reduce((sum, text) => sum + sample(text, 'gregor_controller_active_controller_count'), 0)).toBe(1)
    const raftLeaders = new Set(texts.map((text) => sample(text, 'gregor_raft_leader_id')))
    expect(raftLeaders.size).toBe(1)
    const controller = nodes[texts.findIndex((text) => sample(text, 'gregor_controller_active_controller_count') === 1)] as Node
    expect([...raftLeaders]).toEqual([controller.id])
    const leaderText = texts[nodes.indexOf(leader)] as string
    expect(sample(leaderText, 'gregor_replica_manager_leader_count')).toBe(1)
    expect(sample(leaderText, 'gregor_replica_manager_under_replicated_partitions')).toBe(0)
    expect(sample(leaderText, 'gregor_broker_topic_bytes_in_total')).toBe(records.byteLength)
    expect(sample(leaderText, 'gregor_broker_topic_bytes_out_total')).toBe(records.byteLength)
    expect(sample(leaderText, 'gregor_request_latency_seconds_count{api="produce"}')).toBe(attempts)
    expect(sample(leaderText, 'gregor_request_latency_seconds_count{api="fetch"}')).toBe(1)
    for (const text of texts) {
      expect(sample(text, 'gregor_replica_manager_partition_count')).toBe(1)
      expect(sample(text, 'gregor_controller_offline_partitions_count')).toBe(0)
      expect(sample(text, 'gregor_raft_current_term')).toBeGreaterThan(0)
      expect(text).toContain('process_resident_memory_bytes ')
    }

    // A follower that is not the controller leaves (controlled shutdown takes it out of the ISR).
    const follower = nodes.find((node) => node !== leader && node !== controller) ?? nodes.find((node) => node !== leader) as Node
    // The ISR change lands early in its stop; the rest of the stop (quorum, servers) need not be waited for first.
    const stopping = follower.broker.stop()
    follower.running = false
    const after = await until('the leader to report the partition under-replicated', async () => {
      const text = await scrape(leader)
      return sample(text, 'gregor_replica_manager_under_replicated_partitions') === 1 ? text : undefined
    })
    expect(sample(after, 'gregor_replica_manager_isr_shrinks_total')).toBe(1)
    expect(sample(after, 'gregor_replica_manager_under_min_isr_partition_count')).toBe(0)
    await stopping
  })
})

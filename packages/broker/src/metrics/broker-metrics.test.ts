// BrokerMetrics on a real prom-client registry: the exposition text is what is asserted, as Prometheus would read it.
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { ErrorCode, GregorError, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, NO_LEADER, defaultTopicConfig } from '@gregor/metadata'
import { startAdminServer } from '../admin-server.js'
import type { QuorumStatusView } from '../metadata-quorum.js'
import { BrokerMetrics, leaderElectionsIn } from './broker-metrics.js'
import { metricsRoute } from './metrics-route.js'

/** The value of the sample `series` (name plus exact label text), or undefined when the line is absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const brokers: MetadataRecord[] = [1, 2, 3].flatMap((id): MetadataRecord[] => [
  { type: 'RegisterBroker', brokerId: nodeId(id), incarnationId: `i-${id}`, listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] },
  ...(id === 3 ? [] : [{ type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId: `i-${id}` } as const]),
])

function partition (topicId: string, index: number, replicas: number[], isr: number[], leader: number): MetadataRecord {
  return { type: 'Partition', topicId, partition: index, replicas: replicas.map(nodeId), isr: isr.map(nodeId), leader: nodeId(leader), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 }
}

/**
 * Broker 1's view: t-0 led by 1 with ISR at min (2 of 3), t-1 led by 2, t-2 offline (its sole ISR member 3 is
 * fenced), u-0 led by 1 under min ISR.
 */
function testImage (): MetadataImage {
  const image = new MetadataImage()
  image.applyBatch([
    ...brokers,
    { type: 'Topic', name: 't', topicId: 'id-t', partitionCount: 3, config: { ...defaultTopicConfig, minInsyncReplicas: 2 } },
    partition('id-t', 0, [1, 2, 3], [1, 2], 1),
    partition('id-t', 1, [2, 1, 3], [2, 1], 2),
    partition('id-t', 2, [3, 1, 2], [3], NO_LEADER),
    { type: 'Topic', name: 'u', topicId: 'id-u', partitionCount: 1, config: { ...defaultTopicConfig, minInsyncReplicas: 2 } },
    partition('id-u', 0, [1, 2], [1], 1),
  ], raftIndex(1))
  return image
}

const quorumStatus: QuorumStatusView = { nodeId: 1, role: 'leader', term: 7, leaderId: 1, commitIndex: 42, appliedIndex: 41, lastIndex: 43, voterMatchIndexes: new Map() }

function metricsFor (image: MetadataImage, options: { active?: boolean; quorum?: QuorumStatusView | undefined; processMetrics?: boolean } = {}): BrokerMetrics {
  return new BrokerMetrics({
    brokerId: 1, image: () => image, quorum: () => 'quorum' in options ? options.quorum : quorumStatus,
    controllerActive: () => options.active ?? true, processMetrics: options.processMetrics ?? false,
  })
}

describe('state gauges, computed at scrape time', () => {
  test('controller and replica-manager gauges follow the applied image', async () => {
    const image = testImage()
    const text = await metricsFor(image).registry.metrics()
    expect(sample(text, 'gregor_controller_active_controller_count')).toBe(1)
    expect(sample(text, 'gregor_controller_offline_partitions_count')).toBe(1)
    expect(sample(text, 'gregor_controller_global_topic_count')).toBe(2)
    expect(sample(text, 'gregor_controller_global_partition_count')).toBe(4)
    expect(sample(text, 'gregor_controller_active_broker_count')).toBe(2)
    expect(sample(text, 'gregor_controller_fenced_broker_count')).toBe(1)
    expect(sample(text, 'gregor_replica_manager_partition_count')).toBe(4)
    expect(sample(text, 'gregor_replica_manager_leader_count')).toBe(2)
    expect(sample(text, 'gregor_replica_manager_under_replicated_partitions')).toBe(2)
    expect(sample(text, 'gregor_replica_manager_under_min_isr_partition_count')).toBe(1)
    expect(sample(text, 'gregor_replica_manager_at_min_isr_partition_count')).toBe(1)
    expect(text).toContain('# TYPE gregor_replica_manager_under_replicated_partitions gauge')
  })

  test('a later image is seen by the next scrape (no cached value survives an applied batch)', async () => {
    const image = testImage()
    const metrics = metricsFor(image)
    expect(sample(await metrics.registry.metrics(), 'gregor_replica_manager_under_replicated_partitions')).toBe(2)
    image.applyBatch([{ type: 'PartitionChange', topicId: 'id-t', partition: 0, isr: [nodeId(1), nodeId(2), nodeId(3)] }], raftIndex(2))
    const text = await metrics.registry.metrics()
    expect(sample(text, 'gregor_replica_manager_under_replicated_partitions')).toBe(1)
    expect(sample(text, 'gregor_replica_manager_at_min_isr_partition_count')).toBe(0)
  })

  test('a standby controller reports 0 active controllers', async () => {
    expect(sample(await metricsFor(testImage(), { active: false }).registry.metrics(), 'gregor_controller_active_controller_count')).toBe(0)
  })

  test('raft gauges mirror the quorum status; 0 before the quorum starts', async () => {
    const text = await metricsFor(testImage()).registry.metrics()
    expect(sample(text, 'gregor_raft_current_term')).toBe(7)
    expect(sample(text, 'gregor_raft_leader_id')).toBe(1)
    expect(sample(text, 'gregor_raft_commit_index')).toBe(42)
    expect(sample(text, 'gregor_raft_applied_index')).toBe(41)
    expect(sample(text, 'gregor_raft_log_end_index')).toBe(43)
    expect(sample(text, 'gregor_raft_current_state{state="leader"}')).toBe(1)
    expect(sample(text, 'gregor_raft_current_state{state="follower"}')).toBe(0)

    const noLeader = await metricsFor(testImage(), { quorum: { ...quorumStatus, role: 'candidate', leaderId: 0 } }).registry.metrics()
    expect(sample(noLeader, 'gregor_raft_leader_id')).toBe(-1)
    expect(sample(noLeader, 'gregor_raft_current_state{state="candidate"}')).toBe(1)

    const unstarted = await metricsFor(testImage(), { quorum: undefined }).registry.metrics()
    expect(sample(unstarted, 'gregor_raft_current_term')).toBe(0)
    expect(sample(unstarted, 'gregor_raft_current_state{state="leader"}')).toBeUndefined()
    expect(sample(unstarted, 'gregor_controller_global_topic_count')).toBe(2)
  })
})

describe('event counters', () => {
  test('request latency by api: every api present from the start, one sample per call, failures counted', async () => {
    const metrics = metricsFor(testImage())
    let text = await metrics.registry.metrics()
    for (const api of ['produce', 'fetch', 'list_offsets', 'metadata', 'describe_cluster', 'create_topics', 'delete_topics']) {
      expect(sample(text, `gregor_request_latency_seconds_count{api="${api}"}`)).toBe(0)
    }
    const produce = metrics.timed('produce', async (n: number) => n + 1)
    expect(await produce(1)).toBe(2)
    expect(await produce(2)).toBe(3)
    const failing = metrics.timed('create_topics', () => { throw new GregorError(ErrorCode.NOT_CONTROLLER, 'no') })
    await expect(failing(undefined)).rejects.toThrow('no')
    text = await metrics.registry.metrics()
    expect(sample(text, 'gregor_request_latency_seconds_count{api="produce"}')).toBe(2)
    expect(sample(text, 'gregor_request_latency_seconds_bucket{le="+Inf",api="produce"}')).toBe(2)
    expect(sample(text, 'gregor_request_latency_seconds_count{api="create_topics"}')).toBe(1)
    expect(sample(text, 'gregor_request_errors_total{api="create_topics",error="NOT_CONTROLLER"}')).toBe(1)
  })

  test('bytes in count accepted partitions only; bytes out count every fetched partition; errors by name', async () => {
    const metrics = metricsFor(testImage())
    metrics.produced(
      [{ records: new Uint8Array(100) }, { records: new Uint8Array(50) }, { records: new Uint8Array(7) }],
      [{ errorCode: '' }, { errorCode: 'NOT_LEADER_OR_FOLLOWER' }, { errorCode: '' }],
    )
    metrics.fetched([{ errorCode: '', records: new Uint8Array(300) }, { errorCode: 'OFFSET_OUT_OF_RANGE', records: new Uint8Array(0) }])
    metrics.answered('list_offsets', [{ errorCode: 'UNKNOWN_TOPIC_OR_PARTITION' }, { errorCode: '' }])
    const text = await metrics.registry.metrics()
    expect(sample(text, 'gregor_broker_topic_bytes_in_total')).toBe(107)
    expect(sample(text, 'gregor_broker_topic_bytes_out_total')).toBe(300)
    expect(sample(text, 'gregor_request_errors_total{api="produce",error="NOT_LEADER_OR_FOLLOWER"}')).toBe(1)
    expect(sample(text, 'gregor_request_errors_total{api="fetch",error="OFFSET_OUT_OF_RANGE"}')).toBe(1)
    expect(sample(text, 'gregor_request_errors_total{api="list_offsets",error="UNKNOWN_TOPIC_OR_PARTITION"}')).toBe(1)
  })

  test('isr changes: a removal is a shrink, an addition an expand, a replacement both, a reorder neither', async () => {
    const metrics = metricsFor(testImage())
    metrics.isrChanged([1, 2, 3], [1, 2])
    metrics.isrChanged([1, 2], [1, 2, 3])
    metrics.isrChanged([1, 2], [1, 3])
    metrics.isrChanged([1, 2, 3], [3, 2, 1])
    const text = await metrics.registry.metrics()
    expect(sample(text, 'gregor_replica_manager_isr_shrinks_total')).toBe(2)
    expect(sample(text, 'gregor_replica_manager_isr_expands_total')).toBe(2)
  })

  test('leader elections: a move to another live replica counts; going offline and epoch bumps do not', async () => {
    const image = testImage()
    const elections = leaderElectionsIn(image, [
      { type: 'PartitionChange', topicId: 'id-t', partition: 0, leader: nodeId(2), isr: [nodeId(2)] }, // 1 → 2: an election
      { type: 'PartitionChange', topicId: 'id-t', partition: 1, leader: NO_LEADER }, // offline: not an election
      { type: 'PartitionChange', topicId: 'id-u', partition: 0, leader: nodeId(1), replicas: [nodeId(1)] }, // same leader, epoch bump
      { type: 'PartitionChange', topicId: 'id-t', partition: 2, leader: nodeId(1), isr: [nodeId(1)] }, // offline → 1: an election
      { type: 'FenceBroker', brokerId: nodeId(2), incarnationId: 'i-2' },
      partition('id-x', 0, [1], [1], 1), // creation: not an election
    ])
    expect(elections).toBe(2)
    const metrics = metricsFor(image)
    metrics.leaderElectionsCommitted(elections)
    metrics.leaderElectionsCommitted(0)
    expect(sample(await metrics.registry.metrics(), 'gregor_controller_leader_elections_total')).toBe(2)
  })
})

describe('registries', () => {
  test('several brokers in one process each own a registry, process metrics included', async () => {
    const a = metricsFor(testImage(), { active: true, processMetrics: true })
    const b = metricsFor(testImage(), { active: false, processMetrics: true })
    a.isrChanged([1, 2], [1])
    const [textA, textB] = await Promise.all([a.registry.metrics(), b.registry.metrics()])
    expect(sample(textA, 'gregor_controller_active_controller_count')).toBe(1)
    expect(sample(textB, 'gregor_controller_active_controller_count')).toBe(0)
    expect(sample(textA, 'gregor_replica_manager_isr_shrinks_total')).toBe(1)
    expect(sample(textB, 'gregor_replica_manager_isr_shrinks_total')).toBe(0)
    for (const text of [textA, textB]) {
      expect(text).toContain('# TYPE process_cpu_user_seconds_total counter')
      expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge')
      // What `gregor bench` and scripts/bench/memory.mjs read for issue 12's memory figures.
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0)
      expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
      expect(sample(text, 'nodejs_external_memory_bytes')).toBeGreaterThan(0)
    }
  })

  test('gregor_log_size_bytes reads the logs\' size at each scrape, and is absent without a source', async () => {
    let bytes = 1234
    const metrics = new BrokerMetrics({
      brokerId: 1, image: testImage, quorum: () => quorumStatus, controllerActive: () => true, processMetrics: false, logSizeBytes: () => bytes,
    })
    expect(sample(await metrics.registry.metrics(), 'gregor_log_size_bytes')).toBe(1234)
    bytes = 5678
    expect(sample(await metrics.registry.metrics(), 'gregor_log_size_bytes')).toBe(5678)
    expect(await metricsFor(testImage()).registry.metrics()).not.toContain('gregor_log_size_bytes')
  })
})

describe('GET /metrics on the admin server', () => {
  let close: (() => Promise<void>) | undefined
  afterEach(async () => { await close?.(); close = undefined })

  test('serves the text format with its content type; other methods are refused', async () => {
    const metrics = metricsFor(testImage())
    const server = await startAdminServer('127.0.0.1', 0, {
      readiness: () => ({ ready: true }), routes: new Map([['/metrics', metricsRoute(metrics)]]), logger: silentLogger,
    })
    close = async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await response.text()
    expect(sample(text, 'gregor_controller_offline_partitions_count')).toBe(1)
    expect(text).toContain('# HELP gregor_request_latency_seconds ')
    expect((await fetch(url, { method: 'POST' })).status).toBe(405)
  })
})

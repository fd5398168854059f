/**
 * Three BrokerNodes in one process, composed exactly as production composes them but over in-process transports,
 * simulated disks and in-memory raft stores: they elect a controller, register, replicate a topic with acks=all,
 * hand out producer ids, move leadership away on controlled shutdown, and a restarted node (new incarnation over the
 * same disk and raft store) rejoins and catches up. Real timers (the default timing); every wait has a deadline.
 */
import { type NodeId, nodeId, seededRng, silentLogger } from '@gregor/common'
import { buildBatch } from '@gregor/records'
import { SimFileSystem } from '@gregor/storage'
import { afterEach, describe, expect, test } from 'vitest'
import { BrokerNode, type BrokerNodeConfig } from './broker-node.js'
import { InProcessFetchTransport } from './replica/testing/in-process-fetch-transport.js'
import { systemClock, systemMonotonicClock, systemTimers } from './system/system-timers.js'
import { InProcessControllerChannel } from './testing/in-process-controller-channel.js'
import { InProcessRaftNetwork } from './testing/in-process-raft-network.js'
import { MemoryRaftStore } from './testing/memory-raft-store.js'

const ids = [nodeId(1), nodeId(2), nodeId(3)]

async function waitFor (condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadlineMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** One machine: its disk and raft store outlive the node incarnations started on it. */
interface Machine { readonly disk: SimFileSystem; readonly raftStore: MemoryRaftStore; node: BrokerNode | undefined }

class Cluster {
  readonly network = new InProcessRaftNetwork()
  readonly machines = new Map<NodeId, Machine>(ids.map((id) => [id, { disk: new SimFileSystem(), raftStore: new MemoryRaftStore(ids), node: undefined }]))
  #ids = 0

  node (id: NodeId): BrokerNode {
    const node = this.machines.get(id)?.node
    if (node === undefined) throw new Error(`node ${id} is down`)
    return node
  }

  running (): BrokerNode[] {
    return [...this.machines.values()].flatMap((machine) => machine.node === undefined ? [] : [machine.node])
  }

  async start (id: NodeId): Promise<BrokerNode> {
    const machine = this.machines.get(id) as Machine
    const config: BrokerNodeConfig = {
      nodeId: id, clusterId: 'c1', rack: '', voters: ids, listeners: [{ name: 'BROKER', host: `broker-${id}`, port: 9093 }],
      logDir: '/data/logs', leaderImbalanceCheckIntervalMs: 300_000, logRetentionCheckIntervalMs: 300_000, logCleanerBackoffMs: 15_000,
      groupSessionTimeoutMs: 10_000, groupHeartbeatIntervalMs: 1_000, offsetsTopicNumPartitions: 3, offsetsTopicSegmentBytes: 1024 * 1024,
    }
    const node = new BrokerNode(config, {
      clock: systemClock, monotonicClock: systemMonotonicClock, timers: systemTimers, rng: seededRng(id),
      fs: machine.disk, raftStore: machine.raftStore, raftTransport: this.network.transport(id),
      controllerChannel: (view) => new InProcessControllerChannel({
        leaderId: view.quorumLeaderId, controllerOf: (brokerId) => this.machines.get(brokerId)?.node?.controller, timers: systemTimers,
      }),
      replicaFetchTransport: () => new InProcessFetchTransport((leaderId) => this.machines.get(nodeId(leaderId))?.node?.replicas),
      newId: () => `id-${id}-${++this.#ids}`, logger: silentLogger,
    })
    machine.node = node
    this.network.attach(id, { receive: (message) => { node.receiveRaft(message) }, peerGone: (peerId) => { node.raftPeerGone(peerId) } })
    await node.start()
    node.startLifecycle()
    return node
  }

  async stop (id: NodeId): Promise<void> {
    const machine = this.machines.get(id) as Machine
    const node = machine.node
    if (node === undefined) return
    machine.node = undefined
    this.network.detach(id)
    await node.stop()
  }
}

let cluster: Cluster | undefined
afterEach(async () => {
  for (const id of ids) await cluster?.stop(id)
  cluster = undefined
})

function records (value: string): Buffer {
  return buildBatch([{ key: Buffer.from('k'), value: Buffer.from(value) }], { nowMs: 1_700_000_000_000 })
}

describe('BrokerNode: three nodes in one process', () => {
  test('elect a controller, register, replicate acks=all, allocate producer ids; a restarted node catches up', async () => {
    const c = cluster = new Cluster()
    for (const id of ids) await c.start(id)
    await waitFor(() => c.running().every((node) => node.readiness().ready), 'every node registered and unfenced')
    const controllers = c.running().filter((node) => node.controller.isActive)
    expect(controllers).toHaveLength(1)
    expect(c.running().map((node) => node.quorumStatus()?.leaderId)).toEqual(ids.map(() => controllers[0]?.nodeId))

    const created = await c.node(nodeId(1)).lifecycle.createTopics({ topics: [{ name: 't', partitions: 2, replicationFactor: 3 }] })
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([''])
    const image = (): ReturnType<BrokerNode['image']['topic']> => c.node(nodeId(1)).image.topic('t')
    await waitFor(() => image() !== undefined, 'topic in the image')
    const leaderOf = (partition: number): BrokerNode => {
      const topic = image()
      const leader = topic === undefined ? undefined : c.node(nodeId(1)).image.partition(topic.topicId, partition)?.leader
      return c.node(nodeId(leader ?? 0))
    }
    await waitFor(() => c.running().every((node) => node.replicas.replicaState('t', 0) !== undefined && node.replicas.replicaState('t', 1) !== undefined), 'replicas opened')

    for (let i = 0; i < 5; i++) {
      for (const partition of [0, 1]) {
        const response = await leaderOf(partition).replicas.produce({ acks: -1, timeoutMs: 10_000, partitions: [{ topic: 't', partition, topicId: '', records: records(`v${i}`) }] })
        expect(response.partitions?.[0]).toMatchObject({ errorCode: '', baseOffset: i })
      }
    }
    await waitFor(() => c.running().every((node) => [0, 1].every((partition) => node.replicas.replicaState('t', partition)?.highWatermark === 5)), 'every replica at high watermark 5')
    const producer = c.node(nodeId(2)).producerIds.allocate()
    expect(producer.producerId).toBeGreaterThan(0)

    // Controlled shutdown of a partition leader moves its leadership; a new incarnation over the same disk and raft
    // store (a process restart) re-registers and catches up with what was produced while it was down.
    const victim = leaderOf(0)
    expect(await victim.controlledShutdown(10_000)).toBe(true)
    expect(c.node(nodeId(1)).image.partitionsLedBy(victim.nodeId)).toEqual([])
    await c.stop(victim.nodeId)
    c.machines.get(victim.nodeId)?.raftStore.crash()
    const more = await leaderOf(0).replicas.produce({ acks: 1, timeoutMs: 10_000, partitions: [{ topic: 't', partition: 0, topicId: '', records: records('while down') }] })
    expect(more.partitions?.[0]).toMatchObject({ errorCode: '', baseOffset: 5 })

    const restarted = await c.start(victim.nodeId)
    expect(restarted.incarnationId).not.toBe(victim.incarnationId)
    await waitFor(() => restarted.readiness().ready, 'the restarted node unfenced')
    await waitFor(() => restarted.replicas.replicaState('t', 0)?.logEndOffset === 6, 'the restarted node caught up')
    expect(restarted.replicas.replicaState('t', 1)?.logEndOffset).toBe(5)
  })
})

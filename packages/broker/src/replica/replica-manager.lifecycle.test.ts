/**
 * The replica manager across a broker's lifecycle events (issue 10): a restart (defect 3: nothing is led before this
 * incarnation's registration shows) and a log directory failure (defect 5: every replica stops at once, the
 * directory is probed, and the logs come back from what is durable once the controller has fenced the broker).
 * One broker on a simulated disk (`SimFileSystem`, which fails an fsync on demand), hand-driven timers.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { ErrorCode, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, defaultTopicConfig } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { buildBatch, walkBatches } from '@gregor/records'
import { FileHandleCache, SimFileSystem } from '@gregor/storage'
import { ReplicaManager } from './replica-manager.js'
import { validateReplicationConfig } from './replication-config.js'
import { InProcessFetchTransport } from './testing/in-process-fetch-transport.js'
import { ManualTimers, flushPromises } from './testing/manual-timers.js'

const TOPIC = 't'
const TOPIC_ID = 'id-t'
const DIR = '/data'

const register = (id: number, incarnationId: string): MetadataRecord[] => [
  { type: 'RegisterBroker', brokerId: nodeId(id), incarnationId, listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] },
  { type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId },
]

function batch (value: string): Buffer {
  return buildBatch([{ value: Buffer.from(value) }], { nowMs: 1_700_000_000_000 })
}

interface Node {
  readonly rm: ReplicaManager
  readonly image: MetadataImage
  readonly fs: SimFileSystem
  readonly timers: ManualTimers
  readonly logDirChanges: boolean[]
  commit: (records: readonly MetadataRecord[]) => Promise<void>
  produce: (value: string, acks?: number) => Promise<gregor.cluster.ProducePartitionResult.$Properties>
}

const nodes: Node[] = []

/** One probe interval; a recovery reopens logs on the simulated disk, which takes many promise turns. */
async function probe (node: Node): Promise<void> {
  await node.timers.advance(1000, async () => { await flushPromises(500) })
}
afterEach(async () => { for (const node of nodes.splice(0)) await node.rm.close() })

/** Broker 1 (this process: `incarnationId`) with brokers 2 and 3; t-0 on [1, 2, 3], ISR [1], led by 1 at epoch 0. */
async function startNode (incarnationId: string, registered: MetadataRecord[], fs = new SimFileSystem()): Promise<Node> {
  const image = new MetadataImage()
  image.applyBatch([
    ...registered, ...register(2, 'i-2'), ...register(3, 'i-3'),
    { type: 'Topic', name: TOPIC, topicId: TOPIC_ID, partitionCount: 1, config: { ...defaultTopicConfig, minInsyncReplicas: 1 } },
    { type: 'Partition', topicId: TOPIC_ID, partition: 0, replicas: [1, 2, 3].map(nodeId), isr: [nodeId(1)], leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 },
  ], raftIndex(1))
  const timers = new ManualTimers()
  const logDirChanges: boolean[] = []
  const rm = new ReplicaManager({
    brokerId: 1, incarnationId, dataDir: DIR, logConfig: { segmentBytes: 1024 * 1024 }, fs,
    files: new FileHandleCache({ openFilesMax: 20, fs }),
    alterPartition: async () => await new Promise(() => {}),
    fetchTransport: new InProcessFetchTransport(() => undefined),
    clock: timers, timers, logger: silentLogger, config: validateReplicationConfig({ logDirProbeIntervalMs: 1000 }),
    onLogDirChange: (offline) => { logDirChanges.push(offline) },
  })
  const node: Node = {
    rm, image, fs, timers, logDirChanges,
    commit: async (records) => {
      image.applyBatch(records, raftIndex(image.appliedIndex + 1))
      await rm.onMetadata(image)
    },
    produce: async (value, acks = -1) => {
      const response = await rm.produce({ acks, timeoutMs: 1000, partitions: [{ topic: TOPIC, partition: 0, topicId: '', records: batch(value) }] })
      return response.partitions?.[0] ?? {}
    },
  }
  nodes.push(node)
  await rm.onMetadata(image)
  return node
}

describe('ReplicaManager: a restarted broker (issue 10, defect 3)', () => {
  test('leads nothing while the image shows its previous incarnation, and leads at the epoch granted after it registered', async () => {
    // The metadata log replayed so far still says: broker 1 (incarnation i-1-old) leads t-0 at epoch 0.
    const node = await startNode('i-1-new', register(1, 'i-1-old'))
    expect(node.rm.replicaState(TOPIC, 0)).toBeUndefined()
    expect(await node.produce('a')).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
    // It registers; the controller, replacing an unfenced incarnation, moved its leadership in the same batch.
    await node.commit([
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(-1) },
      { type: 'RegisterBroker', brokerId: nodeId(1), incarnationId: 'i-1-new', listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] },
    ])
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'follower', leaderEpoch: 1 })
    // Unfenced and elected again: it leads at the new epoch.
    await node.commit([
      { type: 'UnfenceBroker', brokerId: nodeId(1), incarnationId: 'i-1-new' },
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(1) },
    ])
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'leader', leaderEpoch: 2 })
    expect(await node.produce('b')).toMatchObject({ errorCode: '', baseOffset: 0 })
  })

  test('a process whose incarnation has been replaced (a zombie) stops leading at once', async () => {
    const node = await startNode('i-1', register(1, 'i-1'))
    expect(await node.produce('a')).toMatchObject({ errorCode: '' })
    await node.commit([{ type: 'RegisterBroker', brokerId: nodeId(1), incarnationId: 'i-1-successor', listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] }])
    expect(node.rm.replicaState(TOPIC, 0)).toBeUndefined()
    expect(await node.produce('b')).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
  })
})

describe('ReplicaManager: a failed log directory (issue 10, defect 5)', () => {
  test('a failed fsync stops every replica, the directory recovers once fenced, and the unsynced tail is dropped', async () => {
    const node = await startNode('i-1', register(1, 'i-1'))
    expect(await node.produce('a')).toMatchObject({ errorCode: '', baseOffset: 0 })
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'leader', highWatermark: 1, logEndOffset: 1 })
    node.fs.failNextSync('')
    const failed = await node.produce('b')
    expect(failed.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(node.rm.logDirOffline).toBe(true)
    expect(node.logDirChanges).toEqual([true])
    // Nothing is led any more: the next produce is refused without touching the log.
    expect(await node.produce('c')).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'follower' })
    // The disk works again, but the controller has not fenced the broker yet: the probe waits for that.
    await probe(node)
    expect(node.rm.logDirOffline).toBe(true)
    // Fenced (leadership and ISR moved away: the last ISR member stays, offline), then the probe recovers.
    await node.commit([
      { type: 'FenceBroker', brokerId: nodeId(1), incarnationId: 'i-1' },
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(-1) },
    ])
    await probe(node)
    expect(node.rm.logDirOffline).toBe(false)
    expect(node.logDirChanges).toEqual([true, false])
    // Reopened from disk: batch b was written but its fsync failed, so the log ends at the synced end again.
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'follower', leaderEpoch: 1, logEndOffset: 1, highWatermark: 1 })
    // Unfenced and elected again, it leads at a new epoch and appends after what was durable.
    await node.commit([
      { type: 'UnfenceBroker', brokerId: nodeId(1), incarnationId: 'i-1' },
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(1) },
    ])
    expect(await node.produce('d')).toMatchObject({ errorCode: '', baseOffset: 1 })
  })

  test('a full disk keeps the directory offline until a probe can write again', async () => {
    const node = await startNode('i-1', register(1, 'i-1'))
    await node.commit([{ type: 'FenceBroker', brokerId: nodeId(1), incarnationId: 'i-1' }, { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(-1) }])
    await node.commit([{ type: 'UnfenceBroker', brokerId: nodeId(1), incarnationId: 'i-1' }, { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(1) }])
    node.fs.setFull(true)
    expect((await node.produce('a')).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(node.rm.logDirOffline).toBe(true)
    await node.commit([{ type: 'FenceBroker', brokerId: nodeId(1), incarnationId: 'i-1' }, { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(-1) }])
    for (let i = 0; i < 3; i++) {
      await probe(node)
      expect(node.rm.logDirOffline).toBe(true)
    }
    node.fs.setFull(false)
    await probe(node)
    expect(node.rm.logDirOffline).toBe(false)
    expect(node.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'follower', logEndOffset: 0 })
  })
})

describe('ReplicaManager: a leader whose copy rotted (issue 10, seeds 452 and 1175 of the disk-fault simulation)', () => {
  const fetchFrom = (node: Node, fetchOffset: number, verifyRecords: boolean) => node.rm.handleReplicaFetch({
    replicaId: 2, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
    partitions: [{ topic: TOPIC, topicId: TOPIC_ID, partition: 0, fetchOffset, lastFetchedEpoch: 0, currentLeaderEpoch: 0, logStartOffset: 0, verifyRecords }],
  })

  test('a follower refusing its records makes it verify: a sound copy is served, a rotted one stops the leadership and is cut back', async () => {
    const node = await startNode('i-1', register(1, 'i-1'))
    for (const value of ['a', 'b', 'c']) expect(await node.produce(value)).toMatchObject({ errorCode: '' })
    const before = node.rm.replicaState(TOPIC, 0)
    expect(before).toMatchObject({ role: 'leader', highWatermark: 3, logEndOffset: 3 })
    // Sound bytes verify clean and are served (the follower's refusal came from elsewhere).
    const sound = (await fetchFrom(node, 1, true)).partitions?.[0]
    expect(sound).toMatchObject({ errorCode: '' })
    expect(sound?.records?.byteLength).toBeGreaterThan(0)

    // Rot inside the CRC of the batch at offset 1: reads check headers only, so it is served as it is...
    const segment = `${DIR}/${TOPIC}-0/00000000000000000000.log`
    const victim = [...walkBatches(await node.fs.readFile(segment))].find((b) => b.header.baseOffset === 1) as { position: number }
    node.fs.flipByte(segment, victim.position + 30)
    expect((await fetchFrom(node, 1, false)).partitions?.[0]).toMatchObject({ errorCode: '' })
    // ...until the follower, whose append refused it, asks the leader to verify.
    expect((await fetchFrom(node, 1, true)).partitions?.[0]).toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR })
    await flushPromises(500)
    // Reopened from disk, cut back at the bad batch, not leading, and reported to the controller by the heartbeat.
    const after = node.rm.replicaState(TOPIC, 0)
    expect(after).toMatchObject({ role: 'follower', highWatermark: 1, logEndOffset: 1 })
    expect(after?.generation).toBeGreaterThan(before?.generation ?? Infinity)
    expect(node.rm.refetchingReplicas()).toEqual([{ topicId: TOPIC_ID, partition: 0 }])
    expect(await node.produce('d')).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })
  })
})

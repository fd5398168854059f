// Replication between real ReplicaManagers in one process: real PartitionLogs in temp directories, fetchers that
// call the leader's manager in-process (the gRPC transport has its own test), and a shared MetadataImage whose `alterPartition` stub plays the controller (decideIsrChange, commit,
// publish to every manager).
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { ErrorCode, isGregorError, isRetriableCode, leaderEpoch, nodeId, offset, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, decideIsrChange, defaultTopicConfig, type TopicConfig } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { buildBatch, stampBatch } from '@gregor/records'
import {
  FileHandleCache, type LogConfig, OffsetCheckpoints, type PartitionLog, RECOVERY_POINT_CHECKPOINT_FILE,
  REPLICATION_OFFSET_CHECKPOINT_FILE, nodeFileSystem,
} from '@gregor/storage'
import { parseSnapshotFileName, snapshotFileName } from './producer-snapshot-codec.js'
import type { FetchPartitionRequest } from './leader-requests.js'
import { ReplicaManager } from './replica-manager.js'
import { type ReplicationConfig, validateReplicationConfig } from './replication-config.js'
import { InProcessFetchTransport } from './testing/in-process-fetch-transport.js'
import { ManualTimers, flushPromises } from './testing/manual-timers.js'
import { systemTimers } from '../system/system-timers.js'

const TOPIC = 't'
/** The members of an AlterPartition request's new ISR, without their broker epochs. */
const newIsrOf = (request: gregor.cluster.AlterPartitionRequest.$Properties): number[] =>
  (request.newIsrWithEpochs ?? []).map((member) => member.brokerId ?? 0)
const TOPIC_ID = 'id-t'

interface Node { readonly id: number; readonly dir: string; rm: ReplicaManager; running: boolean }

class TestCluster {
  readonly image = new MetadataImage()
  readonly nodes = new Map<number, Node>()
  readonly config: ReplicationConfig
  readonly files = new FileHandleCache({ openFilesMax: 100, fs: nodeFileSystem })
  /** A stopped broker is unreachable: its followers' fetches fail as on a broken stream. */
  readonly transport = new InProcessFetchTransport((id) => {
    const node = this.nodes.get(id)
    return node?.running === true ? node.rm : undefined
  })
  readonly logConfig: Partial<LogConfig>
  alterCalls: gregor.cluster.AlterPartitionRequest.$Properties[] = []

  constructor (overrides: Partial<ReplicationConfig>, logConfig: Partial<LogConfig> = {}) {
    this.logConfig = { segmentBytes: 4 * 1024 * 1024, batchBytesMax: 64 * 1024, ...logConfig }
    this.config = validateReplicationConfig({
      replicaFetchMaxWaitMs: 100, replicaFetchBackoffMs: 20, reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 100,
      isrCheckIntervalMs: 50, replicaLagTimeMaxMs: 60_000, replicaFetchMaxBytes: 1024 * 1024, messageBytesMax: 8 * 1024 * 1024,
      fetchBytesMax: 4 * 1024 * 1024, requestBytesMax: 2 * 1024 * 1024, ...overrides,
    })
  }

  static async start (ids: number[], options: { minIsr: number; overrides?: Partial<ReplicationConfig>; logConfig?: Partial<LogConfig>; topicConfig?: Partial<TopicConfig> }): Promise<TestCluster> {
    const cluster = new TestCluster(options.overrides ?? {}, options.logConfig)
    // Segment sizes are topic configs (they override the broker's log config), so the test topic carries them.
    const { segmentBytes, batchBytesMax } = cluster.logConfig
    const topicConfig: TopicConfig = {
      ...defaultTopicConfig, minInsyncReplicas: options.minIsr,
      ...(segmentBytes === undefined ? {} : { segmentBytes }), ...(batchBytesMax === undefined ? {} : { maxMessageBytes: batchBytesMax }),
      ...options.topicConfig,
    }
    const records: MetadataRecord[] = []
    for (const id of ids) {
      const brokerId = nodeId(id)
      records.push({ type: 'RegisterBroker', brokerId, incarnationId: `i-${id}`, listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] })
      records.push({ type: 'UnfenceBroker', brokerId, incarnationId: `i-${id}` })
    }
    records.push({ type: 'Topic', name: TOPIC, topicId: TOPIC_ID, partitionCount: 1, config: topicConfig })
    records.push({ type: 'Partition', topicId: TOPIC_ID, partition: 0, replicas: ids.map(nodeId), isr: ids.map(nodeId), leader: nodeId(ids[0] ?? 0), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 })
    cluster.image.applyBatch(records, raftIndex(1))
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `gregor-replica-${id}-`))
      await cluster.#startNode(id, dir)
    }
    await cluster.publish()
    return cluster
  }

  async #startNode (id: number, dir: string): Promise<Node> {
    const rm = new ReplicaManager({
      brokerId: id, incarnationId: `i-${id}`, dataDir: dir, logConfig: this.logConfig, fs: nodeFileSystem, files: this.files,
      alterPartition: async (request) => await this.alterPartition(request),
      fetchTransport: this.transport,
      clock: { nowMs: () => performance.now() }, timers: systemTimers, logger: silentLogger, config: this.config,
    })
    const node = { id, dir, rm, running: true }
    this.nodes.set(id, node)
    return node
  }

  node (id: number): Node {
    const node = this.nodes.get(id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  rm (id: number): ReplicaManager {
    return this.node(id).rm
  }

  /** The controller seam: validate like the controller, commit, publish to every running manager. */
  async alterPartition (request: gregor.cluster.AlterPartitionRequest.$Properties): Promise<gregor.cluster.AlterPartitionResponse> {
    this.alterCalls.push(request)
    const response = (fields: Partial<gregor.cluster.AlterPartitionResponse>): gregor.cluster.AlterPartitionResponse =>
      ({ errorCode: '', errorMessage: '', isr: [], leaderEpoch: -1, partitionEpoch: -1, ...fields }) as gregor.cluster.AlterPartitionResponse
    try {
      const decision = decideIsrChange(this.image, {
        brokerId: nodeId(request.brokerId ?? 0), topicId: request.topicId ?? '', partition: request.partition ?? 0,
        leaderEpoch: leaderEpoch(request.leaderEpoch ?? 0), partitionEpoch: request.partitionEpoch ?? 0,
        newIsr: newIsrOf(request).map(nodeId),
      })
      if (decision.records.length > 0) await this.commit(decision.records)
    } catch (error) {
      if (isGregorError(error)) return response({ errorCode: error.code, errorMessage: error.message })
      throw error
    }
    const p = this.partition()
    return response({ isr: [...p.isr], leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch })
  }

  partition (): { isr: readonly number[]; leader: number; leaderEpoch: number; partitionEpoch: number } {
    const p = this.image.partition(TOPIC_ID, 0)
    if (p === undefined) throw new Error('no partition')
    return p
  }

  async commit (records: readonly MetadataRecord[]): Promise<void> {
    this.image.applyBatch(records, raftIndex(this.image.appliedIndex + 1))
    await this.publish()
  }

  async publish (): Promise<void> {
    await Promise.all([...this.nodes.values()].filter((n) => n.running).map(async (n) => { await n.rm.onMetadata(this.image) }))
  }

  async stop (id: number): Promise<void> {
    const node = this.node(id)
    node.running = false
    await node.rm.close()
  }

  /** A new process on the same data directory. */
  async restart (id: number): Promise<void> {
    const node = await this.#startNode(id, this.node(id).dir)
    await node.rm.onMetadata(this.image)
  }

  async close (): Promise<void> {
    for (const node of this.nodes.values()) {
      if (node.running) await this.stop(node.id)
      await rm(node.dir, { recursive: true, force: true })
    }
    await this.files.closeAll()
  }
}

async function waitFor (what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function batch (value: string, count = 1): Buffer {
  return buildBatch(Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${value}-${i}`) })), { nowMs: 1_700_000_000_000 })
}

async function produce (rm: ReplicaManager, records: Buffer, acks = -1, timeoutMs = 10_000): Promise<gregor.cluster.ProducePartitionResult.$Properties> {
  const response = await rm.produce({ acks, timeoutMs, partitions: [{ topic: TOPIC, partition: 0, topicId: '', records }] })
  const result = response.partitions?.[0]
  if (result === undefined) throw new Error('no partition result')
  return result
}

/** Segments of two 370-byte batches, and follower fetches that fit in one (a follower append must fit a segment). */
const SMALL_SEGMENTS = { logConfig: { segmentBytes: 1024, batchBytesMax: 1024 }, overrides: { replicaFetchMaxBytes: 1024 } }

function sequenced (baseSequence: number, producerId = 4242): Buffer {
  return buildBatch([{ value: Buffer.alloc(300, baseSequence) }], { nowMs: 1_700_000_000_000, producerId, producerEpoch: 0, baseSequence })
}

/** The offsets of the producer-state snapshots in a replica's partition directory. */
async function snapshotOffsets (rm: ReplicaManager): Promise<number[]> {
  const dir = rm.partitionLog(TOPIC, 0)?.dir
  if (dir === undefined) throw new Error('no log')
  return (await readdir(dir)).flatMap((name) => parseSnapshotFileName(name) ?? []).sort((a, b) => a - b)
}

async function logBytes (rm: ReplicaManager): Promise<Buffer> {
  const log = rm.partitionLog(TOPIC, 0)
  if (log === undefined) throw new Error('no log')
  return (await log.read({ offset: log.logStartOffset, bytesMax: 64 * 1024 * 1024 })).bytes
}

function state (rm: ReplicaManager): { highWatermark: number; logEndOffset: number; role: string; leaderEpoch: number } {
  const s = rm.replicaState(TOPIC, 0)
  if (s === undefined) throw new Error('no replica')
  return s
}

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('ReplicaManager', () => {
  test('replicates produced batches with exact bytes and offsets; acks=all completes only after the followers fetched', async () => {
    cluster = await TestCluster.start([1, 2, 3], { minIsr: 2 })
    const leader = cluster.rm(1)
    expect(state(leader).role).toBe('leader')
    const expected: Buffer[] = []
    let nextOffset = 0
    for (let i = 0; i < 5; i++) {
      const records = batch(`v${i}`, i + 1)
      const original = Buffer.from(records)
      const result = await produce(leader, records)
      expect(result.errorCode).toBe('')
      expect(result.baseOffset).toBe(nextOffset)
      const lastOffset = nextOffset + i
      // acks=all: at the moment of the answer every ISR member already holds the batch durably.
      for (const id of [2, 3]) expect(state(cluster.rm(id)).logEndOffset).toBeGreaterThan(lastOffset)
      expect(state(leader).highWatermark).toBeGreaterThan(lastOffset)
      stampBatch(original, 0, { baseOffset: nextOffset, partitionLeaderEpoch: 0 })
      expected.push(original)
      nextOffset = lastOffset + 1
    }
    const leaderBytes = await logBytes(leader)
    expect(leaderBytes.equals(Buffer.concat(expected))).toBe(true)
    for (const id of [2, 3]) {
      await waitFor(`follower ${id} high watermark`, () => state(cluster!.rm(id)).highWatermark === nextOffset)
      expect((await logBytes(cluster.rm(id))).equals(leaderBytes)).toBe(true)
      expect(state(cluster.rm(id)).role).toBe('follower')
    }
  })

  test('the high watermark never passes an ISR member\'s log end and never goes back', async () => {
    cluster = await TestCluster.start([1, 2, 3], { minIsr: 2 })
    const c = cluster
    const violations: string[] = []
    let lastHighWatermark = 0
    const check = (): void => {
      const leader = state(c.rm(1))
      if (leader.highWatermark < lastHighWatermark) violations.push(`hw went back ${lastHighWatermark} → ${leader.highWatermark}`)
      lastHighWatermark = leader.highWatermark
      for (const id of [1, 2, 3]) {
        const end = state(c.rm(id)).logEndOffset
        if (leader.highWatermark > end) violations.push(`hw ${leader.highWatermark} > log end ${end} of ${id}`)
      }
    }
    const sampler = setInterval(check, 1)
    try {
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const result = await produce(c.rm(1), batch(`x${i}`, 3), i % 2 === 0 ? -1 : 1)
        check()
        expect(result.errorCode).toBe('')
      }))
      await waitFor('hw at log end', () => state(c.rm(1)).highWatermark === 120)
    } finally {
      clearInterval(sampler)
    }
    check()
    expect(violations).toEqual([])
  })

  test('a lagging follower is shrunk out of the ISR; minISR 3 then refuses acks=all; catch-up expands the ISR again', async () => {
    cluster = await TestCluster.start([1, 2, 3], { minIsr: 3, overrides: { replicaLagTimeMaxMs: 300 } })
    const c = cluster
    expect((await produce(c.rm(1), batch('a'))).errorCode).toBe('')
    await c.stop(3)
    await waitFor('isr shrink', () => c.partition().isr.length === 2)
    expect([...c.partition().isr].sort()).toEqual([1, 2])
    expect(c.alterCalls.some((r) => (newIsrOf(r)).length === 2)).toBe(true)
    await waitFor('leader sees the shrunk isr', () => (c.rm(1).replicaState(TOPIC, 0)?.isr.length ?? 0) === 2)
    const endBefore = state(c.rm(1)).logEndOffset
    const refused = await produce(c.rm(1), batch('b'))
    expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS)
    expect(state(c.rm(1)).logEndOffset).toBe(endBefore)
    // acks=1 still appends, but the HW does not advance while |ISR| < minInsyncReplicas.
    const hwBefore = state(c.rm(1)).highWatermark
    expect((await produce(c.rm(1), batch('c'), 1)).errorCode).toBe('')
    await waitFor('follower 2 fetched', () => state(c.rm(2)).logEndOffset === endBefore + 1)
    expect(state(c.rm(1)).highWatermark).toBe(hwBefore)
    await c.restart(3)
    await waitFor('isr expand', () => c.partition().isr.length === 3, 15_000)
    await waitFor('hw advances with the full isr', () => state(c.rm(1)).highWatermark === endBefore + 1)
    const accepted = await produce(c.rm(1), batch('d'))
    expect(accepted.errorCode).toBe('')
    expect((await logBytes(c.rm(3))).equals(await logBytes(c.rm(1)))).toBe(true)
  })

  test('a deposed leader truncates its divergent tail by diverging epoch and then matches the new leader byte for byte', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1 })
    const c = cluster
    for (let i = 0; i < 3; i++) expect((await produce(c.rm(1), batch(`common${i}`))).errorCode).toBe('')
    await waitFor('follower caught up', () => state(c.rm(2)).highWatermark === 3)
    await c.stop(2)
    // Broker 1 goes on alone with acks=1: offsets 3 and 4 exist only on it (its ISR still names 2, so no HW move).
    for (let i = 0; i < 2; i++) expect((await produce(c.rm(1), batch(`lost${i}`), 1)).errorCode).toBe('')
    expect(state(c.rm(1)).logEndOffset).toBe(5)
    expect(state(c.rm(1)).highWatermark).toBe(3)
    // The controller elects broker 2 (epoch 1) while it is down; it comes back as the leader.
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2), isr: [nodeId(2)] }])
    expect(state(c.rm(1)).role).toBe('follower')
    await c.restart(2)
    expect(state(c.rm(2))).toMatchObject({ role: 'leader', leaderEpoch: 1, logEndOffset: 3 })
    const fresh = await produce(c.rm(2), batch('new', 2))
    expect(fresh).toMatchObject({ errorCode: '', baseOffset: 3 })
    await waitFor('old leader matches new leader', () => state(c.rm(1)).logEndOffset === 5 && state(c.rm(1)).highWatermark === 5)
    const newLeaderBytes = await logBytes(c.rm(2))
    expect((await logBytes(c.rm(1))).equals(newLeaderBytes)).toBe(true)
    expect(c.rm(1).partitionLog(TOPIC, 0)?.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([[0, 0], [1, 3]])
    await waitFor('old leader rejoins the isr', () => c.partition().isr.length === 2)
  })

  test('consumers never read at or above the high watermark, and a long-poll wakes when it moves', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1 })
    const c = cluster
    expect((await produce(c.rm(1), batch('committed'))).errorCode).toBe('')
    await c.stop(2)
    expect((await produce(c.rm(1), batch('uncommitted'), 1)).errorCode).toBe('')
    expect(state(c.rm(1))).toMatchObject({ highWatermark: 1, logEndOffset: 2 })
    const fetchAt = async (fetchOffset: number, maxWaitMs = 0): Promise<gregor.cluster.FetchPartitionResult.$Properties> => {
      const response = await c.rm(1).fetch({ maxWaitMs, minBytes: 1, maxBytes: 1024 * 1024, partitions: [{ topic: TOPIC, partition: 0, topicId: '', fetchOffset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }] })
      const result = response.partitions?.[0]
      if (result === undefined) throw new Error('no result')
      return result
    }
    const first = await fetchAt(0)
    expect(first).toMatchObject({ errorCode: '', highWatermark: 1 })
    expect(first.records?.byteLength).toBe(batch('committed').length)
    expect((await fetchAt(1)).records?.byteLength).toBe(0)
    const latest = await c.rm(1).listOffsets({ partitions: [{ topic: TOPIC, partition: 0, topicId: '', timestamp: -1, currentLeaderEpoch: -1 }] })
    expect(latest.partitions?.[0]).toMatchObject({ errorCode: '', offset: 1 })
    const polling = fetchAt(1, 20_000)
    await c.restart(2)
    const woken = await polling
    expect(woken.errorCode).toBe('')
    expect(woken.records?.byteLength).toBe(batch('uncommitted').length)
    expect(woken.highWatermark).toBe(2)
  })

  test('bad input gets a clear error code and leaves the log intact', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1 })
    const c = cluster
    expect((await produce(c.rm(1), batch('ok'))).errorCode).toBe('')
    const corrupt = batch('bad')
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1)
    expect((await produce(c.rm(1), corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
    const oversized = buildBatch([{ value: Buffer.alloc(70 * 1024, 7) }], { batchBytesMax: 1024 * 1024, nowMs: 1 })
    expect((await produce(c.rm(1), oversized)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE)
    expect((await produce(c.rm(1), Buffer.alloc(0))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
    const unknown = await c.rm(1).produce({ acks: -1, timeoutMs: 1000, partitions: [{ topic: 'nope', partition: 0, topicId: '', records: batch('x') }] })
    expect(unknown.partitions?.[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect((await produce(c.rm(2), batch('x'))).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    const badAcks = await c.rm(1).produce({ acks: 2, timeoutMs: 1000, partitions: [{ topic: TOPIC, partition: 0, topicId: '', records: batch('x') }] })
    expect(badAcks.partitions?.[0]?.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    const fetch = async (fields: Partial<FetchPartitionRequest>): Promise<string | null | undefined> =>
      (await c.rm(1).fetch({ maxWaitMs: 0, minBytes: 0, maxBytes: 0, partitions: [{ topic: TOPIC, partition: 0, topicId: '', fetchOffset: 0, partitionMaxBytes: 0, currentLeaderEpoch: -1, ...fields }] })).partitions?.[0]?.errorCode
    expect(await fetch({ fetchOffset: 99 })).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2) }])
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(1) }])
    expect(state(c.rm(1))).toMatchObject({ role: 'leader', leaderEpoch: 2 })
    expect(await fetch({ currentLeaderEpoch: 0 })).toBe(ErrorCode.FENCED_LEADER_EPOCH)
    expect(await fetch({ currentLeaderEpoch: 2 })).toBe('')
    expect(state(c.rm(1)).logEndOffset).toBe(1)
    const after = await produce(c.rm(1), batch('after'))
    expect(after).toMatchObject({ errorCode: '', baseOffset: 1 })
    await waitFor('follower has both batches', () => state(c.rm(2)).logEndOffset === 2)
    expect((await logBytes(c.rm(2))).equals(await logBytes(c.rm(1)))).toBe(true)
  })

  test('a stale image changes nothing, and a deleted topic\'s replicas are closed and their directories removed', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1 })
    const c = cluster
    const stale = c.image.clone()
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2) }])
    expect(state(c.rm(2))).toMatchObject({ role: 'leader', leaderEpoch: 1 })
    await Promise.all([c.rm(1).onMetadata(stale), c.rm(2).onMetadata(stale)])
    expect(state(c.rm(1))).toMatchObject({ role: 'follower', leaderEpoch: 1 })
    expect(state(c.rm(2))).toMatchObject({ role: 'leader', leaderEpoch: 1 })
    expect((await produce(c.rm(2), batch('x'))).errorCode).toBe('')
    const dirs = [1, 2].map((id) => c.rm(id).partitionLog(TOPIC, 0)?.dir ?? '')
    await c.commit([{ type: 'RemoveTopic', topicId: TOPIC_ID }])
    for (const id of [1, 2]) expect(c.rm(id).replicaState(TOPIC, 0)).toBeUndefined()
    for (const dir of dirs) expect(existsSync(dir)).toBe(false)
  })
  test('a new leader whose high watermark lags its epoch start answers OFFSET_NOT_AVAILABLE for latest, then the true end', async () => {
    cluster = await TestCluster.start([1, 2, 3], { minIsr: 1 })
    const c = cluster
    // Broker 3 is down but still in the ISR (lag limit 60 s), so the HW stays 0 while broker 2 copies offset 0.
    await c.stop(3)
    expect((await produce(c.rm(1), batch('a'), 1)).errorCode).toBe('')
    await waitFor('follower 2 has offset 0', () => state(c.rm(2)).logEndOffset === 1)
    expect(state(c.rm(2)).highWatermark).toBe(0)
    await c.stop(1)
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2), isr: [nodeId(2), nodeId(1)] }])
    expect(state(c.rm(2))).toMatchObject({ role: 'leader', leaderEpoch: 1, highWatermark: 0, logEndOffset: 1 })
    const latest = async (timestamp: number): Promise<gregor.cluster.ListOffsetsPartitionResult.$Properties | undefined> =>
      (await c.rm(2).listOffsets({ partitions: [{ topic: TOPIC, partition: 0, topicId: '', timestamp, currentLeaderEpoch: -1 }] })).partitions?.[0]
    expect(await latest(-1)).toMatchObject({ errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, offset: -1 })
    expect(await latest(1_700_000_000_000)).toMatchObject({ errorCode: ErrorCode.OFFSET_NOT_AVAILABLE })
    expect(await latest(-2)).toMatchObject({ errorCode: '', offset: 0 })
    // Once broker 1 follows and fetches in the new epoch, the HW reaches the epoch start and "latest" is the end.
    await c.restart(1)
    await waitFor('hw reaches the epoch start', () => state(c.rm(2)).highWatermark === 1)
    expect(await latest(-1)).toMatchObject({ errorCode: '', offset: 1, leaderEpoch: 1 })
  })
  test('idempotent batches: a resend is answered with its original offsets and stored once, also by a promoted follower', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1 })
    const c = cluster
    const sequenced = (value: string, baseSequence: number): Buffer =>
      buildBatch([{ value: Buffer.from(value) }], { nowMs: 1_700_000_000_000, producerId: 4242, producerEpoch: 0, baseSequence })
    expect(await produce(c.rm(1), sequenced('a', 0))).toMatchObject({ errorCode: '', baseOffset: 0 })
    expect(await produce(c.rm(1), sequenced('b', 1))).toMatchObject({ errorCode: '', baseOffset: 1 })
    // The acknowledgement of 'b' was lost: the producer sends the same batch again.
    expect(await produce(c.rm(1), sequenced('b', 1))).toMatchObject({ errorCode: '', baseOffset: 1 })
    expect(state(c.rm(1)).logEndOffset).toBe(2)
    expect(await produce(c.rm(1), sequenced('d', 3))).toMatchObject({ errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER })
    await waitFor('follower has both batches', () => state(c.rm(2)).logEndOffset === 2)
    // Broker 2 takes over: it built the same producer state from what it fetched.
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2) }])
    expect(await produce(c.rm(2), sequenced('b', 1))).toMatchObject({ errorCode: '', baseOffset: 1 })
    expect(await produce(c.rm(2), sequenced('c', 2))).toMatchObject({ errorCode: '', baseOffset: 2 })
    expect(state(c.rm(2)).logEndOffset).toBe(3)
    // And a restart rebuilds it from the log.
    await c.stop(2)
    await c.restart(2)
    expect(await produce(c.rm(2), sequenced('c', 2))).toMatchObject({ errorCode: '', baseOffset: 2 })
    expect(state(c.rm(2)).logEndOffset).toBe(3)
  })

  test('a restart remembers an idempotent producer whose batches are older than the last two segments (snapshots)', async () => {
    cluster = await TestCluster.start([1], { minIsr: 1, ...SMALL_SEGMENTS })
    const c = cluster
    expect(await produce(c.rm(1), sequenced(0))).toMatchObject({ errorCode: '', baseOffset: 0 })
    expect(await produce(c.rm(1), sequenced(1))).toMatchObject({ errorCode: '', baseOffset: 1 })
    // Another producer fills segments of two batches each: producer 4242's batches end up far behind.
    for (let i = 0; i < 10; i++) expect((await produce(c.rm(1), sequenced(i, 77))).errorCode).toBe('')
    const log = c.rm(1).partitionLog(TOPIC, 0)
    const bases = log?.segmentBaseOffsets ?? []
    expect(bases).toEqual([0, 2, 4, 6, 8, 10])
    // A snapshot per roll, written in the background; the last three are kept.
    const has = (at: number): boolean => existsSync(join(log?.dir ?? '', snapshotFileName(at)))
    await waitFor('snapshot of the last roll, older ones pruned', () => has(10) && !has(4))
    expect(await snapshotOffsets(c.rm(1))).toEqual([6, 8, 10])
    await c.stop(1)
    await c.restart(1)
    expect(await snapshotOffsets(c.rm(1))).toEqual([8, 10, 12]) // the clean close added one at the log end
    expect(state(c.rm(1))).toMatchObject({ role: 'leader', logEndOffset: 12 })
    // The resend of a batch from the first segment is still recognised, and the sequence still checked.
    expect(await produce(c.rm(1), sequenced(1))).toMatchObject({ errorCode: '', baseOffset: 1 })
    expect(state(c.rm(1)).logEndOffset).toBe(12)
    expect(await produce(c.rm(1), sequenced(3))).toMatchObject({ errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER })
    expect(await produce(c.rm(1), sequenced(2))).toMatchObject({ errorCode: '', baseOffset: 12 })
  })

  test('a deposed leader deletes its snapshots above the truncation point and forgets the batches it cut', async () => {
    cluster = await TestCluster.start([1, 2], { minIsr: 1, ...SMALL_SEGMENTS })
    const c = cluster
    for (let i = 0; i < 3; i++) expect(await produce(c.rm(1), sequenced(i))).toMatchObject({ errorCode: '', baseOffset: i })
    await waitFor('follower caught up', () => state(c.rm(2)).highWatermark === 3)
    await c.stop(2)
    // Broker 1 goes on alone: sequences 3..8 at offsets 3..8 exist only on it, and its rolls snapshot them.
    for (let i = 3; i < 9; i++) expect(await produce(c.rm(1), sequenced(i), 1)).toMatchObject({ errorCode: '', baseOffset: i })
    const dir = c.rm(1).partitionLog(TOPIC, 0)?.dir ?? ''
    const has = (at: number): boolean => existsSync(join(dir, snapshotFileName(at)))
    await waitFor('snapshot of the last roll, older ones pruned', () => has(8) && !has(2))
    expect(await snapshotOffsets(c.rm(1))).toEqual([4, 6, 8])
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(2), isr: [nodeId(2)] }])
    await c.restart(2)
    expect(state(c.rm(2))).toMatchObject({ role: 'leader', leaderEpoch: 1, logEndOffset: 3 })
    // The producer retries sequence 3 with the new leader; broker 1 truncates to 3 and fetches it.
    expect(await produce(c.rm(2), sequenced(3), 1)).toMatchObject({ errorCode: '', baseOffset: 3 })
    await waitFor('old leader truncated and caught up', () => state(c.rm(1)).logEndOffset === 4)
    expect((await logBytes(c.rm(1))).equals(await logBytes(c.rm(2)))).toBe(true)
    expect(await snapshotOffsets(c.rm(1))).toEqual([])
    // Broker 1 leads again: its producer state is the new history's (sequence 3 at offset 3), not its cut tail's.
    await waitFor('old leader rejoins the isr', () => c.partition().isr.length === 2)
    await c.commit([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, leader: nodeId(1) }])
    expect(state(c.rm(1))).toMatchObject({ role: 'leader', leaderEpoch: 2 })
    expect(await produce(c.rm(1), sequenced(3), 1)).toMatchObject({ errorCode: '', baseOffset: 3 })
    expect(await produce(c.rm(1), sequenced(4), 1)).toMatchObject({ errorCode: '', baseOffset: 4 })
    expect(state(c.rm(1)).logEndOffset).toBe(5)
  })

  test("the topic's retention.bytes deletes old segments on the leader and the followers, never past the high watermark", async () => {
    // 1 KiB segments of two 370-byte batches; keep about 2 KiB; check every 20 ms.
    const c = cluster = await TestCluster.start([1, 2], {
      minIsr: 2, ...SMALL_SEGMENTS, overrides: { ...SMALL_SEGMENTS.overrides, retentionCheckIntervalMs: 20 }, topicConfig: { retentionBytes: 2048 },
    })
    for (let i = 0; i < 20; i++) expect(await produce(c.rm(1), sequenced(i))).toMatchObject({ errorCode: '' })
    const logOf = (id: number): PartitionLog => c.rm(id).partitionLog(TOPIC, 0) as PartitionLog
    await waitFor('retention on both replicas', () => logOf(1).logStartOffset >= 14 && logOf(2).logStartOffset >= 14)
    for (const id of [1, 2]) {
      const log = logOf(id)
      expect(log.logEndOffset).toBe(20)
      expect(log.sizeBytes).toBeLessThanOrEqual(2048 + 1024)
      expect((await log.read({ offset: offset(log.logStartOffset), bytesMax: 1 })).baseOffset).toBe(log.logStartOffset)
    }
    // Nothing at or above the HW is ever deleted: with the follower stopped, the leader's HW stays where it was.
    await c.stop(2)
    for (let i = 20; i < 40; i++) expect(await produce(c.rm(1), sequenced(i), 1)).toMatchObject({ errorCode: '' })
    const highWatermark = state(c.rm(1)).highWatermark
    expect(highWatermark).toBe(20)
    await c.rm(1).applyRetention()
    expect(logOf(1).logStartOffset).toBeLessThanOrEqual(highWatermark)
  })

  test('a TopicConfigChange reaches the open replicas: min ISR at the next acks=all, retention.bytes at the next check', async () => {
    const c = cluster = await TestCluster.start([1, 2], {
      minIsr: 1, ...SMALL_SEGMENTS, overrides: { ...SMALL_SEGMENTS.overrides, retentionCheckIntervalMs: 20, replicaLagTimeMaxMs: 300 },
    })
    for (let i = 0; i < 20; i++) expect(await produce(c.rm(1), sequenced(i))).toMatchObject({ errorCode: '' })
    const logOf = (id: number): PartitionLog => c.rm(id).partitionLog(TOPIC, 0) as PartitionLog
    expect(logOf(1).logStartOffset).toBe(0)
    const topic = c.image.topicById(TOPIC_ID)!
    await c.commit([{ type: 'TopicConfigChange', topicId: TOPIC_ID, config: { ...topic.config, retentionBytes: 2048, minInsyncReplicas: 2 } }])
    for (const id of [1, 2]) expect(logOf(id).config.retentionBytes).toBe(2048)
    await waitFor('retention on both replicas', () => logOf(1).logStartOffset >= 14 && logOf(2).logStartOffset >= 14)
    // min ISR 2 with one replica left: acks=all is refused at once.
    await c.stop(2)
    await waitFor('isr shrink', () => c.partition().isr.length === 1)
    await waitFor('leader sees the shrunk isr', () => (c.rm(1).replicaState(TOPIC, 0)?.isr.length ?? 0) === 1)
    expect((await produce(c.rm(1), sequenced(20))).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS)
  })
})

// ---- issue 10: defects found by reading the code, each shown by a test on hand-driven time ----

interface Harness {
  readonly rm: ReplicaManager
  readonly timers: ManualTimers
  readonly image: MetadataImage
  readonly dir: string
  alterPartition: (request: gregor.cluster.AlterPartitionRequest.$Properties) => Promise<gregor.cluster.AlterPartitionResponse>
  readonly alterCalls: gregor.cluster.AlterPartitionRequest.$Properties[]
  /** Commits a PartitionChange of t-0 to the image and publishes it to the manager. */
  commitPartitionChange: (change: Partial<Omit<Extract<MetadataRecord, { type: 'PartitionChange' }>, 'type' | 'topicId' | 'partition'>>) => Promise<void>
  close: () => Promise<void>
}

const harnesses: Harness[] = []
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close()
})

function alterResponse (fields: Partial<gregor.cluster.AlterPartitionResponse>): gregor.cluster.AlterPartitionResponse {
  return ({ errorCode: '', errorMessage: '', isr: [], leaderEpoch: -1, partitionEpoch: -1, ...fields }) as gregor.cluster.AlterPartitionResponse
}

/**
 * Broker 1 alone on hand-driven time, leading `t-0` (replicas 1..n, ISR as given); no fetcher reaches anyone, and
 * the controller seam answers with whatever the test sets (by default: an unanswered request).
 */
async function leaderHarness (options: { replicas?: number[]; isr?: number[]; minIsr?: number; overrides?: Partial<ReplicationConfig>; dir?: string; publish?: boolean } = {}): Promise<Harness> {
  const replicas = options.replicas ?? [1, 2]
  const image = new MetadataImage()
  const records: MetadataRecord[] = []
  for (const id of replicas) {
    records.push({ type: 'RegisterBroker', brokerId: nodeId(id), incarnationId: `i-${id}`, listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 1 }] })
    records.push({ type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId: `i-${id}` })
  }
  records.push({ type: 'Topic', name: TOPIC, topicId: TOPIC_ID, partitionCount: 1, config: { ...defaultTopicConfig, minInsyncReplicas: options.minIsr ?? 1 } })
  records.push({ type: 'Partition', topicId: TOPIC_ID, partition: 0, replicas: replicas.map(nodeId), isr: (options.isr ?? replicas).map(nodeId), leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 })
  image.applyBatch(records, raftIndex(1))
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'gregor-replica-h-'))
  const timers = new ManualTimers()
  const files = new FileHandleCache({ openFilesMax: 20, fs: nodeFileSystem })
  const config = validateReplicationConfig({ replicaFetchMaxWaitMs: 100, isrCheckIntervalMs: 50, replicaLagTimeMaxMs: 60_000, ...options.overrides })
  const alterCalls: gregor.cluster.AlterPartitionRequest.$Properties[] = []
  const harness: Harness = {
    rm: undefined as unknown as ReplicaManager, timers, image, dir, alterCalls,
    alterPartition: async () => await new Promise(() => {}),
    commitPartitionChange: async (change) => {
      image.applyBatch([{ type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, ...change }], raftIndex(image.appliedIndex + 1))
      await harness.rm.onMetadata(image)
    },
    close: async () => {
      await harness.rm.close()
      await files.closeAll()
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true })
    },
  }
  ;(harness as { rm: ReplicaManager }).rm = new ReplicaManager({
    brokerId: 1, incarnationId: 'i-1', dataDir: dir, logConfig: { segmentBytes: 1024 * 1024 }, fs: nodeFileSystem, files,
    alterPartition: async (request) => { alterCalls.push(request); return await harness.alterPartition(request) },
    fetchTransport: new InProcessFetchTransport(() => undefined),
    clock: timers, timers, logger: silentLogger, config,
  })
  harnesses.push(harness)
  if (options.publish !== false) await harness.rm.onMetadata(image)
  return harness
}

/** One fetch of follower `followerId` at `fetchOffset` in leader epoch `epoch`, answered at once. */
async function followerFetch (target: ReplicaManager, followerId: number, fetchOffset: number, epoch = 0): Promise<gregor.cluster.ReplicaFetchPartitionResult.$Properties | undefined> {
  const response = await target.handleReplicaFetch({
    replicaId: followerId, maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024,
    partitions: [{ topic: TOPIC, partition: 0, fetchOffset, lastFetchedEpoch: fetchOffset > 0 ? epoch : -1, currentLeaderEpoch: epoch, logStartOffset: 0 }],
  })
  return response.partitions?.[0]
}

describe('ReplicaManager: issue 10 defects', () => {
  test('#8 a checkpoint before the first image keeps what the files held; one after it drops only partitions not here', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gregor-replica-cp-'))
    try {
      const write = async (fileName: string, entries: Array<{ topic: string; partition: number; offset: number }>): Promise<void> => {
        await new OffsetCheckpoints({ logDir: dir, fileName, fs: nodeFileSystem }).write(entries)
      }
      const read = async (fileName: string): Promise<Map<string, number>> =>
        await new OffsetCheckpoints({ logDir: dir, fileName, fs: nodeFileSystem }).read()
      await write(REPLICATION_OFFSET_CHECKPOINT_FILE, [{ topic: TOPIC, partition: 0, offset: 0 }, { topic: 'gone-topic', partition: 3, offset: 42 }])
      await write(RECOVERY_POINT_CHECKPOINT_FILE, [{ topic: TOPIC, partition: 0, offset: 0 }, { topic: 'gone-topic', partition: 3, offset: 40 }])
      const h = await leaderHarness({ dir, publish: false, replicas: [1] })
      // No image yet (the controller is slow): the periodic checkpoint must not replace the files with nothing.
      await h.rm.checkpoint()
      expect(await read(REPLICATION_OFFSET_CHECKPOINT_FILE)).toEqual(new Map([['t-0', 0], ['gone-topic-3', 42]]))
      expect(await read(RECOVERY_POINT_CHECKPOINT_FILE)).toEqual(new Map([['t-0', 0], ['gone-topic-3', 40]]))
      // The image assigns t-0 here and nothing of gone-topic: t-0 is written from its replica, gone-topic-3 dropped.
      await h.rm.onMetadata(h.image)
      expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
      await h.rm.checkpoint()
      expect(await read(REPLICATION_OFFSET_CHECKPOINT_FILE)).toEqual(new Map([['t-0', 1]]))
      expect([...(await read(RECOVERY_POINT_CHECKPOINT_FILE)).keys()]).toEqual(['t-0'])
    } finally {
      await harnesses.pop()?.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('#12 a follower the controller refuses (fenced) is proposed for the ISR with exponential backoff, not on every fetch', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1], overrides: { isrExpandBackoffMsMin: 100, isrExpandBackoffMsMax: 5000 } })
    const proposedAtMs: number[] = []
    h.alterPartition = async () => {
      proposedAtMs.push(h.timers.nowMs())
      return alterResponse({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'brokers [2] are fenced' })
    }
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    // The follower keeps fetching at the log end every 10 ms for 20 s: 2,000 chances to propose it.
    for (let i = 0; i < 2000; i++) {
      expect((await followerFetch(h.rm, 2, 1))?.errorCode).toBe('')
      await h.timers.advance(10)
    }
    // Gaps of 100, 200, 400, ... 3,200 ms, then 5 s: about 10 proposals in 20 s, and never more than 5 s apart.
    expect(proposedAtMs.length).toBeGreaterThanOrEqual(8)
    expect(proposedAtMs.length).toBeLessThanOrEqual(11)
    const gapsMs = proposedAtMs.slice(1).map((at, i) => at - (proposedAtMs[i] ?? 0))
    expect(gapsMs.every((gap, i) => gap >= Math.min(100 * 2 ** i, 5000) && gap <= Math.min(100 * 2 ** i, 5000) + 20)).toBe(true)
    // Once the controller accepts, the next fetch proposes it again after the backoff and the ISR grows.
    h.alterPartition = async (request) => {
      await h.commitPartitionChange({ isr: newIsrOf(request).map(nodeId) })
      return alterResponse({ isr: newIsrOf(request), leaderEpoch: 0, partitionEpoch: h.image.partition(TOPIC_ID, 0)?.partitionEpoch ?? -1 })
    }
    for (let i = 0; i < 600 && (h.rm.replicaState(TOPIC, 0)?.isr.length ?? 0) < 2; i++) {
      await followerFetch(h.rm, 2, 1)
      await h.timers.advance(10)
    }
    expect(h.rm.replicaState(TOPIC, 0)?.isr).toEqual([1, 2])
  })

  test('#4 an ISR change the image shows only coalesced with a later one does not stay pending and block later changes', async () => {
    const h = await leaderHarness({ replicas: [1, 2, 3], isr: [1, 2, 3], minIsr: 2, overrides: { replicaLagTimeMaxMs: 300 } })
    // The controller accepts at once, and the image reaches the leader later: the answer comes first.
    h.alterPartition = async (request) => alterResponse({ isr: newIsrOf(request), leaderEpoch: 0, partitionEpoch: 1 })
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    // Follower 2 keeps up, follower 3 never fetches: the ISR check proposes [1, 2].
    for (let i = 0; i < 40 && h.alterCalls.length === 0; i++) {
      await followerFetch(h.rm, 2, 1)
      await h.timers.advance(10)
    }
    expect(h.alterCalls.map(newIsrOf)).toEqual([[1, 2]])
    // Two changes at leader epoch 0 reach the leader as one image: the shrink to [1, 2] (partition epoch 1), then
    // broker 2 fenced and removed (partition epoch 2).
    h.image.applyBatch([
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, isr: [nodeId(1), nodeId(2)] },
      { type: 'PartitionChange', topicId: TOPIC_ID, partition: 0, isr: [nodeId(1)] },
    ], raftIndex(h.image.appliedIndex + 1))
    await h.rm.onMetadata(h.image)
    expect(h.rm.replicaState(TOPIC, 0)).toMatchObject({ leaderEpoch: 0, isr: [1] })
    // Broker 2 is back and caught up: the leader proposes it for the ISR again (it used to wait for a restart).
    await followerFetch(h.rm, 2, 1)
    expect(h.alterCalls.map(newIsrOf)).toEqual([[1, 2], [1, 2]])
    expect(h.alterCalls[1]).toMatchObject({ leaderEpoch: 0, partitionEpoch: 2 })
  })

  test('#4 an unanswered ISR expansion stops blocking after alterPartitionTimeoutMs, but its member counts for the HW until an image shows the outcome', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1], overrides: { alterPartitionTimeoutMs: 1000 } })
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    await followerFetch(h.rm, 2, 1) // caught up: proposed; the controller never answers
    expect(h.alterCalls.length).toBe(1)
    await h.timers.advance(999)
    await followerFetch(h.rm, 2, 1)
    expect(h.alterCalls.length).toBe(1) // still pending
    await h.timers.advance(1)
    // Timed out: the controller may have added broker 2, so the HW waits for it.
    expect((await produce(h.rm, batch('b'), 1)).errorCode).toBe('')
    expect(h.rm.replicaState(TOPIC, 0)).toMatchObject({ highWatermark: 1, logEndOffset: 2, isr: [1] })
    // No longer blocked: after the expansion backoff, the next fetch proposes it again.
    await h.timers.advance(100)
    await followerFetch(h.rm, 2, 2)
    expect(h.alterCalls.length).toBe(2)
    expect(h.rm.replicaState(TOPIC, 0)?.highWatermark).toBe(2)
    // An image at a newer partition epoch without broker 2 resolves both: neither request can be applied any more
    // (the controller refuses a stale partition epoch), so the HW no longer waits for broker 2.
    await h.commitPartitionChange({ isr: [nodeId(1)] })
    expect((await produce(h.rm, batch('c'), 1)).errorCode).toBe('')
    expect(h.rm.replicaState(TOPIC, 0)?.highWatermark).toBe(3)
  })

  test('#10a a new leader whose high watermark lags its epoch start answers a consumer fetch OFFSET_NOT_AVAILABLE, not a high watermark that went back', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1, 2] })
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    // Leadership goes to broker 2 and back: broker 1 leads epoch 2 from log end 1 with its old HW 0, while broker 2
    // (ISR) may have served HW 1 in epoch 1.
    await h.commitPartitionChange({ leader: nodeId(2) })
    await h.commitPartitionChange({ leader: nodeId(1) })
    expect(h.rm.replicaState(TOPIC, 0)).toMatchObject({ role: 'leader', leaderEpoch: 2, highWatermark: 0, logEndOffset: 1 })
    const consumerFetch = async (): Promise<gregor.cluster.FetchPartitionResult.$Properties | undefined> => (await h.rm.fetch({
      maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024, partitions: [{ topic: TOPIC, partition: 0, topicId: '', fetchOffset: 0, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }],
    })).partitions?.[0]
    expect(await consumerFetch()).toMatchObject({ errorCode: ErrorCode.OFFSET_NOT_AVAILABLE, highWatermark: -1 })
    // Broker 2 fetches in the new epoch at the epoch start: the HW is known again, and the fetch is answered.
    expect((await followerFetch(h.rm, 2, 1, 2))?.errorCode).toBe('')
    const answered = await consumerFetch()
    expect(answered).toMatchObject({ errorCode: '', highWatermark: 1 })
    expect(answered?.records?.byteLength).toBe(batch('a').length)
  })

  test('a follower whose last epoch is newer than any the leader knows (a corrupt log) is told to truncate to its HW', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1, 2] })
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    const response = await h.rm.handleReplicaFetch({
      replicaId: 2, maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024,
      partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 3, lastFetchedEpoch: 65280, currentLeaderEpoch: 0, logStartOffset: 0 }],
    })
    expect(response.partitions?.[0]).toMatchObject({ errorCode: '', divergingEpoch: { epoch: -1, endOffset: -1 } })
    // Its bogus fetch offset counts for nothing.
    expect(h.rm.replicaState(TOPIC, 0)?.highWatermark).toBe(0)
  })

  test('#7 consumer long polls fill only their own queue: acks=all produces and follower long polls still wait; the extra poll is answered at once', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1, 2], overrides: { consumerFetchWaitersMax: 2, produceWaitersMax: 5, followerFetchWaitersMax: 5 } })
    const waiting = (): Record<string, number> => ({ ...h.rm.waitingRequests() })
    expect((await produce(h.rm, batch('a'), 1)).errorCode).toBe('')
    expect((await followerFetch(h.rm, 2, 1))?.errorCode).toBe('')
    expect(h.rm.replicaState(TOPIC, 0)?.highWatermark).toBe(1)
    const longPoll = (): Promise<gregor.cluster.FetchResponse.$Properties> => h.rm.fetch({
      maxWaitMs: 10_000, minBytes: 1, maxBytes: 1024 * 1024, partitions: [{ topic: TOPIC, partition: 0, topicId: '', fetchOffset: 1, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }],
    })
    const polls = [longPoll(), longPoll()]
    await waitFor('two consumer long polls waiting', () => waiting().consumerFetch === 2)
    // The consumer queue is full: a third long poll is answered at once, empty and without error.
    const third = await longPoll()
    expect(third.partitions?.[0]).toMatchObject({ errorCode: '', highWatermark: 1 })
    expect(third.partitions?.[0]?.records?.byteLength).toBe(0)
    // A follower long poll still waits (at the log end)...
    const followerPoll = h.rm.handleReplicaFetch({
      replicaId: 2, maxWaitMs: 5000, minBytes: 1, maxBytes: 1024 * 1024,
      partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 1, lastFetchedEpoch: 0, currentLeaderEpoch: 0, logStartOffset: 0 }],
    })
    await waitFor('the follower long poll waiting', () => waiting().followerFetch === 1)
    // ...and so does an acks=all produce: appended, it wakes the follower's poll and waits for its next fetch.
    let produced: gregor.cluster.ProducePartitionResult.$Properties | undefined
    const producing = produce(h.rm, batch('b')).then((result) => { produced = result })
    const copied = (await followerPoll).partitions?.[0]
    expect(copied?.records?.byteLength).toBe(batch('b').length)
    expect(waiting()).toMatchObject({ produce: 1, consumerFetch: 2 })
    expect(produced).toBeUndefined()
    expect((await followerFetch(h.rm, 2, 2))?.errorCode).toBe('')
    await producing
    expect(produced).toMatchObject({ errorCode: '', baseOffset: 1 })
    // The HW moved: the two consumer long polls are answered with the new batch.
    for (const poll of await Promise.all(polls)) expect(poll.partitions?.[0]?.records?.byteLength).toBe(batch('b').length)
    expect(waiting()).toMatchObject({ produce: 0, consumerFetch: 0, followerFetch: 0, inFlightBytes: 0 })
  })

  test('#7 a full acks=all queue refuses a produce before appending it, with a retriable error', async () => {
    const h = await leaderHarness({ replicas: [1, 2], isr: [1, 2], overrides: { produceWaitersMax: 1 } })
    let first: gregor.cluster.ProducePartitionResult.$Properties | undefined
    const waiting = produce(h.rm, batch('a')).then((result) => { first = result })
    await waitFor('the first produce appended and waiting', () => h.rm.waitingRequests().produce === 1 && state(h.rm).logEndOffset === 1)
    const refused = await produce(h.rm, batch('b'))
    expect(refused).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT, baseOffset: -1 })
    expect(refused.errorMessage).toContain('produceWaitersMax 1')
    expect(isRetriableCode(refused.errorCode as ErrorCode)).toBe(true)
    expect(state(h.rm).logEndOffset).toBe(1) // nothing appended
    expect((await produce(h.rm, batch('c'), 1)).errorCode).toBe('') // acks=1 does not wait: not refused
    expect((await followerFetch(h.rm, 2, 2))?.errorCode).toBe('')
    await waiting
    expect(first).toMatchObject({ errorCode: '', baseOffset: 0 })
    // Room again: appended (and, with no time to wait, timed out).
    expect((await produce(h.rm, batch('d'), -1, 0)).errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT)
    expect(state(h.rm).logEndOffset).toBe(3)
  })

  test('#7 a broker-wide cap on bytes in flight refuses produce requests and fetch reads beyond it, with a clear error', async () => {
    const h = await leaderHarness({
      replicas: [1, 2], isr: [1, 2],
      overrides: { inFlightBytesMax: 8192, requestBytesMax: 8192, fetchBytesMax: 8192, replicaFetchMaxBytes: 4096, messageBytesMax: 16384 },
    })
    const big = buildBatch([{ value: Buffer.alloc(6000, 1) }], { nowMs: 1_700_000_000_000, batchBytesMax: 8192 })
    let first: gregor.cluster.ProducePartitionResult.$Properties | undefined
    const waiting = produce(h.rm, big).then((result) => { first = result })
    await waitFor('the big produce appended and waiting', () => h.rm.waitingRequests().produce === 1 && state(h.rm).logEndOffset === 1)
    expect(h.rm.waitingRequests().inFlightBytes).toBe(big.length)
    // Its bytes are held until it is answered: another big one does not fit, and is not appended.
    const refused = await produce(h.rm, big)
    expect(refused).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT })
    expect(refused.errorMessage).toContain('inFlightBytesMax 8192')
    expect(state(h.rm).logEndOffset).toBe(1)
    // A follower read of up to 4,096 bytes does not fit either: that partition is refused, retriable.
    expect((await followerFetch(h.rm, 2, 0))?.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT)
    // Small requests still fit.
    expect((await produce(h.rm, batch('small'), 1)).errorCode).toBe('')
    await h.timers.advance(10_000)
    await waiting
    expect(first).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT })
    expect(h.rm.waitingRequests().inFlightBytes).toBe(0)
    expect((await produce(h.rm, big, 1)).errorCode).toBe('')
  })
})

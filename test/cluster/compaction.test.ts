/**
 * Log compaction on three real broker processes: a compacted topic keeps the latest record of every key at the offset
 * it was acknowledged with, on every replica; tombstones stay readable for `delete.retention.ms` and then go; a storm
 * of offset commits leaves its `__consumer_offsets` partition bounded; a broker killed with SIGKILL while it cleans
 * comes back with the same latest-per-key content.
 *
 * Replicas are checked beside the client reads: each broker's partition directory is measured on disk, and copied
 * aside and opened with `PartitionLog.open` (the broker's own loader, which repairs `.cleaned` / `.swap` files), so
 * a follower's content is checked without moving leadership.
 */
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { describe, expect, test } from 'vitest'
import { type Admin, type ConsumerMessage, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { silentLogger } from '@gregor/common'
import { groupMethods, unaryCall, type gregor } from '@gregor/protocol'
import { PartitionLog, nodeFileSystem } from '@gregor/storage'
// The storage tests' reader of a keyed log (a consumer's walk: the next offset is the batch end, gaps allowed).
import { type KeyedRecord, readAllRecords } from '../../packages/storage/src/log/testing/keyed-log.js'
import { createTopicInSync, describePartition, describePartitions, readPartitionUntil, serversOf, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

const SEGMENT_BYTES = 65_536
useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, {
  env: {
    GREGOR_LOG_CLEANER_BACKOFF_MS: '200',
    GREGOR_OFFSETS_TOPIC_SEGMENT_BYTES: String(SEGMENT_BYTES),
    GREGOR_OFFSETS_TOPIC_NUM_PARTITIONS: '4',
  },
})

function producer (): Producer {
  return new Producer({ bootstrapServers: serversOf(cluster), lingerMs: 5, deliveryTimeoutMs: 60_000, batchBytesMax: 16_384 })
}

function compactedTopic (topic: string, configs: Record<string, string> = {}): { topic: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> } {
  return {
    topic,
    numPartitions: 1,
    replicationFactor: 3,
    configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(SEGMENT_BYTES), 'min.cleanable.dirty.ratio': '0.01', ...configs },
  }
}

function partitionDir (nodeId: number, topic: string, partition = 0): string {
  return join(cluster.dir, `broker-${nodeId}`, 'logs', `${topic}-${partition}`)
}

/** Bytes of the segment files (`.log`, plus any `.cleaned` / `.swap` in flight) of one replica. */
async function segmentBytesOf (nodeId: number, topic: string, partition = 0): Promise<number> {
  const dir = partitionDir(nodeId, topic, partition)
  let total = 0
  for (const name of await readdir(dir)) {
    if (!/\.log(\.cleaned|\.swap)?$/.test(name)) continue
    try {
      total += (await stat(join(dir, name))).size
    } catch {
      // Deleted by a swap between the listing and the stat.
    }
  }
  return total
}

const asKeyed = (message: ConsumerMessage): KeyedRecord =>
  ({ offset: message.offset as number, key: message.key?.toString() ?? '', value: message.value === null ? null : message.value.toString() })

/** Reads the partition with a Consumer from offset 0 until the record at `lastOffset` (compaction leaves gaps). */
async function readUpTo (topic: string, lastOffset: number, timeoutMs = 30_000): Promise<KeyedRecord[]> {
  const messages = await readPartitionUntil(cluster, topic, 0, (read) => (read.at(-1)?.offset as number) >= lastOffset, { timeoutMs })
  const records = messages.map(asKeyed)
  if ((records.at(-1)?.offset ?? -1) < lastOffset) throw new Error(`read of ${topic} stopped at ${records.at(-1)?.offset ?? -1} before ${lastOffset}`)
  return records
}

/**
 * One replica's records as the broker's storage would serve them: its partition directory copied aside and opened
 * with `PartitionLog.open` (which completes or discards an interrupted swap), read from the log start to the end.
 */
async function readReplicaCopy (nodeId: number, topic: string): Promise<KeyedRecord[]> {
  const copy = await mkdtemp(join(cluster.dir, `copy-${nodeId}-`))
  try {
    await copyLiveDir(partitionDir(nodeId, topic), join(copy, `${topic}-0`))
    // A compacted log's batches leave offset gaps, which the loader accepts only under a compacting policy.
    const log = await PartitionLog.open({ dir: copy, topic, partition: 0, config: { cleanupPolicy: 'compact' }, logger: silentLogger, fs: nodeFileSystem })
    try {
      return await readAllRecords(log)
    } finally {
      await log.close()
    }
  } finally {
    await rm(copy, { recursive: true, force: true })
  }
}

/**
 * Copies a directory the broker is still working in. Its cleaner may rename or delete a file between the listing and
 * the copy of it (ENOENT on a `.swap` or a replaced segment): such a copy is no snapshot, so it is taken again, a
 * bounded number of times (a cleaning pass is short and passes are spaced by the cleaner's backoff).
 */
async function copyLiveDir (from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await cp(from, to, { recursive: true })
      return
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT' || attempt === 10) throw error
      await rm(to, { recursive: true, force: true })
    }
  }
}

/** What a producer was acknowledged: offset → record, and per key its last acknowledged record. */
class AckLedger {
  readonly byOffset = new Map<number, KeyedRecord>()
  readonly latest = new Map<string, KeyedRecord>()
  lastOffset = -1

  async send (p: Producer, topic: string, messages: Array<{ key: string; value: string | null }>): Promise<void> {
    const metadata = await p.send({ topic, messages, acks: 'all' })
    metadata.forEach((item, i) => {
      const message = messages[i] as { key: string; value: string | null }
      const record = { offset: item.offset, key: message.key, value: message.value }
      this.byOffset.set(item.offset, record)
      const previous = this.latest.get(message.key)
      if (previous === undefined || previous.offset < item.offset) this.latest.set(message.key, record)
      this.lastOffset = Math.max(this.lastOffset, item.offset)
    })
  }

  /** Every record read is one acknowledged at that offset, offsets increase, and every key's last write is there. */
  expectConsistent (records: readonly KeyedRecord[], what: string): void {
    const wrong = records.filter((record) => {
      const acked = this.byOffset.get(record.offset)
      return acked === undefined || acked.key !== record.key || acked.value !== record.value
    })
    expect(wrong.slice(0, 5), `${what}: records that were not acknowledged at their offset`).toEqual([])
    expect(records.every((record, i) => i === 0 || record.offset > (records[i - 1] as KeyedRecord).offset), `${what}: increasing offsets`).toBe(true)
    const present = new Set(records.map((record) => record.offset))
    const missing = [...this.latest.values()].filter((record) => record.value !== null && !present.has(record.offset))
    expect(missing.slice(0, 5), `${what}: last writes of keys missing`).toEqual([])
  }
}

/**
 * About 100 KB under keys of its own, more than a segment: the segment holding everything sent before rolls, so the
 * cleaner (which never touches the active segment) may clean all of it.
 */
async function rollActiveSegment (p: Producer, ledger: AckLedger, topic: string, round: number): Promise<void> {
  await ledger.send(p, topic, Array.from({ length: 100 }, (_, j) => ({ key: `filler-${j % 10}`, value: `filler-${round}-${j}-${'f'.repeat(1000)}` })))
}

async function activeBaseOffset (nodeId: number, topic: string): Promise<number> {
  const bases = (await readdir(partitionDir(nodeId, topic))).filter((name) => name.endsWith('.log')).map((name) => Number(name.slice(0, -4)))
  return Math.max(...bases)
}

describe('log compaction across three brokers', () => {
  test('100,000 records over 1,000 keys compact to the latest per key, at unchanged offsets, on every replica', async () => {
    const topic = 'compacted'
    await createTopicInSync(cluster, admin, compactedTopic(topic))
    const p = producer()
    const ledger = new AckLedger()
    const padding = 'x'.repeat(40)
    const startedMs = Date.now()
    for (let start = 0; start < 100_000; start += 5_000) {
      await ledger.send(p, topic, Array.from({ length: 5_000 }, (_, j) => ({ key: `k-${(start + j) % 1000}`, value: `v-${start + j}-${padding}` })))
    }
    const produceMs = Date.now() - startedMs
    const mainEnd = ledger.lastOffset
    expect(mainEnd).toBe(99_999)
    await rollActiveSegment(p, ledger, topic, 0)
    await p.close()
    // Every replica rolled past the keyed records (the filler is replicated with acks=all).
    for (const nodeId of [1, 2, 3]) expect(await activeBaseOffset(nodeId, topic)).toBeGreaterThan(mainEnd)
    // ≈ 100,000 × 70 bytes uncompacted; compacted: 1,000 keyed records (≈ 70 KB) and the filler (≈ 100 KB, of which
    // the active segment keeps up to 64 KiB uncleaned).
    const uncompactedBytes = 100_000 * 60
    const boundBytes = 1_000 * 100 + 2 * SEGMENT_BYTES + 10 * 1_100
    const sizes = new Map<number, number>()
    for (const nodeId of [1, 2, 3]) {
      sizes.set(nodeId, await waitFor(`broker ${nodeId}'s ${topic}-0 to shrink below ${boundBytes} bytes`, async () => {
        const bytes = await segmentBytesOf(nodeId, topic)
        return bytes < boundBytes ? bytes : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 }))
    }

    // The sizes may fall below the bound with a last segment still dirty: wait for the pass that cleans it.
    const read = await waitFor('one record per key in the leader\'s log', async () => {
      const records = await readUpTo(topic, ledger.lastOffset)
      return records.filter((record) => record.key.startsWith('k-')).length === 1_000 ? records : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    const cleanedMs = Date.now() - startedMs
    ledger.expectConsistent(read, 'consumer read')
    const keyed = read.filter((record) => record.key.startsWith('k-'))
    // Exactly one record per key: the latest, at the offset it was acknowledged with (value v-<i> sits at offset i).
    expect(keyed.length).toBe(1_000)
    expect(new Set(keyed.map((record) => record.key)).size).toBe(1_000)
    for (const record of keyed) expect(record).toEqual(ledger.latest.get(record.key))
    expect(keyed.every((record) => record.offset >= 99_000 && record.value?.startsWith(`v-${record.offset}-`) === true)).toBe(true)

    // Each replica's own files hold the same: one record per key, the latest, at its offset.
    for (const nodeId of [1, 2, 3]) {
      const replica = await readReplicaCopy(nodeId, topic)
      ledger.expectConsistent(replica, `broker ${nodeId}'s copy`)
      expect(replica.filter((record) => record.key.startsWith('k-')), `broker ${nodeId}'s keyed records`).toEqual(keyed)
    }
    console.log(JSON.stringify({ name: 'compaction-100k', produceMs, cleanedMs, uncompactedBytesAtLeast: uncompactedBytes, sizes: Object.fromEntries(sizes) }))
  }, 120_000)

  test('tombstones stay readable until delete.retention.ms has passed, then a cleaning pass removes their keys', async () => {
    const topic = 'tombstoned'
    const deleteRetentionMs = 8_000
    await createTopicInSync(cluster, admin, compactedTopic(topic, { 'delete.retention.ms': String(deleteRetentionMs) }))
    const p = producer()
    const ledger = new AckLedger()
    for (let round = 0; round < 5; round++) {
      await ledger.send(p, topic, Array.from({ length: 1_000 }, (_, k) => ({ key: `k-${k}`, value: `v-${round}-${k}-${'x'.repeat(40)}` })))
    }
    const tombstonesSentMs = Date.now()
    await ledger.send(p, topic, Array.from({ length: 100 }, (_, k) => ({ key: `k-${k}`, value: null })))
    await rollActiveSegment(p, ledger, topic, 0)
    const deadKeys = new Set(Array.from({ length: 100 }, (_, k) => `k-${k}`))

    // A pass has cleaned the keyed records: every key once, its latest write, the 100 tombstones included.
    const cleaned = await waitFor('a cleaning pass over the tombstones', async () => {
      const readStartedMs = Date.now()
      const records = await readUpTo(topic, ledger.lastOffset)
      const keyed = records.filter((record) => record.key.startsWith('k-'))
      if (keyed.length !== 1_000) return undefined
      return { readStartedMs, records, keyed }
    }, { timeoutMs: 30_000, intervalMs: 200 })
    // The rule removes a tombstone only when its segment's newest timestamp (≥ tombstonesSentMs) is older than the
    // retention: a read begun before that must see them all.
    if (cleaned.readStartedMs >= tombstonesSentMs + deleteRetentionMs) throw new Error('the first cleaning pass came after delete.retention.ms: the machine is too slow for this check')
    ledger.expectConsistent(cleaned.records, 'read before delete.retention.ms')
    const tombstones = cleaned.keyed.filter((record) => record.value === null)
    expect(tombstones.map((record) => record.key).sort()).toEqual([...deadKeys].sort())
    for (const record of cleaned.keyed) expect(record).toEqual(ledger.latest.get(record.key))

    // Once the retention has passed, the next pass (it needs dirty data: roll another burst in) drops the tombstones.
    await waitFor('delete.retention.ms to pass since the tombstones', () => Date.now() > tombstonesSentMs + deleteRetentionMs + 500 ? true : undefined, { timeoutMs: deleteRetentionMs + 5_000, intervalMs: 100 })
    await rollActiveSegment(p, ledger, topic, 1)
    await p.close()
    const after = await waitFor('the tombstoned keys to disappear', async () => {
      const records = await readUpTo(topic, ledger.lastOffset)
      return records.some((record) => deadKeys.has(record.key)) ? undefined : records
    }, { timeoutMs: 30_000, intervalMs: 200 })
    ledger.expectConsistent(after, 'read after delete.retention.ms')
    const keyed = after.filter((record) => record.key.startsWith('k-'))
    expect(keyed.length).toBe(900)
    for (const record of keyed) expect(record).toEqual(ledger.latest.get(record.key))
    // On every replica too.
    for (const nodeId of [1, 2, 3]) {
      await waitFor(`broker ${nodeId} to drop the tombstones`, async () => {
        const replica = await readReplicaCopy(nodeId, topic)
        return replica.some((record) => deadKeys.has(record.key)) ? undefined : replica
      }, { timeoutMs: 30_000, intervalMs: 200 }).then((replica) => { ledger.expectConsistent(replica, `broker ${nodeId}'s copy`) })
    }
  }, 90_000)

  test('a storm of offset commits leaves the group\'s __consumer_offsets partition bounded; the last commits read back', async () => {
    const topic = 'storm'
    const groupId = 'storm-group'
    const partitions = 100
    const requests = Number(process.env.GREGOR_STORM_REQUESTS ?? 2_000)
    const inFlight = 16
    await admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 1 }])
    // The coordinator answers once its __consumer_offsets partition is created, led and loaded: ask until it does.
    const coordinator = await waitFor('a loaded coordinator of the group', async () => {
      const found = await admin.findCoordinator(groupId)
      await admin.resetOffsets(groupId, [{ topic, partition: 0, currentOffset: null, newOffset: 0 }])
      return found
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const client = new grpc.Client(cluster.broker(coordinator.nodeId).clientAddress, grpc.credentials.createInsecure())
    const commit = async (value: number): Promise<void> => {
      const response = await unaryCall(client, groupMethods.offsetCommit as never, {
        groupId,
        memberId: '',
        memberEpoch: -1,
        partitions: Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: value, leaderEpoch: -1, metadata: '' })),
      } as never, { deadlineMs: 30_000 }) as gregor.groups.OffsetCommitResponse
      const failed = response.errorCode !== '' ? response.errorCode : response.partitions.find((item) => item.errorCode !== '')?.errorCode
      if (failed !== undefined) throw new Error(`offset commit ${value} failed: ${failed}`)
    }
    let next = 0
    const startedMs = Date.now()
    try {
      // All but the last request, 16 at a time; then the last one alone, so "the last written" is well defined.
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (next < requests - 1) await commit(next++)
      }))
      await commit(requests - 1)
    } finally {
      client.close()
    }
    const stormMs = Date.now() - startedMs
    const commits = requests * partitions
    // Bound: the active segment (≤ one segment and a batch), the cleaned head (100 latest offsets and the group's
    // records, ≈ 10 KB, merged into one segment) and what stays dirty under the offsets topic's default dirty ratio
    // of 0.5 (no more than the clean part, else a pass runs), with a segment of slack: 4 segments. Uncompacted, the
    // same commits take ≈ commits × 80 bytes.
    const boundBytes = 4 * SEGMENT_BYTES
    const offsetsPartition = await describePartition(cluster, '__consumer_offsets', coordinator.partition)
    const replicas = offsetsPartition?.replicas ?? []
    expect(replicas.length).toBe(3)
    const sizes: Record<number, number> = {}
    for (const nodeId of replicas) {
      sizes[nodeId] = await waitFor(`broker ${nodeId}'s __consumer_offsets-${coordinator.partition} below ${boundBytes} bytes`, async () => {
        const bytes = await segmentBytesOf(nodeId, '__consumer_offsets', coordinator.partition)
        return bytes < boundBytes ? bytes : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 })
    }
    const fetched = await admin.fetchOffsets(groupId, [{ topic, partitions: Array.from({ length: partitions }, (_, i) => i) }])
    expect(fetched.map((item) => [item.partition, item.offset]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual(Array.from({ length: partitions }, (_, i) => [i, requests - 1]))
    console.log(JSON.stringify({ name: 'offset-commit-storm', commits, stormMs, commitsPerSecond: Math.round(commits / (stormMs / 1000)), boundBytes, sizes }))
  }, 120_000)
  test('a broker killed with SIGKILL while it cleans comes back with the same latest record per key', async () => {
    const topic = 'kill-clean'
    await createTopicInSync(cluster, admin, compactedTopic(topic))
    const [described] = await describePartitions(cluster, topic)
    const victim = (described?.replicas ?? []).find((nodeId) => nodeId !== described?.leader) as number
    const p = producer()
    const ledger = new AckLedger()
    let stop = false
    let sent = 0
    const load = (async () => {
      while (!stop) {
        const start = sent
        sent += 500
        await ledger.send(p, topic, Array.from({ length: 500 }, (_, j) => ({ key: `k-${(start + j) % 1000}`, value: `v-${start + j}-${'x'.repeat(40)}` })))
      }
    })()
    const brokerLog = join(cluster.dir, `broker-${victim}.log`)
    const passesLogged = async (): Promise<number> =>
      (await readFile(brokerLog, 'utf8')).split('\n').filter((line) => line.includes(`"topic":"${topic}"`) && line.includes('"msg":"log cleaned"')).length
    // Kill inside a pass: as soon as the victim has a cleaned copy or a swap file on disk; else right after its second
    // logged pass, while the cleaner (every 200 ms, the producer keeps the log dirty) is about to run again.
    const killedIn = await waitFor('the victim to be cleaning', async () => {
      const names = await readdir(partitionDir(victim, topic))
      if (names.some((name) => name.endsWith('.cleaned') || name.endsWith('.swap'))) return 'mid-pass'
      return await passesLogged() >= 2 ? 'after a logged pass' : undefined
    }, { timeoutMs: 30_000, intervalMs: 1 })
    await cluster.kill(victim)
    const killedAtSent = sent
    await waitFor('more acknowledged writes without the victim', () => sent >= killedAtSent + 5_000 ? true : undefined, { timeoutMs: 30_000 })
    stop = true
    await load
    await rollActiveSegment(p, ledger, topic, 0)
    await p.close()
    cluster.startBroker(victim)
    await cluster.waitForReady()
    await waitForIsr(cluster, topic, 3, 60_000)
    // The victim's own files, once it has caught up and cleaned: every record the one acknowledged at its offset,
    // every key's last write there, and one record per key like the leader.
    const leaderKeyed = await waitFor('one record per key in the leader\'s log', async () => {
      const keyed = (await readUpTo(topic, ledger.lastOffset)).filter((record) => record.key.startsWith('k-'))
      return keyed.length === 1_000 ? keyed : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    // The victim rolls its own segments (a follower appends what it fetches): only below its active segment can it
    // have cleaned. Wait until it has caught up and, there, holds one record per key.
    const { replica, activeBase } = await waitFor('the victim to catch up and clean', async () => {
      const base = await activeBaseOffset(victim, topic)
      const records = await readReplicaCopy(victim, topic)
      const inactive = records.filter((record) => record.key.startsWith('k-') && record.offset < base)
      if (records.at(-1)?.offset !== ledger.lastOffset || new Set(inactive.map((record) => record.key)).size !== inactive.length) return undefined
      return { replica: records, activeBase: base }
    }, { timeoutMs: 30_000, intervalMs: 200 })
    ledger.expectConsistent(replica, `victim ${victim}'s copy`)
    const latestOnVictim = new Map<string, KeyedRecord>()
    for (const record of replica) if (record.key.startsWith('k-')) latestOnVictim.set(record.key, record)
    expect([...latestOnVictim.values()].sort((a, b) => a.offset - b.offset)).toEqual(leaderKeyed)
    expect(activeBase).toBeGreaterThan(0)
    console.log(JSON.stringify({ name: 'kill-while-cleaning', victim, killedIn, records: sent }))
  }, 120_000)
})

/**
 * Gregor as users run it: three real `gregor broker` processes on loopback addresses (real raft, level, segment files,
 * gRPC), driven by the real client library. Scenarios follow issue 4: bulk acks=all round trip, bad input, min ISR,
 * kill -9 of the busiest leader under load, and SIGTERM with leadership moving first.
 *
 * The failover check: every acknowledged record is read back exactly once at the offset it was acknowledged with,
 * offsets are contiguous from 0, and nothing appears that was never sent.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { type Admin, Consumer, Producer, type RecordMetadata } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { isGregorError } from '@gregor/common'
import { buildBatch } from '@gregor/records'
import { clientMethods } from '@gregor/protocol'
import { AcksAllLoad, describePartitions, expectAckedReadBack, leadersOf, produceRaw, rawCall, readPartition, useCluster, waitForIsr, waitForLiveBrokers } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

// A short retention check, so the retention test sees segments go within seconds (Kafka checks every 5 minutes).
useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, { env: { GREGOR_LOG_RETENTION_CHECK_INTERVAL_MS: '300' } })

function producer (options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  return new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 5, ...options })
}

async function expectCode (promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise
  } catch (error) {
    expect(isGregorError(error) ? error.code : String(error)).toBe(code)
    return
  }
  throw new Error(`expected ${code}, but it succeeded`)
}

describe('three broker processes', () => {
  test('50,000 records with acks=all come back with exact contents and per-partition order', async () => {
    await admin.createTopics([{ topic: 'bulk', numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, 'bulk', 3)
    const p = producer()
    const acked: RecordMetadata[][] = []
    for (let start = 0; start < 50_000; start += 5_000) {
      const messages = Array.from({ length: 5_000 }, (_, i) => ({ key: `key-${start + i}`, value: `value-${start + i}` }))
      acked.push(await p.send({ topic: 'bulk', messages, acks: 'all' }))
    }
    await p.close()
    const sent = new Map<number, Array<{ offset: number; value: string }>>()
    acked.flat().forEach((metadata, i) => {
      const list = sent.get(metadata.partition) ?? []
      list.push({ offset: metadata.offset, value: `value-${i}` })
      sent.set(metadata.partition, list)
    })
    let total = 0
    for (const [partition, records] of sent) {
      records.sort((a, b) => a.offset - b.offset)
      const read = await readPartition(cluster, 'bulk', partition, records.length)
      expect(read.map((message) => message.offset)).toEqual(records.map((_, i) => i))
      expect(read.map((message) => message.value?.toString())).toEqual(records.map((record) => record.value))
      total += read.length
    }
    expect(total).toBe(50_000)
  }, 180_000)

  test('bad input gets clear error codes and the brokers stay up with data intact', async () => {
    await expectCode(admin.createTopics([{ topic: 'bad name!', numPartitions: 1, replicationFactor: 1 }]), 'INVALID_TOPIC_EXCEPTION')
    await expectCode(admin.createTopics([{ topic: 'too-many-replicas', numPartitions: 1, replicationFactor: 4 }]), 'INVALID_REPLICATION_FACTOR')
    await admin.createTopics([{ topic: 'bad-input', numPartitions: 1, replicationFactor: 3 }])
    await waitForIsr(cluster, 'bad-input', 3)
    const leader = (await leadersOf(cluster, 'bad-input')).get(0) as number
    const address = cluster.broker(leader).clientAddress
    const good = buildBatch([{ value: Buffer.from('intact') }], { nowMs: Date.now() })
    // The leader's replica manager follows the metadata a moment after the controller answers: retry as clients do.
    await waitFor('the first produce to succeed', async () =>
      (await produceRaw(address, { acks: -1, timeoutMs: 5_000, partitions: [{ topic: 'bad-input', partition: 0, records: good }] })).partitions[0]?.errorCode === '' ? true : undefined)
    const corrupt = Buffer.from(good)
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff
    const codes = async (topic: string, partition: number, records: Buffer): Promise<string | undefined> =>
      (await produceRaw(address, { acks: -1, timeoutMs: 5_000, partitions: [{ topic, partition, records }] })).partitions[0]?.errorCode
    expect(await codes('bad-input', 0, corrupt)).toBe('CORRUPT_MESSAGE')
    expect(await codes('bad-input', 0, Buffer.from('not a batch'))).toBe('CORRUPT_MESSAGE')
    expect(await codes('bad-input', 0, buildBatch([{ value: Buffer.alloc(2 * 1024 * 1024) }], { nowMs: Date.now(), batchBytesMax: 4 * 1024 * 1024 }))).toBe('MESSAGE_TOO_LARGE')
    expect(await codes('no-such-topic', 0, good)).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(await codes('bad-input', 7, good)).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    // Malformed protobuf: the call fails at the transport level, the broker keeps serving.
    await expect(rawCall(address, { ...clientMethods.produce, requestSerialize: (value: Buffer) => value } as never, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).rejects.toThrow()
    expect(await cluster.isReady(leader)).toBe(true)
    const read = await readPartition(cluster, 'bad-input', 0, 1)
    expect(read.map((message) => message.value?.toString())).toEqual(['intact'])
  }, 60_000)

  test("a topic's segment.bytes and retention.bytes apply on every replica: old segments go, earliest moves up", async () => {
    await admin.createTopics([{ topic: 'retained', numPartitions: 1, replicationFactor: 3, configs: { 'segment.bytes': '16384', 'retention.bytes': '65536' } }])
    await waitForIsr(cluster, 'retained', 3)
    const p = producer()
    // About 10 KB per send: one batch per 16 KiB segment, 20 segments in all, of which retention keeps about 64 KiB.
    for (let i = 0; i < 20; i++) {
      await p.send({ topic: 'retained', messages: Array.from({ length: 10 }, (_, j) => ({ value: `${i}-${j}-${'x'.repeat(1000)}` })), acks: 'all' })
    }
    await p.close()
    // Retention may already have run while the records were arriving; wait for it to catch up with all of them.
    const earliest = await waitFor('retention to move the log start to the last ~64 KiB', async () => {
      const [listed] = await admin.listOffsets([{ topic: 'retained', partition: 0 }], 'earliest')
      return listed !== undefined && listed.errorCode === '' && listed.offset >= 100 ? listed.offset : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const [latest] = await admin.listOffsets([{ topic: 'retained', partition: 0 }], 'latest')
    expect(latest?.offset).toBe(200)
    for (const id of [1, 2, 3]) {
      const dir = join(cluster.dir, `broker-${id}`, 'logs', 'retained-0')
      const segments = await waitFor(`broker ${id} to delete its old segments`, async () => {
        const names = (await readdir(dir)).filter((name) => name.endsWith('.log'))
        return names.length <= 8 && !names.includes('00000000000000000000.log') ? names : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 })
      expect(segments.length).toBeGreaterThanOrEqual(4)
    }
    // What is left reads back from the log start to the end. A retention check may still move the start between the
    // ListOffsets and the fetch (OFFSET_OUT_OF_RANGE, as a Kafka consumer with auto.offset.reset=none sees): ask again.
    const { start, read } = await waitFor('a read from the log start to the end', async () => {
      const [listed] = await admin.listOffsets([{ topic: 'retained', partition: 0 }], 'earliest')
      const from = listed?.offset ?? -1
      try {
        return { start: from, read: await readPartition(cluster, 'retained', 0, 200 - from, { fromOffset: from, timeoutMs: 10_000 }) }
      } catch (error) {
        if (isGregorError(error) && error.code === 'OFFSET_OUT_OF_RANGE') return undefined
        throw error
      }
    }, { timeoutMs: 30_000, intervalMs: 100 })
    expect(start).toBeGreaterThanOrEqual(earliest)
    expect(read.map((message) => message.offset)).toEqual(Array.from({ length: 200 - start }, (_, i) => start + i))
    // A consumer whose position retention overtook: with auto.offset.reset=earliest it continues at the log start.
    const consumer = new Consumer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), maxWaitMs: 200, autoOffsetReset: 'earliest' })
    consumer.assign([{ topic: 'retained', partition: 0, offset: 0 }])
    try {
      for await (const message of consumer) {
        expect(message.offset).toBeGreaterThanOrEqual(earliest)
        break
      }
    } finally {
      consumer.close()
    }
  }, 60_000)

  test('minInsyncReplicas 3 with a broker down: acks=all fails fast with NOT_ENOUGH_REPLICAS, acks=1 succeeds', async () => {
    await admin.createTopics([{ topic: 'strict', numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } }])
    await waitForIsr(cluster, 'strict', 3)
    const leader = (await leadersOf(cluster, 'strict')).get(0) as number
    const victim = [1, 2, 3].find((id) => id !== leader) as number
    await cluster.kill(victim)
    await waitFor('the ISR to shrink to two', async () => {
      const [partition] = await describePartitions(cluster, 'strict')
      return partition !== undefined && partition.isr.length === 2 ? true : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const address = cluster.broker(leader).clientAddress
    const batch = (): Buffer => buildBatch([{ value: Buffer.from('x') }], { nowMs: Date.now() })
    // The ISR above is the controller's; the leader applies that metadata a moment later. Until it has, an acks=all
    // produce is appended and then times out (the HW cannot pass a partition below min ISR, as in Kafka with KIP-966).
    const acksAllCode = async (timeoutMs: number): Promise<string | undefined> =>
      (await produceRaw(address, { acks: -1, timeoutMs, partitions: [{ topic: 'strict', partition: 0, records: batch() }] })).partitions[0]?.errorCode
    await waitFor('the leader to refuse acks=all', async () => await acksAllCode(200) === 'NOT_ENOUGH_REPLICAS' ? true : undefined, { timeoutMs: 30_000 })
    const startedMs = Date.now()
    expect(await acksAllCode(5_000)).toBe('NOT_ENOUGH_REPLICAS')
    expect(Date.now() - startedMs).toBeLessThan(1_000)
    const one = await produceRaw(address, { acks: 1, timeoutMs: 5_000, partitions: [{ topic: 'strict', partition: 0, records: batch() }] })
    expect(one.partitions[0]?.errorCode).toBe('')
    cluster.startBroker(victim)
    await cluster.waitForReady()
    await waitForIsr(cluster, 'strict', 3)
    await waitForLiveBrokers(cluster)
  }, 90_000)

  test('kill -9 of the busiest leader under acks=all load loses no acknowledged record', async () => {
    await admin.createTopics([{ topic: 'failover', numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, 'failover', 3)
    const leaders = await leadersOf(cluster, 'failover')
    const counts = new Map<number, number>()
    for (const leader of leaders.values()) counts.set(leader, (counts.get(leader) ?? 0) + 1)
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as number
    const load = new AcksAllLoad(producer({ deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 }), 'failover')
    await load.waitForAcks(2_000, 'load before the kill')
    await cluster.kill(victim)
    load.markKilled([...leaders].filter(([, leader]) => leader === victim).map(([partition]) => partition))
    await waitFor('new leaders for every partition', async () => {
      const partitions = await describePartitions(cluster, 'failover')
      return partitions.every((partition) => partition.leader > 0 && partition.leader !== victim) ? true : undefined
    }, { timeoutMs: 15_000, intervalMs: 50 })
    await load.waitForAcks(2_000, 'acks after the failover')
    cluster.startBroker(victim)
    await cluster.waitForReady()
    await waitForIsr(cluster, 'failover', 3, 60_000)
    await waitForLiveBrokers(cluster)
    await load.stop()
    expect(load.failures).toEqual([])
    await expectAckedReadBack(cluster, 'failover', [0, 1, 2], load.acked, load.sent)
    const { firstAckAfterKillMs, acked } = load
    console.log(JSON.stringify({ name: 'failover-first-ack-after-kill', victim, firstAckAfterKillMs, acked: acked.length }))
  }, 180_000)

  test('SIGTERM of a leading broker moves its leadership first; a retrying producer sees no failure', async () => {
    await admin.createTopics([{ topic: 'graceful', numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, 'graceful', 3)
    const leaders = await leadersOf(cluster, 'graceful')
    const victim = leaders.get(0) as number
    const p = producer({ deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 })
    const failures: unknown[] = []
    let stop = false
    let acked = 0
    const load = async (): Promise<void> => {
      while (!stop) {
        try {
          acked += (await p.send({ topic: 'graceful', messages: [{ value: 'g' }], acks: 'all' })).length
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const workers = Array.from({ length: 4 }, load)
    await waitFor('load before SIGTERM', () => acked >= 200 ? true : undefined, { timeoutMs: 30_000 })
    await cluster.kill(victim, 'SIGTERM')
    const after = await leadersOf(cluster, 'graceful')
    expect([...after.values()].includes(victim)).toBe(false)
    const ackedAtExit = acked
    await waitFor('acks after the exit', () => acked >= ackedAtExit + 200 ? true : undefined, { timeoutMs: 30_000 })
    stop = true
    await Promise.all(workers)
    await p.close()
    expect(failures).toEqual([])
    cluster.startBroker(victim)
    await cluster.waitForReady()
  }, 120_000)
})

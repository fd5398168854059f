/**
 * The Kafka data plane on real broker processes (issue 11, tests 1, 2 and 4): kcat (librdkafka) produces with each of
 * Kafka's codecs and `-K :` keys and reads everything back; a KafkaJS idempotent producer (acks -1) writes keys,
 * headers and timestamps that kcat reads back; and across protocols, what kcat and KafkaJS wrote through the Kafka
 * listeners, `gregor consume` reads over gRPC with the same offsets, keys, values, headers and timestamps, and what
 * `gregor produce` wrote, kcat reads. One log behind both listeners: the batches are stored as the client sent them
 * (the codec kcat chose is the one a raw gRPC fetch finds in the stored batch header).
 *
 * librdkafka 2.0.2 compresses with lz4 only when the broker advertises FindCoordinator from version 0 (its "LZ4"
 * feature; `kcat -d feature` says "Feature LZ4: FindCoordinator (0..0) NOT supported by broker") and otherwise sends
 * the batches uncompressed without a word; zstd needs Produce 7 and Fetch 10. The lz4 case checks the stored codec,
 * so it fails while the group family's FindCoordinator is not served.
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { clientMethods, type gregor } from '@gregor/protocol'
import { COMPRESSION_CODEC_IDS, type CompressionName, walkBatches } from '@gregor/records'
import { createTopicInSync, latestOffset, leadersOf, lines, rawCall, runGregor, useCluster } from './cluster-helpers.js'

const run = promisify(execFile)
const KCAT = '/usr/bin/kcat'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

/** A record as kcat -J prints it. */
interface KcatRecord { partition: number, offset: number, ts: number, key: string | null, payload: string | null, headers?: string[] }
/** A record as `gregor consume --json` prints it. */
interface GregorRecord { partition: number, offset: number, timestamp: number, key: string | null, value: string | null, headers: Record<string, string | null> }

/** `kcat -P` with `lines` on stdin; resolves when kcat has flushed every message and exited 0. */
async function kcatProduce (args: readonly string[], input: readonly string[]): Promise<void> {
  const child = spawn(KCAT, ['-b', cluster.kafkaBootstrapServers, '-P', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(input.map((line) => `${line}\n`).join(''))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  expect(code, `kcat -P ${args.join(' ')} failed: ${stderr}`).toBe(0)
}

/** `kcat -C -o beginning -e -J`: every record of `topic` (all partitions), by partition then offset. */
async function kcatConsume (topic: string): Promise<KcatRecord[]> {
  const { stdout } = await run(KCAT, ['-b', cluster.kafkaBootstrapServers, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], { timeout: 60_000 })
  return lines(stdout).map((line) => JSON.parse(line) as KcatRecord).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** `gregor consume --json --from-beginning` over gRPC, until `count` records. */
async function gregorConsume (topic: string, count: number): Promise<GregorRecord[]> {
  const result = await runGregor(cluster, ['consume', '--topic', topic, '--from-beginning', '--max-messages', String(count), '--timeout-ms', '30000', '--json'])
  expect(result.code, result.stderr).toBe(0)
  return lines(result.stdout).map((line) => JSON.parse(line) as GregorRecord).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** The compression codec ids of the batches stored in partition `partition` of `topic`, fetched raw over gRPC from its leader. */
async function storedCodecs (topic: string, partition: number): Promise<number[]> {
  const leader = (await leadersOf(cluster, topic)).get(partition)
  const address = cluster.brokers.find((broker) => broker.nodeId === leader)?.clientAddress
  if (address === undefined) throw new Error(`no leader address for ${topic}-${partition}`)
  const response = await rawCall(address, clientMethods.fetch as never, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 8 * 1024 * 1024, partitions: [{ topic, partition, fetchOffset: 0, partitionMaxBytes: 8 * 1024 * 1024, currentLeaderEpoch: -1 }],
  }) as gregor.cluster.FetchResponse
  const records = Buffer.from(response.partitions[0]?.records ?? new Uint8Array(0))
  return [...walkBatches(records)].map(({ header }) => header.attributes & 0x07)
}

/**
 * Waits until each partition's leader answers for it (its replica is open), as the ISR in the image can say so before
 * the leader has applied that image. KafkaJS 2.2.4 must not meet UNKNOWN_TOPIC_OR_PARTITION from one leader while
 * another acknowledges: it then retries the whole send, and re-sends the partitions already acknowledged with their
 * next sequence numbers, which no broker can tell from new records (seen here: one batch stored twice, at sequences
 * 0 and 4). That is the client's duplicate, not the broker's.
 */
async function waitForLeadersServing (topic: string, partitions: number): Promise<void> {
  await waitFor(`every leader of ${topic} serving it`, async () => {
    const leaders = await leadersOf(cluster, topic)
    for (let partition = 0; partition < partitions; partition++) {
      const address = cluster.brokers.find((broker) => broker.nodeId === leaders.get(partition))?.clientAddress
      if (address === undefined || (await latestOffset(address, topic, partition)).errorCode !== '') return undefined
    }
    return true
  }, { timeoutMs: 30_000, intervalMs: 50 })
}

const CODECS: readonly CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd']
const RECORDS = 40

describe('kcat', () => {
  test.each(CODECS)('kcat -P -z %s -K : stores compressed batches; kcat -C and gregor consume read every key and value back at the same offsets', async (codec) => {
    const topic = `kcat-${codec}`
    await createTopicInSync(cluster, admin, { topic, numPartitions: 1, replicationFactor: 3 })
    await waitForLeadersServing(topic, 1)
    const sent = Array.from({ length: RECORDS }, (_, i) => ({ key: `key-${i}`, value: `${codec} value ${i} ${'x'.repeat(i)}` }))
    // librdkafka sends a batch uncompressed when compressing does not make it smaller (a batch of one short record):
    // a linger that outlasts reading stdin on a busy machine keeps the 40 records in batches worth compressing.
    await kcatProduce(['-t', topic, '-p', '0', '-z', codec, '-K', ':', '-X', 'linger.ms=500'], sent.map(({ key, value }) => `${key}:${value}`))

    const read = await kcatConsume(topic)
    expect(read.map((record) => [record.offset, record.key, record.payload])).toEqual(sent.map(({ key, value }, i) => [i, key, value]))
    // The broker kept kcat's batches as they were: compressed with the codec kcat was told to use.
    const codecs = await storedCodecs(topic, 0)
    expect(codecs.length).toBeGreaterThan(0)
    expect(new Set(codecs)).toEqual(new Set([COMPRESSION_CODEC_IDS[codec]]))

    const viaGrpc = await gregorConsume(topic, RECORDS)
    expect(viaGrpc.map((record) => [record.offset, record.timestamp, record.key, record.value]))
      .toEqual(read.map((record) => [record.offset, record.ts, record.key, record.payload]))
  }, 120_000)

  test('gregor produce (gRPC) with a key separator, then kcat -C reads the same offsets, keys and values', async () => {
    const topic = 'gregor-to-kcat'
    await createTopicInSync(cluster, admin, { topic, numPartitions: 1, replicationFactor: 3 })
    await waitForLeadersServing(topic, 1)
    const sent = Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `from gregor ${i}` }))
    const produced = await runGregor(cluster, ['produce', '--topic', topic, '--key-separator', ':'], sent.map(({ key, value }) => `${key}:${value}\n`).join(''))
    expect(produced.code, produced.stderr).toBe(0)
    const viaKafka = await kcatConsume(topic)
    expect(viaKafka.map((record) => [record.offset, record.key, record.payload])).toEqual(sent.map(({ key, value }, i) => [i, key, value]))
    const viaGrpc = await gregorConsume(topic, RECORDS)
    expect(viaKafka.map((record) => [record.offset, record.ts])).toEqual(viaGrpc.map((record) => [record.offset, record.timestamp]))
  }, 120_000)
})

describe('KafkaJS', () => {
  test('an idempotent producer (acks -1) writes keys, headers and timestamps; kcat and gregor consume read them back, none twice', async () => {
    const topic = 'kafkajs-idempotent'
    await createTopicInSync(cluster, admin, { topic, numPartitions: 3, replicationFactor: 3 })
    await waitForLeadersServing(topic, 3)
    const kafka = new Kafka({ clientId: 'kafka-data-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const baseTimestamp = 1_700_000_000_000
    const sent = Array.from({ length: 60 }, (_, i) => ({
      partition: i % 3, key: `key-${i}`, value: `kafkajs value ${i}`, timestamp: baseTimestamp + i, headers: { source: 'kafkajs', index: String(i) },
    }))
    const acked: Array<{ partition: number, offset: number, value: string }> = []
    try {
      for (let i = 0; i < sent.length; i += 10) {
        const chunk = sent.slice(i, i + 10)
        const compression = (i / 10) % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP
        const metadata = await producer.send({
          topic, acks: -1, compression,
          messages: chunk.map((message) => ({ ...message, timestamp: String(message.timestamp) })),
        })
        // One batch per partition per send: the acknowledged base offset is that partition's first record of the chunk.
        for (const item of metadata) {
          const mine = chunk.filter((message) => message.partition === item.partition)
          mine.forEach((message, j) => acked.push({ partition: item.partition, offset: Number(item.baseOffset) + j, value: message.value }))
        }
      }
    } finally {
      await producer.disconnect()
    }
    expect(acked).toHaveLength(sent.length)

    const viaKafka = await kcatConsume(topic)
    expect(viaKafka).toHaveLength(sent.length)
    const byValue = new Map(sent.map((message) => [message.value, message]))
    for (const record of viaKafka) {
      const original = byValue.get(record.payload ?? '')
      expect(original, `kcat read ${record.payload ?? 'null'}`).toBeDefined()
      expect([record.partition, record.key, record.ts]).toEqual([original?.partition, original?.key, original?.timestamp])
      expect(acked).toContainEqual({ partition: record.partition, offset: record.offset, value: record.payload })
    }
    for (const partition of [0, 1, 2]) {
      expect(viaKafka.filter((record) => record.partition === partition).map((record) => record.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    }

    const viaGrpc = await gregorConsume(topic, sent.length)
    expect(viaGrpc.map((record) => [record.partition, record.offset, record.timestamp, record.key, record.value]))
      .toEqual(viaKafka.map((record) => [record.partition, record.offset, record.ts, record.key, record.payload]))
    for (const record of viaGrpc) expect(record.headers).toEqual(byValue.get(record.value ?? '')?.headers)
  }, 120_000)

  test('a key lands on the same partition from KafkaJS, librdkafka (murmur2_random) and @gregor/client', async () => {
    const topic = 'key-placement'
    await createTopicInSync(cluster, admin, { topic, numPartitions: 5, replicationFactor: 3 })
    await waitForLeadersServing(topic, 5)
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i * 7919}`)
    // KafkaJS 2's default partitioner is the Java client's (murmur2 of the key bytes).
    const kafka = new Kafka({ clientId: 'key-placement', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    try {
      await producer.send({ topic, acks: -1, messages: keys.map((key) => ({ key, value: 'kafkajs' })) })
    } finally {
      await producer.disconnect()
    }
    // librdkafka's default is consistent_random (CRC32); murmur2_random is its Java-compatible one.
    await kcatProduce(['-t', topic, '-K', ':', '-X', 'partitioner=murmur2_random'], keys.map((key) => `${key}:kcat`))
    const gregor = await runGregor(cluster, ['produce', '--topic', topic, '--key-separator', ':'], keys.map((key) => `${key}:gregor\n`).join(''))
    expect(gregor.code, gregor.stderr).toBe(0)

    const records = await kcatConsume(topic)
    expect(records).toHaveLength(keys.length * 3)
    const placement = new Map<string, Map<string, number>>()
    for (const record of records) {
      const byClient = placement.get(record.key ?? '') ?? new Map<string, number>()
      byClient.set(record.payload ?? '', record.partition)
      placement.set(record.key ?? '', byClient)
    }
    for (const key of keys) {
      const byClient = placement.get(key)
      expect([byClient?.get('kafkajs'), byClient?.get('kcat')], key).toEqual([byClient?.get('gregor'), byClient?.get('gregor')])
    }
    // The keys spread: a partitioner that sent everything to one partition would pass the comparison above.
    expect(new Set(records.map((record) => record.partition)).size).toBeGreaterThan(1)
  }, 120_000)
})

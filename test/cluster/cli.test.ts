/**
 * The `gregor` CLI as a user types it (issue 4): each command runs as its own process (`packages/cli/bin/gregor.js`)
 * against three real brokers, reading `GREGOR_BOOTSTRAP_SERVERS` or `-b`. Checks the output shapes the issue fixes
 * (kafka-topics' describe lines, the produce and consume JSON lines, one JSON object per bench and describe) and the
 * exit codes: 0 ok, 1 the operation failed, 2 a usage or config error.
 */
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { type CliRun, lines, runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses

useCluster((started) => { cluster = started })

/** Runs `gregor <args>` with `input` on stdin and the cluster in GREGOR_BOOTSTRAP_SERVERS. */
async function gregor (args: readonly string[], input = ''): Promise<CliRun> {
  return await runGregor(cluster, args, input)
}

/**
 * Runs `gregor <args>` until `accept` returns a value: each run asks whichever broker it reaches, and a broker applies
 * a metadata change a moment after the controller answered the command that made it.
 */
async function eventually<T> (args: readonly string[], accept: (run: CliRun) => T | undefined): Promise<T> {
  return await waitFor(`gregor ${args.join(' ')}`, async () => accept(await gregor(args)), { timeoutMs: 20_000, intervalMs: 100 })
}

describe('gregor CLI against three brokers', () => {
  test('topics create, list, describe and delete print what kafka-topics prints', async () => {
    const created = await gregor(['topics', 'create', '--topic', 'cli-orders', '--partitions', '3', '--replication-factor', '3', '--config', 'retention.ms=3600000'])
    expect(created).toMatchObject({ code: 0, stdout: 'Created topic cli-orders.\n' })
    await waitForIsr(cluster, 'cli-orders', 3)

    await eventually(['topics', 'list'], (run) => lines(run.stdout).includes('cli-orders') ? true : undefined)
    await eventually(['topics', 'list', '--json'], (run) => (JSON.parse(run.stdout) as string[]).includes('cli-orders') ? true : undefined)

    const partitionLine = (i: number): RegExp =>
      new RegExp(`^Topic: cli-orders {2}Partition: ${i} {2}Leader: [123] {2}Replicas: [123],[123],[123] {2}Isr: [123],[123],[123] {2}LeaderEpoch: \\d+$`)
    // Through one named broker (-b), once it has the topic with all three replicas in sync.
    const described = await eventually(['topics', 'describe', '--topic', 'cli-orders', '-b', cluster.broker(1).clientAddress],
      (run) => run.code === 0 && lines(run.stdout).length === 4 && lines(run.stdout).slice(1).every((line, i) => partitionLine(i).test(line)) ? lines(run.stdout) : undefined)
    const [header, ...partitions] = described
    // Configs: only what differs from the cluster default, as kafka-topics prints it.
    expect(header).toMatch(/^Topic: cli-orders {2}TopicId: [0-9a-f-]{36} {2}PartitionCount: 3 {2}ReplicationFactor: 3 {2}Configs: retention\.ms=3600000$/)
    expect(partitions).toHaveLength(3)
    const json = JSON.parse((await gregor(['topics', 'describe', '--topic', 'cli-orders', '--json'])).stdout) as { topics: Array<{ name: string; partitions: unknown[]; configs: Record<string, string> }> }
    expect(json.topics.map((topic) => [topic.name, topic.partitions.length, topic.configs])).toEqual([['cli-orders', 3, { 'retention.ms': '3600000' }]])
    // Healthy: the two health filters print nothing (once the broker asked has the ISR the controller has).
    await eventually(['topics', 'describe', '--under-replicated-partitions', '--unavailable-partitions'], (run) => run.code === 0 && run.stdout === '' ? true : undefined)

    const deleted = await gregor(['topics', 'delete', '--topic', 'cli-orders'])
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted topic cli-orders.\n' })
    await eventually(['topics', 'list'], (run) => run.code === 0 && !lines(run.stdout).includes('cli-orders') ? true : undefined)
  }, 60_000)

  test('bad input: exit 2 for usage and config errors, exit 1 for a refused operation, each with the reason', async () => {
    const noTopic = await gregor(['produce'])
    expect(noTopic.code).toBe(2)
    expect(noTopic.stderr).toContain('--topic is required')
    const badPolicy = await gregor(['topics', 'create', '--topic', 'cli-policy', '--config', 'cleanup.policy=shred'])
    expect(badPolicy.code).toBe(2)
    expect(badPolicy.stderr).toContain('cleanupPolicy must be one of delete, compact, compact,delete')
    const tooMany = await gregor(['topics', 'create', '--topic', 'cli-rf', '--replication-factor', '4'])
    expect(tooMany.code).toBe(1)
    expect(tooMany.stderr).toContain('INVALID_REPLICATION_FACTOR')
    const badName = await gregor(['topics', 'create', '--topic', 'bad name!'])
    expect(badName.code).toBe(1)
    expect(badName.stderr).toContain('INVALID_TOPIC_EXCEPTION')
  }, 60_000)

  test('produce sends stdin lines with keys and prints each acknowledgement; consume prints them back as JSON lines', async () => {
    expect((await gregor(['topics', 'create', '--topic', 'cli-events', '--partitions', '3', '--replication-factor', '3'])).code).toBe(0)
    await waitForIsr(cluster, 'cli-events', 3)
    const produced = await gregor(['produce', '--topic', 'cli-events', '--key-separator', ':', '--acks', 'all', '--json'], 'alice:signed up\nbob:paid 12.50\nno key here\n')
    expect(produced.code).toBe(0)
    const acks = lines(produced.stdout).map((line) => JSON.parse(line) as { topic: string; partition: number; offset: number; key: string | null; value: string })
    expect(acks.map(({ topic, key, value }) => ({ topic, key, value }))).toEqual([
      { topic: 'cli-events', key: 'alice', value: 'signed up' },
      { topic: 'cli-events', key: 'bob', value: 'paid 12.50' },
      { topic: 'cli-events', key: null, value: 'no key here' },
    ])
    for (const ack of acks) {
      expect(ack.partition).toBeGreaterThanOrEqual(0)
      expect(ack.offset).toBeGreaterThanOrEqual(0)
    }

    const consumed = await gregor(['consume', '--topic', 'cli-events', '--from-beginning', '--max-messages', '3', '--timeout-ms', '20000', '--json'])
    expect(consumed.code).toBe(0)
    const records = lines(consumed.stdout).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records).toHaveLength(3)
    for (const record of records) expect(Object.keys(record).sort()).toEqual(['headers', 'key', 'offset', 'partition', 'timestamp', 'topic', 'value'])
    const byValue = (a: { value: unknown }, b: { value: unknown }): number => String(a.value).localeCompare(String(b.value))
    expect(records.map(({ partition, offset, key, value }) => ({ partition, offset, key, value })).sort(byValue))
      .toEqual(acks.map(({ partition, offset, key, value }) => ({ partition, offset, key, value })).sort(byValue))

    // One record by partition and offset.
    const [first] = acks
    const one = await gregor(['consume', '--topic', 'cli-events', '--partition', String(first?.partition), '--offset', String(first?.offset), '--max-messages', '1', '--timeout-ms', '20000'])
    expect(one.code).toBe(0)
    expect(lines(one.stdout)[0]).toBe('signed up')
  }, 60_000)

  test('cluster describe and bench produce|consume print one JSON object each', async () => {
    const describedCluster = JSON.parse((await gregor(['cluster', 'describe', '--json'])).stdout) as { clusterId: string; controllerId: number; brokers: unknown[] }
    expect(describedCluster.clusterId).toBe(cluster.clusterId)
    expect([1, 2, 3]).toContain(describedCluster.controllerId)
    expect(describedCluster.brokers).toHaveLength(3)

    expect((await gregor(['topics', 'create', '--topic', 'cli-bench', '--partitions', '3', '--replication-factor', '3'])).code).toBe(0)
    await waitForIsr(cluster, 'cli-bench', 3)
    const metricsUrls = cluster.running().map((broker) => broker.adminUrl).join(',')
    const produce = await gregor(['bench', 'produce', '--topic', 'cli-bench', '--records', '20000', '--record-bytes', '100', '--acks', 'all', '--json', '--metrics-urls', metricsUrls])
    expect(produce.code).toBe(0)
    const produced = JSON.parse(produce.stdout) as { memory: Array<{ url: string; start: Record<string, number>; end: Record<string, number> }> }
    expect(produced).toMatchObject({ mode: 'produce', records: 20_000, recordBytes: 100, acks: 'all', failedRecords: 0 })
    // bin/gregor.js runs the bench with the brokers' heap flag (NODE_OPTIONS cannot carry it).
    expect(produced).toMatchObject({ node: { version: process.version, execArgv: expect.arrayContaining(['--initial-old-space-size=128']) } })
    // Each broker's memory at the start and end (issue 12), and its logs' size, which the run made grow.
    expect(produced.memory.map((broker) => broker.url)).toEqual(metricsUrls.split(','))
    for (const broker of produced.memory) {
      for (const reading of [broker.start, broker.end]) expect(Object.keys(reading).sort()).toEqual(['externalBytes', 'heapUsedBytes', 'logSizeBytes', 'rssBytes'])
    }
    const grownBytes = produced.memory.reduce((sum, broker) => sum + (broker.end.logSizeBytes ?? 0) - (broker.start.logSizeBytes ?? 0), 0)
    expect(grownBytes).toBeGreaterThanOrEqual(20_000 * 100) // the leaders alone hold every record once
    const consume = await gregor(['bench', 'consume', '--topic', 'cli-bench', '--records', '20000', '--record-bytes', '100', '--json'])
    expect(consume.code).toBe(0)
    const consumed = JSON.parse(consume.stdout) as { mode: string; records: number; recordsPerSec: number; latencyMs: { p50: number; p99: number } }
    expect(consumed).toMatchObject({ mode: 'consume', records: 20_000 })
    expect(consumed.recordsPerSec).toBeGreaterThan(0)
  }, 90_000)

  test('bench produce stops at the first failed send: a missing topic ends after one --timeout-ms, not one per window', async () => {
    const run = await gregor(['bench', 'produce', '--topic', 'no-such-topic', '--records', '1000000', '--timeout-ms', '1000', '--json'])
    expect(run.code).toBe(1)
    const result = JSON.parse(run.stdout) as { records: number; failedRecords: number; firstError: string }
    expect(result).toMatchObject({ records: 0, failedRecords: 1_000_000 })
    expect(result.firstError).toMatch(/unknown topic/i)
  }, 30_000)
})

/**
 * Consumer groups of Kafka clients on three real broker processes (issue 11, tests 1 and 2): the classic group
 * protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) with the coordinator relaying the leader's assignment opaque.
 * - two kcat (librdkafka) balanced consumers `-G group topic` split the partitions, each reads only its own, and
 *   their commits are visible through OffsetFetch;
 * - a KafkaJS consumer group of two members with `eachMessage` splits the partitions and commits; `gregor groups
 *   describe` (gRPC) shows the classic group's committed offsets;
 * - kill -9 of the group's coordinator (not restarted): KafkaJS, which keeps talking to the dead broker, crashes
 *   after its retries and starts over as new members at the new coordinator, at a later generation, and the group
 *   goes on (kafka-group-failover.test.ts: the new coordinator restores the members, which keep going).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

/** Waits until `condition` holds (a deadline, no sleeps as synchronization); `describe` says what it saw. */
async function until (condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  try {
    await waitFor('the condition', async () => (await condition()) ? true : undefined, { timeoutMs, intervalMs: 100 })
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${await describe()}`)
  }
}

let cluster: BrokerProcesses

useCluster((started) => { cluster = started })

function kafkaJs (clientId: string): Kafka {
  return new Kafka({
    clientId, brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

async function createTopic (topic: string, partitions: number): Promise<void> {
  const admin = kafkaJs('kafka-groups-admin').admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
  await waitForIsr(cluster, topic, 3)
}

async function produce (topic: string, count: number, prefix: string): Promise<void> {
  const producer = kafkaJs('kafka-groups-producer').producer()
  await producer.connect()
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` })) })
  } finally {
    await producer.disconnect()
  }
}

/** The group's committed offsets of `topic`, through OffsetFetch (KafkaJS admin), partition → offset. */
async function committed (groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafkaJs('kafka-groups-admin').admin()
  await admin.connect()
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  } finally {
    await admin.disconnect()
  }
}

async function endOffsets (topic: string): Promise<Map<number, number>> {
  const admin = kafkaJs('kafka-groups-admin').admin()
  await admin.connect()
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]))
  } finally {
    await admin.disconnect()
  }
}

/** A `kcat -G` balanced consumer: the messages it printed (`partition value`) and its latest assignment. */
class KcatConsumer {
  readonly process: ChildProcess
  readonly received: Array<{ partition: number; value: string }> = []
  assigned: number[] | undefined
  stderr = ''
  #stdout = ''

  constructor (groupId: string, topic: string) {
    this.process = spawn('/usr/bin/kcat', [
      '-b', cluster.kafkaBootstrapServers, '-G', groupId, '-u', '-f', '%p %s\\n', '-X', 'auto.offset.reset=earliest',
      '-X', 'auto.commit.interval.ms=500', '-X', 'session.timeout.ms=10000', topic,
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout += chunk.toString()
      const lines = this.#stdout.split('\n')
      this.#stdout = lines.pop() ?? ''
      for (const line of lines) {
        const [partition, value] = line.split(' ')
        if (value !== undefined) this.received.push({ partition: Number(partition), value })
      }
    })
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString()
      // Complete lines only: "% Group g rebalanced (memberid ...): assigned: topic [0], topic [2]" / "...: revoked: ..."
      const complete = this.stderr.slice(0, this.stderr.lastIndexOf('\n') + 1)
      for (const match of complete.matchAll(/rebalanced \(memberid [^)]*\): (assigned|revoked): ([^\n]*)/g)) {
        this.assigned = match[1] === 'assigned' ? [...(match[2] ?? '').matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b) : []
      }
    })
  }

  /** SIGTERM: kcat closes its consumer (final commit, LeaveGroup) and exits. */
  async stop (): Promise<void> {
    if (this.process.exitCode !== null) return
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => { resolve() }))
    this.process.kill('SIGTERM')
    await exited
  }
}

describe('Kafka consumer groups on a three-broker cluster', () => {
  test('two kcat consumers (-G) split the partitions, each reads only its own, and commit', async () => {
    const topic = 'kafka-groups-kcat'
    const groupId = 'kcat-group'
    await createTopic(topic, 4)
    const consumers = [new KcatConsumer(groupId, topic), new KcatConsumer(groupId, topic)]
    try {
      // Both members hold a share, together every partition, none twice.
      await until(() => {
        const [a, b] = consumers.map((c) => c.assigned ?? [])
        return (a?.length ?? 0) > 0 && (b?.length ?? 0) > 0 && [...(a ?? []), ...(b ?? [])].sort().join() === '0,1,2,3'
      }, 60_000, () => `assignments ${JSON.stringify(consumers.map((c) => c.assigned))}\n${consumers.map((c) => c.stderr).join('\n')}`)
      await produce(topic, 200, 'kcat')
      await until(() => consumers.reduce((sum, c) => sum + c.received.length, 0) >= 200,
        60_000, () => `received ${consumers.map((c) => c.received.length).join('+')}`)
      const values = consumers.flatMap((c) => c.received.map((r) => r.value)).sort()
      expect(new Set(values).size).toBe(200)
      for (const consumer of consumers) {
        expect(new Set(consumer.received.map((r) => r.partition))).toEqual(new Set(consumer.assigned))
      }
      const ends = await endOffsets(topic)
      // Auto-commit (every 500 ms) reaches the end of every partition.
      await until(async () => {
        const offsets = await committed(groupId, topic)
        return [...ends].every(([partition, end]) => offsets.get(partition) === end)
      }, 30_000, async () => `committed ${JSON.stringify([...(await committed(groupId, topic))])} ends ${JSON.stringify([...ends])}`)
    } finally {
      await Promise.all(consumers.map(async (c) => { await c.stop() }))
    }
  }, 180_000)

  test('a KafkaJS consumer group of two members with eachMessage splits the partitions and commits', async () => {
    const topic = 'kafka-groups-kafkajs'
    const groupId = 'kafkajs-group'
    await createTopic(topic, 4)
    const seen = new Map<string, Set<number>>()
    const values: string[] = []
    const assignments = new Map<string, number[]>()
    const consumers: Consumer[] = []
    try {
      for (const name of ['a', 'b']) {
        const consumer = kafkaJs(`kafkajs-${name}`).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 20_000 })
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          assignments.set(name, [...(event.payload.memberAssignment[topic] ?? [])].sort((x, y) => x - y))
        })
        await consumer.connect()
        await consumer.subscribe({ topics: [topic], fromBeginning: true })
        await consumer.run({
          eachMessage: async ({ partition, message }: EachMessagePayload) => {
            const partitions = seen.get(name) ?? new Set<number>()
            seen.set(name, partitions.add(partition))
            values.push(message.value?.toString() ?? '')
          },
        })
        consumers.push(consumer)
      }
      await until(() => {
        const [a, b] = [assignments.get('a') ?? [], assignments.get('b') ?? []]
        return a.length > 0 && b.length > 0 && [...a, ...b].sort().join() === '0,1,2,3'
      }, 60_000, () => `assignments ${JSON.stringify([...assignments])}`)
      await produce(topic, 100, 'kafkajs')
      await until(() => values.length >= 100, 60_000, () => `received ${values.length}`)
      expect(new Set(values).size).toBe(100)
      for (const name of ['a', 'b']) expect(new Set(seen.get(name))).toEqual(new Set(assignments.get(name)))
    } finally {
      // disconnect commits what eachMessage finished and leaves the group.
      for (const consumer of consumers) await consumer.disconnect()
    }
    const ends = await endOffsets(topic)
    expect(await committed(groupId, topic)).toEqual(ends)
    // The native CLI sees the classic group and its committed offsets (over gRPC).
    const described = await runGregor(cluster, ['groups', 'describe', '--group', groupId, '--offsets', '--json'])
    expect(described.code, described.stderr).toBe(0)
    const document = JSON.parse(described.stdout) as { groupType: string; offsets: Array<{ topic: string; partition: number; currentOffset: number | null }> }
    expect(document.groupType.toLowerCase()).toBe('classic')
    expect(new Map(document.offsets.filter((row) => row.topic === topic).map((row) => [row.partition, row.currentOffset]))).toEqual(ends)
  }, 180_000)
})

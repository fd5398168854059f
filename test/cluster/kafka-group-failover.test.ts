/**
 * Classic consumer groups through a kill -9 of their coordinator (issue 11): the coordinator persists each completed
 * generation with its members (the GroupMetadata record), so the broker that takes over `__consumer_offsets` knows
 * the group Stable with its members, generation and assignments, and members keep going without a new member id.
 *
 * - Two `kcat -G` consumers (librdkafka, which behaves as the Java client does here: on a dead coordinator it looks
 *   the coordinator up again and goes on heartbeating at its generation): after the kill, no rebalance at all (no
 *   new assignment printed, the same generation), every record produced after the kill is read, commits go on.
 * - Two KafkaJS consumers. KafkaJS 2.2.4 keeps sending heartbeats and commits to the broker it joined through and
 *   never looks the coordinator up again until an error tells it to rejoin, so the killed broker is started again:
 *   it answers NOT_COORDINATOR and KafkaJS rejoins at the new coordinator with its member id. The new coordinator
 *   knows both members (before, it answered UNKNOWN_MEMBER_ID and KafkaJS took a new id); a follower's rejoin gets its
 *   generation back, the leader's forces one rebalance (Kafka's rule: a leader's JoinGroup in a stable group starts a
 *   new generation), so the generation moves by at most one. Every record is read; committed offsets are kept.
 *
 * Automatic preferred-leader elections are off for this file, so the coordinator moves exactly once per kill.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Kafka, logLevel, type Consumer } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses

useCluster((started) => { cluster = started }, { env: { GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS: '0' } })

/** Waits for `condition` with a deadline; on timeout the error says what `seen` reports. */
async function until (condition: () => boolean | Promise<boolean>, timeoutMs: number, seen: () => string | Promise<string>): Promise<void> {
  try {
    await waitFor('the condition', async () => (await condition()) ? true : undefined, { timeoutMs, intervalMs: 100 })
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${await seen()}`)
  }
}

function kafkaJs (clientId: string, retries = 20): Kafka {
  return new Kafka({
    clientId, brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

async function withAdmin<T> (use: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafkaJs('group-failover-admin').admin()
  await admin.connect()
  try {
    return await use(admin)
  } finally {
    await admin.disconnect()
  }
}

async function createTopic (topic: string): Promise<void> {
  await withAdmin(async (admin) => await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }], waitForLeaders: true }))
    .catch((error: { errors?: Array<{ type?: string, message?: string }> }) => {
      // KafkaJS's aggregate error hides each topic's code: say it.
      throw new Error(`createTopics ${topic}: ${JSON.stringify(error.errors?.map((item) => [item.type, item.message]) ?? String(error))}`)
    })
  await waitForIsr(cluster, topic, 3)
}

async function produce (topic: string, values: readonly string[]): Promise<void> {
  const producer = kafkaJs('group-failover-producer', 30).producer()
  await producer.connect()
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) })
  } finally {
    await producer.disconnect()
  }
}

const committed = async (groupId: string, topic: string): Promise<Map<number, number>> => await withAdmin(async (admin) => {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
})

const endOffsets = async (topic: string): Promise<Map<number, number>> => await withAdmin(async (admin) =>
  new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])))

/** The group as the coordinator describes it (`gregor groups describe`, which asks FindCoordinator first). */
async function describeGroup (groupId: string): Promise<{ coordinator: { id: number }; groupEpoch: number; state: string; members: Array<{ memberId: string }> }> {
  const run = await runGregor(cluster, ['groups', 'describe', '--group', groupId, '--json'])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as Awaited<ReturnType<typeof describeGroup>>
}

const batch = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

/** Waits until auto-commit has reached the end of every partition. */
async function untilCommittedToEnd (groupId: string, topic: string): Promise<void> {
  const ends = await endOffsets(topic)
  await until(async () => {
    const offsets = await committed(groupId, topic)
    return [...ends].every(([partition, end]) => offsets.get(partition) === end)
  }, 60_000, async () => `committed ${JSON.stringify([...(await committed(groupId, topic))])} ends ${JSON.stringify([...ends])}`)
}

/** A `kcat -G` consumer: the values it printed, and every rebalance it reported (`% Group ... rebalanced ...`). */
class Kcat {
  readonly process: ChildProcess
  readonly values = new Set<string>()
  readonly rebalances: Array<{ memberId: string; event: string; partitions: number[] }> = []
  stderr = ''
  #out = ''

  constructor (groupId: string, topic: string) {
    this.process = spawn('/usr/bin/kcat', [
      '-b', cluster.kafkaBootstrapServers, '-G', groupId, '-u', '-f', '%s\\n', '-X', 'auto.offset.reset=earliest',
      '-X', 'auto.commit.interval.ms=500', '-X', 'session.timeout.ms=30000', topic,
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process.stdout?.on('data', (chunk: Buffer) => {
      const lines = (this.#out + chunk.toString()).split('\n')
      this.#out = lines.pop() ?? ''
      for (const line of lines) if (line !== '') this.values.add(line)
    })
    this.process.stderr?.on('data', (chunk: Buffer) => {
      const before = this.stderr.lastIndexOf('\n') + 1
      this.stderr += chunk.toString()
      const complete = this.stderr.slice(before, this.stderr.lastIndexOf('\n') + 1)
      for (const match of complete.matchAll(/rebalanced \(memberid ([^)]*)\): (assigned|revoked): ([^\n]*)/g)) {
        const partitions = [...(match[3] ?? '').matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b)
        this.rebalances.push({ memberId: match[1] ?? '', event: match[2] ?? '', partitions })
      }
    })
  }

  get assigned (): number[] {
    const last = this.rebalances.at(-1)
    return last?.event === 'assigned' ? last.partitions : []
  }

  async stop (): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => { resolve() }))
    this.process.kill('SIGTERM')
    await exited
  }
}

const splitsAll = (assignments: ReadonlyArray<readonly number[]>): boolean =>
  assignments.every((a) => a.length > 0) && assignments.flat().sort((a, b) => a - b).join() === '0,1,2,3'

describe('classic groups through a kill -9 of their coordinator', () => {
  test('two kcat (-G) members go on at their generation: no rebalance, every record read, commits go on', async () => {
    const topic = 'group-failover-kcat'
    const groupId = 'group-failover-kcat'
    await createTopic(topic)
    const members = [new Kcat(groupId, topic), new Kcat(groupId, topic)]
    try {
      await until(() => splitsAll(members.map((m) => m.assigned)), 60_000, () => members.map((m) => m.stderr).join('\n'))
      const before = await describeGroup(groupId)
      const sent = [...batch('before', 100)]
      await produce(topic, sent)
      await until(() => sent.every((v) => members.some((m) => m.values.has(v))), 60_000, () => `read ${members.map((m) => m.values.size).join('+')}`)
      await untilCommittedToEnd(groupId, topic)
      const committedBefore = await committed(groupId, topic)
      const rebalancesBefore = members.map((m) => m.rebalances.length)

      await cluster.kill(before.coordinator.id, 'SIGKILL')
      sent.push(...batch('after', 100))
      await produce(topic, sent.slice(100))
      await until(() => sent.every((v) => members.some((m) => m.values.has(v))), 90_000,
        () => `read ${members.map((m) => m.values.size).join('+')}\n${members.map((m) => m.stderr).join('\n')}`)
      const afterKill = await committed(groupId, topic)
      for (const [partition, offset] of committedBefore) expect(afterKill.get(partition) ?? -1).toBeGreaterThanOrEqual(offset)
      await untilCommittedToEnd(groupId, topic)

      const after = await describeGroup(groupId)
      expect(after.coordinator.id).not.toBe(before.coordinator.id)
      expect(after.groupEpoch).toBe(before.groupEpoch)
      expect(after.state.toLowerCase()).toBe('stable')
      expect(after.members.map((m) => m.memberId).sort()).toEqual(before.members.map((m) => m.memberId).sort())
      // Neither member was told of any rebalance after the kill.
      expect(members.map((m) => m.rebalances.slice(rebalancesBefore[members.indexOf(m)]))).toEqual([[], []])
    } finally {
      await Promise.all(members.map(async (m) => { await m.stop() }))
    }
  }, 240_000)

  test('two KafkaJS members keep their member ids at the new coordinator; at most the leader\'s one rebalance; nothing lost', async () => {
    const topic = 'group-failover-kafkajs'
    const groupId = 'group-failover-kafkajs'
    await createTopic(topic)
    const values = new Set<string>()
    const joins: Array<{ name: string; memberId: string; partitions: number[] }> = []
    const crashes: unknown[] = []
    const consumers: Consumer[] = []
    try {
      for (const name of ['a', 'b']) {
        // Retries long enough to outlast the broker's restart (a crash would make KafkaJS start over as a new member);
        // a consumer's own retry settings replace the client's (KafkaJS defaults them to 5 retries).
        const consumer = kafkaJs(`group-failover-${name}`).consumer({
          groupId, sessionTimeout: 30_000, heartbeatInterval: 500, rebalanceTimeout: 30_000,
          retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1_000 },
        })
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          joins.push({ name, memberId: event.payload.memberId, partitions: [...(event.payload.memberAssignment[topic] ?? [])] })
        })
        consumer.on(consumer.events.CRASH, (event) => { crashes.push(event.payload.error) })
        await consumer.connect()
        await consumer.subscribe({ topics: [topic], fromBeginning: true })
        await consumer.run({ eachMessage: async ({ message }) => { values.add(message.value?.toString() ?? '') } })
        consumers.push(consumer)
      }
      const latest = (): number[][] => ['a', 'b'].map((name) => joins.filter((j) => j.name === name).at(-1)?.partitions ?? [])
      await until(() => splitsAll(latest()), 60_000, () => `joins ${JSON.stringify(joins)}`)
      const sent = [...batch('before', 100)]
      await produce(topic, sent)
      await until(() => sent.every((v) => values.has(v)), 60_000, () => `read ${values.size}`)
      await untilCommittedToEnd(groupId, topic)
      const committedBefore = await committed(groupId, topic)
      const before = await describeGroup(groupId)
      const memberIds = new Map(['a', 'b'].map((name) => [name, joins.filter((j) => j.name === name).at(-1)?.memberId]))
      expect(new Set(before.members.map((m) => m.memberId))).toEqual(new Set(memberIds.values()))

      await cluster.kill(before.coordinator.id, 'SIGKILL')
      sent.push(...batch('after', 100))
      await produce(topic, sent.slice(100))
      // The new coordinator has the group with both members before anyone rejoins.
      await until(async () => {
        const now = await describeGroup(groupId).catch(() => undefined)
        return now !== undefined && now.coordinator.id !== before.coordinator.id && now.members.length === 2
      }, 60_000, async () => JSON.stringify(await describeGroup(groupId).catch((error: unknown) => String(error))))
      const afterKill = await committed(groupId, topic)
      for (const [partition, offset] of committedBefore) expect(afterKill.get(partition) ?? -1).toBeGreaterThanOrEqual(offset)
      cluster.startBroker(before.coordinator.id)
      await until(() => sent.every((v) => values.has(v)), 120_000, () => `read ${values.size}, joins ${JSON.stringify(joins)}`)
      await untilCommittedToEnd(groupId, topic)
      const after = await describeGroup(groupId)

      expect(crashes).toEqual([])
      expect(after.coordinator.id).not.toBe(before.coordinator.id)
      // Every join, before and after the kill, with the member id each consumer had from the start.
      for (const join of joins) expect(join.memberId).toBe(memberIds.get(join.name))
      expect(new Set(after.members.map((m) => m.memberId))).toEqual(new Set(memberIds.values()))
      expect(after.groupEpoch).toBeGreaterThanOrEqual(before.groupEpoch)
      expect(after.groupEpoch).toBeLessThanOrEqual(before.groupEpoch + 1)
      expect(splitsAll(latest())).toBe(true)
    } finally {
      for (const consumer of consumers) await consumer.disconnect()
    }
  }, 300_000)
})

/**
 * Consumer groups when processes die, against three real brokers: kill -9 of a member (`gregor consume --group`
 * processes, one SIGKILLed by PID), kill -9 of the group coordinator's broker under produce-and-consume load, and
 * the whole cluster killed and restarted on its data directories. `__consumer_offsets` keeps its default 50
 * partitions here, so the real default layout is what the coordinator lookup and the offsets load go through.
 *
 * The checks are at-least-once in Kafka's sense: every acknowledged record is processed by some member; a record is
 * processed twice only when it lay in the dead member's uncommitted window (at or above its last committed offset);
 * committed offsets never go back, survive a coordinator move and a full restart, and a member resumes from them.
 * Each test prints its measured figures as one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { type Admin, Consumer, Producer } from '@gregor/client'
import { type BrokerProcesses, cliBin, waitFor } from '@gregor/cli'
import {
  AcksAllLoad, type AckedRecord, committedOffsets, createTopicInSync, describePartition, serversOf, useCluster, waitForIsr,
  waitForLiveBrokers,
} from './cluster-helpers.js'

const sessionTimeoutMs = 4_000
const autoCommitIntervalMs = 500

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, {
  env: { GREGOR_GROUP_SESSION_TIMEOUT_MS: String(sessionTimeoutMs) },
})

interface Processed { readonly member: string; readonly partition: number; readonly offset: number; readonly value: string; readonly atMs: number }

const key = (partition: number, offset: number): string => `${partition}@${offset}`

/** One `gregor consume --group` process; every JSON line it prints is kept with the time it arrived here. */
class CliMember {
  readonly processed: Processed[] = []
  stderr = ''
  readonly child: ChildProcess
  readonly closed: Promise<void>

  constructor (readonly name: string, topic: string, groupId: string) {
    this.child = spawn(process.execPath, [cliBin, 'consume', '--topic', topic, '--group', groupId, '--json', '--from-beginning',
      '--client-id', name, '--auto-commit-interval-ms', String(autoCommitIntervalMs), '-b', cluster.bootstrapServers,
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    let pending = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const atMs = Date.now()
      const lines = (pending + chunk).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line === '') continue
        const record = JSON.parse(line) as { partition: number; offset: number; value: string }
        this.processed.push({ member: name, partition: record.partition, offset: record.offset, value: record.value, atMs })
      }
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    // 'close' comes after the output streams ended: everything the process printed has been parsed by then.
    this.closed = new Promise((resolve) => this.child.once('close', () => { resolve() }))
  }

  get running (): boolean { return this.child.exitCode === null && this.child.signalCode === null }

  async signal (signal: NodeJS.Signals): Promise<void> {
    if (this.running) this.child.kill(signal)
    await this.closed
  }
}

/** Waits until the group is stable with `members` members, each owning what it is meant to own; returns it. */
async function waitForStableGroup (groupId: string, members: number, timeoutMs = 30_000): Promise<Awaited<ReturnType<Admin['describeGroups']>>[number]> {
  const flat = (lists: ReadonlyArray<{ topic: string; partitions: number[] }>): string =>
    lists.flatMap((list) => list.partitions.map((partition) => `${list.topic}-${partition}`)).sort().join(',')
  return await waitFor(`group ${groupId} stable with ${members} members`, async () => {
    const [description] = await admin.describeGroups([groupId])
    if (description === undefined || description.state.toLowerCase() !== 'stable' || description.members.length !== members) return undefined
    const settled = description.members.every((member) => member.assignment.length > 0 && flat(member.assignment) === flat(member.targetAssignment))
    return settled ? description : undefined
  }, { timeoutMs, intervalMs: 100 })
}

/** A group member in this process: consumes with auto-commit and keeps what it processed. */
function startMember (name: string, topic: string, groupId: string): { consumer: Consumer; processed: Processed[]; done: Promise<unknown> } {
  const consumer = new Consumer({ bootstrapServers: serversOf(cluster), groupId, clientId: name, autoOffsetReset: 'earliest', autoCommitIntervalMs, maxWaitMs: 200 })
  consumer.subscribe([topic])
  const processed: Processed[] = []
  const done = (async () => {
    for await (const message of consumer) {
      processed.push({ member: name, partition: message.partition, offset: message.offset, value: message.value?.toString() ?? '', atMs: Date.now() })
    }
  })().then(() => undefined, (error: unknown) => error)
  return { consumer, processed, done }
}

/** Every acknowledged record was processed by some member, with the value it was acknowledged with. */
function expectAllProcessed (acked: readonly AckedRecord[], processed: readonly Processed[]): void {
  const seen = new Map(processed.map((item) => [key(item.partition, item.offset), item.value]))
  const missing = acked.filter((item) => seen.get(key(item.partition, item.offset)) !== item.value)
  expect(missing.slice(0, 10).map((item) => `${key(item.partition, item.offset)}=${item.value} seen ${String(seen.get(key(item.partition, item.offset)))}`), `${missing.length} acknowledged records not processed`).toEqual([])
}

describe('consumer groups under failures', () => {
  test('kill -9 of a member process: its partitions move after the session timeout and resume from its last commit', async () => {
    const topic = 'members-victim'
    const groupId = 'g-member-kill'
    const partitions = 6
    await createTopicInSync(cluster, admin, { topic, numPartitions: partitions, replicationFactor: 3 })
    // Paced so the CLI members, printing JSON lines, stay close behind; one record to every partition per send.
    const load = new AcksAllLoad(new Producer({ bootstrapServers: serversOf(cluster), lingerMs: 2 }), topic, { workers: 1, partitions, prefix: 'v', paceMs: 20 })
    const members = ['member-1', 'member-2', 'member-3'].map((name) => new CliMember(name, topic, groupId))
    try {
      const stable = await waitForStableGroup(groupId, 3)
      const victimName = 'member-2'
      const victim = members.find((member) => member.name === victimName) as CliMember
      const victimPartitions = (stable.members.find((member) => member.clientId === victimName)?.assignment ?? [])
        .flatMap((list) => list.partitions).sort((a, b) => a - b)
      expect(victimPartitions.length).toBeGreaterThan(0)
      // The victim has processed and committed some of each of its partitions, so "resume from the commit" means something.
      await waitFor('the victim to commit offsets of its partitions', async () => {
        const committed = await committedOffsets(admin, groupId, topic)
        return victimPartitions.every((partition) => (committed.get(partition) ?? -1) > 20) ? true : undefined
      }, { timeoutMs: 20_000, intervalMs: 100 })
      await load.waitForAcks(partitions * 20, 'more records after the first commits', 20_000)

      const killedAtMs = Date.now()
      await victim.signal('SIGKILL')
      // Nobody owns the victim's partitions until its session expires: what is committed now is its last commit.
      const victimCommitted = await committedOffsets(admin, groupId, topic)
      const survivors = members.filter((member) => member !== victim)
      const takeover = await waitFor('a survivor to process a record of the victim\'s partitions', () => {
        const after = survivors.flatMap((member) => member.processed).filter((item) => item.atMs >= killedAtMs && victimPartitions.includes(item.partition))
        return after.length > 0 ? Math.min(...after.map((item) => item.atMs)) - killedAtMs : undefined
      }, { timeoutMs: sessionTimeoutMs + 15_000, intervalMs: 20 })
      await load.waitForAcks(partitions * 20, 'records after the takeover', 20_000)
      await load.stop()
      expect(load.failures).toEqual([])
      const survivorsProcessed = (): Processed[] => survivors.flatMap((member) => member.processed)
      await waitFor('the survivors to process every acknowledged record', () => {
        const seen = new Set([...victim.processed, ...survivorsProcessed()].map((item) => key(item.partition, item.offset)))
        return load.acked.every((item) => seen.has(key(item.partition, item.offset))) ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 })
      await Promise.all(survivors.map(async (member) => await member.signal('SIGTERM')))
      for (const member of survivors) expect(member.child.exitCode, `${member.name}: ${member.stderr}`).toBe(0)

      const all = [...victim.processed, ...survivorsProcessed()]
      expectAllProcessed(load.acked, all)
      // Re-processing only inside the victim's uncommitted window: at or above its last committed offset.
      const counts = new Map<string, Processed[]>()
      for (const item of all) counts.set(key(item.partition, item.offset), [...(counts.get(key(item.partition, item.offset)) ?? []), item])
      const duplicates = [...counts.values()].filter((items) => items.length > 1)
      const outsideWindow = duplicates.filter((items) => {
        const [first] = items as [Processed]
        const committed = victimCommitted.get(first.partition) ?? -1
        return !victimPartitions.includes(first.partition) || first.offset < committed || !items.some((item) => item.member === victimName)
      })
      expect(outsideWindow.slice(0, 10).map((items) => `${key(items[0]?.partition ?? -1, items[0]?.offset ?? -1)} by ${items.map((item) => item.member).join('+')}`)).toEqual([])
      const windows: Record<number, { committed: number; victimProcessedTo: number; resumedAt: number; reprocessed: number }> = {}
      for (const partition of victimPartitions) {
        const committed = victimCommitted.get(partition) ?? -1
        const victimLast = Math.max(-1, ...victim.processed.filter((item) => item.partition === partition).map((item) => item.offset))
        // The victim commits only what it processed.
        expect(committed).toBeGreaterThan(0)
        expect(committed).toBeLessThanOrEqual(victimLast + 1)
        const resumed = survivorsProcessed().filter((item) => item.partition === partition && item.atMs >= killedAtMs)
        expect(resumed.length).toBeGreaterThan(0)
        // The new owner starts exactly at the committed offset: nothing below it again, nothing skipped.
        expect(Math.min(...resumed.map((item) => item.offset)), `partition ${partition}`).toBe(committed)
        windows[partition] = { committed, victimProcessedTo: victimLast, resumedAt: committed, reprocessed: duplicates.filter((items) => items[0]?.partition === partition).length }
      }
      console.log(JSON.stringify({ name: 'groups-member-kill', sessionTimeoutMs, takeoverMs: takeover, victimPartitions, windows, acked: load.acked.length, duplicates: duplicates.length }))
      expect(takeover).toBeLessThanOrEqual(sessionTimeoutMs + 3_000)
    } finally {
      await load.stop()
      await Promise.all(members.map(async (member) => await member.signal('SIGKILL')))
    }
  }, 90_000)

  test('kill -9 of the coordinator\'s broker under load: the coordinator moves, committed offsets never go back, the group carries on', async () => {
    const topic = 'coordinator-victim'
    const groupId = 'g-coordinator-kill'
    const partitions = 6
    await createTopicInSync(cluster, admin, { topic, numPartitions: partitions, replicationFactor: 3 })
    const load = new AcksAllLoad(new Producer({ bootstrapServers: serversOf(cluster), lingerMs: 5, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 }), topic, { workers: 2, recordsPerSend: 10, prefix: 'c' })
    const members = ['member-a', 'member-b'].map((name) => startMember(name, topic, groupId))
    // Every committed offset seen, in order: one that goes back is a lost commit.
    const regressions: string[] = []
    const highest = new Map<number, number>()
    let firstAdvanceAfterKillMs = 0
    let killedAtMs = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        try {
          const committed = await committedOffsets(admin, groupId, topic)
          for (const [partition, offset] of committed) {
            const before = highest.get(partition) ?? -1
            if (offset < before) regressions.push(`partition ${partition}: ${before} -> ${offset}`)
            if (offset > before && killedAtMs > 0 && firstAdvanceAfterKillMs === 0 && before >= 0) firstAdvanceAfterKillMs = Date.now() - killedAtMs
            highest.set(partition, Math.max(before, offset))
          }
        } catch {
          // No coordinator for a moment during the failover: the next sample asks again.
        }
        await new Promise((resolve) => setTimeout(resolve, 100)) // a sampling rate
      }
    })()
    try {
      await waitForStableGroup(groupId, 2)
      await load.waitForAcks(1_000, 'load before the kill')
      await waitFor('commits of every partition', async () => {
        const committed = await committedOffsets(admin, groupId, topic)
        return committed.size === partitions && [...committed.values()].every((offset) => offset > 0) ? true : undefined
      }, { timeoutMs: 20_000, intervalMs: 100 })
      const coordinator = await admin.findCoordinator(groupId)
      const { controllerId } = await admin.describeCluster()
      const before = await committedOffsets(admin, groupId, topic)

      killedAtMs = Date.now()
      await cluster.kill(coordinator.nodeId)
      const moved = await waitFor('another broker to coordinate the group', async () => {
        const found = await admin.findCoordinator(groupId)
        return found.nodeId !== coordinator.nodeId ? { nodeId: found.nodeId, ms: Date.now() - killedAtMs } : undefined
      }, { timeoutMs: 20_000, intervalMs: 50 })
      expect(moved.ms).toBeLessThan(15_000)
      // The group carries on: commits advance again, and what is produced after the kill gets consumed.
      await waitFor('a commit after the kill', () => firstAdvanceAfterKillMs > 0 ? true : undefined, { timeoutMs: 20_000, intervalMs: 50 })
      await load.waitForAcks(1_000, 'acks after the kill')
      const after = await committedOffsets(admin, groupId, topic)
      for (const [partition, offset] of before) expect(after.get(partition) ?? -1, `partition ${partition}`).toBeGreaterThanOrEqual(offset)

      // The killed broker comes back and rejoins: ISR of the data topic and of the group's offsets partition.
      cluster.startBroker(coordinator.nodeId)
      await cluster.waitForReady(undefined, 60_000)
      await waitForLiveBrokers(cluster, 3, 60_000)
      await waitForIsr(cluster, topic, 3, 60_000)
      await waitFor('the restarted broker back in the ISR of the offsets partition', async () => {
        const offsetsPartition = await describePartition(cluster, '__consumer_offsets', coordinator.partition)
        return offsetsPartition?.isr.includes(coordinator.nodeId) === true ? true : undefined
      }, { timeoutMs: 60_000, intervalMs: 200 })

      await load.stop()
      expect(load.failures).toEqual([])
      await waitFor('the group to catch up (lag 0 on every partition)', async () => {
        const rows = (await admin.groupLag(groupId)).filter((row) => row.topic === topic)
        return rows.length === partitions && rows.every((row) => row.lag === 0) ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 200 })
      expectAllProcessed(load.acked, members.flatMap((member) => member.processed))
      sampling = false
      await sampler
      expect(regressions).toEqual([])
      const final = await committedOffsets(admin, groupId, topic)
      for (const [partition, offset] of after) expect(final.get(partition) ?? -1).toBeGreaterThanOrEqual(offset)
      console.log(JSON.stringify({
        name: 'groups-coordinator-kill', victim: coordinator.nodeId, victimWasController: controllerId === coordinator.nodeId,
        offsetsPartition: coordinator.partition, newCoordinator: moved.nodeId, coordinatorMovedMs: moved.ms, firstCommitAfterKillMs: firstAdvanceAfterKillMs,
        acked: load.acked.length,
      }))
    } finally {
      sampling = false
      await sampler
      await load.stop()
      await Promise.all(members.map(async (member) => await member.consumer.close().catch(() => undefined)))
    }
    for (const member of members) expect(await member.done).toBeUndefined()
  }, 120_000)

  test('the whole cluster killed and restarted: the group and its committed offsets are still there, a new member resumes from them', async () => {
    const topic = 'restart-offsets'
    const groupId = 'g-cluster-restart'
    const partitions = 3
    await createTopicInSync(cluster, admin, { topic, numPartitions: partitions, replicationFactor: 3 })
    const producer = new Producer({ bootstrapServers: serversOf(cluster), lingerMs: 2 })
    const produce = async (prefix: string, perPartition: number): Promise<void> => {
      const messages = Array.from({ length: perPartition * partitions }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % partitions }))
      await producer.send({ topic, messages, acks: 'all' })
    }
    try {
      await produce('first', 100)
      const member = startMember('member-before', topic, groupId)
      await waitFor('the member to process the first records', () => member.processed.length >= 100 * partitions ? true : undefined, { timeoutMs: 30_000, intervalMs: 50 })
      await member.consumer.close() // commits what it processed and leaves
      expect(await member.done).toBeUndefined()
      await produce('second', 50)
      await producer.close()
      const [described] = await admin.describeGroups([groupId])
      expect(described?.state.toLowerCase()).toBe('empty')
      const before = await committedOffsets(admin, groupId, topic)
      expect([...before.entries()].sort((a, b) => a[0] - b[0])).toEqual([[0, 100], [1, 100], [2, 100]])

      await Promise.all(cluster.brokers.map(async (broker) => await cluster.kill(broker.nodeId)))
      const stoppedAtMs = Date.now()
      for (const broker of cluster.brokers) cluster.startBroker(broker.nodeId)
      await cluster.waitForReady(undefined, 60_000)
      await waitForLiveBrokers(cluster, 3, 60_000)
      const restartedMs = Date.now() - stoppedAtMs
      const afterRestart = await waitFor('the group described after the restart', async () => {
        const [description] = await admin.describeGroups([groupId])
        return description
      }, { timeoutMs: 30_000, intervalMs: 200 })
      const groupBackMs = Date.now() - stoppedAtMs
      expect(afterRestart.groupId).toBe(groupId)
      expect(afterRestart.state.toLowerCase()).toBe('empty')
      expect(await committedOffsets(admin, groupId, topic)).toEqual(before)

      // A new member (auto.offset.reset=earliest, so a lost commit would show as a re-read from 0) resumes at 100.
      const resumed = startMember('member-after', topic, groupId)
      try {
        await waitFor('the new member to process the second records', () => resumed.processed.length >= 50 * partitions ? true : undefined, { timeoutMs: 30_000, intervalMs: 50 })
        await waitFor('its commits of the end offsets', async () => {
          const committed = await committedOffsets(admin, groupId, topic)
          return [...committed.values()].every((offset) => offset === 150) && committed.size === partitions ? true : undefined
        }, { timeoutMs: 20_000, intervalMs: 100 })
      } finally {
        await resumed.consumer.close()
      }
      expect(await resumed.done).toBeUndefined()
      for (let partition = 0; partition < partitions; partition++) {
        const offsets = resumed.processed.filter((item) => item.partition === partition).map((item) => item.offset)
        expect(offsets, `partition ${partition}`).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i))
      }
      expect(resumed.processed.every((item) => item.value.startsWith('second-'))).toBe(true)
      console.log(JSON.stringify({ name: 'groups-cluster-restart', restartedMs, groupBackMs, committed: Object.fromEntries(before) }))
    } finally {
      await producer.close()
    }
  }, 120_000)
})

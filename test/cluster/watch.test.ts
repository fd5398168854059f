/**
 * `gregor cluster watch --json` against three real broker processes: it is started with the soon-to-die partition
 * leader as its first bootstrap server, the leader is killed with SIGKILL, and the JSON lines must show the broker
 * fenced, the partition's new leader, and keep coming (high watermark of the new leader included) until SIGINT,
 * which ends it with exit code 0.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, cliBin, waitFor } from '@gregor/cli'
import type { ClusterUpdate } from '@gregor/metadata'
import { leadersOf, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin
let watch: ChildProcess | undefined

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

afterEach(async () => {
  // A failed test must not leave its watch running: end it by PID.
  if (watch !== undefined && watch.exitCode === null && watch.signalCode === null) {
    const exited = new Promise((resolve) => watch?.once('exit', resolve))
    watch.kill('SIGKILL')
    await exited
  }
  watch = undefined
})

async function produce (topic: string, partition: number, count: number): Promise<void> {
  const producer = new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 5 })
  try {
    await producer.send({ topic, acks: 'all', messages: Array.from({ length: count }, (_, i) => ({ value: `record-${i}`, partition })) })
  } finally {
    await producer.close()
  }
}

describe('gregor cluster watch --json', () => {
  test('follows a kill -9 of a partition leader that was its first bootstrap server', async () => {
    await admin.createTopics([{ topic: 'watched', numPartitions: 3, replicationFactor: 3 }])
    await waitForIsr(cluster, 'watched', 3)
    await produce('watched', 0, 20)
    const victim = (await leadersOf(cluster, 'watched')).get(0) as number
    const bootstrap = [cluster.broker(victim), ...cluster.brokers.filter((broker) => broker.nodeId !== victim)]
      .map((broker) => broker.clientAddress).join(',')

    const child = spawn(process.execPath, [cliBin, 'cluster', 'watch', '-b', bootstrap, '--json', '--interval-ms', '250'],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    watch = child
    const lines: ClusterUpdate[] = []
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => { lines.push(JSON.parse(line) as ClusterUpdate) })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const partition0 = (line: ClusterUpdate): ClusterUpdate['partitions'][number] | undefined =>
      line.partitions.find((p) => p.topic === 'watched' && p.partition === 0)

    // The first line is the whole state, high watermark included, and has no events yet.
    const first = await waitFor('the first JSON line', () => lines[0], { timeoutMs: 15_000 })
    expect(first.events).toEqual([])
    expect(first.brokers.map((broker) => broker.state)).toEqual(['alive', 'alive', 'alive'])
    expect(partition0(first)).toMatchObject({ leader: victim, isr: expect.arrayContaining([1, 2, 3]), highWatermark: 20 })

    await cluster.kill(victim)
    const events = (): ClusterUpdate['events'] => lines.flatMap((line) => line.events)
    const fenced = await waitFor(`a "broker ${victim} fenced" event (stderr: ${stderr})`,
      () => events().find((event) => event.kind === 'broker' && event.brokerId === victim && event.next === 'fenced'), { timeoutMs: 20_000 })
    expect(fenced.text).toBe(`broker ${victim} fenced`)
    const moved = await waitFor('a leader event for watched-0', () => events().find((event) =>
      event.kind === 'leader' && event.topic === 'watched' && event.partition === 0 && event.previous === victim && event.next > 0), { timeoutMs: 20_000 })
    if (moved.kind !== 'leader') throw new Error('unreachable')
    expect(moved.text).toBe(`watched-0 leader ${victim}→${moved.next} epoch ${moved.leaderEpoch}`)
    const isrShrunk = events().find((event) => event.kind === 'isr' && event.topic === 'watched' && event.partition === 0)
    expect(isrShrunk?.text).toMatch(new RegExp(`^watched-0 isr .*→`))

    // Still polling through the other brokers: new records show up as the new leader's high watermark.
    await produce('watched', 0, 5)
    const latest = await waitFor('a line with the new high watermark', () => {
      const line = lines.at(-1)
      return line !== undefined && partition0(line)?.highWatermark === 25 ? line : undefined
    }, { timeoutMs: 20_000 })
    expect(partition0(latest)).toMatchObject({ leader: moved.next, leaderEpoch: moved.leaderEpoch })
    expect(latest.brokers.find((broker) => broker.brokerId === victim)?.state).toBe('fenced')
    expect(child.exitCode).toBeNull()

    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(stderr).toBe('')
  }, 120_000)
})

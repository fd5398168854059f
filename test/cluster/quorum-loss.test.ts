/**
 * Metadata quorum loss (issue 4): with two of three brokers killed (-9), the survivor has no quorum. No acks=all
 * write may be acknowledged, and requests must fail with a clear, retriable error within a bounded time rather than
 * hang. When the brokers come back the cluster recovers on its own, and nothing acknowledged is lost.
 *
 * Run twice: once with the controller (raft leader) as the survivor, once with a raft follower as the survivor.
 */
import { describe, expect, test } from 'vitest'
import { Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { isGregorError } from '@gregor/common'
import { buildBatch } from '@gregor/records'
import { latestOffset, leadersOf, produceRaw, readPartition, useCluster, waitForIsr } from './cluster-helpers.js'

const PARTITIONS = [0, 1, 2]
/** How long a produce on the survivor may take to come back with an error (it asks for 5 s). */
const ANSWER_BOUND_MS = 10_000
/**
 * CreateTopics is forwarded to the controller and retried until the broker's forward deadline
 * (`defaultBrokerLifecycleConfig.requestDeadlineMs`, 10 s) runs out: bounded by that plus a margin.
 */
const FORWARD_BOUND_MS = 12_000

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

interface Acked { partition: number; offset: number; value: string }

async function produceAcked (topic: string, prefix: string, acked: Acked[], sent: Set<string>): Promise<void> {
  const p = new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 5, requestTimeoutMs: 5_000, deliveryTimeoutMs: 30_000 })
  try {
    for (const partition of PARTITIONS) {
      const values = Array.from({ length: 50 }, (_, i) => `${prefix}-${partition}-${i}`)
      values.forEach((value) => sent.add(value))
      const metadata = await p.send({ topic, messages: values.map((value) => ({ value, partition })), acks: 'all' })
      metadata.forEach((item, i) => acked.push({ partition: item.partition, offset: item.offset, value: values[i] as string }))
    }
  } finally {
    await p.close()
  }
}

async function quorumLoss (topic: string, survivorIsController: boolean): Promise<void> {
  // A fresh client per scenario: the brokers a previous scenario killed have new incarnations now.
  admin?.close()
  admin = new Admin({ bootstrapServers: cluster.bootstrapServers })
  await waitFor('three unfenced brokers', async () => {
    const { brokers } = await admin.describeCluster()
    return brokers.length === 3 && brokers.every((broker) => !broker.fenced) ? true : undefined
  }, { timeoutMs: 30_000, intervalMs: 100 })
  await admin.createTopics([{ topic, numPartitions: PARTITIONS.length, replicationFactor: 3 }])
  await waitForIsr(cluster, topic, 3)
  const acked: Acked[] = []
  const sent = new Set<string>()
  await produceAcked(topic, 'before', acked, sent)

  const { controllerId } = await admin.describeCluster()
  expect(controllerId).toBeGreaterThan(0)
  const survivor = survivorIsController ? controllerId : [1, 2, 3].find((id) => id !== controllerId) as number
  const victims = [1, 2, 3].filter((id) => id !== survivor)
  const leadersBefore = await leadersOf(cluster, topic)
  await Promise.all(victims.map(async (id) => { await cluster.kill(id, 'SIGKILL') }))
  const address = cluster.broker(survivor).clientAddress

  // acks=all on the survivor: an error code for every partition (led there or not), never success, never a hang.
  const rawValues = PARTITIONS.map((partition) => `raw-${topic}-${partition}`)
  rawValues.forEach((value) => sent.add(value))
  const produceStartedMs = Date.now()
  const produced = await produceRaw(address, {
    acks: -1, timeoutMs: 5_000,
    partitions: PARTITIONS.map((partition) => ({ topic, partition, records: buildBatch([{ value: Buffer.from(rawValues[partition] as string) }], { nowMs: Date.now() }) })),
  })
  const produceMs = Date.now() - produceStartedMs
  // An admin request needs the controller: a retriable GregorError within the bound. The client's own timeout is
  // far longer, so the bound is the broker's answer, not the client giving up.
  const survivorAdmin = new Admin({ bootstrapServers: [address], requestTimeoutMs: 60_000 })
  const createStartedMs = Date.now()
  let createError: unknown
  try {
    await survivorAdmin.createTopics([{ topic: `${topic}-during-loss`, numPartitions: 1, replicationFactor: 1 }])
  } catch (error) {
    createError = error
  } finally {
    survivorAdmin.close()
  }
  const createMs = Date.now() - createStartedMs
  // Whatever happened above, bring the victims back so the next scenario starts with three brokers.
  for (const id of victims) cluster.startBroker(id)
  expect(produced.partitions.map((result) => result.partition).sort()).toEqual(PARTITIONS)
  for (const result of produced.partitions) expect(result.errorCode, `partition ${result.partition}`).not.toBe('')
  expect(produceMs).toBeLessThan(ANSWER_BOUND_MS)

  expect(isGregorError(createError), `createTopics should fail, got ${String(createError)}`).toBe(true)
  expect(isGregorError(createError) && createError.retriable).toBe(true)
  expect(createMs).toBeLessThan(FORWARD_BOUND_MS)

  // The brokers return; the cluster recovers by itself.
  await cluster.waitForReady(undefined, 60_000)
  await waitForIsr(cluster, topic, 3, 60_000)
  await produceAcked(topic, 'after', acked, sent)

  for (const partition of PARTITIONS) {
    const mine = acked.filter((item) => item.partition === partition).sort((a, b) => a.offset - b.offset)
    const end = (mine[mine.length - 1]?.offset ?? -1) + 1
    // The leader may still move (a new controller fences the killed brokers' old incarnations): ask whoever leads now.
    const latest = await waitFor(`the latest offset of partition ${partition}`, async () => {
      const leader = (await leadersOf(cluster, topic)).get(partition) as number
      const answer = await latestOffset(cluster.broker(leader).clientAddress, topic, partition)
      return answer.errorCode === '' ? answer : undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    expect(latest.offset).toBe(end)
    const read = await readPartition(cluster, topic, partition, end)
    expect(read.map((message) => message.offset)).toEqual(Array.from({ length: end }, (_, i) => i))
    const byOffset = new Map(read.map((message) => [message.offset as number, message.value?.toString()]))
    for (const item of mine) expect(byOffset.get(item.offset)).toBe(item.value)
    const values = read.map((message) => message.value?.toString() ?? '')
    for (const value of values) expect(sent.has(value), value).toBe(true)
    // The idempotent producer's retries of a batch whose acknowledgement was lost in the churn are stored once.
    const seen = new Map<string, number[]>()
    read.forEach((message) => { const value = message.value?.toString() ?? ''; seen.set(value, [...(seen.get(value) ?? []), message.offset as number]) })
    expect([...seen].filter(([, offsets]) => offsets.length > 1).map(([value, offsets]) => `${value}@${offsets.join('/')}`)).toEqual([])
  }
  console.log(JSON.stringify({
    name: 'quorum-loss', topic, survivor, survivorIsController, victims, leadersBefore: Object.fromEntries(leadersBefore),
    produceMs, produceCodes: produced.partitions.map((result) => `${result.partition}:${result.errorCode}:${result.errorMessage}`),
    createMs, createCode: isGregorError(createError) ? createError.code : String(createError),
    createMessage: createError instanceof Error ? createError.message : '', acked: acked.length,
  }))
}

describe('metadata quorum loss', () => {
  test('two of three brokers killed, the controller survives: no ack, bounded retriable errors, recovery without loss', async () => {
    await quorumLoss('quorum-loss-a', true)
  }, 180_000)

  test('two of three brokers killed, a raft follower survives: no ack, bounded retriable errors, recovery without loss', async () => {
    await quorumLoss('quorum-loss-b', false)
  }, 180_000)
})

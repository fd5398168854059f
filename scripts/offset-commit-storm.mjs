#!/usr/bin/env node
/**
 * The full offset-commit storm of test/cluster/compaction.test.ts (which runs a fifth of it): three real brokers
 * (the built CLI; run `npm run build` first), one group committing all 100 partitions of a topic per request,
 * 10,000 requests with 16 in flight = 1,000,000 commits, then waits until the group's `__consumer_offsets` partition
 * is below 4 segments on every replica and prints the rate and the sizes as one JSON line.
 *
 * Usage: node scripts/offset-commit-storm.mjs [requests=10000] [inFlight=16]. Bounded: gives up after 10 minutes.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { Admin } from '@gregor/client'
import { BrokerProcesses, waitFor } from '@gregor/cli'
import { groupMethods, unaryCall } from '@gregor/protocol'

const requests = Number(process.argv[2] ?? 10_000)
const inFlight = Number(process.argv[3] ?? 16)
const partitions = 100
const segmentBytes = 65_536
const topic = 'storm'
const groupId = 'storm-group'
const deadline = setTimeout(() => { console.error('offset-commit-storm: gave up after 10 minutes'); process.exit(2) }, 600_000)

const cluster = await BrokerProcesses.start({
  logLevel: 'warn',
  env: { GREGOR_LOG_CLEANER_BACKOFF_MS: '200', GREGOR_OFFSETS_TOPIC_SEGMENT_BYTES: String(segmentBytes), GREGOR_OFFSETS_TOPIC_NUM_PARTITIONS: '4' },
})
const admin = new Admin({ bootstrapServers: cluster.bootstrapServers })
try {
  await cluster.waitForReady()
  await waitFor('the topic', async () => { await admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 1 }]); return true }, { timeoutMs: 30_000, intervalMs: 200 })
  const coordinator = await waitFor('a loaded coordinator', async () => {
    const found = await admin.findCoordinator(groupId)
    await admin.resetOffsets(groupId, [{ topic, partition: 0, currentOffset: null, newOffset: 0 }])
    return found
  }, { timeoutMs: 30_000, intervalMs: 100 })
  const client = new grpc.Client(cluster.broker(coordinator.nodeId).clientAddress, grpc.credentials.createInsecure())
  const commit = async (value) => {
    const response = await unaryCall(client, groupMethods.offsetCommit, {
      groupId, memberId: '', memberEpoch: -1,
      partitions: Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: value, leaderEpoch: -1, metadata: '' })),
    }, { deadlineMs: 30_000 })
    const failed = response.errorCode !== '' ? response.errorCode : response.partitions.find((item) => item.errorCode !== '')?.errorCode
    if (failed !== undefined) throw new Error(`offset commit ${value} failed: ${failed}`)
  }
  let next = 0
  const startedMs = Date.now()
  try {
    await Promise.all(Array.from({ length: inFlight }, async () => { while (next < requests - 1) await commit(next++) }))
    await commit(requests - 1)
  } finally {
    client.close()
  }
  const stormMs = Date.now() - startedMs
  const dirBytes = async (nodeId) => {
    const dir = join(cluster.dir, `broker-${nodeId}`, 'logs', `__consumer_offsets-${coordinator.partition}`)
    let total = 0
    for (const name of await readdir(dir)) if (/\.log(\.cleaned|\.swap)?$/.test(name)) total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size
    return total
  }
  const boundBytes = 4 * segmentBytes
  const [described] = (await admin.describeTopics(['__consumer_offsets'])).map((item) => item.partitions.find((p) => p.partition === coordinator.partition))
  const sizes = {}
  const settleStartedMs = Date.now()
  for (const nodeId of described.replicas) {
    sizes[nodeId] = await waitFor(`broker ${nodeId} below ${boundBytes}`, async () => { const bytes = await dirBytes(nodeId); return bytes < boundBytes ? bytes : undefined }, { timeoutMs: 120_000, intervalMs: 100 })
  }
  const fetched = await admin.fetchOffsets(groupId, [{ topic, partitions: Array.from({ length: partitions }, (_, i) => i) }])
  const lastReadBack = fetched.every((item) => item.offset === requests - 1)
  const commits = requests * partitions
  console.log(JSON.stringify({
    commits, requests, inFlight, stormMs, commitsPerSecond: Math.round(commits / (stormMs / 1000)),
    settleMs: Date.now() - settleStartedMs, boundBytes, sizes, uncompactedEstimateBytes: commits * 80, lastReadBack,
  }))
  if (!lastReadBack) process.exitCode = 1
} finally {
  admin.close()
  await cluster.stop({ graceMs: 5_000 })
  clearTimeout(deadline)
}

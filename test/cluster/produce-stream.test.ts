/**
 * ClientService.ProduceStream on three real broker processes (issue 12), one cluster for both cases, nothing killed:
 * - Raw: 60 requests written back to back on one stream without waiting for answers come back, matched by
 *   correlation id, with base offsets in send order (the stream keeps its order to the log), and are counted in the
 *   same `gregor_request_latency_seconds{api="produce"}` histogram as unary Produce; a malformed message on a second
 *   stream of the same channel ends only that stream (INVALID_ARGUMENT) and the first one goes on.
 * - The idempotent Producer, which now sends every Produce on its one stream per broker: many small batches with five
 *   in flight per partition, read back in send order with nothing twice or missing.
 * (Authorization and SCRAM on the stream: test/cluster/grpc-security.test.ts.)
 */
import * as grpc from '@grpc/grpc-js'
import { describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { clientMethods, type gregor } from '@gregor/protocol'
import { buildBatch } from '@gregor/records'
import { createTopicInSync, latestOffset, leadersOf, produceRaw, readPartition, useCluster } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

type Stream = grpc.ClientDuplexStream<gregor.cluster.ProduceStreamRequest.$Properties, gregor.cluster.ProduceStreamResponse>

function openStream (client: grpc.Client): Stream {
  const method = clientMethods.produceStream
  return client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize)
}

async function producedCount (adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
  const series = 'gregor_request_latency_seconds_count{api="produce"}'
  const line = text.split('\n').find((item) => item.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

describe('ProduceStream', () => {
  test('pipelined requests on one stream: answered by id, appended in send order, counted as produce; a malformed one ends only its stream', async () => {
    const topic = 'stream-raw'
    await createTopicInSync(cluster, admin, { topic, numPartitions: 1, replicationFactor: 3 })
    const leaderId = (await leadersOf(cluster, topic)).get(0) as number
    const leader = cluster.running().find((broker) => broker.nodeId === leaderId)
    if (leader === undefined) throw new Error('no leader')
    // The leader has taken up its partition once a unary Produce succeeds: records from offset `base` on are ours.
    const warmUp = { acks: -1, timeoutMs: 10_000, partitions: [{ topic, partition: 0, records: buildBatch([{ value: Buffer.from('warm-up') }], { nowMs: Date.now() }) }] }
    const base = await waitFor('the leader serves its partition', async () => {
      const result = (await produceRaw(leader.clientAddress, warmUp)).partitions[0]
      return result?.errorCode === '' ? Number(result.baseOffset) + 1 : undefined
    }, { timeoutMs: 10_000, intervalMs: 50 })
    const before = await producedCount(leader.adminUrl)
    const client = new grpc.Client(leader.clientAddress, grpc.credentials.createInsecure())
    try {
      const stream = openStream(client)
      const answers = new Map<number, gregor.cluster.ProduceResponse>()
      const count = 60
      const allAnswered = new Promise<void>((resolve, reject) => {
        stream.on('data', (message: gregor.cluster.ProduceStreamResponse) => {
          answers.set(message.correlationId, message.response as gregor.cluster.ProduceResponse)
          if (answers.size === count) resolve()
        })
        stream.on('error', reject)
      })
      // Ids deliberately not in send order: the broker matches nothing by position.
      const ids = Array.from({ length: count }, (_, index) => 1_000 + ((index * 7) % count))
      for (const [index, correlationId] of ids.entries()) {
        const records = buildBatch([{ value: Buffer.from(`r${index}`) }], { nowMs: Date.now() })
        stream.write({ correlationId, request: { acks: -1, timeoutMs: 10_000, partitions: [{ topic, partition: 0, records }] } })
      }
      await allAnswered
      const offsets = ids.map((id) => {
        const result = answers.get(id)?.partitions[0]
        expect(result?.errorCode).toBe('')
        return Number(result?.baseOffset)
      })
      expect(offsets).toEqual(Array.from({ length: count }, (_, index) => base + index))
      expect(await producedCount(leader.adminUrl) - before).toBeGreaterThanOrEqual(count)

      // A second stream on the same channel sends a partition without a topic: only that stream ends.
      const bad = openStream(client)
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        bad.on('error', resolve)
        bad.on('data', () => {})
        bad.write({ correlationId: 1, request: { acks: -1, partitions: [{ partition: 0 }] } })
      })
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(status.details).toContain('names no topic')
      const again = new Promise<gregor.cluster.ProduceStreamResponse>((resolve) => { stream.once('data', resolve) })
      stream.write({ correlationId: 5, request: { acks: -1, timeoutMs: 10_000, partitions: [{ topic, partition: 0, records: buildBatch([{ value: Buffer.from('after') }], { nowMs: Date.now() }) }] } })
      const answer = await again
      const result = answer.response?.partitions?.[0]
      expect([answer.correlationId, result?.errorCode, Number(result?.baseOffset)]).toEqual([5, '', base + count])
      stream.end()
    } finally {
      client.close()
    }
  }, 20_000)

  test('the idempotent producer on its streams: many pipelined batches read back in send order, each once', async () => {
    const topic = 'stream-producer'
    const partitions = [0, 1, 2]
    await createTopicInSync(cluster, admin, { topic, numPartitions: 3, replicationFactor: 3 })
    // Small batches: each partition has many, up to five in flight on its leader's stream.
    const producer = new Producer({ bootstrapServers: cluster.bootstrapServers, batchBytesMax: 2 * 1024, maxInFlightPerPartition: 5 })
    const perPartition = 4_000
    try {
      const calls: Array<Promise<unknown>> = []
      for (let start = 0; start < perPartition; start += 500) {
        calls.push(producer.sendMany(topic, partitions.flatMap((partition) =>
          Array.from({ length: 500 }, (_, index) => ({ partition, value: `p${partition}-${start + index}` })))))
      }
      await Promise.all(calls)
    } finally {
      await producer.close()
    }
    const leaders = await leadersOf(cluster, topic)
    for (const partition of partitions) {
      // Nothing stored twice, not even after the last record read back.
      const leader = cluster.running().find((broker) => broker.nodeId === leaders.get(partition))
      expect(await latestOffset(leader?.clientAddress ?? '', topic, partition)).toEqual({ errorCode: '', offset: perPartition })
      const read = await readPartition(cluster, topic, partition, perPartition, { timeoutMs: 15_000 })
      const sequences = read.map((message) => Number((message.value?.toString() ?? '').split('-')[1]))
      expect(sequences, `partition ${partition}`).toEqual(Array.from({ length: perPartition }, (_, index) => index))
    }
  }, 20_000)
})

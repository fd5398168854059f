// The gRPC replica fetch transport against a real ReplicationService on 127.0.0.1: a fetch round trip with the
// protocol's field defaults, address lookup in the image, and a broken or closed session rejecting its fetch.
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, test } from 'vitest'
import { nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage } from '@gregor/metadata'
import type { ReadBuffers } from '@gregor/storage'
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '../replica/leader-requests.js'
import { GrpcReplicaFetchTransport, addReplicationService } from './grpc-replica-fetch-transport.js'

const servers: grpc.Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown()
})

async function serve (handle: (request: ReplicaFetchRequest, buffers?: ReadBuffers) => Promise<ReplicaFetchResponse>): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server()
  servers.push(server)
  addReplicationService(server, { handleReplicaFetch: handle })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => { if (error === null) resolve(bound); else reject(error) })
  })
  return { server, port }
}

function imageWithBroker (id: number, port: number): MetadataImage {
  const image = new MetadataImage()
  image.applyBatch([{ type: 'RegisterBroker', brokerId: nodeId(id), incarnationId: 'i', listeners: [{ name: 'BROKER', host: '127.0.0.1', port }] }], raftIndex(1))
  return image
}

const request: ReplicaFetchRequest = {
  replicaId: 2, maxWaitMs: 0, minBytes: 1, maxBytes: 1024,
  partitions: [{ topic: 't', partition: 0, fetchOffset: 7, lastFetchedEpoch: 1, currentLeaderEpoch: 1, logStartOffset: 0 }],
}

describe('GrpcReplicaFetchTransport', () => {
  test('a session exchanges requests and responses in order; an unknown leader has no session', async () => {
    const seen: number[] = []
    const { port } = await serve(async (r) => {
      const fetchOffset = r.partitions?.[0]?.fetchOffset ?? -1
      seen.push(fetchOffset)
      return { partitions: [{ topic: 't', partition: 0, highWatermark: fetchOffset, records: Buffer.from([1, 2, 3]) }] }
    })
    const transport = new GrpcReplicaFetchTransport({ image: () => imageWithBroker(1, port), messageBytesMax: 1024 * 1024, logger: silentLogger })
    expect(transport.open(9)).toBeUndefined()
    const session = transport.open(1)
    if (session === undefined) throw new Error('no session')
    const first = await session.fetch(request)
    expect(first.partitions?.[0]).toMatchObject({ topic: 't', partition: 0, highWatermark: 7, errorCode: '' })
    expect([...(first.partitions?.[0]?.records ?? [])]).toEqual([1, 2, 3])
    const second = await session.fetch({ ...request, partitions: [{ ...request.partitions?.[0], fetchOffset: 8 }] })
    expect(second.partitions?.[0]?.highWatermark).toBe(8)
    expect(seen).toEqual([7, 8])
    session.close()
    await expect(session.fetch(request)).rejects.toThrow('closed')
  })

  test('records read into the leader\'s pooled buffers arrive intact, fetch after fetch', async () => {
    // Each answer fills its leased buffers with its own byte: a buffer handed out again before the previous response
    // was serialized would show up as another fetch's bytes.
    const { port } = await serve(async (r, buffers) => {
      if (buffers === undefined) throw new Error('the server passes no read buffers')
      const fetchOffset = r.partitions?.[0]?.fetchOffset ?? 0
      const records = buffers.allocate(200_000 + fetchOffset).fill(fetchOffset % 256)
      await new Promise((resolve) => setImmediate(resolve))
      return { partitions: [{ topic: 't', partition: 0, highWatermark: fetchOffset, records }] }
    })
    const transport = new GrpcReplicaFetchTransport({ image: () => imageWithBroker(1, port), messageBytesMax: 16 * 1024 * 1024, logger: silentLogger })
    const sessions = [transport.open(1), transport.open(1)]
    const answers = await Promise.all(sessions.map(async (session, s) => {
      if (session === undefined) throw new Error('no session')
      const got: Array<{ fetchOffset: number; records: Uint8Array }> = []
      for (let i = 0; i < 20; i++) {
        const fetchOffset = s * 100 + i
        const response = await session.fetch({ ...request, partitions: [{ ...request.partitions?.[0], fetchOffset }] })
        got.push({ fetchOffset, records: response.partitions?.[0]?.records ?? new Uint8Array(0) })
      }
      session.close()
      return got
    }))
    for (const { fetchOffset, records } of answers.flat()) {
      expect(records.length).toBe(200_000 + fetchOffset)
      expect(records.every((byte) => byte === fetchOffset % 256)).toBe(true)
    }
  })

  test('the follower\'s topic ids and broker epoch reach the leader (KIP-516, KIP-903)', async () => {
    const received: ReplicaFetchRequest[] = []
    const { port } = await serve(async (r) => { received.push(r); return { partitions: [] } })
    const transport = new GrpcReplicaFetchTransport({ image: () => imageWithBroker(1, port), messageBytesMax: 1024 * 1024, logger: silentLogger })
    const session = transport.open(1)
    if (session === undefined) throw new Error('no session')
    await session.fetch({ ...request, brokerEpoch: 2 ** 40 + 3, partitions: [{ ...request.partitions?.[0], topicId: 'id-t' }] })
    await session.fetch(request)
    session.close()
    expect(received[0]?.brokerEpoch).toBe(2 ** 40 + 3)
    expect(received[0]?.partitions?.[0]?.topicId).toBe('id-t')
    // Unset on the wire: protobuf's defaults, which the leader reads as "by name" and "unknown epoch".
    expect(received[1]?.brokerEpoch).toBe(0)
    expect(received[1]?.partitions?.[0]?.topicId).toBe('')
  })

  test('a fetch in flight is rejected when the session is closed or the server goes away', async () => {
    const never = new Promise<ReplicaFetchResponse>(() => {})
    const { server, port } = await serve(async () => await never)
    const transport = new GrpcReplicaFetchTransport({ image: () => imageWithBroker(1, port), messageBytesMax: 1024 * 1024, logger: silentLogger })
    const closed = transport.open(1)
    const pendingClose = closed?.fetch(request)
    closed?.close()
    await expect(pendingClose).rejects.toThrow('closed')

    const broken = transport.open(1)
    const pendingBreak = broken?.fetch(request)
    server.forceShutdown() // every stream is cut, as when the leader's process dies
    await expect(pendingBreak).rejects.toThrow()
    await expect(broken?.fetch(request)).rejects.toThrow()
  })
})

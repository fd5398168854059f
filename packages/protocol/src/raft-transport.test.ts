/**
 * RaftTransport and RaftService over real gRPC on 127.0.0.1: delivery, cluster-id fencing, unknown senders,
 * malformed bytes, and reconnection after the receiver restarts on the same address.
 */
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, test } from 'vitest'
import { silentLogger, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import type { Message } from '@gregor/raft'
import { addRaftService, RaftTransport, defaultRaftTransportConfig } from './raft-transport.js'
import { raftSendMethod } from './raft-services.js'

const heartbeat = (from: number, to: number, term = 1): Message => ({
  type: 'heartbeat', from: from as NodeId, to: to as NodeId, term: term as Term, logTerm: 0 as Term, index: 0 as RaftIndex,
  entries: [], commitIndex: 0 as RaftIndex, reject: false, rejectHint: 0 as RaftIndex, context: new Uint8Array(0),
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

async function receiver (port = 0, clusterId = 'c1'): Promise<{ port: number; received: Message[]; server: grpc.Server }> {
  const received: Message[] = []
  const server = new grpc.Server()
  addRaftService(server, { clusterId, nodeId: 2 as NodeId, voters: new Set([1, 2, 3]), onMessage: (message) => received.push(message), logger: silentLogger })
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => error === null ? resolve(p) : reject(error)))
  cleanups.push(() => { server.forceShutdown() })
  return { port: bound, received, server }
}

function transport (port: number, clusterId = 'c1'): RaftTransport {
  const voters = new Map<NodeId, string>([[1 as NodeId, '127.0.0.1:1'], [2 as NodeId, `localhost:${port}`]])
  const t = new RaftTransport({ ...defaultRaftTransportConfig, nodeId: 1 as NodeId, clusterId, voters }, silentLogger)
  cleanups.push(() => { t.close() })
  return t
}

async function until (condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('RaftTransport over gRPC', () => {
  test('delivers messages in order over one stream', async () => {
    const { port, received } = await receiver()
    const t = transport(port)
    for (let term = 1; term <= 50; term++) t.send(heartbeat(1, 2, term))
    await until(() => received.length === 50, '50 messages')
    expect(received.map((message) => message.term)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
  })

  test('drops envelopes of another cluster', async () => {
    const { port, received } = await receiver(0, 'c1')
    const other = transport(port, 'other-cluster')
    other.send(heartbeat(1, 2))
    const good = transport(port, 'c1')
    good.send(heartbeat(1, 2, 7))
    await until(() => received.length === 1, 'the good message')
    expect(received[0]?.term).toBe(7)
  })

  test('malformed bytes end that call but the server keeps serving', async () => {
    const { port, received } = await receiver()
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    cleanups.push(() => { client.close() })
    const failed = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest(raftSendMethod.path, (value: Buffer) => value, (value: Buffer) => value, (error) => resolve(error))
      call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
      call.end()
    })
    expect((await failed)?.code).toBeDefined()
    transport(port).send(heartbeat(1, 2, 3))
    await until(() => received.length === 1, 'a valid message after the malformed one')
  })

  test('reconnects after the receiver restarts on the same port', async () => {
    const first = await receiver()
    const t = transport(first.port)
    t.send(heartbeat(1, 2, 1))
    await until(() => first.received.length === 1, 'first delivery')
    first.server.forceShutdown()
    const second = await receiver(first.port)
    await until(() => { t.send(heartbeat(1, 2, 2)); return second.received.length > 0 }, 'delivery after restart')
    expect(second.received[0]?.term).toBe(2)
  })
})

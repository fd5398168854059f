/**
 * RaftTransport and RaftService over real gRPC on 127.0.0.1: delivery, cluster-id fencing, unknown senders,
 * malformed bytes, a peer's closed or killed stream reported as a failure hint, and reconnection after the receiver
 * restarts on the same address.
 */
import { spawn } from 'node:child_process'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, test } from 'vitest'
import { silentLogger, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import type { Message } from '@gregor/raft'
import { addRaftService, RaftTransport, defaultRaftTransportConfig } from './raft-transport.js'
import { encodeRaftMessage } from './raft-codec.js'
import { raftSendMethod } from './raft-services.js'

const heartbeat = (from: number, to: number, term = 1): Message => ({
  type: 'heartbeat', from: from as NodeId, to: to as NodeId, term: term as Term, logTerm: 0 as Term, index: 0 as RaftIndex,
  entries: [], commitIndex: 0 as RaftIndex, reject: false, rejectHint: 0 as RaftIndex, context: new Uint8Array(0),
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

async function receiver (port = 0, clusterId = 'c1'): Promise<{ port: number; received: Message[]; gone: NodeId[]; server: grpc.Server }> {
  const received: Message[] = []
  const gone: NodeId[] = []
  const server = new grpc.Server()
  addRaftService(server, {
    clusterId, nodeId: 2 as NodeId, voters: new Set([1, 2, 3]), onMessage: (message) => received.push(message), onPeerGone: (peerId) => gone.push(peerId), logger: silentLogger,
  })
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => error === null ? resolve(p) : reject(error)))
  cleanups.push(() => { server.forceShutdown() })
  return { port: bound, received, gone, server }
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

  test('a peer whose stream closes is reported gone once, and only after its last stream closed', async () => {
    const { port, received, gone } = await receiver()
    const first = transport(port)
    const second = transport(port)
    first.send(heartbeat(1, 2, 1))
    second.send(heartbeat(1, 2, 2))
    await until(() => received.length === 2, 'a message on each stream')
    first.close()
    // Both streams share one HTTP/2 connection, so the server sees the first one's cancellation before this message.
    second.send(heartbeat(1, 2, 3))
    await until(() => received.length === 3, 'a message on the stream still open')
    expect(gone).toEqual([])
    second.close()
    await until(() => gone.length === 1, 'node 1 reported gone')
    expect(gone).toEqual([1])
  })

  test('a peer process killed with SIGKILL mid-stream is reported gone', async () => {
    const { port, received, gone } = await receiver()
    const envelope = raftSendMethod.requestSerialize({ clusterId: 'c1', message: encodeRaftMessage(heartbeat(1, 2, 5)) })
    // A separate process holding one raft stream open, as a leader's transport does, until it is killed.
    const script = `const grpc = require('@grpc/grpc-js')
      const client = new grpc.Client('127.0.0.1:${port}', grpc.credentials.createInsecure())
      const call = client.makeClientStreamRequest('${raftSendMethod.path}', (b) => b, (b) => b, () => {})
      call.write(Buffer.from('${envelope.toString('hex')}', 'hex'))
      setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['-e', script], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: 'ignore' })
    cleanups.push(() => { child.kill('SIGKILL') })
    await until(() => received.length === 1, 'the message from the child')
    expect(gone).toEqual([])
    child.kill('SIGKILL')
    await until(() => gone.length === 1, 'node 1 reported gone after the kill')
    expect(gone).toEqual([1])
  })

  test('keeps no envelope once delivered: the heap does not grow with the messages sent (no grpc-js retry buffer)', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const { port, received } = await receiver()
    const t = transport(port)
    t.send(heartbeat(1, 2))
    await until(() => received.length === 1, 'the first message')
    received.length = 0
    gc()
    const before = process.memoryUsage().heapUsed
    // 15,000 heartbeats are ~0.7 MB of envelopes: under grpc-js's 1 MB per-call retry buffer, which (when on) keeps
    // every one of them, with its objects, for as long as this endless stream lives (~3 MB of heap here).
    for (let i = 0; i < 15_000; i++) t.send(heartbeat(1, 2))
    await until(() => received.length === 15_000, '15,000 messages')
    received.length = 0
    gc()
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(1_000_000)
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

/**
 * The client channel's keepalive against a real grpc-js server (with the brokers' server options) behind a TCP relay
 * that can black-hole the connection: the socket stays open and nothing more gets through, as with a paused broker
 * or a partitioned host. The server must accept the client's ping rate (a server that rejects it answers GOAWAY
 * ENHANCE_YOUR_CALM), and the keepalive must fail the call in flight within one ping interval plus the ping timeout
 * instead of leaving it to its deadline. The relay reads the HTTP/2 frames going by, so the test waits for pings to
 * be answered rather than for time to pass. And Produce requests (`produce`), which go on one ProduceStream, reach
 * the server in the order they were sent.
 */
import { type AddressInfo, type Socket, connect, createServer } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import { clientMethods, type gregor } from '@gregor/protocol'
import { afterEach, describe, expect, test } from 'vitest'
import { clientKeepalive, grpcTransport } from './cluster-connection.js'

const FRAME_HEADER_BYTES = 9
const FRAME_PING = 6
const FRAME_GOAWAY = 7
const FLAG_ACK = 1

/** Calls `onFrame(type, flags)` for each HTTP/2 frame a server sends (it sends no preface, only frames). */
function frameReader (onFrame: (type: number, flags: number) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0)
  return (chunk) => {
    pending = Buffer.concat([pending, chunk])
    while (pending.length >= FRAME_HEADER_BYTES) {
      const length = pending.readUIntBE(0, 3)
      if (pending.length < FRAME_HEADER_BYTES + length) return
      onFrame(pending[3] ?? 0, pending[4] ?? 0)
      pending = pending.subarray(FRAME_HEADER_BYTES + length)
    }
  }
}

interface Relay {
  readonly port: number
  /** PING acknowledgements and GOAWAYs the server sent. */
  readonly fromServer: { pingAcks: number, goaways: number }
  /** Resolves once the server has acknowledged `count` pings. */
  pingAcks (count: number): Promise<void>
  /** Stops forwarding in both directions, closing nothing. */
  blackHole (): void
  close (): void
}

/** A TCP relay to `127.0.0.1:target` for one HTTP/2 connection at a time. */
async function relay (target: number): Promise<Relay> {
  let holed = false
  const sockets: Socket[] = []
  const fromServer = { pingAcks: 0, goaways: 0 }
  const waiters: Array<{ count: number, resolve: () => void }> = []
  const server = createServer((inbound) => {
    const outbound = connect(target, '127.0.0.1')
    sockets.push(inbound, outbound)
    const read = frameReader((type, flags) => {
      if (type === FRAME_GOAWAY) fromServer.goaways++
      if (type !== FRAME_PING || (flags & FLAG_ACK) === 0) return
      fromServer.pingAcks++
      for (const waiter of waiters.filter((w) => w.count <= fromServer.pingAcks)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    })
    inbound.on('data', (chunk: Buffer) => { if (!holed) outbound.write(chunk) })
    outbound.on('data', (chunk: Buffer) => {
      if (holed) return
      read(chunk)
      inbound.write(chunk)
    })
    inbound.on('error', () => undefined)
    outbound.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    fromServer,
    pingAcks: async (count) => { if (fromServer.pingAcks < count) await new Promise<void>((resolve) => { waiters.push({ count, resolve }) }) },
    blackHole: () => { holed = true },
    close: () => { for (const socket of sockets) socket.destroy(); server.close() },
  }
}

const cleanups: Array<() => void> = []
afterEach(() => { for (const cleanup of cleanups.splice(0).reverse()) cleanup() })

describe('client channel keepalive (grpcTransport)', () => {
  test('the brokers\' server accepts its pings, and a call on a black-holed connection fails within interval + timeout', async () => {
    // The brokers' server options (broker.ts): grpc-js servers enforce no minimum ping interval.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
    let received: () => void = () => undefined
    const reached = new Promise<void>((resolve) => { received = resolve })
    server.addService({ describeCluster: clientMethods.describeCluster } as unknown as grpc.ServiceDefinition, {
      describeCluster: () => { received() }, // never answers: the call stays in flight
    })
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => { if (error !== null) reject(error); else resolve(bound) })
    })
    cleanups.push(() => { server.forceShutdown() })
    const hole = await relay(port)
    cleanups.push(() => { hole.close() })
    const transport = grpcTransport(`127.0.0.1:${hole.port}`, 1024 * 1024)
    cleanups.push(() => { transport.close() })

    const call = transport.unary(clientMethods.describeCluster, {}, 60_000)
    let outcome = 'in flight' as 'in flight' | 'answered' | grpc.ServiceError
    const settled = call.response.then(() => { outcome = 'answered' }, (error: grpc.ServiceError) => { outcome = error })
    await reached
    // Two pings answered with the call in flight, and no GOAWAY: the server lets the client ping this often.
    await hole.pingAcks(2)
    expect(hole.fromServer.goaways).toBe(0)
    expect(outcome).toBe('in flight')

    hole.blackHole()
    const holedAtMs = performance.now()
    await settled
    const failedAfterMs = performance.now() - holedAtMs
    expect((outcome as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE)
    // At most one interval until the next ping, then its timeout; slack for a loaded machine. (Peers': 10 s + 5 s.)
    expect(failedAfterMs).toBeLessThanOrEqual(clientKeepalive.timeMs + clientKeepalive.timeoutMs + 1_500)
  }, 20_000)
})

describe('Produce (grpcTransport.produce, producer pipelining): on one ProduceStream', () => {
  test('requests reach the server in send order, however large, with or without waiting for each to be written', async () => {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 })
    const order: number[] = []
    type StreamRequest = { correlationId: number, request: { partitions: Array<{ partition: number }> } }
    server.addService({ produceStream: clientMethods.produceStream } as unknown as grpc.ServiceDefinition, {
      produceStream: (call: grpc.ServerDuplexStream<StreamRequest, unknown>) => {
        call.on('data', (message: StreamRequest) => {
          order.push(message.request.partitions[0]?.partition ?? -1)
          call.write({ correlationId: message.correlationId, response: { partitions: [] } })
        })
        call.on('end', () => { call.end() })
      },
    })
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => { if (error !== null) reject(error); else resolve(bound) })
    })
    cleanups.push(() => { server.forceShutdown() })
    const transport = grpcTransport(`127.0.0.1:${port}`, 64 * 1024 * 1024)
    cleanups.push(() => { transport.close() })
    const request = (partition: number, bytes: number): gregor.cluster.ProduceRequest.$Properties => ({ acks: -1, timeoutMs: 1000, partitions: [{ topic: 't', partition, records: Buffer.alloc(bytes, 1) }] })

    // Each big request needs several flow-control windows of 64 KiB (the server's) to get through; the small one none.
    const calls = []
    for (let round = 0; round < 5; round++) {
      const big = transport.produce(request(2 * round, 200 * 1024), 10_000)
      expect(big.written).toBeDefined()
      await big.written
      calls.push(big.response, transport.produce(request(2 * round + 1, 10), 10_000).response)
    }
    // Back to back, nothing awaited: the stream keeps the order by itself.
    for (let partition = 10; partition < 20; partition++) {
      calls.push(transport.produce(request(partition, partition % 2 === 0 ? 200 * 1024 : 10), 10_000).response)
    }
    await Promise.all(calls)
    expect(order).toEqual(Array.from({ length: 20 }, (_, index) => index))
  }, 20_000)
})

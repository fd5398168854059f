/**
 * The Kafka listener over real sockets (127.0.0.1, port 0) with a bare client: ApiVersions negotiation, answers in
 * request order, and bad input that closes one connection while the server keeps serving the others.
 */
import { type Logger, silentLogger } from '@gregor/common'
import { type ApiVersionsResponse, ApiKey, SUPPORTED_VERSIONS } from '@gregor/kafka-protocol'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { handleApiVersions } from './handlers/api-versions.js'
import type { KafkaHandlers } from './kafka-handlers.js'
import { type KafkaListenerConfig, defaultKafkaListenerConfig } from './kafka-listener-config.js'
import { type KafkaListenerMetrics, noKafkaListenerMetrics } from './kafka-listener-metrics.js'
import { KafkaServer } from './kafka-server.js'
import { RawKafkaClient } from './testing/raw-kafka-client.js'

interface LogLine { level: string, fields: Record<string, unknown>, message: string }

function capturingLogger (lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, message: string): void => { lines.push({ level, fields: { ...bindings, ...fields }, message }) }
  return {
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
    trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
  }
}

const servers: KafkaServer[] = []
const clients: RawKafkaClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(servers.splice(0).map(async (server) => { await server.close() }))
})

async function startServer (options: { handlers?: KafkaHandlers, config?: Partial<KafkaListenerConfig>, logger?: Logger, metrics?: KafkaListenerMetrics } = {}): Promise<KafkaServer> {
  const server = await KafkaServer.start({
    listenerName: 'KAFKA', host: '127.0.0.1', port: 0,
    config: { ...defaultKafkaListenerConfig, ...options.config },
    handlers: options.handlers ?? { [ApiKey.ApiVersions]: handleApiVersions },
    logger: options.logger ?? silentLogger,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  })
  servers.push(server)
  return server
}

async function connect (server: KafkaServer): Promise<RawKafkaClient> {
  const client = await RawKafkaClient.connect(server.port)
  clients.push(client)
  return client
}

const ourRanges = Object.entries(SUPPORTED_VERSIONS).map(([apiKey, range]) => ({ apiKey: Number(apiKey), ...range }))

function apiVersionsFrame (version: number, correlationId: number, clientId: string | null = 'raw-test'): Buffer {
  return RawKafkaClient.frame(ApiKey.ApiVersions, version, correlationId, { clientSoftwareName: 'gregor-test', clientSoftwareVersion: '1.0.0' }, clientId)
}

const handFrame = RawKafkaClient.handFrame

/** A deferred answer per request, so a test decides when (and in which order) handlers finish. */
function deferredHandlers (): { handlers: KafkaHandlers, calls: number[], finish: (correlationId: number, answer?: 'none') => void } {
  const pending = new Map<number, (response: ApiVersionsResponse | undefined) => void>()
  const calls: number[] = []
  const handlers: KafkaHandlers = {
    [ApiKey.ApiVersions]: async (request, context) => await new Promise((resolve) => {
      calls.push(context.correlationId)
      pending.set(context.correlationId, resolve)
      void request
    }),
  }
  const finish = (correlationId: number, answer?: 'none'): void => {
    const resolve = pending.get(correlationId)
    if (resolve === undefined) throw new Error(`request ${correlationId} is not being handled`)
    pending.delete(correlationId)
    resolve(answer === 'none' ? undefined : handleApiVersions({ clientSoftwareName: 'x', clientSoftwareVersion: '1' }, { apiVersion: 0, correlationId, clientId: null, peer: '' }))
  }
  return { handlers, calls, finish }
}

describe('ApiVersions', () => {
  test('v3: our ranges, flexible body, answered with response header v0', async () => {
    const client = await connect(await startServer())
    client.write(apiVersionsFrame(3, 7))
    const frame = await client.nextFrame()
    // Header v0 (correlation id only), then error code 0 and a compact array of our ranges, each with empty tags.
    expect(frame.readInt32BE(0)).toBe(7)
    expect(frame.readInt16BE(4)).toBe(0)
    expect(frame[6]).toBe(ourRanges.length + 1)
    expect(frame.length).toBe(4 + 2 + 1 + ourRanges.length * 7 + 4 + 1) // ... throttle time, no tagged fields
    expect(frame[frame.length - 1]).toBe(0)
    client.write(apiVersionsFrame(3, 8))
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, 3)
    expect(correlationId).toBe(8)
    expect(body.errorCode).toBe(0)
    expect(body.apiKeys).toEqual(ourRanges)
  })

  test('v0: the same ranges in the classic encoding', async () => {
    const client = await connect(await startServer())
    client.write(apiVersionsFrame(0, 1))
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, 0)
    expect([correlationId, body.errorCode]).toEqual([1, 0])
    expect(body.apiKeys).toEqual(ourRanges)
  })

  test('a version above ours gets the v0 answer with UNSUPPORTED_VERSION and our ranges (KIP-511)', async () => {
    const client = await connect(await startServer())
    // ApiVersions v9 as a future client would send it: header v2 and compact strings we cannot know the shape of.
    client.write(handFrame(ApiKey.ApiVersions, 9, 42, Buffer.from([3, 0x61, 0x62, 2, 0x31, 0]), true))
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, 0)
    expect([correlationId, body.errorCode]).toEqual([42, 35])
    // Only the APIs this listener has handlers for (here ApiVersions alone) are advertised.
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 3 }])
    // The connection stays usable: the client retries with a version we have.
    client.write(apiVersionsFrame(3, 43))
    expect((await client.response(ApiKey.ApiVersions, 3)).body.errorCode).toBe(0)
  })

  test('v3 with a malformed client software name: INVALID_REQUEST and no ranges, as Kafka answers', async () => {
    const client = await connect(await startServer())
    client.write(RawKafkaClient.frame(ApiKey.ApiVersions, 3, 5, { clientSoftwareName: '-bad name', clientSoftwareVersion: '1.0' }))
    const { body } = await client.response(ApiKey.ApiVersions, 3)
    expect([body.errorCode, body.apiKeys]).toEqual([42, []])
  })
})

describe('pipelining', () => {
  test('answers go out in request order although handlers finish in reverse order; an unanswered request is skipped', async () => {
    const { handlers, calls, finish } = deferredHandlers()
    const client = await connect(await startServer({ handlers }))
    client.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => apiVersionsFrame(0, id))))
    await vi.waitFor(() => { expect(calls).toEqual([1, 2, 3, 4, 5]) })
    finish(5)
    finish(4)
    finish(3, 'none') // like acks=0 Produce: no answer
    finish(2)
    finish(1)
    const order: number[] = []
    for (let i = 0; i < 4; i++) order.push((await client.response(ApiKey.ApiVersions, 0)).correlationId)
    expect(order).toEqual([1, 2, 4, 5])
  })

  test('no more than maxInFlightRequestsPerConnection handlers run at once; the rest wait for a free place', async () => {
    const { handlers, calls, finish } = deferredHandlers()
    const server = await startServer({ handlers, config: { maxInFlightRequestsPerConnection: 2 } })
    const client = await connect(server)
    client.write(Buffer.concat([1, 2, 3, 4].map((id) => apiVersionsFrame(0, id))))
    await vi.waitFor(() => { expect(server.connections()).toMatchObject([{ inFlightRequests: 2, paused: true }]) })
    expect(calls).toEqual([1, 2])
    finish(1)
    expect((await client.response(ApiKey.ApiVersions, 0)).correlationId).toBe(1)
    await vi.waitFor(() => { expect(calls).toEqual([1, 2, 3]) })
    finish(2)
    finish(3)
    await vi.waitFor(() => { expect(calls).toEqual([1, 2, 3, 4]) })
    finish(4)
    const rest = [await client.response(ApiKey.ApiVersions, 0), await client.response(ApiKey.ApiVersions, 0), await client.response(ApiKey.ApiVersions, 0)]
    expect(rest.map((item) => item.correlationId)).toEqual([2, 3, 4])
  })

  test('over connectionBufferedBytesMax the connection stops reading and dispatching, and resumes below it', async () => {
    const { handlers, calls, finish } = deferredHandlers()
    const clientId = 'c'.repeat(40)
    const requestBytes = apiVersionsFrame(0, 1, clientId).length - 4
    // Two requests fit; the third takes the connection over the limit.
    const server = await startServer({ handlers, config: { connectionBufferedBytesMax: 2 * requestBytes } })
    const client = await connect(server)
    client.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => apiVersionsFrame(0, id, clientId))))
    await vi.waitFor(() => { expect(server.connections()).toMatchObject([{ paused: true, inFlightRequests: 3, bufferedBytes: 3 * requestBytes }]) })
    expect(calls).toEqual([1, 2, 3])
    for (const id of [1, 2, 3]) finish(id)
    await vi.waitFor(() => { expect(calls).toEqual([1, 2, 3, 4, 5]) })
    finish(4)
    finish(5)
    const order: number[] = []
    for (let i = 0; i < 5; i++) order.push((await client.response(ApiKey.ApiVersions, 0)).correlationId)
    expect(order).toEqual([1, 2, 3, 4, 5])
    await vi.waitFor(() => { expect(server.connections()).toMatchObject([{ paused: false, inFlightRequests: 0, bufferedBytes: 0 }]) })
  })
})

describe('closing', () => {
  test('a client that leaves cancels nothing: its handler finishes, the answer is dropped, the server serves on', async () => {
    const { handlers, calls, finish } = deferredHandlers()
    const server = await startServer({ handlers })
    const leaver = await connect(server)
    leaver.write(apiVersionsFrame(0, 1))
    await vi.waitFor(() => { expect(calls).toEqual([1]) })
    leaver.close()
    await vi.waitFor(() => { expect(server.connections()).toEqual([]) })
    finish(1)
    const other = await connect(server)
    other.write(apiVersionsFrame(0, 2))
    await vi.waitFor(() => { expect(calls).toEqual([1, 2]) })
    finish(2)
    expect((await other.response(ApiKey.ApiVersions, 0)).correlationId).toBe(2)
  })

  test('a handler that asks to close after its request: earlier answers and its own go out, nothing after, and no further frame is dispatched', async () => {
    const lines: LogLine[] = []
    const pending = new Map<number, () => void>()
    const calls: number[] = []
    const handlers: KafkaHandlers = {
      [ApiKey.ApiVersions]: async (request, context) => {
        calls.push(context.correlationId)
        await new Promise<void>((resolve) => pending.set(context.correlationId, resolve))
        if (context.correlationId === 2) context.closeAfterResponse?.('test asked', { detail: 7 })
        return handleApiVersions(request, context)
      },
    }
    let bytesIn = 0
    const metrics: KafkaListenerMetrics = { ...noKafkaListenerMetrics, bytesIn: (bytes) => { bytesIn += bytes } }
    const server = await startServer({ handlers, logger: capturingLogger(lines), metrics })
    const client = await connect(server)
    client.write(Buffer.concat([1, 2, 3].map((id) => apiVersionsFrame(0, id))))
    await vi.waitFor(() => { expect(calls).toEqual([1, 2, 3]) })
    pending.get(3)?.()
    pending.get(2)?.()
    // Request 2 asked to close: a frame arriving now is not dispatched.
    await vi.waitFor(() => { expect(server.connections()).toMatchObject([{ inFlightRequests: 1 }]) })
    client.write(apiVersionsFrame(0, 4))
    await vi.waitFor(() => { expect(bytesIn).toBe(4 * apiVersionsFrame(0, 4).length) }) // it has arrived
    pending.get(1)?.()
    expect((await client.response(ApiKey.ApiVersions, 0)).correlationId).toBe(1)
    expect((await client.response(ApiKey.ApiVersions, 0)).correlationId).toBe(2)
    await client.closed
    await expect(client.nextFrame(100)).rejects.toThrow('connection closed')
    expect(calls).toEqual([1, 2, 3])
    expect(lines.find((line) => line.message === 'closing kafka connection')).toMatchObject({ level: 'info', fields: { reason: 'test asked', api: 'ApiVersions', detail: 7 } })
    await vi.waitFor(() => { expect(server.connections()).toEqual([]) })
  })

  test('close() cuts open connections and frees the port', async () => {
    const server = await startServer()
    const client = await connect(server)
    await server.close()
    servers.splice(servers.indexOf(server), 1)
    await client.closed
    const again = await KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: server.port, config: defaultKafkaListenerConfig, handlers: {}, logger: silentLogger,
    })
    servers.push(again)
    expect(again.port).toBe(server.port)
  })
})

describe('bad input closes that connection only', () => {
  const sizePrefix = (size: number): Buffer => { const bytes = Buffer.alloc(4); bytes.writeInt32BE(size); return bytes }
  const cases: [string, Buffer, string][] = [
    ['a frame larger than socketRequestMaxBytes', Buffer.concat([sizePrefix(4097), Buffer.alloc(16)]), 'frame larger than socketRequestMaxBytes'],
    ['a negative frame size', sizePrefix(-1), 'negative frame size'],
    ['garbage bytes (an HTTP request)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'frame larger than socketRequestMaxBytes'],
    ['a frame too short for a header', Buffer.concat([sizePrefix(3), Buffer.from([1, 2, 3])]), 'malformed request header'],
    ['an unknown API key', handFrame(999, 0, 1, Buffer.alloc(0)), 'unknown api key'],
    ['a Metadata version we lack (v0)', handFrame(ApiKey.Metadata, 0, 1, Buffer.from([0, 0, 0, 0])), 'unsupported api version'],
    ['a body that does not decode (Metadata v1 with a topic count of 5 and no topics)', handFrame(ApiKey.Metadata, 1, 1, Buffer.from([0, 0, 0, 5])), 'malformed request body'],
    ['an API with no handler yet (Fetch)', RawKafkaClient.frame(ApiKey.Fetch, 4, 1, {
      clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1, isolationLevel: 0,
      sessionId: 0, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: '',
    }), 'api not served'],
  ]

  test.each(cases)('%s', async (_name, bytes, reason) => {
    const lines: LogLine[] = []
    const server = await startServer({ config: { socketRequestMaxBytes: 4096 }, logger: capturingLogger(lines) })
    const bystander = await connect(server)
    const offender = await connect(server)
    offender.write(bytes)
    await offender.closed
    const closing = lines.find((line) => line.message === 'closing kafka connection')
    expect(closing?.level).toBe('warn')
    expect(closing?.fields).toMatchObject({ component: 'kafka-listener', listener: 'KAFKA', reason, peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) })
    // The server still serves the others, and new connections.
    bystander.write(apiVersionsFrame(3, 2))
    expect((await bystander.response(ApiKey.ApiVersions, 3)).body.errorCode).toBe(0)
    const newcomer = await connect(server)
    newcomer.write(apiVersionsFrame(0, 3))
    expect((await newcomer.response(ApiKey.ApiVersions, 0)).correlationId).toBe(3)
  })

  test('a handler that throws closes the connection with an error line; the server keeps serving', async () => {
    const lines: LogLine[] = []
    const server = await startServer({ handlers: { [ApiKey.ApiVersions]: (_request, context) => { if (context.correlationId === 1) throw new Error('bug'); return handleApiVersions(_request, context) } }, logger: capturingLogger(lines) })
    const offender = await connect(server)
    offender.write(apiVersionsFrame(0, 1))
    await offender.closed
    expect(lines.find((line) => line.message === 'closing kafka connection')).toMatchObject({ level: 'error', fields: { reason: 'handler failed', error: 'bug' } })
    const other = await connect(server)
    other.write(apiVersionsFrame(0, 2))
    expect((await other.response(ApiKey.ApiVersions, 0)).body.errorCode).toBe(0)
  })

  test('a frame that arrives a byte at a time is still one request', async () => {
    const client = await connect(await startServer())
    for (const byte of apiVersionsFrame(3, 11)) client.write(Buffer.from([byte]))
    expect((await client.response(ApiKey.ApiVersions, 3)).correlationId).toBe(11)
  })
})

describe('the listening socket', () => {
  test('a port in use fails start with an error naming the listener', async () => {
    const server = await startServer()
    await expect(KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: server.port, config: defaultKafkaListenerConfig, handlers: {}, logger: silentLogger,
    })).rejects.toThrow(`cannot listen on KAFKA://127.0.0.1:${server.port}`)
  })

  test('an invalid config is refused with every problem listed', async () => {
    const started = KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: 0, handlers: {}, logger: silentLogger,
      config: { socketRequestMaxBytes: 2 ** 31, maxInFlightRequestsPerConnection: 0, connectionBufferedBytesMax: 1.5 },
    })
    await expect(started).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      details: { problems: [
        'maxInFlightRequestsPerConnection must be a positive integer, got 0',
        'connectionBufferedBytesMax must be a positive integer, got 1.5',
        'socketRequestMaxBytes must be at most 2147483647 (an int32 frame size)',
      ] },
    })
  })
})

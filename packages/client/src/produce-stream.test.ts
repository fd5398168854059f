/**
 * The client's produce stream against a scripted bidi call: requests written in send order with fresh ids, answers
 * matched by id in any order, the in-flight bound (a request waits, and is "written" only when it is), a broken stream
 * failing its requests with a retriable transport error and the next send opening a new one, UNAUTHENTICATED dropping
 * the session token, and requests sent while a (SASL) open is under way written in order once it is open.
 */
import { EventEmitter } from 'node:events'
import * as grpc from '@grpc/grpc-js'
import { ErrorCode } from '@gregor/common'
import type { gregor } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { ProduceStream, type ProduceDuplex, type ProduceStreamDeps } from './produce-stream.js'
import { transportError } from './response-error.js'

class ScriptedCall extends EventEmitter {
  readonly writes: gregor.cluster.ProduceStreamRequest.$Properties[] = []
  cancelled = false
  write (message: gregor.cluster.ProduceStreamRequest.$Properties, callback: () => void): boolean {
    this.writes.push(message)
    queueMicrotask(callback)
    return true
  }

  cancel (): void { this.cancelled = true }
  answer (correlationId: number, topic: string): void {
    this.emit('data', { correlationId, response: { partitions: [{ topic, partition: 0, errorCode: '', baseOffset: correlationId }] } })
  }

  get topics (): string[] { return this.writes.map((write) => write.request?.partitions?.[0]?.topic ?? '') }
  get ids (): number[] { return this.writes.map((write) => write.correlationId ?? -1) }
}

const request = (topic: string): gregor.cluster.ProduceRequest.$Properties => ({ acks: -1, timeoutMs: 1000, partitions: [{ topic, partition: 0 }] })

function harness (options: Partial<ProduceStreamDeps> = {}): { stream: ProduceStream, calls: ScriptedCall[], unauthenticated: () => number } {
  const calls: ScriptedCall[] = []
  let unauthenticated = 0
  const stream = new ProduceStream({
    open: () => {
      const call = new ScriptedCall()
      calls.push(call)
      return call as unknown as ProduceDuplex
    },
    onUnauthenticated: () => { unauthenticated++ },
    ...options,
  })
  return { stream, calls, unauthenticated: () => unauthenticated }
}

const topicOf = async (call: { response: Promise<gregor.cluster.ProduceResponse> }): Promise<string | null | undefined> => (await call.response).partitions[0]?.topic

describe('ProduceStream', () => {
  test('writes requests in send order on one stream and matches answers by id in any order', async () => {
    const { stream, calls } = harness()
    const sent = ['a', 'b', 'c'].map((topic) => stream.send(request(topic), 1000))
    await Promise.all(sent.map((call) => call.written))
    expect(calls).toHaveLength(1)
    expect(calls[0]?.topics).toEqual(['a', 'b', 'c'])
    const ids = calls[0]?.ids ?? []
    expect(new Set(ids).size).toBe(3)
    calls[0]?.answer(ids[2] as number, 'c')
    calls[0]?.answer(ids[0] as number, 'a')
    calls[0]?.answer(ids[1] as number, 'b')
    expect(await Promise.all(sent.map(topicOf))).toEqual(['a', 'b', 'c'])
  })

  test('beyond the in-flight bound a request waits: written only once an answer frees a slot', async () => {
    const { stream, calls } = harness({ limits: { inFlightMax: 1, waitingMax: 4 } })
    const first = stream.send(request('a'), 1000)
    const second = stream.send(request('b'), 1000)
    let secondWritten = false
    void second.written?.then(() => { secondWritten = true })
    await first.written
    await Promise.resolve()
    expect([calls[0]?.topics, secondWritten]).toEqual([['a'], false])
    calls[0]?.answer(calls[0].ids[0] as number, 'a')
    await second.written
    expect(calls[0]?.topics).toEqual(['a', 'b'])
  })

  test('a cancelled request waiting for a slot is never written', async () => {
    const { stream, calls } = harness({ limits: { inFlightMax: 1, waitingMax: 4 } })
    stream.send(request('a'), 1000)
    const second = stream.send(request('b'), 1000)
    const third = stream.send(request('c'), 1000)
    second.cancel()
    await expect(second.response).rejects.toMatchObject({ code: grpc.status.CANCELLED })
    calls[0]?.answer(calls[0].ids[0] as number, 'a')
    await third.written
    expect(calls[0]?.topics).toEqual(['a', 'c'])
  })

  test('a broken stream fails its requests with a retriable transport error; the next send opens a new stream', async () => {
    const { stream, calls } = harness({ limits: { inFlightMax: 1, waitingMax: 4 } })
    const inFlight = stream.send(request('a'), 1000)
    const waiting = stream.send(request('b'), 1000)
    calls[0]?.emit('error', Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: grpc.status.UNAVAILABLE }))
    for (const call of [inFlight, waiting]) {
      const error = await call.response.catch((failure: unknown) => transportError(failure))
      expect(error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, retriable: true, details: { transport: true } })
    }
    expect(calls[0]?.cancelled).toBe(true)
    const again = stream.send(request('c'), 1000)
    await again.written
    expect([calls.length, calls[1]?.topics]).toEqual([2, ['c']])
  })

  test('UNAUTHENTICATED drops the session token and fails the requests retriably, not as a refused login', async () => {
    const { stream, calls, unauthenticated } = harness()
    const call = stream.send(request('a'), 1000)
    calls[0]?.emit('error', Object.assign(new Error('16 UNAUTHENTICATED'), {
      code: grpc.status.UNAUTHENTICATED, details: `${ErrorCode.SASL_AUTHENTICATION_FAILED}: session expired or unknown on this broker`,
    }))
    const error = await call.response.catch((failure: unknown) => transportError(failure))
    expect(error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, retriable: true })
    expect(unauthenticated()).toBe(1)
  })

  test('requests sent while the stream opens (a login first) are written in order once it is open', async () => {
    const call = new ScriptedCall()
    let open: (value: ProduceDuplex) => void = () => {}
    const opening = new Promise<ProduceDuplex>((resolve) => { open = resolve })
    const stream = new ProduceStream({ open: async () => await opening })
    const sent = ['a', 'b'].map((topic) => stream.send(request(topic), 1000))
    await Promise.resolve()
    expect(call.writes).toHaveLength(0)
    open(call as unknown as ProduceDuplex)
    await Promise.all(sent.map((item) => item.written))
    expect(call.topics).toEqual(['a', 'b'])
  })

  test('a refused login fails the requests with its Kafka error; close fails what is left', async () => {
    const refused = Object.assign(new Error('bad password'), { code: ErrorCode.SASL_AUTHENTICATION_FAILED })
    const stream = new ProduceStream({ open: async () => { throw refused } })
    await expect(stream.send(request('a'), 1000).response).rejects.toBe(refused)
    const { stream: open, calls } = harness()
    const pending = open.send(request('a'), 1000)
    open.close()
    await expect(pending.response).rejects.toMatchObject({ code: grpc.status.CANCELLED })
    expect(calls[0]?.cancelled).toBe(true)
  })
})

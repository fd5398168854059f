/**
 * The broker's ProduceStream handler against a scripted server call: requests reach `produce` in arrival order at once
 * (not after earlier answers), answers carry their correlation id as each completes, a request that cannot be served
 * is answered per partition with the Kafka code, and a malformed message, a duplicate id in flight, too many requests
 * in flight or an unknown session token end the stream with a status saying why.
 */
import { EventEmitter } from 'node:events'
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError } from '@gregor/common'
import type { gregor } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { type CallIdentity, anonymousCallers, unauthenticated } from './grpc-authentication.js'
import { produceStreamHandler } from './produce-stream-service.js'

class ScriptedServerCall extends EventEmitter {
  readonly metadata = new grpc.Metadata()
  readonly written: gregor.cluster.ProduceStreamResponse.$Properties[] = []
  cancelled = false
  ended = false
  status: grpc.ServiceError | undefined
  constructor () {
    super()
    this.on('error', (error: grpc.ServiceError) => { this.status = error })
  }

  getPeer (): string { return 'ipv4:127.0.0.1:40000' }
  getAuthContext (): null { return null }
  write (message: gregor.cluster.ProduceStreamResponse.$Properties): boolean { this.written.push(message); return true }
  end (): void { this.ended = true }
  send (correlationId: number, topic?: string): void {
    const request = topic === undefined ? undefined : { acks: -1, partitions: [{ topic, partition: 0 }] }
    this.emit('data', { correlationId, request })
  }
}

type Produce = (request: gregor.cluster.ProduceRequest, caller: CallIdentity) => Promise<gregor.cluster.ProduceResponse.$Properties>

/** A produce whose answers the test releases one by one, recording the order requests arrived in. */
function scriptedProduce (): { produce: Produce, arrived: string[], release: (topic: string, error?: Error) => void } {
  const arrived: string[] = []
  const pending = new Map<string, { resolve: (response: gregor.cluster.ProduceResponse.$Properties) => void, reject: (error: Error) => void }>()
  const produce: Produce = async (request) => {
    const topic = request.partitions[0]?.topic ?? ''
    arrived.push(topic)
    return await new Promise((resolve, reject) => { pending.set(topic, { resolve, reject }) })
  }
  const release = (topic: string, error?: Error): void => {
    const entry = pending.get(topic)
    if (error !== undefined) entry?.reject(error)
    else entry?.resolve({ partitions: [{ topic, partition: 0, errorCode: '', baseOffset: 7 }] })
  }
  return { produce, arrived, release }
}

const settle = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

function open (produce: Produce, inFlightMax?: number, identify = anonymousCallers('CLIENT')): ScriptedServerCall {
  const call = new ScriptedServerCall()
  const handler = produceStreamHandler({ identify, produce, ...(inFlightMax === undefined ? {} : { inFlightMax }) })
  handler(call as unknown as grpc.ServerDuplexStream<gregor.cluster.ProduceStreamRequest, gregor.cluster.ProduceStreamResponse.$Properties>)
  return call
}

describe('ProduceStream on the broker', () => {
  test('requests are served in arrival order without waiting; answers come by id as each completes', async () => {
    const { produce, arrived, release } = scriptedProduce()
    const call = open(produce)
    call.send(10, 'a')
    call.send(11, 'b')
    call.send(12, 'c')
    expect(arrived).toEqual(['a', 'b', 'c'])
    release('c')
    release('a')
    release('b', new GregorError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved'))
    await settle()
    expect(call.written.map((answer) => [answer.correlationId, answer.response?.partitions?.[0]?.errorCode])).toEqual([
      [12, ''], [10, ''], [11, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ])
    expect(call.status).toBeUndefined()
    call.emit('end')
    expect(call.ended).toBe(true)
  })

  test('the client half-closing with answers due: the stream ends after the last answer', async () => {
    const { produce, release } = scriptedProduce()
    const call = open(produce)
    call.send(1, 'a')
    call.emit('end')
    expect(call.ended).toBe(false)
    release('a')
    await settle()
    expect([call.written.length, call.ended]).toEqual([1, true])
  })

  test.each([
    ['no request', (call: ScriptedServerCall) => { call.send(1) }, grpc.status.INVALID_ARGUMENT, /carries no ProduceRequest/],
    ['an id in flight', (call: ScriptedServerCall) => { call.send(1, 'a'); call.send(1, 'b') }, grpc.status.INVALID_ARGUMENT, /already in flight/],
    ['a partition without a topic', (call: ScriptedServerCall) => { call.send(1, '') }, grpc.status.INVALID_ARGUMENT, /names no topic/],
    ['more than the in-flight limit', (call: ScriptedServerCall) => { call.send(1, 'a'); call.send(2, 'b'); call.send(3, 'c') }, grpc.status.RESOURCE_EXHAUSTED, /more than 2/],
  ])('%s ends the stream with a clear status', async (_name, act, code, message) => {
    const { produce } = scriptedProduce()
    const validating: Produce = async (request, caller) => {
      if (request.partitions.some((p) => p.topic === '')) throw new GregorError(ErrorCode.INVALID_REQUEST, 'produce: a partition names no topic')
      return await produce(request, caller)
    }
    const call = open(validating, 2)
    act(call)
    await settle()
    expect(call.status).toMatchObject({ code, details: expect.stringMatching(message) as string })
  })

  test('a stream opened with a session token the broker does not know is refused UNAUTHENTICATED, nothing served', async () => {
    const { produce, arrived } = scriptedProduce()
    const call = open(produce, undefined, () => unauthenticated('session expired or unknown on this broker; authenticate again'))
    call.send(1, 'a')
    await settle()
    expect(call.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED })
    expect(arrived).toEqual([])
  })
})

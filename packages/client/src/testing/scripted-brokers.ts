/**
 * Scripted brokers behind ClusterConnection's transport seam, for unit tests of what the client does when a broker is
 * slow or silent: every call waits until the test answers it, fails it, or leaves it unanswered (a black hole), and a
 * cancelled call is marked. With a ManualScheduler as clock and scheduler, time moves only when the test says.
 */
import { type GrpcMethod, clientMethods } from '@gregor/protocol'
import { type BrokerTransport, ClusterConnection, type TransportCall } from '../cluster-connection.js'
import { flushMicrotasks } from './flush-microtasks.js'
import { ManualScheduler } from './manual-scheduler.js'

/** A call a scripted broker received: answer it, fail it, or leave it (a black hole). */
export interface ScriptedCall {
  readonly address: string
  readonly method: string
  readonly request: any
  readonly deadlineMs: number
  cancelled: boolean
  respond (response: object): void
  fail (error: unknown): void
}

/** Brokers `b1..b3:9092` behind the transport seam: every call waits for the test. */
export class ScriptedBrokers {
  readonly calls: ScriptedCall[] = []

  transport = (address: string): BrokerTransport => ({
    unary: <Request, RequestProperties, Response, ResponseProperties>(
      method: GrpcMethod<Request, RequestProperties, Response, ResponseProperties>, request: RequestProperties, deadlineMs: number,
    ): TransportCall<Response> => {
      let call: ScriptedCall | undefined
      const response = new Promise<Response>((resolve, reject) => {
        call = {
          address, method: method.path.slice(method.path.lastIndexOf('/') + 1), deadlineMs, cancelled: false,
          request: method.requestDeserialize(method.requestSerialize(request)),
          respond: (answer) => { resolve(method.responseDeserialize(method.responseSerialize(answer as ResponseProperties))) },
          fail: reject,
        }
        this.calls.push(call)
      })
      return {
        response,
        cancel: () => {
          if (call === undefined) return
          call.cancelled = true
          call.fail(Object.assign(new Error('Cancelled on client'), { code: 1 }))
        },
      }
    },
    // A Produce is scripted like a unary Produce (method 'Produce'); it says nothing of when it is written.
    produce (request, deadlineMs) { return this.unary(clientMethods.produce, request, deadlineMs) },
    close: () => {},
  })

  of (method: string): ScriptedCall[] {
    return this.calls.filter((call) => call.method === method)
  }
}

/** A MetadataResponse naming broker `leader` (epoch `leaderEpoch`) as the leader of t-0, whose topic id is `topicId`. */
export function metadata (leader: number, leaderEpoch: number, topicId = ''): object {
  return {
    clusterId: 'c', controllerId: 1,
    brokers: [1, 2, 3].map((brokerId) => ({ brokerId, host: `b${brokerId}`, port: 9092 })),
    topics: [{ name: 't', topicId, partitions: [{ partition: 0, leader, leaderEpoch, replicas: [1, 2, 3], isr: [1, 2, 3] }] }],
  }
}

/** A connection to b1..b3 (request timeout 5 s, stall 300 ms) on scripted brokers and a virtual clock starting at 0. */
export function scriptedConnection (): { brokers: ScriptedBrokers, scheduler: ManualScheduler, connection: ClusterConnection } {
  const brokers = new ScriptedBrokers()
  const scheduler = new ManualScheduler(0)
  const connection = new ClusterConnection(
    { bootstrapServers: ['b1:9092', 'b2:9092', 'b3:9092'], requestTimeoutMs: 5_000, messageBytesMax: 1024 * 1024, requestStallMs: 300 },
    { transport: brokers.transport, clock: scheduler, scheduler },
  )
  return { brokers, scheduler, connection }
}

/** Makes b1 the broker that answered last (the first one `callAny` would ask) with t-0 led by broker 1 at epoch 5. */
export async function knownLeader (brokers: ScriptedBrokers, connection: ClusterConnection, topicId = ''): Promise<void> {
  const first = connection.metadata(['t'])
  await flushMicrotasks()
  brokers.of('Metadata')[0]?.respond(metadata(1, 5, topicId))
  await first
}

/**
 * Answers `call` (a Produce, Fetch or ListOffsets of t-0) as a leader that knows t-0 under another topic id
 * (INCONSISTENT_TOPIC_ID: the topic was deleted and re-created), answers the metadata refresh that follows with t-0
 * led by broker 1 under `topicId`, and moves time past a retry backoff of up to 100 ms.
 */
export async function refuseStaleTopicId (
  brokers: ScriptedBrokers, scheduler: ManualScheduler, call: ScriptedCall | undefined, topicId: string,
): Promise<void> {
  call?.respond({ partitions: [{ topic: 't', partition: 0, offset: -1, errorCode: 'INCONSISTENT_TOPIC_ID' }] })
  await flushMicrotasks()
  brokers.of('Metadata').at(-1)?.respond(metadata(1, 0, topicId))
  await flushMicrotasks()
  scheduler.advance(100)
  await flushMicrotasks()
}

/**
 * Moves time on by `stallInMs` (to when a call that names its leaders becomes stalled: its answer's due time plus
 * the connection's `requestStallMs`), in two steps: how many Metadata calls there were 1 ms before, and the one the
 * stall watch made at the stall (of a broker other than the stalled one), for the test to check and answer.
 */
export async function advanceToStall (
  brokers: ScriptedBrokers, scheduler: ManualScheduler, stallInMs: number,
): Promise<{ askedBeforeStall: number, refresh: ScriptedCall | undefined }> {
  scheduler.advance(stallInMs - 1)
  await flushMicrotasks()
  const askedBeforeStall = brokers.of('Metadata').length
  scheduler.advance(1)
  await flushMicrotasks()
  return { askedBeforeStall, refresh: brokers.of('Metadata')[askedBeforeStall] }
}

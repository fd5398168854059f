/**
 * BrokerLifecycle over a scripted ControllerChannel and hand-driven time: registration, heartbeats, re-registration,
 * forwarding with retries and deadlines, and controlled shutdown, without a network or a real clock. (Over gRPC
 * against a real Controller: transport/grpc-controller-channel.test.ts.)
 */
import { ErrorCode, GregorError, nodeId, silentLogger } from '@gregor/common'
import type { gregor } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { ManualTimers } from '../replica/testing/manual-timers.js'
import { BrokerLifecycle } from './broker-lifecycle.js'
import type { ControllerChannel, HeartbeatHandlers, HeartbeatSession } from './controller-channel.js'
import type { BrokerHeartbeatRequest } from './controller.js'

type HeartbeatAnswer = Partial<gregor.cluster.BrokerHeartbeatResponse>

/** A channel whose controller answers as the test says, recording what it was sent. */
class ScriptedChannel implements ControllerChannel {
  controller: string | undefined = '1'
  registrations = 0
  refuseRegistration = false
  heartbeats: BrokerHeartbeatRequest[] = []
  answerHeartbeat: (heartbeat: BrokerHeartbeatRequest) => HeartbeatAnswer | undefined = () => ({ fenced: false })
  alterPartitionCalls = 0
  answerAlterPartition: (call: number) => Promise<gregor.cluster.AlterPartitionResponse> = async () => answer({})
  sessionsOpened = 0
  closed = false

  target (): string | undefined { return this.controller }

  async registerBroker (): Promise<gregor.cluster.RegisterBrokerResponse> {
    this.registrations++
    return answer(this.refuseRegistration ? { errorCode: ErrorCode.NOT_CONTROLLER } : {})
  }

  openHeartbeats (handlers: HeartbeatHandlers): HeartbeatSession | undefined {
    if (this.controller === undefined) return undefined
    this.sessionsOpened++
    let open = true
    return {
      send: (heartbeat) => {
        if (!open) return
        this.heartbeats.push(heartbeat)
        const response = this.answerHeartbeat(heartbeat)
        if (response !== undefined) queueMicrotask(() => { if (open) handlers.onResponse(answer(response)) })
      },
      close: () => { open = false },
    }
  }

  async alterPartition (): Promise<gregor.cluster.AlterPartitionResponse> {
    return await this.answerAlterPartition(++this.alterPartitionCalls)
  }

  async createTopics (): Promise<gregor.cluster.CreateTopicsResponse> { return answer({ topics: [] }) }
  async deleteTopics (): Promise<gregor.cluster.DeleteTopicsResponse> { return answer({ topics: [] }) }
  async createPartitions (): Promise<gregor.cluster.CreatePartitionsResponse> { return answer({ topics: [] }) }
  async electLeaders (): Promise<gregor.cluster.ElectLeadersResponse> { return answer({ results: [] }) }
  async alterTopicConfigs (): Promise<gregor.cluster.AlterTopicConfigsResponse> { return answer({ topics: [] }) }
  close (): void { this.closed = true }
}

function answer<T> (fields: Record<string, unknown>): T {
  return { errorCode: '', errorMessage: '', fenced: false, shutdownReady: false, isr: [], leaderEpoch: 0, partitionEpoch: 0, ...fields } as T
}

function lifecycle (channel: ScriptedChannel, time: ManualTimers): BrokerLifecycle {
  return new BrokerLifecycle({
    brokerId: nodeId(2), incarnationId: 'incarnation-2', clusterId: 'c', listeners: [{ name: 'BROKER', host: 'b2', port: 9093 }],
    channel, appliedIndex: () => 7, heartbeatIntervalMs: 100,
    config: { retryBackoffMsMin: 20, retryBackoffMsMax: 160, requestDeadlineMs: 1_000 },
    clock: time, timers: time, logger: silentLogger,
  })
}

const alterRequest = { brokerId: 2, topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsrWithEpochs: [{ brokerId: 2, brokerEpoch: -1 }] }

describe('broker lifecycle on injected time', () => {
  test('registers, heartbeats every interval of virtual time, is unfenced by the answer, and re-registers when told', async () => {
    const channel = new ScriptedChannel()
    const time = new ManualTimers()
    const broker = lifecycle(channel, time)
    const fencedChanges: boolean[] = []
    broker.onFencedChange((fenced) => fencedChanges.push(fenced))
    broker.start()
    await time.advance(0)
    expect(channel.registrations).toBe(1)
    expect(broker.registered).toBe(true)
    expect(channel.heartbeats).toHaveLength(1) // the first goes at once
    expect(channel.heartbeats[0]).toMatchObject({ brokerId: 2, incarnationId: 'incarnation-2', metadataAppliedIndex: 7, wantShutDown: false })
    expect(broker.fenced).toBe(false)
    expect(fencedChanges).toEqual([false])

    await time.advance(1_000)
    expect(channel.heartbeats).toHaveLength(11)

    // The controller forgot this incarnation: the session ends and the broker registers again after a backoff.
    channel.answerHeartbeat = () => ({ errorCode: 'STALE_BROKER_EPOCH' })
    await time.advance(100)
    expect(broker.registered).toBe(false)
    channel.answerHeartbeat = () => ({ fenced: false })
    await time.advance(200)
    expect(channel.registrations).toBe(2)
    expect(channel.sessionsOpened).toBe(2)
    broker.stop()
    expect(channel.closed).toBe(true)
    const sent = channel.heartbeats.length
    await time.advance(1_000)
    expect(channel.heartbeats).toHaveLength(sent)
    expect(time.pending).toBe(0)
  })

  test('a refused registration is retried with a doubling backoff, capped', async () => {
    const channel = new ScriptedChannel()
    channel.refuseRegistration = true
    const time = new ManualTimers()
    const broker = lifecycle(channel, time)
    broker.start()
    await time.advance(0)
    // Attempts at 0, 20, 60, 140, 300, 460, 620 (20, 40, 80, 160, then 160 capped).
    await time.advance(620)
    expect(channel.registrations).toBe(7)
    expect(broker.registered).toBe(false)
    broker.stop()
  })

  test('a forwarded call is retried on NETWORK_EXCEPTION and NOT_CONTROLLER, and times out on the injected clock', async () => {
    const channel = new ScriptedChannel()
    const time = new ManualTimers()
    const broker = lifecycle(channel, time)
    channel.answerAlterPartition = async (call) => {
      if (call === 1) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, 'connection refused')
      if (call === 2) return answer({ errorCode: ErrorCode.NOT_CONTROLLER })
      return answer({ isr: [2], leaderEpoch: 0, partitionEpoch: 1 })
    }
    const first = broker.alterPartition(alterRequest)
    await time.advance(0)
    await time.advance(20 + 40)
    await expect(first).resolves.toMatchObject({ errorCode: '', partitionEpoch: 1 })
    expect(channel.alterPartitionCalls).toBe(3)

    // No controller known for longer than the deadline: REQUEST_TIMED_OUT, after exactly requestDeadlineMs.
    channel.controller = undefined
    const startMs = time.nowMs()
    const second = broker.alterPartition(alterRequest)
    let failedAtMs: number | undefined
    second.catch(() => { failedAtMs = time.nowMs() })
    await time.advance(0)
    await time.advance(999)
    expect(failedAtMs).toBeUndefined()
    await time.advance(1)
    await expect(second).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT })
    expect(failedAtMs).toBe(startMs + 1_000)

    // Anything else is not retried.
    channel.controller = '1'
    channel.answerAlterPartition = async () => { throw new Error('bug') }
    await expect(broker.alterPartition(alterRequest)).rejects.toThrow('bug')
  })

  test('controlled shutdown: asks in the next heartbeat, resolves true when ready, false at the timeout otherwise', async () => {
    const channel = new ScriptedChannel()
    const time = new ManualTimers()
    const broker = lifecycle(channel, time)
    broker.start()
    await time.advance(0)
    channel.answerHeartbeat = (heartbeat) => ({ fenced: false, shutdownReady: heartbeat.wantShutDown === true && channel.heartbeats.length > 3 })
    let ready: boolean | undefined
    void broker.requestShutdown(5_000).then((value) => { ready = value })
    await time.advance(0)
    expect(channel.heartbeats.at(-1)?.wantShutDown).toBe(true)
    expect(ready).toBeUndefined()
    await time.advance(200)
    expect(ready).toBe(true)
    broker.stop()

    const silent = new ScriptedChannel()
    silent.answerHeartbeat = () => undefined
    const other = lifecycle(silent, time)
    other.start()
    await time.advance(0)
    let otherReady: boolean | undefined
    void other.requestShutdown(500).then((value) => { otherReady = value })
    await time.advance(499)
    expect(otherReady).toBeUndefined()
    await time.advance(1)
    expect(otherReady).toBe(false)
    other.stop()
  })
})

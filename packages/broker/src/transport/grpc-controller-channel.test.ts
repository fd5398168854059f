import * as grpc from '@grpc/grpc-js'
import { nodeId, raftIndex, seededRng, silentLogger } from '@gregor/common'
import { MetadataImage, defaultMetadataConfig, validateMetadataConfig } from '@gregor/metadata'
import { afterEach, describe, expect, test } from 'vitest'
import { BrokerLifecycle } from '../controller/broker-lifecycle.js'
import { Controller } from '../controller/controller.js'
import { systemClock, systemTimers } from '../system/system-timers.js'
import { addControllerService } from './controller-service.js'
import { GrpcControllerChannel } from './grpc-controller-channel.js'

const graceMs = 300
const config = validateMetadataConfig({
  ...defaultMetadataConfig, brokerHeartbeatIntervalMs: 50, brokerSessionTimeoutMs: 3000, brokerConnectionLossGraceMs: graceMs,
})

async function waitFor (condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadlineMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startController (options: { active: boolean }) {
  const image = new MetadataImage()
  let ids = 0
  const controller = new Controller({
    brokerId: nodeId(1), clusterId: 'cluster-a', config, image: () => image,
    propose: async (records) => { image.applyBatch(records, raftIndex(image.appliedIndex + 1)) },
    newId: () => `topic-id-${++ids}`, clock: { nowMs: () => performance.now() }, logger: silentLogger,
    timers: systemTimers, rng: seededRng(1),
  })
  if (options.active) controller.activate()
  const server = new grpc.Server()
  addControllerService(server, controller)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound); else reject(error)
    })
  })
  cleanups.push(() => { controller.deactivate(); server.forceShutdown() })
  return { image, controller, address: `127.0.0.1:${port}` }
}

function startLifecycle (brokerId: number, address: string, image: MetadataImage): BrokerLifecycle {
  const lifecycle = new BrokerLifecycle({
    brokerId: nodeId(brokerId), incarnationId: `incarnation-${brokerId}`, clusterId: 'cluster-a',
    listeners: [{ name: 'BROKER', host: '127.0.0.1', port: 10_000 + brokerId }],
    channel: new GrpcControllerChannel({ controllerAddress: () => address, messageBytesMax: 16 * 1024 * 1024 }),
    appliedIndex: () => image.appliedIndex, heartbeatIntervalMs: 50, clock: systemClock, timers: systemTimers,
    logger: silentLogger,
  })
  lifecycle.start()
  cleanups.push(() => { lifecycle.stop() })
  return lifecycle
}

describe('broker lifecycle over gRPC', () => {
  test('registers, heartbeats until unfenced, and a killed stream is fenced after the grace', async () => {
    const { image, address } = await startController({ active: true })
    const lifecycle = startLifecycle(1, address, image)
    const fencedChanges: boolean[] = []
    lifecycle.onFencedChange((fenced) => fencedChanges.push(fenced))
    await waitFor(() => !lifecycle.fenced, 'unfenced')
    expect(image.broker(nodeId(1))?.fenced).toBe(false)
    expect(fencedChanges).toEqual([false])

    const killedMs = performance.now()
    lifecycle.stop()
    await waitFor(() => image.broker(nodeId(1))?.fenced === true, 'fenced after the stream broke')
    const elapsedMs = performance.now() - killedMs
    // Fenced by the connection-loss hint, well before the 3 s session timeout.
    expect(elapsedMs).toBeGreaterThanOrEqual(graceMs - 20)
    expect(elapsedMs).toBeLessThan(1500)
  })

  test('keeps retrying while the controller is inactive, forwards admin requests, and shuts down in order', async () => {
    const { image, controller, address } = await startController({ active: false })
    const one = startLifecycle(1, address, image)
    const two = startLifecycle(2, address, image)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(one.registered).toBe(false)
    controller.activate()
    await waitFor(() => !one.fenced && !two.fenced, 'both unfenced')

    const created = await one.createTopics({ topics: [{ name: 't', partitions: 2, replicationFactor: 2 }] })
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([''])
    expect(image.partitionsLedBy(nodeId(2)).length).toBeGreaterThan(0)

    expect(await two.requestShutdown(2000)).toBe(true)
    expect(image.partitionsLedBy(nodeId(2))).toEqual([])
    expect(image.broker(nodeId(2))?.shuttingDown).toBe(true)
    const deleted = await one.deleteTopics({ topics: ['t'] })
    expect(deleted.topics.map((topic) => topic.errorCode)).toEqual([''])
  })
})

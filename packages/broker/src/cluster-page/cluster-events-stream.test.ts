import { type IncomingMessage, type Server, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { silentLogger } from '@gregor/common'
import { type ClusterUpdate, type ClusterView, clusterView } from '@gregor/metadata'
import { afterEach, describe, expect, test } from 'vitest'
import { type ClusterPageUpdate, clusterGroupViews } from './cluster-group-view.js'
import { ClusterEventsStream } from './cluster-events-stream.js'

/** A view whose broker 2 is alive or fenced, observed at `timeMs`. */
function view (timeMs: number, broker2: 'alive' | 'fenced'): ClusterView {
  return clusterView({
    timeMs, clusterId: 'test', controllerId: 1, quorum: { leaderId: 1, term: 3, commitIndex: 9 },
    brokers: [{ brokerId: 1, state: 'alive' }, { brokerId: 2, state: broker2 }],
    partitions: [{ topic: 'orders', partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2], highWatermark: 5 }],
  })
}

let server: Server | undefined
afterEach(async () => { await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined)) })

async function serve (stream: ClusterEventsStream): Promise<string> {
  server = createServer((request, response) => { stream.route(request, response) })
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/cluster/events`
}

/** Subscribes and collects every `data:` message as it arrives. */
async function subscribe (url: string): Promise<{ response: IncomingMessage; updates: ClusterUpdate[]; close: () => void }> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest(url, (response) => {
      const updates: ClusterUpdate[] = []
      let buffer = ''
      response.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        const messages = buffer.split('\n\n')
        buffer = messages.pop() ?? ''
        for (const message of messages) if (message.startsWith('data: ')) updates.push(JSON.parse(message.slice(6)) as ClusterUpdate)
      })
      resolve({ response, updates, close: () => { request.destroy() } })
    })
    request.once('error', reject)
    request.end()
  })
}

async function until (condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('ClusterEventsStream', () => {
  test('pushes the view at once, then the events of a metadata change, and stops its timer when the last subscriber leaves', async () => {
    let current = view(1_000, 'alive')
    const stream = new ClusterEventsStream({ observe: () => current, logger: silentLogger, config: { pushIntervalMs: 50 } })
    const url = await serve(stream)
    const subscriber = await subscribe(url)
    expect(subscriber.response.headers['content-type']).toMatch(/^text\/event-stream/)
    await until(() => subscriber.updates.length >= 1)
    expect(subscriber.updates[0]).toMatchObject({ timeMs: 1_000, events: [] })

    current = view(2_000, 'fenced')
    stream.onMetadataChange()
    await until(() => subscriber.updates.some((update) => update.events.length > 0))
    const withEvents = subscriber.updates.filter((update) => update.events.length > 0)
    expect(withEvents.flatMap((update) => update.events.map((event) => event.text))).toEqual(['broker 2 fenced'])
    expect(withEvents[0]?.brokers[1]?.state).toBe('fenced')
    // Pushed every interval, without repeating the event.
    const count = subscriber.updates.length
    await until(() => subscriber.updates.length >= count + 2)
    expect(subscriber.updates.slice(count).every((update) => update.events.length === 0)).toBe(true)

    // A late subscriber starts with the recent history.
    const late = await subscribe(url)
    await until(() => late.updates.length >= 1)
    expect(late.updates[0]?.events.map((event) => event.text)).toEqual(['broker 2 fenced'])

    subscriber.close()
    late.close()
    await until(() => stream.subscriberCount === 0)
    stream.close()
  })

  test('picks up group changes on its periodic push, without a metadata change, and tells each once', async () => {
    const base = view(1_000, 'alive')
    let groups = clusterGroupViews([])
    let timeMs = 1_000
    const stream = new ClusterEventsStream({ observe: () => ({ ...base, timeMs, groups }), logger: silentLogger, config: { pushIntervalMs: 50 } })
    const url = await serve(stream)
    const subscriber = await subscribe(url)
    const updates = subscriber.updates as unknown as ClusterPageUpdate[]
    await until(() => updates.length >= 1)
    expect(updates[0]?.groups).toEqual([])

    timeMs = 2_000
    groups = clusterGroupViews([{
      groupId: 'orders-app', state: 'stable', groupEpoch: 2,
      members: [{ memberId: 'm1', clientId: 'c1', clientHost: '/127.0.0.1', memberEpoch: 2, assignment: [{ topic: 'orders', partitions: [0] }] }],
      offsets: [{ topic: 'orders', partition: 0, committedOffset: 3, highWatermark: 5, lag: 2 }],
    }])
    await until(() => updates.some((update) => update.groups.length === 1))
    const first = updates.findIndex((update) => update.groups.length === 1)
    expect(updates[first]?.groups[0]?.offsets[0]?.lag).toBe(2)
    expect(updates[first]?.events.map((event) => event.text)).toEqual(['group orders-app coordinated here, stable epoch 2'])
    // Later pushes carry the groups but not the event again.
    await until(() => updates.length >= first + 3)
    expect(updates.slice(first + 1).every((update) => update.events.length === 0 && update.groups.length === 1)).toBe(true)

    subscriber.close()
    stream.close()
  })

  test('refuses subscribers beyond the limit with 503 and Retry-After', async () => {
    const stream = new ClusterEventsStream({ observe: () => view(1_000, 'alive'), logger: silentLogger, config: { subscribersMax: 2 } })
    const url = await serve(stream)
    const first = await subscribe(url)
    const second = await subscribe(url)
    const third = await subscribe(url)
    expect([first, second, third].map(({ response }) => response.statusCode)).toEqual([200, 200, 503])
    expect(third.response.headers['retry-after']).toBe('5')
    first.close()
    await until(() => stream.subscriberCount === 1)
    const again = await subscribe(url)
    expect(again.response.statusCode).toBe(200)
    stream.close()
    second.close()
    again.close()
  })
})

/**
 * The live cluster page (`/cluster` on a broker's admin port) in a real headless browser (Debian's chromium driven
 * by playwright-core) against three real broker processes: it shows every partition, and when a partition leader
 * other than the page's own broker is killed with SIGKILL, the page shows the new leader, the fenced broker and the
 * events, without a reload; when its own broker dies, it says "disconnected from broker N". Leaves screenshots in
 * `test-artifacts/cluster-page.png` (after the failover) and `cluster-page-disconnected.png`.
 *
 * Also the event stream's contract over plain HTTP: `text/event-stream`, and 503 beyond the subscriber limit.
 * Chromium missing is a failure with a clear message, never a skip.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, describe, expect, test } from 'vitest'
import { type Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { leadersOf, useCluster, waitForIsr } from './cluster-helpers.js'

const chromiumPath = '/usr/bin/chromium'
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const screenshotPath = fileURLToPath(new URL('../../test-artifacts/cluster-page.png', import.meta.url))

let cluster: BrokerProcesses
let admin: Admin
let browser: Browser | undefined

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

afterAll(async () => { await browser?.close() })

async function launchBrowser (): Promise<Browser> {
  // A fresh Debian machine (CI runs as root) gets chromium here, so `npm test` stays the one test command.
  if (!existsSync(chromiumPath)) spawnSync('bash', [join(repoRoot, 'scripts/install-chromium.sh')], { stdio: 'inherit' })
  if (!existsSync(chromiumPath)) {
    throw new Error(`the cluster page test needs Debian's chromium at ${chromiumPath} (scripts/install-chromium.sh); it does not skip`)
  }
  return await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })
}

/** Opens `/cluster/events` and resolves with the response head (the body keeps streaming until `destroy`). */
async function subscribe (url: string): Promise<{ response: IncomingMessage; request: ClientRequest }> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest(url, (response) => resolve({ response, request }))
    request.once('error', reject)
    request.end()
  })
}

describe('the cluster page', () => {
  test('follows a kill -9 of a partition leader live, in a headless browser', async () => {
    browser = await launchBrowser()
    await admin.createTopics([
      { topic: 'orders', numPartitions: 3, replicationFactor: 3 },
      { topic: 'payments', numPartitions: 2, replicationFactor: 3 },
    ])
    await waitForIsr(cluster, 'orders', 3)
    await waitForIsr(cluster, 'payments', 3)
    const producer = new Producer({ bootstrapServers: cluster.bootstrapServers, lingerMs: 5 })
    await producer.send({ topic: 'orders', acks: 'all', messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })
    await producer.close()

    // Serve the page from a broker that is not the victim, and kill the leader of some orders partition.
    const leaders = await leadersOf(cluster, 'orders')
    const [partition, victim] = [...leaders.entries()].find(([, leader]) => leader !== 1) as [number, number]
    const servedBy = 1
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } })
    await page.goto(`${cluster.broker(servedBy).adminUrl}/cluster`)
    const row = page.locator(`tr[data-partition="orders-${partition}"]`)
    await waitFor('the page to show the partition table', async () =>
      (await page.locator('tbody#partitions tr[data-partition]').count()) === 5 ? true : undefined, { timeoutMs: 15_000 })
    expect(await row.locator('td.leader').textContent()).toBe(String(victim))
    expect(await page.locator('#status').getAttribute('data-state')).toBe('live')
    await waitFor('a high watermark on the page', async () => Number(await row.locator('td.hw').textContent()) > 0 ? true : undefined)

    await cluster.kill(victim)
    const newLeader = await waitFor('the page to show a new leader', async () => {
      const text = await row.locator('td.leader').textContent()
      return text !== null && text !== String(victim) && text !== 'none' ? Number(text) : undefined
    }, { timeoutMs: 20_000, intervalMs: 100 })
    expect(newLeader).not.toBe(victim)
    await waitFor('the victim shown fenced', async () =>
      (await page.locator(`.broker[data-broker="${victim}"] .state`).textContent()) === 'fenced' ? true : undefined, { timeoutMs: 10_000 })
    await waitFor('the leader change in the event log', async () => {
      const events = await page.locator('#events li').allTextContents()
      return events.some((text) => text.includes(`orders-${partition} leader ${victim}→${newLeader}`)) ? true : undefined
    }, { timeoutMs: 10_000 })
    expect(await page.locator('#status').getAttribute('data-state')).toBe('live')

    await mkdir(new URL('../../test-artifacts/', import.meta.url), { recursive: true })
    await page.screenshot({ path: screenshotPath, fullPage: true })
    expect(existsSync(screenshotPath)).toBe(true)

    // The page's own broker dies: it says so plainly and keeps the last state it had, greyed out.
    await cluster.kill(servedBy)
    await waitFor('the page to say it is disconnected', async () =>
      (await page.locator('#status').getAttribute('data-state')) === 'disconnected' ? true : undefined, { timeoutMs: 10_000 })
    expect(await page.locator('#banner').textContent()).toContain(`Disconnected from broker ${servedBy}`)
    expect(await row.locator('td.leader').textContent()).toBe(String(newLeader))
    await page.screenshot({ path: screenshotPath.replace('.png', '-disconnected.png') })
    await page.close()
  }, 120_000)

  test('the event stream is text/event-stream and refuses subscribers beyond 32 with 503', async () => {
    const broker = cluster.running()[0]
    if (broker === undefined) throw new Error('no broker running')
    const open: Array<{ response: IncomingMessage; request: ClientRequest }> = []
    try {
      for (let i = 0; i < 32; i++) open.push(await subscribe(`${broker.adminUrl}/cluster/events`))
      expect(open.map(({ response }) => response.statusCode)).toEqual(Array(32).fill(200))
      expect(open[0]?.response.headers['content-type']).toMatch(/^text\/event-stream/)
      const first = await new Promise<string>((resolve) => {
        let text = ''
        open[0]?.response.on('data', (chunk: Buffer) => { text += chunk.toString(); if (text.includes('\n\ndata: ')) resolve(text) })
      })
      expect(first).toMatch(/^retry: \d+\n\ndata: \{"timeMs":/)
      const refused = await subscribe(`${broker.adminUrl}/cluster/events`)
      expect(refused.response.statusCode).toBe(503)
      refused.response.resume()
    } finally {
      for (const { request } of open) request.destroy()
    }
    // Closed subscribers free their places.
    await waitFor('a place for a new subscriber', async () => {
      const again = await subscribe(`${broker.adminUrl}/cluster/events`)
      again.request.destroy()
      return again.response.statusCode === 200 ? true : undefined
    }, { timeoutMs: 5_000, intervalMs: 50 })
  }, 60_000)
})

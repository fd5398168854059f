/**
 * The admin HTTP listener's access rules (docs/security.md, "Operating securely"): /healthz and /readyz always open;
 * with a token, every other path (metrics, the cluster page and its event stream, unknown paths) is 401 without it,
 * served with `Authorization: Bearer`, or with the cookie that `?token=` sets; HTTPS with the listener's certificate.
 */
import { execFile } from 'node:child_process'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { silentLogger } from '@gregor/common'
import { type AdminRoute, adminTokenCookie, startAdminServer } from './admin-server.js'

const token = 'a-test-token-0123456789'
const routes = new Map<string, AdminRoute>([
  ['/metrics', (_request, response) => { response.writeHead(200, { 'content-type': 'text/plain' }); response.end('gregor_up 1\n') }],
  ['/cluster/events', (_request, response) => { response.writeHead(200, { 'content-type': 'text/event-stream' }); response.end('data: {}\n\n') }],
])

describe('admin server access', () => {
  let close: (() => Promise<void>) | undefined
  afterEach(async () => { await close?.(); close = undefined })

  async function start (extra: { tls?: { cert: Buffer; key: Buffer }; token?: string }): Promise<number> {
    const server = await startAdminServer('127.0.0.1', 0, { readiness: () => ({ ready: true }), routes, logger: silentLogger, ...extra })
    close = async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
    return (server.address() as AddressInfo).port
  }

  test('without a token every path is open, as before', async () => {
    const port = await start({})
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200)
  })

  test('with a token: health open, metrics and the event stream 401 without it or with a wrong one, 200 with the bearer token', async () => {
    const base = `http://127.0.0.1:${await start({ token })}`
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    for (const path of ['/metrics', '/cluster/events', '/nowhere']) {
      const refused = await fetch(`${base}${path}`)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="gregor-admin"')
      expect(await refused.text()).not.toContain('/metrics') // no list of paths for a caller without the token
      expect((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401)
    }
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toBe('gregor_up 1\n')
    expect((await fetch(`${base}/nowhere`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404)
  })

  test('a browser: ?token= sets an HttpOnly cookie and redirects without it; the cookie then opens the event stream', async () => {
    const base = `http://127.0.0.1:${await start({ token })}`
    expect((await fetch(`${base}/metrics?token=wrong`, { redirect: 'manual' })).status).toBe(401)
    const redirected = await fetch(`${base}/cluster/events?token=${token}&x=1`, { redirect: 'manual' })
    expect(redirected.status).toBe(303)
    expect(redirected.headers.get('location')).toBe('/cluster/events?x=1')
    const cookie = redirected.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`${adminTokenCookie}=${token}`)
    expect(cookie).toContain('HttpOnly')
    const events = await fetch(`${base}/cluster/events`, { headers: { cookie: `other=1; ${cookie.split(';')[0] as string}` } })
    expect(events.status).toBe(200)
    expect(await events.text()).toBe('data: {}\n\n')
  })

  test('ADMIN:SSL serves HTTPS with the listener certificate; health stays open there and the token still guards metrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gregor-admin-tls-'))
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'])
      const cert = await readFile(join(dir, 'cert.pem'))
      const port = await start({ token, tls: { cert, key: await readFile(join(dir, 'key.pem')) } })
      const get = async (path: string, headers: Record<string, string> = {}): Promise<number> => await new Promise((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port, path, ca: cert, headers }, (response) => { response.resume(); resolve(response.statusCode ?? 0) })
          .on('error', reject).end()
      })
      expect(await get('/readyz')).toBe(200)
      expect(await get('/metrics')).toBe(401)
      expect(await get('/metrics', { authorization: `Bearer ${token}` })).toBe(200)
      // Plain HTTP on the HTTPS port gets no answer.
      expect(await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 'refused')).not.toBe(200)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

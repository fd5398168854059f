/**
 * The ADMIN listener's HTTP server: `/healthz` (the process serves requests), `/readyz` (this broker is registered,
 * unfenced and sees a metadata-quorum leader: it can take traffic), and whatever further routes the broker mounts
 * (metrics, the cluster page). Plain node:http, no framework; JSON bodies so a healthcheck script or a person with
 * curl can read why a broker is not ready.
 *
 * Invariants: a route handler that throws answers 500 and is logged, it never takes the process down; request
 * headers and bodies are bounded by node:http's timeouts below.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Logger } from '@gregor/common'

/** Answers one request on its path; it may stream (server-sent events) and end the response later. */
export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>

export interface AdminServerDeps {
  readonly readiness: () => { ready: boolean; [key: string]: unknown }
  /** Extra routes by exact path (e.g. `/metrics`); `/healthz` and `/readyz` cannot be replaced. */
  readonly routes?: ReadonlyMap<string, AdminRoute>
  readonly logger: Logger
}

export async function startAdminServer (host: string, port: number, deps: AdminServerDeps): Promise<Server> {
  const log = deps.logger.child({ component: 'admin' })
  const routes = deps.routes ?? new Map<string, AdminRoute>()
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/'
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(`${JSON.stringify(body)}\n`)
    }
    if (path === '/healthz') return send(200, { status: 'ok' })
    if (path === '/readyz') {
      const readiness = deps.readiness()
      return send(readiness.ready ? 200 : 503, readiness)
    }
    const route = routes.get(path)
    if (route === undefined) return send(404, { error: 'not found', paths: ['/healthz', '/readyz', ...routes.keys()] })
    const failed = (error: unknown): void => {
      log.warn({ err: error, path }, 'admin route failed')
      if (!response.headersSent) send(500, { error: 'internal error' })
      else response.destroy()
    }
    try {
      Promise.resolve(route(request, response)).catch(failed)
    } catch (error) {
      failed(error)
    }
  })
  server.headersTimeout = 5_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  log.info({ host, port }, 'admin listener started')
  return server
}

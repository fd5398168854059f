/**
 * The ADMIN listener's HTTP server: `/healthz` (the process serves requests), `/readyz` (this broker is registered,
 * unfenced and sees a metadata-quorum leader: it can take traffic), and whatever further routes the broker mounts
 * (metrics, the cluster page). Plain node:http (node:https when the listener runs SSL), no framework; JSON bodies so a
 * healthcheck script or a person with curl can read why a broker is not ready.
 *
 * Access (docs/security.md, "Operating securely"): `/healthz` and `/readyz` are always open (orchestrators probe them
 * without credentials and they reveal nothing but readiness). With a token configured, every other path — `/metrics`,
 * the cluster page and its event stream — needs it: `Authorization: Bearer <token>` (scrapers, curl) or the
 * `gregor_admin_token` cookie (a browser, whose EventSource cannot send headers; `?token=` on a GET sets the cookie and
 * redirects to the same path without it, so the token leaves the address bar). Anything else is 401, before the route
 * is even looked up (an unknown path answers 401 too, not a list of paths). Tokens are compared in constant time.
 *
 * Invariants: a route handler that throws answers 500 and is logged, it never takes the process down; request
 * headers and bodies are bounded by node:http's timeouts below; the token is never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import type { Logger } from '@gregor/common'

/** Answers one request on its path; it may stream (server-sent events) and end the response later. */
export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>

export interface AdminServerDeps {
  readonly readiness: () => { ready: boolean; [key: string]: unknown }
  /** Extra routes by exact path (e.g. `/metrics`); `/healthz` and `/readyz` cannot be replaced. */
  readonly routes?: ReadonlyMap<string, AdminRoute>
  readonly logger: Logger
  /** Serve HTTPS with this certificate and key (the listener map's `ADMIN:SSL`). */
  readonly tls?: Pick<SecureContextOptions, 'cert' | 'key'>
  /** The bearer token every path but /healthz and /readyz requires (GREGOR_ADMIN_TOKEN_FILE); open when absent. */
  readonly token?: string
}

export const adminTokenCookie = 'gregor_admin_token'
const openPaths = new Set(['/healthz', '/readyz'])

function digestOf (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/** The token a request presents: its bearer token, else its cookie. */
function presentedToken (request: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1]
  if (bearer !== undefined) return bearer
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === adminTokenCookie) return decodeURIComponent(value.join('='))
  }
  return undefined
}

export async function startAdminServer (host: string, port: number, deps: AdminServerDeps): Promise<Server> {
  const log = deps.logger.child({ component: 'admin' })
  const routes = deps.routes ?? new Map<string, AdminRoute>()
  const tokenDigest = deps.token === undefined ? undefined : digestOf(deps.token)
  const authorized = (token: string | undefined): boolean =>
    tokenDigest === undefined || (token !== undefined && timingSafeEqual(digestOf(token), tokenDigest))
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://admin')
    const path = url.pathname
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers })
      response.end(`${JSON.stringify(body)}\n`)
    }
    if (path === '/healthz') return send(200, { status: 'ok' })
    if (path === '/readyz') {
      const readiness = deps.readiness()
      return send(readiness.ready ? 200 : 503, readiness)
    }
    if (!openPaths.has(path) && tokenDigest !== undefined) {
      const queryToken = url.searchParams.get('token')
      if (queryToken !== null && request.method === 'GET' && authorized(queryToken)) {
        url.searchParams.delete('token')
        const cookie = `${adminTokenCookie}=${encodeURIComponent(queryToken)}; Path=/; HttpOnly; SameSite=Strict${deps.tls === undefined ? '' : '; Secure'}`
        return send(303, { location: `${path}${url.search}` }, { location: `${path}${url.search}`, 'set-cookie': cookie })
      }
      if (!authorized(presentedToken(request))) {
        log.info({ path, source: `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}` }, 'admin request refused: no valid token')
        return send(401, { error: 'unauthorized: this path needs the admin token (Authorization: Bearer <token>)' }, { 'www-authenticate': 'Bearer realm="gregor-admin"' })
      }
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
  }
  const server: Server = deps.tls === undefined ? createServer(handle) : createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }, handle)
  server.headersTimeout = 5_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  log.info({ host, port, tls: deps.tls !== undefined, token: tokenDigest !== undefined }, 'admin listener started')
  return server
}

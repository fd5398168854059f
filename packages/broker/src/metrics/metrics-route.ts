/**
 * `GET /metrics` on the ADMIN listener: the broker's registry in the Prometheus text format (version 0.0.4, the
 * registry's own content type). Every scrape recomputes the state gauges from the applied image and raft status.
 *
 * Invariant: only GET and HEAD; a failed collection is the admin server's 500, never a half-written body.
 */
import type { AdminRoute } from '../admin-server.js'
import type { BrokerMetrics } from './broker-metrics.js'

export function metricsRoute (metrics: BrokerMetrics): AdminRoute {
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
      response.end('method not allowed\n')
      return
    }
    // Collect before writing the head, so a collection failure can still become a 500.
    const { contentType, body } = await metrics.scrape()
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : body)
  }
}

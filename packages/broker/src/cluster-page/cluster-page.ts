/**
 * `ClusterPage`: the live cluster page of one broker's admin HTTP port. `GET /cluster` serves the self-contained
 * page (cluster-page-html.ts), `GET /cluster/events` streams `ClusterUpdate`s to it (cluster-events-stream.ts).
 *
 * Owns the wiring only: the view comes from this broker's own state (`brokerClusterView`: applied metadata image,
 * quorum status, own replicas' high watermarks, the consumer groups it coordinates), never from another broker, so
 * the page of a broker that is cut off shows what that broker believes. Group changes need no call: the stream
 * re-observes once a second while someone watches. The broker calls `onMetadataChange` after each applied metadata batch and
 * `close` before closing its admin server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@gregor/common'
import type { MetadataImage } from '@gregor/metadata'
import type { AdminRoute } from '../admin-server.js'
import { brokerClusterView } from './broker-cluster-view.js'
import type { ClusterGroupView } from './cluster-group-view.js'
import { ClusterEventsStream, type ClusterEventsStreamConfig } from './cluster-events-stream.js'
import { clusterPageHtml } from './cluster-page-html.js'

export interface ClusterPageDeps {
  readonly brokerId: number
  readonly clusterId: string
  readonly image: () => MetadataImage
  readonly quorum: () => { readonly leaderId: number; readonly term: number; readonly commitIndex: number }
  readonly highWatermark: (topic: string, partition: number) => number | undefined
  /**
   * The consumer groups this broker coordinates, as of now (any order; called once a second while the page is
   * watched, so it must be cheap). Absent: the page shows no group.
   */
  readonly groups?: () => readonly ClusterGroupView[]
  /** Wall-clock milliseconds (events are shown with the time of day). */
  readonly wallClockMs: () => number
  readonly logger: Logger
  readonly config?: Partial<ClusterEventsStreamConfig>
}

export class ClusterPage {
  readonly #html: string
  readonly #stream: ClusterEventsStream

  constructor (deps: ClusterPageDeps) {
    this.#html = clusterPageHtml({ brokerId: deps.brokerId, clusterId: deps.clusterId })
    this.#stream = new ClusterEventsStream({
      observe: () => brokerClusterView({
        clusterId: deps.clusterId,
        image: deps.image(),
        quorum: deps.quorum(),
        highWatermark: deps.highWatermark,
        groups: deps.groups?.() ?? [],
        timeMs: deps.wallClockMs(),
      }),
      logger: deps.logger,
      ...(deps.config === undefined ? {} : { config: deps.config }),
    })
  }

  /** The admin routes to mount, by path. */
  routes (): Array<[string, AdminRoute]> {
    return [['/cluster', (request, response) => { this.#servePage(request, response) }], ['/cluster/events', this.#stream.route]]
  }

  onMetadataChange (): void {
    this.#stream.onMetadataChange()
  }

  close (): void {
    this.#stream.close()
  }

  #servePage (request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
      response.end('{"error":"method not allowed"}\n')
      return
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      // Everything is inline: forbid the page from loading anything but its own event stream.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
    })
    response.end(request.method === 'HEAD' ? undefined : this.#html)
  }
}

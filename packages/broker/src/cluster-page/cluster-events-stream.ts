/**
 * `ClusterEventsStream`: `GET /cluster/events`, a server-sent-events stream of `ClusterPageUpdate`s (the JSON
 * `gregor cluster watch --json` prints per line, plus `groups`: the consumer groups this broker coordinates): the
 * full view once a second and at once on a metadata change, each with the events since the previous message to that
 * subscriber.
 *
 * Owns: the subscribers (at most `subscribersMax`; beyond that 503 with Retry-After, so a page left open in many
 * tabs cannot make the broker grow without bound), the one push timer (running only while someone subscribes),
 * the last observed view and a bounded history of recent events (a new subscriber gets them first, so the page's
 * log is not empty after a reload).
 *
 * Events are detected by diffing views (metadata and groups): on every metadata change (whether anyone watches or
 * not: it is rare and cheap) and on every push. Changes without a metadata change (controller and term, and every
 * group change: groups live in `__consumer_offsets`, not in the metadata log) are therefore picked up by the
 * once-a-second push, within `pushIntervalMs` while someone watches, and stamped when the next subscriber's first
 * push sees them if nobody was watching.
 *
 * Backpressure: a subscriber whose socket buffer is full is skipped until it drains; its events wait for it
 * (bounded by `eventsMax`), and the view it then gets is the newest, so a slow page costs no memory beyond that.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@gregor/common'
import { type ClusterView, clusterUpdate, clusterViewsEqual, diffClusterViews } from '@gregor/metadata'
import { type ClusterGroupView, type ClusterPageEventEntry, diffGroupViews, groupEventEntries, groupViewsEqual } from './cluster-group-view.js'

export interface ClusterEventsStreamConfig {
  readonly subscribersMax: number
  readonly pushIntervalMs: number
  /** Recent events kept for new subscribers, and the most a slow subscriber can have waiting. */
  readonly eventsMax: number
}

export const defaultClusterEventsStreamConfig: ClusterEventsStreamConfig = Object.freeze({
  subscribersMax: 32,
  pushIntervalMs: 1_000,
  eventsMax: 100,
})

export interface ClusterEventsStreamDeps {
  /**
   * The view as of now (built from the broker's image, quorum status, replicas and coordinated groups); `groups`
   * in canonical order (`clusterGroupViews`), none when absent.
   */
  readonly observe: () => ObservedView
  readonly logger: Logger
  readonly config?: Partial<ClusterEventsStreamConfig>
}

/** A `ClusterPageView` whose groups may be left out (a broker without a coordinator). */
export type ObservedView = ClusterView & { readonly groups?: readonly ClusterGroupView[] }

interface Subscriber {
  readonly response: ServerResponse
  pending: ClusterPageEventEntry[]
  draining: boolean
}

export class ClusterEventsStream {
  readonly #deps: ClusterEventsStreamDeps
  readonly #config: ClusterEventsStreamConfig
  readonly #log: Logger
  readonly #subscribers = new Set<Subscriber>()
  readonly #recent: ClusterPageEventEntry[] = []
  #view: ObservedView | undefined
  #timer: NodeJS.Timeout | undefined
  #pushScheduled = false
  #closed = false

  constructor (deps: ClusterEventsStreamDeps) {
    this.#deps = deps
    this.#config = { ...defaultClusterEventsStreamConfig, ...deps.config }
    this.#log = deps.logger.child({ component: 'cluster-page' })
  }

  get subscriberCount (): number { return this.#subscribers.size }

  /** The admin route of `/cluster/events`. */
  readonly route = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET', 'content-type': 'application/json' })
      response.end('{"error":"method not allowed"}\n')
      return
    }
    if (this.#closed || this.#subscribers.size >= this.#config.subscribersMax) {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' })
      response.end(`${JSON.stringify({ error: 'too many subscribers', subscribersMax: this.#config.subscribersMax })}\n`)
      return
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    // EventSource reconnects by itself after this delay when the stream breaks.
    response.write('retry: 1000\n\n')
    const subscriber: Subscriber = { response, pending: [...this.#recent], draining: false }
    this.#subscribers.add(subscriber)
    response.on('close', () => { this.#unsubscribe(subscriber) })
    this.#log.debug({ subscribers: this.#subscribers.size }, 'cluster page subscriber joined')
    this.#observe()
    this.#send(subscriber)
    this.#timer ??= setInterval(() => { this.#push() }, this.#config.pushIntervalMs)
  }

  /** Called on every metadata change: observe now (events get their true time) and push soon, coalesced. */
  onMetadataChange (): void {
    if (this.#closed || this.#pushScheduled) return
    this.#pushScheduled = true
    setImmediate(() => {
      this.#pushScheduled = false
      this.#push()
    })
  }

  /** Ends every stream and stops the timer (broker stop; the HTTP server cannot close while streams are open). */
  close (): void {
    this.#closed = true
    for (const subscriber of [...this.#subscribers]) subscriber.response.end()
    this.#subscribers.clear()
    this.#stopTimer()
  }

  #push (): void {
    try {
      this.#observe()
      for (const subscriber of this.#subscribers) this.#send(subscriber)
    } catch (error) {
      this.#log.warn({ err: error }, 'cluster view push failed')
    }
  }

  /** Takes a new view; its events go to the history and to every subscriber's pending list. */
  #observe (): void {
    const view = this.#deps.observe()
    const previous = this.#view
    this.#view = view
    if (previous === undefined) return
    const events: ClusterPageEventEntry[] = []
    if (!clusterViewsEqual(previous, view)) events.push(...clusterUpdate(view, diffClusterViews(previous, view)).events)
    const [groupsBefore, groupsNow] = [previous.groups ?? [], view.groups ?? []]
    if (!groupViewsEqual(groupsBefore, groupsNow)) events.push(...groupEventEntries(diffGroupViews(groupsBefore, groupsNow, view.timeMs)))
    if (events.length === 0) return
    this.#keepLast(this.#recent, events)
    for (const subscriber of this.#subscribers) this.#keepLast(subscriber.pending, events)
  }

  #send (subscriber: Subscriber): void {
    const view = this.#view
    if (view === undefined || subscriber.draining) return
    const data = JSON.stringify({ ...view, groups: view.groups ?? [], events: subscriber.pending })
    subscriber.pending = []
    if (!subscriber.response.write(`data: ${data}\n\n`)) {
      subscriber.draining = true
      subscriber.response.once('drain', () => { subscriber.draining = false })
    }
  }

  #keepLast (list: ClusterPageEventEntry[], events: readonly ClusterPageEventEntry[]): void {
    list.push(...events)
    list.splice(0, Math.max(0, list.length - this.#config.eventsMax))
  }

  #unsubscribe (subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return
    this.#log.debug({ subscribers: this.#subscribers.size }, 'cluster page subscriber left')
    if (this.#subscribers.size === 0) this.#stopTimer()
  }

  #stopTimer (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

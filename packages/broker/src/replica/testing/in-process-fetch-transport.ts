/**
 * A `ReplicaFetchTransport` for tests: a session calls the leader's `handleReplicaFetch` directly, in this process.
 * A leader that is not reachable (`leader(id)` undefined: stopped, or cut off by the test) fails the fetch, as a
 * broken stream would; `close` rejects the fetch in flight. Not exported from the package.
 */
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '../leader-requests.js'
import type { ReplicaFetchSession, ReplicaFetchTransport } from '../replica-fetch-transport.js'

export interface InProcessFetchHandler {
  handleReplicaFetch (request: ReplicaFetchRequest): Promise<ReplicaFetchResponse>
}

export class InProcessFetchTransport implements ReplicaFetchTransport {
  readonly #leader: (leaderId: number) => InProcessFetchHandler | undefined
  /** Sessions opened so far (a test can count reconnects). */
  opened = 0

  constructor (leader: (leaderId: number) => InProcessFetchHandler | undefined) {
    this.#leader = leader
  }

  open (leaderId: number): ReplicaFetchSession | undefined {
    this.opened += 1
    let closed: Error | undefined
    let rejectPending: ((error: Error) => void) | undefined
    const leader = this.#leader
    return {
      async fetch (request) {
        if (closed !== undefined) throw closed
        const handler = leader(leaderId)
        if (handler === undefined) throw new Error(`leader ${leaderId} unreachable`)
        return await new Promise<ReplicaFetchResponse>((resolve, reject) => {
          rejectPending = reject
          handler.handleReplicaFetch(request).then((response) => {
            // An answer from a leader that went away meanwhile is lost, like one on a cut stream.
            if (closed === undefined && leader(leaderId) === handler) resolve(response)
            else reject(closed ?? new Error(`leader ${leaderId} unreachable`))
          }, reject).finally(() => { rejectPending = undefined })
        })
      },
      close () {
        closed ??= new Error('session closed')
        rejectPending?.(closed)
      },
    }
  }
}

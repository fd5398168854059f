/**
 * Raft messages between nodes in one process, for tests: each node gets a `RaftMessageTransport` from `transport(id)`
 * and registers where its inbound messages go with `attach`. Delivery is asynchronous (a later microtask, never
 * inside the sender's `send`), as over a real network; a message to a node that is not attached, or across a link
 * the test cut, is dropped (raft retransmits what matters). Detaching a node tells every attached peer it is gone, as
 * the gRPC service does when a peer's stream closes.
 */
import type { NodeId } from '@gregor/common'
import type { Message } from '@gregor/raft'
import type { RaftMessageTransport } from '../raft-driver.js'

export interface RaftEndpoint {
  receive (message: Message): void
  peerGone (peerId: NodeId): void
}

export class InProcessRaftNetwork {
  readonly #endpoints = new Map<NodeId, RaftEndpoint>()
  readonly #cut = new Set<string>()
  /** Messages dropped so far (unattached receiver or cut link). */
  dropped = 0

  transport (from: NodeId): RaftMessageTransport {
    return {
      send: (message) => {
        void Promise.resolve().then(() => {
          const endpoint = this.#endpoints.get(message.to)
          if (endpoint === undefined || this.#cut.has(`${from}>${message.to}`)) { this.dropped++; return }
          endpoint.receive(message)
        })
      },
    }
  }

  attach (id: NodeId, endpoint: RaftEndpoint): void {
    this.#endpoints.set(id, endpoint)
  }

  detach (id: NodeId): void {
    this.#endpoints.delete(id)
    for (const endpoint of this.#endpoints.values()) endpoint.peerGone(id)
  }

  /** Cuts (or heals) the link from `from` to `to`, one way. */
  setLink (from: NodeId, to: NodeId, up: boolean): void {
    if (up) this.#cut.delete(`${from}>${to}`); else this.#cut.add(`${from}>${to}`)
  }
}

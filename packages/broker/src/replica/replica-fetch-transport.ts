/**
 * The follower's network as a dependency: how a replica fetcher reaches the leader it fetches from. Production wires
 * the gRPC bidi stream (transport/grpc-replica-fetch-transport.ts); the whole-cluster simulation wires its simulated
 * network; unit tests call a leader's `ReplicaManager.handleReplicaFetch` in-process. The fetcher's logic (one
 * request in flight, backoff, per-partition retry times, the response deadline) is the same over each.
 *
 * Contract:
 * - `open` returns undefined when the leader cannot be reached at all now (its address is unknown); the fetcher
 *   backs off and asks again. Opening is cheap and never waits: a connection that cannot be made shows as a failed
 *   `fetch`.
 * - A session carries one request at a time (the fetcher never sends a second before the first settled). A session
 *   that breaks (stream error, end, closed) rejects its pending fetch and every later one; the fetcher then closes it
 *   and opens a new one after a backoff. `close` is idempotent and rejects a pending fetch.
 * - Requests and responses are the plain ReplicaFetchRequest/Response shapes; a transport may return fields unset
 *   where the protocol has defaults, so readers default them.
 */
import type { ReplicaFetchRequest, ReplicaFetchResponse } from './leader-requests.js'

export interface ReplicaFetchSession {
  fetch (request: ReplicaFetchRequest): Promise<ReplicaFetchResponse>
  close (): void
}

export interface ReplicaFetchTransport {
  /** A session to `leaderId`'s replication endpoint, or undefined when its address is not known. */
  open (leaderId: number): ReplicaFetchSession | undefined
}

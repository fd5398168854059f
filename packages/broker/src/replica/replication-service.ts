/**
 * The server side of ReplicationService.Fetch: a follower's bidi stream, one request in flight at a time, answered
 * by `ReplicaManager.handleReplicaFetch` in order.
 *
 * Owns: the per-stream queue. The protocol allows one request in flight; a follower that sends more than
 * `QUEUED_REQUESTS_MAX` unanswered requests breaks the protocol and its stream is cancelled with RESOURCE_EXHAUSTED
 * rather than queued without bound.
 */
import * as grpc from '@grpc/grpc-js'
import { replicationMethods, serviceDefinition, statusError, type gregor } from '@gregor/protocol'
import type { ReplicaManager } from './replica-manager.js'

const QUEUED_REQUESTS_MAX = 2

/** Registers ReplicationService on `server`, served by `replicaManager`. */
export function addReplicationService (server: grpc.Server, replicaManager: ReplicaManager): void {
  const fetch: grpc.handleBidiStreamingCall<gregor.cluster.ReplicaFetchRequest, gregor.cluster.ReplicaFetchResponse.$Properties> = (call) => {
    let chain: Promise<void> = Promise.resolve()
    let queued = 0
    let closed = false
    call.on('data', (request: gregor.cluster.ReplicaFetchRequest) => {
      if (closed) return
      if (queued >= QUEUED_REQUESTS_MAX) {
        closed = true
        call.emit('error', statusError(grpc.status.RESOURCE_EXHAUSTED, 'more than one replica fetch in flight'))
        call.end()
        return
      }
      queued += 1
      chain = chain.then(async () => {
        const response = await replicaManager.handleReplicaFetch(request)
        if (!closed && !call.cancelled) call.write(response)
      }).catch((error: unknown) => {
        closed = true
        call.destroy(statusError(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)))
      }).finally(() => { queued -= 1 })
    })
    call.on('end', () => {
      void chain.then(() => { if (!closed) { closed = true; call.end() } })
    })
    call.on('cancelled', () => { closed = true })
    call.on('error', () => { closed = true })
  }
  server.addService(serviceDefinition(replicationMethods), { fetch })
}

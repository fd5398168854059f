/**
 * ControllerService over gRPC: the transport around `Controller`, which holds every rule.
 *
 * Owns: the five handlers and the heartbeat stream's lifetime. A stream speaks for the broker incarnation named by
 * its heartbeats; when the stream ends, errors or is cancelled, that incarnation's connection is reported lost at
 * once (ARCHITECTURE §1, the broken-connection hint): a killed broker process is fenced after
 * `brokerConnectionLossGraceMs`, not after a whole session timeout. Domain failures travel in `error_code`; a gRPC
 * status here means a bug (INTERNAL) or a malformed message (grpc-js answers those itself). A broker's own requests
 * (RegisterBroker, heartbeats, AlterPartition) must name the caller's node (`peers`, broker-peers.ts), else they are
 * refused with PERMISSION_DENIED before the controller sees them.
 */
import * as grpc from '@grpc/grpc-js'
import { type Logger, type NodeId, nodeId, silentLogger } from '@gregor/common'
import { type BrokerPeers, controllerMethods, openBrokerPeers, serviceDefinition, statusError, type gregor } from '@gregor/protocol'
import type { BrokerHeartbeatResponse, Controller } from '../controller/controller.js'

type Unary<Request, Response> = (request: Request) => Promise<Response>

/** `claim`: a broker's own request, refused unless `claimOf` names the caller's node. */
function unary<Request, Response> (
  handle: Unary<Request, Response>, log: Logger, claim?: { peers: BrokerPeers; what: string; claimOf: (request: Request) => number },
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const refused = claim?.peers.claimCheck(call, claim.what)(claim.claimOf(call.request))
    if (refused !== undefined) { callback(refused); return }
    handle(call.request).then(
      (response) => { callback(null, response) },
      (error: unknown) => {
        log.error({ err: error }, 'controller request failed')
        callback(statusError(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)))
      },
    )
  }
}

function heartbeatHandler (
  controller: Controller,
  log: Logger,
  peers: BrokerPeers,
): grpc.handleBidiStreamingCall<gregor.cluster.BrokerHeartbeat, BrokerHeartbeatResponse> {
  return (call) => {
    let sender: { brokerId: NodeId; incarnationId: string } | undefined
    let closed = false
    const claim = peers.claimCheck(call, 'broker heartbeat')
    call.on('data', (heartbeat: gregor.cluster.BrokerHeartbeat) => {
      if (closed) return
      const refused = claim(heartbeat.brokerId)
      if (refused !== undefined) {
        closed = true
        call.emit('error', refused) // grpc-js ends the stream with this status (destroy would send none)
        return
      }
      sender = { brokerId: nodeId(heartbeat.brokerId), incarnationId: heartbeat.incarnationId }
      controller.heartbeat(heartbeat).then(
        (response) => { if (!closed) call.write(response) },
        (error: unknown) => {
          log.error({ err: error, brokerId: heartbeat.brokerId }, 'heartbeat failed')
          call.destroy(statusError(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)))
        },
      )
    })
    const lost = (): void => {
      if (closed) return
      closed = true
      if (sender !== undefined) controller.connectionLost(sender.brokerId, sender.incarnationId)
      if (!call.cancelled && call.writable) call.end()
    }
    call.on('end', lost)
    call.on('error', lost)
    call.on('cancelled', lost)
    call.on('close', lost)
  }
}

/** Registers ControllerService on `server`; every call goes to `controller`, active or not (it answers either way). */
export function addControllerService (server: grpc.Server, controller: Controller, logger: Logger = silentLogger, peers: BrokerPeers = openBrokerPeers): void {
  const log = logger.child({ component: 'controller' })
  const brokerId = (request: { brokerId: number }): number => request.brokerId
  server.addService(serviceDefinition(controllerMethods), {
    registerBroker: unary(async (request: gregor.cluster.RegisterBrokerRequest) => await controller.registerBroker(request), log,
      { peers, what: 'RegisterBroker', claimOf: brokerId }),
    heartbeat: heartbeatHandler(controller, log, peers),
    alterPartition: unary(async (request: gregor.cluster.AlterPartitionRequest) => await controller.alterPartition(request), log,
      { peers, what: 'AlterPartition', claimOf: brokerId }),
    createTopics: unary(async (request: gregor.cluster.CreateTopicsRequest) => await controller.createTopics(request), log),
    deleteTopics: unary(async (request: gregor.cluster.DeleteTopicsRequest) => await controller.deleteTopics(request), log),
    createPartitions: unary(async (request: gregor.cluster.CreatePartitionsRequest) => await controller.createPartitions(request), log),
    electLeaders: unary(async (request: gregor.cluster.ElectLeadersRequest) => await controller.electLeaders(request), log),
    alterTopicConfigs: unary(async (request: gregor.cluster.AlterTopicConfigsRequest) => await controller.alterTopicConfigs(request), log),
    alterUserScramCredentials: unary(async (request: gregor.cluster.AlterUserScramCredentialsRequest) => await controller.alterUserScramCredentials(request), log),
    createAcls: unary(async (request: gregor.cluster.CreateAclsRequest) => await controller.createAcls(request), log),
    deleteAcls: unary(async (request: gregor.cluster.DeleteAclsRequest) => await controller.deleteAcls(request), log),
  })
}

/**
 * SecurityService on one client listener (proto/security.proto): `Authenticate`, the SCRAM login of Gregor's client
 * (the exchange and the sessions are `GrpcAuthentication`'s).
 *
 * Authenticate is the one call a caller may make before it has a principal: it reads no session token, so a client
 * whose token expired can always log in again.
 */
import type * as grpc from '@grpc/grpc-js'
import { type gregor, securityMethods, serviceDefinition } from '@gregor/protocol'
import type { GrpcAuthentication } from './grpc-authentication.js'

export interface SecurityServiceDeps {
  /** Without SASL options it answers ILLEGAL_SASL_STATE (a PLAINTEXT or SSL listener). */
  readonly authentication: GrpcAuthentication
}

export function addSecurityService (server: grpc.Server, deps: SecurityServiceDeps): void {
  const handlers = {
    authenticate: (
      call: grpc.ServerUnaryCall<gregor.security.AuthenticateRequest, gregor.security.AuthenticateResponse.$Properties>,
      callback: grpc.sendUnaryData<gregor.security.AuthenticateResponse.$Properties>,
    ) => {
      callback(null, deps.authentication.authenticate(call.request, call.getPeer()))
    },
  }
  server.addService(serviceDefinition(securityMethods as never), handlers as unknown as grpc.UntypedServiceImplementation)
}

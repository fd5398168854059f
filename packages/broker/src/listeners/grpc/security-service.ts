/**
 * SecurityService on one client listener (proto/security.proto): `Authenticate`, the SCRAM login of Gregor's client
 * (the exchange and the sessions are `GrpcAuthentication`'s), and Kafka's ACL APIs.
 *
 * Authenticate is the one call a caller may make before it has a principal: it reads no session token, so a client
 * whose token expired can always log in again.
 *
 * ACLs, as Kafka's KafkaApis answers them: CreateAcls and DeleteAcls need ALTER on the cluster (else every entry
 * answers CLUSTER_AUTHORIZATION_FAILED) and are forwarded to the active controller; DescribeAcls needs DESCRIBE on
 * the cluster and is answered from this broker's image. Without an authorizer (ACLs off) all three answer
 * SECURITY_DISABLED, as Kafka does without `authorizer.class.name`.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, isGregorError } from '@gregor/common'
import { AclIndex } from '@gregor/metadata'
import { type gregor, securityMethods, serviceDefinition } from '@gregor/protocol'
import { describeAclsFromImage } from '../../controller/wire-acls.js'
import { type Authorizer, allowEverythingAuthorizer, authorizeCluster } from '../../security/authorizer.js'
import { requestPermissions } from '../../security/request-permissions.js'
import { type GrpcAuthentication, type IdentifyCall, anonymousCallers } from './grpc-authentication.js'
import { refusalFields } from './grpc-authorization.js'

export interface SecurityServiceDeps {
  /** Without SASL options it answers ILLEGAL_SASL_STATE (a PLAINTEXT or SSL listener). */
  readonly authentication: GrpcAuthentication
  /** Who each ACL call comes from; absent: User:ANONYMOUS. */
  readonly identify?: IdentifyCall
  /** The ACL APIs' broker side; absent (or its authorizer off): they answer SECURITY_DISABLED. */
  readonly acls?: AclDeps
}

export interface AclDeps {
  readonly authorizer: Authorizer
  /** The ACLs of this broker's image. */
  readonly acls: () => AclIndex
  /** Forwarded to the active controller. */
  readonly createAcls: (request: gregor.cluster.CreateAclsRequest) => Promise<gregor.cluster.CreateAclsResponse.$Properties>
  readonly deleteAcls: (request: gregor.cluster.DeleteAclsRequest) => Promise<gregor.cluster.DeleteAclsResponse.$Properties>
}

const aclsOff: AclDeps = {
  authorizer: allowEverythingAuthorizer,
  acls: () => new AclIndex(),
  createAcls: async () => ({ results: [] }),
  deleteAcls: async () => ({ results: [] }),
}

const securityDisabled = { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: 'no authorizer is configured on the broker (GREGOR_ACLS_ENABLED)' }

export function addSecurityService (server: grpc.Server, deps: SecurityServiceDeps): void {
  const aclDeps = deps.acls ?? aclsOff
  const { authorizer } = aclDeps
  const identify = deps.identify ?? anonymousCallers('')
  /** An ACL call: the caller identified, then `answer` (refusals as answers); a broker failure is UNAVAILABLE. */
  const aclCall = <Request, Response> (answer: (request: Request, caller: Exclude<ReturnType<IdentifyCall>, Error>) => Promise<Response> | Response) =>
    (call: grpc.ServerUnaryCall<Request, Response>, callback: grpc.sendUnaryData<Response>): void => {
      const caller = identify(call)
      if (caller instanceof Error) { callback(caller); return }
      Promise.resolve().then(() => answer(call.request, caller)).then((response) => { callback(null, response) }, (error: unknown) => {
        const code = isGregorError(error) && error.code === ErrorCode.INVALID_REQUEST ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE
        callback({ name: 'Error', message: error instanceof Error ? error.message : String(error), code, details: String(error) })
      })
    }
  const handlers = {
    authenticate: (
      call: grpc.ServerUnaryCall<gregor.security.AuthenticateRequest, gregor.security.AuthenticateResponse.$Properties>,
      callback: grpc.sendUnaryData<gregor.security.AuthenticateResponse.$Properties>,
    ) => {
      callback(null, deps.authentication.authenticate(call.request, call.getPeer()))
    },
    createAcls: aclCall(async (request: gregor.cluster.CreateAclsRequest, caller): Promise<gregor.cluster.CreateAclsResponse.$Properties> => {
      const operation = requestPermissions.createAcls.cluster
      if (!authorizer.enabled) return { results: request.creations.map(() => securityDisabled) }
      if (!authorizeCluster(authorizer, caller, operation)) return { results: request.creations.map(() => refusalFields('CLUSTER', operation)) }
      return await aclDeps.createAcls(request)
    }),
    describeAcls: aclCall((request: gregor.cluster.DescribeAclsRequest, caller): gregor.cluster.DescribeAclsResponse.$Properties => {
      const operation = requestPermissions.describeAcls.cluster
      if (!authorizer.enabled) return { ...securityDisabled, acls: [] }
      if (!authorizeCluster(authorizer, caller, operation)) return { ...refusalFields('CLUSTER', operation), acls: [] }
      return describeAclsFromImage(aclDeps.acls(), request.filter)
    }),
    deleteAcls: aclCall(async (request: gregor.cluster.DeleteAclsRequest, caller): Promise<gregor.cluster.DeleteAclsResponse.$Properties> => {
      const operation = requestPermissions.deleteAcls.cluster
      if (!authorizer.enabled) return { results: request.filters.map(() => ({ ...securityDisabled, deleted: [] })) }
      if (!authorizeCluster(authorizer, caller, operation)) return { results: request.filters.map(() => ({ ...refusalFields('CLUSTER', operation), deleted: [] })) }
      return await aclDeps.deleteAcls(request)
    }),
  }
  server.addService(serviceDefinition(securityMethods as never), handlers as unknown as grpc.UntypedServiceImplementation)
}

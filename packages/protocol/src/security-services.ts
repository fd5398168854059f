/**
 * gRPC method definitions of proto/security.proto: SecurityService on the CLIENT listener (SCRAM authentication of
 * Gregor's client, and the ACL APIs).
 */
import { grpcMethod } from './grpc-method.js'
import { wire } from './generated.js'

const s = wire.security
const c = wire.cluster
const unary = { requestStream: false, responseStream: false }
const service = '/gregor.security.SecurityService'

/** The call metadata key that carries a session token from `authenticate` on every later call to that broker. */
export const SESSION_TOKEN_METADATA_KEY = 'x-gregor-session'

export const securityMethods = {
  authenticate: grpcMethod({ path: `${service}/Authenticate`, ...unary, request: s.AuthenticateRequest, response: s.AuthenticateResponse }),
  createAcls: grpcMethod({ path: `${service}/CreateAcls`, ...unary, request: c.CreateAclsRequest, response: c.CreateAclsResponse }),
  describeAcls: grpcMethod({ path: `${service}/DescribeAcls`, ...unary, request: c.DescribeAclsRequest, response: c.DescribeAclsResponse }),
  deleteAcls: grpcMethod({ path: `${service}/DeleteAcls`, ...unary, request: c.DeleteAclsRequest, response: c.DeleteAclsResponse }),
} as const

/**
 * CreateAcls (key 30, versions 0-3): creates ACLs through the active controller; a result per creation, in order.
 *
 * Kafka's rules kept here: without an authorizer every creation answers SECURITY_DISABLED; a creation with a bad
 * field (an unknown or ANY code, a principal not `User:<name>`, a CLUSTER ACL not on the LITERAL `kafka-cluster`) is
 * INVALID_REQUEST alone; an ACL that exists is a success. v0 has no pattern type: LITERAL. The caller's ALTER on the
 * cluster is checked at the listener edge (listeners/kafka/authorization).
 */
import { ErrorCode } from '@gregor/common'
import { type CreateAclsRequest, type CreateAclsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { AclBinding } from '@gregor/metadata'
import type { KafkaAclApi } from '../kafka-acl-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { aclCodes } from './acl-codes.js'

export const securityDisabledMessage = 'no authorizer is configured on the broker (GREGOR_ACLS_ENABLED is off)'

export async function handleCreateAcls (api: KafkaAclApi, request: CreateAclsRequest, _context: KafkaRequestContext): Promise<CreateAclsResponse> {
  if (!api.enabled) {
    const disabled = { errorCode: kafkaErrorCode(ErrorCode.SECURITY_DISABLED), errorMessage: securityDisabledMessage }
    return { throttleTimeMs: 0, results: request.creations.map(() => disabled) }
  }
  const creations = request.creations.map((creation): AclBinding => ({
    resourceType: aclCodes.resourceTypeName(creation.resourceType) as AclBinding['resourceType'],
    resourceName: creation.resourceName,
    patternType: aclCodes.patternTypeName(creation.resourcePatternType) as AclBinding['patternType'],
    principal: creation.principal,
    host: creation.host,
    operation: aclCodes.operationName(creation.operation) as AclBinding['operation'],
    permission: aclCodes.permissionName(creation.permissionType) as AclBinding['permission'],
  }))
  const outcomes = await api.createAcls(creations)
  return {
    throttleTimeMs: 0,
    results: outcomes.map((outcome) => outcome === null
      ? { errorCode: KAFKA_NONE, errorMessage: null }
      : { errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message }),
  }
}

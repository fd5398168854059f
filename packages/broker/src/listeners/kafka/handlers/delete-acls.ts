/**
 * DeleteAcls (key 31, versions 0-3): deletes the ACLs matching each filter through the active controller; a result
 * per filter listing the ACLs it matched.
 *
 * Kafka's rules kept here: without an authorizer every filter answers SECURITY_DISABLED; a malformed filter is
 * INVALID_REQUEST alone; a filter that matches nothing succeeds with an empty list. The caller's ALTER on the cluster
 * is checked at the listener edge.
 */
import { ErrorCode } from '@gregor/common'
import { type DeleteAclsRequest, type DeleteAclsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaAclApi } from '../kafka-acl-api.js'
import { isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { aclCodesOf, aclFilterFromKafka } from './acl-filter.js'
import { securityDisabledMessage } from './create-acls.js'

export async function handleDeleteAcls (api: KafkaAclApi, request: DeleteAclsRequest, _context: KafkaRequestContext): Promise<DeleteAclsResponse> {
  if (!api.enabled) {
    const disabled = { errorCode: kafkaErrorCode(ErrorCode.SECURITY_DISABLED), errorMessage: securityDisabledMessage, matchingAcls: [] }
    return { throttleTimeMs: 0, filterResults: request.filters.map(() => disabled) }
  }
  const outcomes = await api.deleteAcls(request.filters.map(aclFilterFromKafka))
  return {
    throttleTimeMs: 0,
    filterResults: outcomes.map((outcome) => isAdminFailure(outcome)
      ? { errorCode: kafkaErrorCode(outcome.error), errorMessage: outcome.message, matchingAcls: [] }
      : {
          errorCode: KAFKA_NONE,
          errorMessage: null,
          matchingAcls: outcome.deleted.map((acl) => ({
            errorCode: KAFKA_NONE, errorMessage: null, resourceName: acl.resourceName, principal: acl.principal, host: acl.host, ...aclCodesOf(acl),
          })),
        }),
  }
}

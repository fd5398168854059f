/**
 * DescribeAcls (key 29, versions 0-3): the ACLs matching one filter, from this broker's image, grouped by resource
 * pattern (type, name, pattern type) as Kafka answers.
 *
 * Kafka's rules kept here: without an authorizer the answer is SECURITY_DISABLED; a malformed filter (an unknown code,
 * a bad principal) is INVALID_REQUEST; v0 has no pattern type filter: LITERAL. The caller's DESCRIBE on the cluster is
 * checked at the listener edge.
 */
import { ErrorCode } from '@gregor/common'
import { type DescribeAclsRequest, type DescribeAclsResource, type DescribeAclsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import { type KafkaAclApi } from '../kafka-acl-api.js'
import { isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { aclCodesOf, aclFilterFromKafka } from './acl-filter.js'
import { securityDisabledMessage } from './create-acls.js'

export function handleDescribeAcls (api: KafkaAclApi, request: DescribeAclsRequest, _context: KafkaRequestContext): DescribeAclsResponse {
  if (!api.enabled) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorCode(ErrorCode.SECURITY_DISABLED), errorMessage: securityDisabledMessage, resources: [] }
  }
  const acls = api.describeAcls(aclFilterFromKafka(request))
  if (isAdminFailure(acls)) return { throttleTimeMs: 0, errorCode: kafkaErrorCode(acls.error), errorMessage: acls.message, resources: [] }
  // `describeAcls` lists in pattern order, so one pass groups them.
  const resources: DescribeAclsResource[] = []
  let last: { key: string, resource: DescribeAclsResource } | undefined
  for (const acl of acls) {
    const codes = aclCodesOf(acl)
    const key = `${acl.resourceType}\n${acl.patternType}\n${acl.resourceName}`
    if (last?.key !== key) {
      last = { key, resource: { resourceType: codes.resourceType, resourceName: acl.resourceName, patternType: codes.patternType, acls: [] } }
      resources.push(last.resource)
    }
    ;(last.resource.acls as DescribeAclsResource['acls'][number][]).push({
      principal: acl.principal, host: acl.host, operation: codes.operation, permissionType: codes.permissionType,
    })
  }
  return { throttleTimeMs: 0, errorCode: KAFKA_NONE, errorMessage: null, resources }
}

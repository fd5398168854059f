/**
 * DescribeAcls' and DeleteAcls' filter fields (Kafka int8 codes, nullable strings) as @gregor/metadata's
 * `AclBindingFilter`, and an ACL as Kafka's codes. Unknown codes become `UNKNOWN` names, refused as INVALID_REQUEST.
 */
import type { AclBinding, AclBindingFilter } from '@gregor/metadata'
import { aclCodes } from './acl-codes.js'

export interface KafkaAclFilterFields {
  readonly resourceTypeFilter: number
  readonly resourceNameFilter: string | null
  readonly patternTypeFilter: number
  readonly principalFilter: string | null
  readonly hostFilter: string | null
  readonly operation: number
  readonly permissionType: number
}

export function aclFilterFromKafka (fields: KafkaAclFilterFields): AclBindingFilter {
  return {
    resourceType: aclCodes.resourceTypeName(fields.resourceTypeFilter) as AclBindingFilter['resourceType'],
    patternType: aclCodes.patternTypeName(fields.patternTypeFilter) as AclBindingFilter['patternType'],
    operation: aclCodes.operationName(fields.operation) as AclBindingFilter['operation'],
    permission: aclCodes.permissionName(fields.permissionType) as AclBindingFilter['permission'],
    ...(fields.resourceNameFilter === null ? {} : { resourceName: fields.resourceNameFilter }),
    ...(fields.principalFilter === null ? {} : { principal: fields.principalFilter }),
    ...(fields.hostFilter === null ? {} : { host: fields.hostFilter }),
  }
}

/** An ACL's enum fields as Kafka's codes. */
export function aclCodesOf (acl: AclBinding): { resourceType: number, patternType: number, operation: number, permissionType: number } {
  return {
    resourceType: aclCodes.resourceTypeCode(acl.resourceType), patternType: aclCodes.patternTypeCode(acl.patternType),
    operation: aclCodes.operationCode(acl.operation), permissionType: aclCodes.permissionCode(acl.permission),
  }
}

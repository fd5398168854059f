/**
 * Kafka's int8 codes of the ACL enums (`ResourceType`, `PatternType`, `AclOperation`, `AclPermissionType`) and the
 * names @gregor/metadata uses. A code Gregor has no name for (UNKNOWN, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER, the
 * token operations) reads as `UNKNOWN`, which the metadata checks refuse as INVALID_REQUEST for that item.
 */
const resourceTypes = ['UNKNOWN', 'ANY', 'TOPIC', 'GROUP', 'CLUSTER'] as const
const patternTypes = ['UNKNOWN', 'ANY', 'MATCH', 'LITERAL', 'PREFIXED'] as const
const operations = [
  'UNKNOWN', 'ANY', 'ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS', 'IDEMPOTENT_WRITE',
] as const
const permissions = ['UNKNOWN', 'ANY', 'DENY', 'ALLOW'] as const

const nameOf = (names: readonly string[], code: number): string => names[code] ?? 'UNKNOWN'
const codeOf = (names: readonly string[], name: string): number => Math.max(0, names.indexOf(name))

export const aclCodes = Object.freeze({
  resourceTypeName: (code: number): string => nameOf(resourceTypes, code),
  patternTypeName: (code: number): string => nameOf(patternTypes, code),
  operationName: (code: number): string => nameOf(operations, code),
  permissionName: (code: number): string => nameOf(permissions, code),
  resourceTypeCode: (name: string): number => codeOf(resourceTypes, name),
  patternTypeCode: (name: string): number => codeOf(patternTypes, name),
  operationCode: (name: string): number => codeOf(operations, name),
  permissionCode: (name: string): number => codeOf(permissions, name),
})

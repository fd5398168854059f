/**
 * ACLs between proto/cluster.proto (`AclBinding`, also the filter form; Create/Describe/DeleteAcls) and
 * @gregor/metadata's model. Used by the controller (CreateAcls, DeleteAcls), by the gRPC listener and by anything
 * else that speaks the wire form.
 *
 * Wire strings are passed through unchecked: the metadata decisions check every field (`readAclBinding`,
 * `readAclBindingFilter`) and answer INVALID_REQUEST per item. In a wire filter an empty string means "any" (Kafka's
 * null): an empty name, principal or host matches everything, an empty type, pattern, operation or permission is ANY.
 */
import { isGregorError } from '@gregor/common'
import {
  type AclBinding, type AclBindingFilter, type AclIndex, type AclOperation, type AclPatternType, type AclPermission,
  type AclResourceType, describeAcls, readAclBindingFilter,
} from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { errorFields } from './controller.js'

type WireBinding = gregor.cluster.IAclBinding
/** A filter travels as a binding whose empty fields match anything. */
type WireFilter = gregor.cluster.IAclBinding

/** A wire binding as the model's shape (unchecked strings: `decideCreateAcls` checks them). */
export function aclBindingFromWire (binding: WireBinding): AclBinding {
  return {
    resourceType: (binding.resourceType ?? '') as AclResourceType,
    resourceName: binding.resourceName ?? '',
    patternType: (binding.patternType ?? '') as AclPatternType,
    principal: binding.principal ?? '',
    host: binding.host ?? '',
    operation: (binding.operation ?? '') as AclOperation,
    permission: (binding.permission ?? '') as AclPermission,
  }
}

/** The wire form of an ACL (its id stays inside the cluster, as in Kafka). */
export function aclBindingToWire (acl: AclBinding): gregor.cluster.IAclBinding {
  return {
    resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType,
    principal: acl.principal, host: acl.host, operation: acl.operation, permission: acl.permission,
  }
}

const orUndefined = (text: string | null | undefined): string | undefined => text === null || text === undefined || text === '' ? undefined : text
const orAny = <T extends string>(text: string | null | undefined): T | 'ANY' => (orUndefined(text) ?? 'ANY') as T | 'ANY'

/** A wire filter as the model's (unchecked: `readAclBindingFilter` / `decideDeleteAcls` check it). */
export function aclFilterFromWire (filter: WireFilter | null | undefined): AclBindingFilter {
  const name = orUndefined(filter?.resourceName)
  const principal = orUndefined(filter?.principal)
  const host = orUndefined(filter?.host)
  return {
    resourceType: orAny<AclResourceType>(filter?.resourceType),
    patternType: orAny<AclPatternType | 'MATCH'>(filter?.patternType),
    operation: orAny<AclOperation>(filter?.operation),
    permission: orAny<AclPermission>(filter?.permission),
    ...(name === undefined ? {} : { resourceName: name }),
    ...(principal === undefined ? {} : { principal }),
    ...(host === undefined ? {} : { host }),
  }
}

/** DescribeAcls from this broker's image (no controller round trip, as Kafka answers from its local cache). */
export function describeAclsFromImage (acls: AclIndex, filter: WireFilter | null | undefined): gregor.cluster.DescribeAclsResponse.$Properties {
  try {
    const checked = readAclBindingFilter(aclFilterFromWire(filter), 'filter')
    return { errorCode: '', acls: describeAcls(acls, checked).map(aclBindingToWire) }
  } catch (error) {
    if (!isGregorError(error)) throw error
    return { ...errorFields(error), acls: [] }
  }
}

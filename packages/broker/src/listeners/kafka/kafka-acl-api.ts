/**
 * The ACL part of `KafkaBrokerApi`: Kafka's CreateAcls, DescribeAcls and DeleteAcls in domain terms (@gregor/metadata's
 * `AclBinding` and `AclBindingFilter`, whose fields the metadata checks validate), implemented by
 * `controller-acl-api.ts`.
 *
 * Contract: `enabled` is false when the broker runs without an authorizer (GREGOR_ACLS_ENABLED off): the handlers then
 * answer SECURITY_DISABLED without calling anything. Per-item failures come back as `AdminFailure` values, never as
 * rejections. Bindings and filters may carry names that are not valid (`UNKNOWN`): they fail as INVALID_REQUEST.
 */
import type { AclBinding, AclBindingFilter } from '@gregor/metadata'
import type { AdminFailure } from './kafka-admin-api.js'

export interface DeletedAcls {
  readonly deleted: readonly AclBinding[]
}

export interface KafkaAclApi {
  readonly enabled: boolean
  /** One outcome per creation, in order: null when the ACL exists (created now or before). */
  createAcls (creations: readonly AclBinding[]): Promise<readonly (AdminFailure | null)[]>
  /** The ACLs matching the filter, from this broker's image. */
  describeAcls (filter: AclBindingFilter): readonly AclBinding[] | AdminFailure
  /** One outcome per filter, in order: the ACLs it deleted. */
  deleteAcls (filters: readonly AclBindingFilter[]): Promise<readonly (DeletedAcls | AdminFailure)[]>
}

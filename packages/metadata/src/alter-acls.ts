/**
 * CreateAcls and DeleteAcls (Kafka's APIs 30 and 31, KRaft `AclControlManager`): the records that add and remove
 * ACLs, one AccessControlEntry record per new ACL, one RemoveAccessControlEntry per deleted one.
 *
 * Kafka's rules and codes. CreateAcls: a result per creation, in order; a binding with a bad field (an unknown or
 * ANY type, operation or permission, a principal not `User:<name>`, an empty name or host, a CLUSTER ACL not on
 * `kafka-cluster`) is INVALID_REQUEST and the other creations still happen; an ACL that already exists (same binding)
 * succeeds without a record, so CreateAcls is idempotent, and the same binding twice in one request makes one record.
 * DeleteAcls: a result per filter, in order, listing the ACLs it matched (Kafka's match-any filter, see
 * `AclBindingFilter`); a malformed filter is INVALID_REQUEST; an ACL matched by several filters is listed under each
 * (as Kafka's `AclControlManager.deleteAcls` does) and removed by one record; a filter that matches nothing succeeds
 * with an empty list.
 *
 * ACL ids are made by the caller (unique for all time, like topic ids), as this package has no randomness.
 * Pure and deterministic.
 */
import assert from 'node:assert/strict'
import { GregorError, isGregorError } from '@gregor/common'
import { type Acl, type AclBinding, type AclBindingFilter, aclBindingKey, aclMatchesFilter, readAclBinding, readAclBindingFilter } from './acl.js'
import type { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'

export interface CreateAclsInput {
  readonly creations: readonly AclBinding[]
  /** One fresh, distinct id per creation (unused ones are dropped). */
  readonly aclIds: readonly string[]
}

export interface CreateAclResult {
  /** Absent: the ACL exists once the records commit. */
  readonly error?: GregorError
}

export interface CreateAclsDecision {
  /** One result per creation, in order. */
  readonly results: readonly CreateAclResult[]
  readonly records: readonly MetadataRecord[]
}

export function decideCreateAcls (image: MetadataImage, input: CreateAclsInput): CreateAclsDecision {
  assert(input.aclIds.length >= input.creations.length, 'CreateAcls needs one fresh ACL id per creation')
  assert(new Set(input.aclIds).size === input.aclIds.length, 'CreateAcls ACL ids must be distinct')
  const acls = image.acls()
  const created = new Set<string>()
  const results: CreateAclResult[] = []
  const records: MetadataRecord[] = []
  input.creations.forEach((creation, i) => {
    try {
      const binding = readAclBinding(creation as unknown as Readonly<Record<string, unknown>>, `creations[${i}]`)
      const key = aclBindingKey(binding)
      if (acls.idOf(binding) === undefined && !created.has(key)) {
        const id = input.aclIds[i]
        assert(id !== undefined && acls.byId(id) === undefined, `CreateAcls given ACL id ${String(id)}, which is in use`)
        created.add(key)
        records.push({ type: 'AccessControlEntry', id, ...binding })
      }
      results.push({})
    } catch (error) {
      if (!isGregorError(error)) throw error
      results.push({ error })
    }
  })
  return { results, records }
}

export interface DeleteAclsResult {
  /** The ACLs this filter deleted, in `compareAcls` order (empty when it matched none, or on error). */
  readonly deleted: readonly Acl[]
  readonly error?: GregorError
}

export interface DeleteAclsDecision {
  /** One result per filter, in order. */
  readonly results: readonly DeleteAclsResult[]
  readonly records: readonly MetadataRecord[]
}

export function decideDeleteAcls (image: MetadataImage, filters: readonly AclBindingFilter[]): DeleteAclsDecision {
  const all = image.acls().all()
  const deletedIds = new Set<string>()
  const results: DeleteAclsResult[] = []
  const records: MetadataRecord[] = []
  filters.forEach((filter, i) => {
    try {
      readAclBindingFilter(filter, `filters[${i}]`)
    } catch (error) {
      if (!isGregorError(error)) throw error
      results.push({ deleted: [], error })
      return
    }
    const deleted = all.filter((acl) => aclMatchesFilter(filter, acl))
    for (const acl of deleted) {
      if (deletedIds.has(acl.id)) continue
      deletedIds.add(acl.id)
      records.push({ type: 'RemoveAccessControlEntry', id: acl.id })
    }
    results.push({ deleted })
  })
  return { results, records }
}

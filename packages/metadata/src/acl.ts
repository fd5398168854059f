/**
 * Access control lists: Kafka's authorization model (KIP-11 ACLs, KIP-290 prefixed patterns, KRaft's
 * `StandardAuthorizer`), as data and one pure decision.
 *
 * Owns: the vocabulary (principal, host, operation, permission, resource type, pattern type), `AclIndex` (the ACLs
 * grouped by resource pattern so a decision looks at the few patterns that can match one resource, never every ACL),
 * `authorize()`, and the binding filters of DescribeAcls and DeleteAcls (`aclMatchesFilter`).
 *
 * Kafka's rules, which `authorize` keeps:
 * - a super user is allowed everything, ACLs or not;
 * - the ACLs that can apply to resource R of type T are the LITERAL ones named R, the LITERAL ones named `*` (the
 *   wildcard resource) and the PREFIXED ones whose name is a prefix of R (so a prefixed ACL covers topics created
 *   later);
 * - of those, an ACL applies to a request when its principal is the caller's or `User:*`, its host is the caller's
 *   or `*`, and its operation covers the request's;
 * - any applying DENY denies (deny wins over allow, whatever the pattern); else any applying ALLOW allows;
 * - with no ACL at all on the resource (any principal, any operation) the answer is `allowEveryoneIfNoAclFound`
 *   (Kafka's `allow.everyone.if.no.acl.found`, false by default); a resource with ACLs that do not apply is denied;
 * - operations: ALL covers every operation; an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, an ALLOW
 *   of ALTER_CONFIGS also allows DESCRIBE_CONFIGS. Implication is for ALLOW only: a DENY of READ does not deny
 *   DESCRIBE, a DENY of ALL denies everything.
 *
 * Pure: no I/O, clock or randomness. Host matching is string equality: the listener passes the peer's address in
 * one canonical text form.
 */
import { malformed, readOneOf, readString } from './json-reader.js'
import { metadataLimits } from './metadata-record.js'

export const aclOperations = [
  'ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
] as const
export type AclOperation = (typeof aclOperations)[number]

export const aclPermissions = ['ALLOW', 'DENY'] as const
export type AclPermission = (typeof aclPermissions)[number]

export const aclResourceTypes = ['TOPIC', 'GROUP', 'CLUSTER'] as const
export type AclResourceType = (typeof aclResourceTypes)[number]

export const aclPatternTypes = ['LITERAL', 'PREFIXED'] as const
export type AclPatternType = (typeof aclPatternTypes)[number]

/** The resource name of a LITERAL pattern that matches every resource of its type (Kafka's `WILDCARD_RESOURCE`). */
export const WILDCARD_RESOURCE = '*'
/** The principal of an ACL that applies to every caller (Kafka's `WILDCARD_PRINCIPAL`). */
export const WILDCARD_PRINCIPAL = 'User:*'
/** The host of an ACL that applies from every address. */
export const WILDCARD_HOST = '*'
/** The one cluster resource's name (Kafka's `CLUSTER_NAME`). */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster'

/** Who may do what to which resources: one ACL as the metadata log holds it (Kafka's `StandardAcl` plus its id). */
export interface AclBinding {
  readonly resourceType: AclResourceType
  readonly resourceName: string
  readonly patternType: AclPatternType
  /** `User:<name>`, or `User:*` for everyone. */
  readonly principal: string
  /** An address in the listener's canonical text form, or `*`. */
  readonly host: string
  readonly operation: AclOperation
  readonly permission: AclPermission
}

export interface Acl extends AclBinding {
  /** Unique for all time (made by the caller, like topic ids), so a removal names exactly one ACL. */
  readonly id: string
}

export interface AuthorizationRequest {
  /** The authenticated principal, `User:<name>` (`User:ANONYMOUS` on an unauthenticated listener). */
  readonly principal: string
  readonly host: string
  readonly operation: Exclude<AclOperation, 'ALL'>
  readonly resourceType: AclResourceType
  readonly resourceName: string
}

export interface AuthorizerOptions {
  /** Principals allowed everything (Kafka's `super.users`). */
  readonly superUsers?: ReadonlySet<string>
  /** Kafka's `allow.everyone.if.no.acl.found`; false unless set. */
  readonly allowEveryoneIfNoAclFound?: boolean
}

export type AuthorizationReason = 'SUPER_USER' | 'ALLOW_ACL' | 'DENY_ACL' | 'NO_ACL_FOUND' | 'NO_MATCHING_ALLOW_ACL'

export interface AuthorizationDecision {
  readonly allowed: boolean
  readonly reason: AuthorizationReason
  /** The ACL that decided, for DENY_ACL and ALLOW_ACL (what an audit log names). */
  readonly acl?: Acl
}

const describeImpliers: ReadonlySet<AclOperation> = new Set(['DESCRIBE', 'READ', 'WRITE', 'DELETE', 'ALTER'])
const describeConfigsImpliers: ReadonlySet<AclOperation> = new Set(['DESCRIBE_CONFIGS', 'ALTER_CONFIGS'])

/** Whether an ALLOW of `aclOperation` allows `requested` (Kafka's implied operations). */
export function allowCovers (aclOperation: AclOperation, requested: AclOperation): boolean {
  if (aclOperation === 'ALL' || aclOperation === requested) return true
  if (requested === 'DESCRIBE') return describeImpliers.has(aclOperation)
  if (requested === 'DESCRIBE_CONFIGS') return describeConfigsImpliers.has(aclOperation)
  return false
}

/** Whether a DENY of `aclOperation` denies `requested`: no implication, ALL denies everything. */
export function denyCovers (aclOperation: AclOperation, requested: AclOperation): boolean {
  return aclOperation === 'ALL' || aclOperation === requested
}

/**
 * A pattern's key in the index. Resource names are printable (no control characters, checked by `aclProblem` and
 * the codec), so `\n` cannot occur in one.
 */
const patternKey = (resourceType: AclResourceType, patternType: AclPatternType, name: string): string =>
  `${resourceType}\n${patternType}\n${name}`

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Kafka's canonical order for listing ACLs: by resource pattern, then entry; the id breaks ties. */
export function compareAcls (a: Acl, b: Acl): number {
  return compareStrings(a.resourceType, b.resourceType) || compareStrings(a.patternType, b.patternType) ||
    compareStrings(a.resourceName, b.resourceName) || compareStrings(a.principal, b.principal) ||
    compareStrings(a.host, b.host) || compareStrings(a.operation, b.operation) ||
    compareStrings(a.permission, b.permission) || compareStrings(a.id, b.id)
}

/** The binding's identity without its id: two ACLs with the same key are the same ACL (CreateAcls is idempotent). */
export const aclBindingKey = (acl: AclBinding): string =>
  [acl.resourceType, acl.patternType, acl.resourceName, acl.principal, acl.host, acl.operation, acl.permission].join('\n')

/**
 * The ACLs by id and by resource pattern. Mutable (the image applies records to it) and cheap to clone (frozen ACLs
 * are shared). A decision looks up at most `2 + name length` patterns: the literal name, the wildcard, and each
 * prefix of the name.
 */
export class AclIndex {
  readonly #byId = new Map<string, Acl>()
  readonly #byPattern = new Map<string, Map<string, Acl>>()
  readonly #byBinding = new Map<string, string>()

  static of (acls: Iterable<Acl>): AclIndex {
    const index = new AclIndex()
    for (const acl of acls) index.add(acl)
    return index
  }

  get size (): number {
    return this.#byId.size
  }

  /** Adds an ACL; the caller guarantees its id and binding are new (the image asserts it). */
  add (acl: Acl): void {
    const frozen = Object.freeze({ ...acl })
    this.#byId.set(acl.id, frozen)
    this.#byBinding.set(aclBindingKey(acl), acl.id)
    const key = patternKey(acl.resourceType, acl.patternType, acl.resourceName)
    const bucket = this.#byPattern.get(key) ?? new Map<string, Acl>()
    bucket.set(acl.id, frozen)
    this.#byPattern.set(key, bucket)
  }

  /** Removes the ACL with `id` and returns it; undefined when there is none. */
  remove (id: string): Acl | undefined {
    const acl = this.#byId.get(id)
    if (acl === undefined) return undefined
    this.#byId.delete(id)
    this.#byBinding.delete(aclBindingKey(acl))
    const key = patternKey(acl.resourceType, acl.patternType, acl.resourceName)
    const bucket = this.#byPattern.get(key)
    bucket?.delete(id)
    if (bucket?.size === 0) this.#byPattern.delete(key)
    return acl
  }

  byId (id: string): Acl | undefined {
    return this.#byId.get(id)
  }

  /** The id of the ACL with this binding, if there is one. */
  idOf (binding: AclBinding): string | undefined {
    return this.#byBinding.get(aclBindingKey(binding))
  }

  /** Every ACL, in `compareAcls` order. */
  all (): readonly Acl[] {
    return [...this.#byId.values()].sort(compareAcls)
  }

  /** The ACLs whose pattern matches resource `name` of `resourceType`: literal, wildcard and prefixed, unordered. */
  * matching (resourceType: AclResourceType, name: string): Generator<Acl> {
    yield * this.#bucket(patternKey(resourceType, 'LITERAL', name))
    if (name !== WILDCARD_RESOURCE) yield * this.#bucket(patternKey(resourceType, 'LITERAL', WILDCARD_RESOURCE))
    for (let length = name.length; length >= 1; length--) {
      yield * this.#bucket(patternKey(resourceType, 'PREFIXED', name.slice(0, length)))
    }
  }

  #bucket (key: string): Iterable<Acl> {
    return this.#byPattern.get(key)?.values() ?? []
  }

  clone (): AclIndex {
    const copy = new AclIndex()
    for (const [id, acl] of this.#byId) copy.#byId.set(id, acl)
    for (const [key, id] of this.#byBinding) copy.#byBinding.set(key, id)
    for (const [key, bucket] of this.#byPattern) copy.#byPattern.set(key, new Map(bucket))
    return copy
  }
}

/** Kafka's decision for one request against the ACLs (StandardAuthorizer's rules; see the file comment). */
export function authorize (acls: AclIndex, request: AuthorizationRequest, options: AuthorizerOptions = {}): AuthorizationDecision {
  if (options.superUsers?.has(request.principal) === true) return { allowed: true, reason: 'SUPER_USER' }
  let resourceHasAcls = false
  let allow: Acl | undefined
  for (const acl of acls.matching(request.resourceType, request.resourceName)) {
    resourceHasAcls = true
    if (acl.principal !== request.principal && acl.principal !== WILDCARD_PRINCIPAL) continue
    if (acl.host !== request.host && acl.host !== WILDCARD_HOST) continue
    if (acl.permission === 'DENY') {
      if (denyCovers(acl.operation, request.operation)) return { allowed: false, reason: 'DENY_ACL', acl }
    } else if (allow === undefined && allowCovers(acl.operation, request.operation)) {
      allow = acl
    }
  }
  if (allow !== undefined) return { allowed: true, reason: 'ALLOW_ACL', acl: allow }
  if (!resourceHasAcls) {
    return { allowed: options.allowEveryoneIfNoAclFound === true, reason: 'NO_ACL_FOUND' }
  }
  return { allowed: false, reason: 'NO_MATCHING_ALLOW_ACL' }
}

// ---- filters (DescribeAcls, DeleteAcls) ------------------------------------------------------------------------

/**
 * Kafka's `AclBindingFilter`: each field narrows, `ANY` (or an absent name, principal or host) matches everything.
 * Pattern type `MATCH` takes `resourceName` as a resource: it matches the ACLs that would apply to that resource
 * (the literal name, the wildcard, and every prefix of it).
 */
export interface AclBindingFilter {
  readonly resourceType: AclResourceType | 'ANY'
  readonly patternType: AclPatternType | 'ANY' | 'MATCH'
  readonly resourceName?: string
  readonly principal?: string
  readonly host?: string
  readonly operation: AclOperation | 'ANY'
  readonly permission: AclPermission | 'ANY'
}

/** The filter that matches every ACL. */
export const anyAclFilter: AclBindingFilter = Object.freeze({
  resourceType: 'ANY', patternType: 'ANY', operation: 'ANY', permission: 'ANY',
})

function patternMatches (filter: AclBindingFilter, acl: AclBinding): boolean {
  if (filter.resourceType !== 'ANY' && filter.resourceType !== acl.resourceType) return false
  if (filter.patternType !== 'ANY' && filter.patternType !== 'MATCH' && filter.patternType !== acl.patternType) return false
  const name = filter.resourceName
  if (name === undefined) return true
  if (filter.patternType !== 'MATCH') return name === acl.resourceName
  return acl.patternType === 'LITERAL'
    ? name === acl.resourceName || acl.resourceName === WILDCARD_RESOURCE
    : name.startsWith(acl.resourceName)
}

export function aclMatchesFilter (filter: AclBindingFilter, acl: AclBinding): boolean {
  return patternMatches(filter, acl) &&
    (filter.principal === undefined || filter.principal === acl.principal) &&
    (filter.host === undefined || filter.host === acl.host) &&
    (filter.operation === 'ANY' || filter.operation === acl.operation) &&
    (filter.permission === 'ANY' || filter.permission === acl.permission)
}

/** DescribeAcls: the ACLs the filter matches, in `compareAcls` order. */
export function describeAcls (acls: AclIndex, filter: AclBindingFilter): readonly Acl[] {
  return acls.all().filter((acl) => aclMatchesFilter(filter, acl))
}

// ---- validation ------------------------------------------------------------------------------------------------

const printablePattern = /^[^\p{Cc}]+$/u
const hostPattern = /^[A-Za-z0-9.:_[\]%-]+$/
const principalPrefix = 'User:'

/** A principal `User:<name>`: printable, 1 to `userNameLengthMax` characters of name. */
export function readPrincipal (value: unknown, path: string): string {
  const text = readString(value, path, principalPrefix.length + metadataLimits.userNameLengthMax, printablePattern)
  if (!text.startsWith(principalPrefix) || text.length === principalPrefix.length) {
    throw malformed(path, `must be ${principalPrefix}<name>`)
  }
  return text
}

export function readAclHost (value: unknown, path: string): string {
  if (value === WILDCARD_HOST) return WILDCARD_HOST
  return readString(value, path, metadataLimits.hostLengthMax, hostPattern)
}

/** Checks every field of a binding as the codec does, plus the cluster's name; throws INVALID_REQUEST naming the field. */
export function readAclBinding (object: Readonly<Record<string, unknown>>, path: string): AclBinding {
  const resourceType = readOneOf(object.resourceType, `${path}.resourceType`, aclResourceTypes)
  const patternType = readOneOf(object.patternType, `${path}.patternType`, aclPatternTypes)
  const resourceName = readString(object.resourceName, `${path}.resourceName`, metadataLimits.aclResourceNameLengthMax, printablePattern)
  if (resourceType === 'CLUSTER' && (patternType !== 'LITERAL' || resourceName !== CLUSTER_RESOURCE_NAME)) {
    throw malformed(`${path}.resourceName`, `of a CLUSTER ACL must be the LITERAL ${CLUSTER_RESOURCE_NAME}`)
  }
  return {
    resourceType,
    resourceName,
    patternType,
    principal: readPrincipal(object.principal, `${path}.principal`),
    host: readAclHost(object.host, `${path}.host`),
    operation: readOneOf(object.operation, `${path}.operation`, aclOperations),
    permission: readOneOf(object.permission, `${path}.permission`, aclPermissions),
  }
}

/** Checks a DescribeAcls/DeleteAcls filter; throws INVALID_REQUEST naming the field. */
export function readAclBindingFilter (filter: AclBindingFilter, path: string): AclBindingFilter {
  readOneOf(filter.resourceType, `${path}.resourceType`, [...aclResourceTypes, 'ANY'])
  readOneOf(filter.patternType, `${path}.patternType`, [...aclPatternTypes, 'ANY', 'MATCH'])
  readOneOf(filter.operation, `${path}.operation`, [...aclOperations, 'ANY'])
  readOneOf(filter.permission, `${path}.permission`, [...aclPermissions, 'ANY'])
  if (filter.resourceName !== undefined) {
    readString(filter.resourceName, `${path}.resourceName`, metadataLimits.aclResourceNameLengthMax, printablePattern)
  }
  if (filter.principal !== undefined) readPrincipal(filter.principal, `${path}.principal`)
  if (filter.host !== undefined) readAclHost(filter.host, `${path}.host`)
  return filter
}

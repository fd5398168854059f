/**
 * The broker's authorizer: may this caller do this operation to this resource? Kafka's `Authorizer` interface
 * (`authorize`, `authorizeByResourceType`) over the ACLs of the broker's current metadata image, with the broker's
 * settings (`GREGOR_ACLS_ENABLED`, `GREGOR_SUPER_USERS`, `GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND`).
 *
 * Shared by both client listeners (Kafka and gRPC); stable API:
 * - `createAuthorizer({ config, acls, logger, metrics? })` → `Authorizer`; `allowEverythingAuthorizer` for tests and
 *   for listeners built without one.
 * - `authorizer.enabled`: false when ACLs are off (then every answer is "allowed", at the cost of one branch, and
 *   the ACL admin APIs answer SECURITY_DISABLED).
 * - `authorizer.authorize(caller, operation, resourceType, resourceName, { logIfDenied })` → boolean.
 * - `authorizer.authorizeByResourceType(caller, operation, resourceType)` → boolean: allowed on at least one resource
 *   of the type (KIP-679: InitProducerId needs IDEMPOTENT_WRITE on the cluster or WRITE on any topic).
 * - `authorizer.filter(caller, operation, resourceType, items, nameOf)`: the items the caller may operate on, denials
 *   neither logged nor counted (Kafka's `logIfDenied = false` for listings: Metadata of all topics, ListGroups).
 * `Caller` is who asks: the authenticated principal (`User:<name>`, `User:ANONYMOUS` without authentication), the
 * peer's address in canonical text form (`canonicalHost`) and the listener's name (a metrics label only).
 *
 * Invariants: decisions read the image of the moment (`acls()` is called per decision), so an ACL created or removed
 * takes effect on the next request once this broker applied its record. Every denial that is logged is also
 * counted (`gregor_authorization_denied_total{listener,operation,resource_type}`) and logged at info with the
 * principal, host, operation, resource and reason: no secret exists in any of them.
 */
import { isIPv6 } from 'node:net'
import type { Logger } from '@gregor/common'
import {
  type AclIndex, type AclOperation, type AclResourceType, CLUSTER_RESOURCE_NAME, WILDCARD_HOST, WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE, allowCovers, authorize, denyCovers,
} from '@gregor/metadata'
import type { AuthorizationConfig } from '../broker-config.js'

/** An operation a request can need (ALL is only ever granted, never asked for). */
export type Operation = Exclude<AclOperation, 'ALL'>

/** Who is asking. */
export interface Caller {
  /** `User:<name>`; `User:ANONYMOUS` on a listener without authentication. */
  readonly principal: string
  /** The peer's address as `canonicalHost` writes it (what ACL hosts are compared with). */
  readonly host: string
  /** The listener the request came in on (for the denial metric and log). */
  readonly listener: string
}

/** Kafka's principal for a client that did not authenticate. */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS'

/**
 * One text form per address, so an ACL's host compares by string equality: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what
 * a dual-stack socket reports) becomes the IPv4 address, IPv6 is lower-case without a zone; anything else as is.
 */
export function canonicalHost (address: string | undefined): string {
  if (address === undefined || address === '') return ''
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped !== null) return mapped[1] as string
  if (isIPv6(address.split('%')[0] ?? '')) return (address.split('%')[0] as string).toLowerCase()
  return address
}

export interface AuthorizationMetrics {
  /** A request (or one resource of it) was refused. */
  denied (listener: string, operation: Operation, resourceType: AclResourceType): void
}

export interface AuthorizeOptions {
  /** Log and count a denial (default true); false for listings that silently filter (Kafka's `logIfDenied`). */
  readonly logIfDenied?: boolean
}

export interface Authorizer {
  readonly enabled: boolean
  authorize (caller: Caller, operation: Operation, resourceType: AclResourceType, resourceName: string, options?: AuthorizeOptions): boolean
  /** Allowed `operation` on at least one resource of `resourceType` (Kafka's `authorizeByResourceType`, KIP-679). */
  authorizeByResourceType (caller: Caller, operation: Operation, resourceType: AclResourceType): boolean
  /** The items whose resource (named by `nameOf`) the caller may `operation`; denials are not logged. */
  filter<T> (caller: Caller, operation: Operation, resourceType: AclResourceType, items: Iterable<T>, nameOf: (item: T) => string): T[]
}

export interface AuthorizerDeps {
  readonly config: AuthorizationConfig
  /** The ACLs of the current metadata image (read per decision). */
  readonly acls: () => AclIndex
  readonly logger: Logger
  readonly metrics?: AuthorizationMetrics
}

/** ACLs off: everything is allowed (the default, as before ACLs existed). */
export const allowEverythingAuthorizer: Authorizer = Object.freeze({
  enabled: false,
  authorize: () => true,
  authorizeByResourceType: () => true,
  filter: <T>(_caller: Caller, _operation: Operation, _resourceType: AclResourceType, items: Iterable<T>): T[] => [...items],
})

export function createAuthorizer (deps: AuthorizerDeps): Authorizer {
  return deps.config.aclsEnabled ? new AclAuthorizer(deps) : allowEverythingAuthorizer
}

class AclAuthorizer implements Authorizer {
  readonly enabled = true
  readonly #deps: AuthorizerDeps
  readonly #log: Logger
  readonly #options: { readonly superUsers: ReadonlySet<string>; readonly allowEveryoneIfNoAclFound: boolean }

  constructor (deps: AuthorizerDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'authorizer' })
    this.#options = Object.freeze({
      superUsers: new Set(deps.config.superUsers), allowEveryoneIfNoAclFound: deps.config.allowEveryoneIfNoAclFound,
    })
  }

  authorize (caller: Caller, operation: Operation, resourceType: AclResourceType, resourceName: string, options: AuthorizeOptions = {}): boolean {
    const decision = authorize(this.#deps.acls(), {
      principal: caller.principal, host: caller.host, operation, resourceType, resourceName,
    }, this.#options)
    if (!decision.allowed && options.logIfDenied !== false) {
      this.#denied(caller, operation, resourceType, resourceName, decision.reason, decision.acl?.id)
    }
    return decision.allowed
  }

  authorizeByResourceType (caller: Caller, operation: Operation, resourceType: AclResourceType): boolean {
    if (this.#options.superUsers.has(caller.principal)) return true
    const allowed = allowedOnSomeResource(this.#deps.acls(), caller, operation, resourceType, this.#options.allowEveryoneIfNoAclFound)
    if (!allowed) this.#denied(caller, operation, resourceType, WILDCARD_RESOURCE, 'NO_MATCHING_ALLOW_ACL', undefined)
    return allowed
  }

  filter<T> (caller: Caller, operation: Operation, resourceType: AclResourceType, items: Iterable<T>, nameOf: (item: T) => string): T[] {
    const allowed: T[] = []
    for (const item of items) {
      if (this.authorize(caller, operation, resourceType, nameOf(item), { logIfDenied: false })) allowed.push(item)
    }
    return allowed
  }

  #denied (caller: Caller, operation: Operation, resourceType: AclResourceType, resourceName: string, reason: string, aclId: string | undefined): void {
    this.#deps.metrics?.denied(caller.listener, operation, resourceType)
    this.#log.info({
      listener: caller.listener, principal: caller.principal, host: caller.host, operation, resourceType, resourceName, reason,
      ...(aclId === undefined ? {} : { aclId }),
    }, 'authorization denied')
  }
}

/**
 * Kafka's `authorizeByResourceType`: allowed when some ALLOW ACL of the type applies to the caller and operation and
 * no applying DENY covers its whole pattern (a DENY on `*`, on the same literal name, or on a prefix of the ALLOW's
 * name). With no ACL of the type at all, `allowEveryoneIfNoAclFound` decides. Reads every ACL: it serves rare
 * requests (InitProducerId), never a per-record path.
 */
export function allowedOnSomeResource (
  acls: AclIndex, caller: Caller, operation: Operation, resourceType: AclResourceType, allowEveryoneIfNoAclFound: boolean,
): boolean {
  const denyLiteral = new Set<string>()
  const denyPrefixes: string[] = []
  const allows: { readonly name: string; readonly prefixed: boolean }[] = []
  let anyAcl = false
  for (const acl of acls.all()) {
    if (acl.resourceType !== resourceType) continue
    anyAcl = true
    if (acl.principal !== caller.principal && acl.principal !== WILDCARD_PRINCIPAL) continue
    if (acl.host !== caller.host && acl.host !== WILDCARD_HOST) continue
    if (acl.permission === 'DENY') {
      if (!denyCovers(acl.operation, operation)) continue
      if (acl.patternType === 'LITERAL') denyLiteral.add(acl.resourceName)
      else denyPrefixes.push(acl.resourceName)
    } else if (allowCovers(acl.operation, operation)) {
      allows.push({ name: acl.resourceName, prefixed: acl.patternType === 'PREFIXED' })
    }
  }
  if (!anyAcl) return allowEveryoneIfNoAclFound
  if (denyLiteral.has(WILDCARD_RESOURCE)) return false
  const deniedByPrefix = (name: string): boolean => denyPrefixes.some((prefix) => name.startsWith(prefix))
  return allows.some(({ name, prefixed }) => {
    if (name === WILDCARD_RESOURCE && !prefixed) return true
    if (deniedByPrefix(name)) return false
    return prefixed || !denyLiteral.has(name)
  })
}

/** `authorize` on the one cluster resource. */
export function authorizeCluster (authorizer: Authorizer, caller: Caller, operation: Operation, options?: AuthorizeOptions): boolean {
  return authorizer.authorize(caller, operation, 'CLUSTER', CLUSTER_RESOURCE_NAME, options)
}

import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  type Acl, type AclBinding, type AclBindingFilter, AclIndex, type AclOperation, type AuthorizationRequest, type AuthorizerOptions,
  WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE, aclMatchesFilter, aclOperations, allowCovers, anyAclFilter, authorize,
  denyCovers, describeAcls,
} from './acl.js'

let nextId = 0
function acl (fields: Partial<AclBinding> = {}): Acl {
  nextId++
  return {
    id: `acl-${nextId}`,
    resourceType: 'TOPIC',
    resourceName: 'orders',
    patternType: 'LITERAL',
    principal: 'User:alice',
    host: '*',
    operation: 'READ',
    permission: 'ALLOW',
    ...fields,
  }
}

function request (fields: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return { principal: 'User:alice', host: '10.0.0.1', operation: 'READ', resourceType: 'TOPIC', resourceName: 'orders', ...fields }
}

const allowed = (acls: readonly Acl[], req: Partial<AuthorizationRequest> = {}, options?: AuthorizerOptions): boolean =>
  authorize(AclIndex.of(acls), request(req), options).allowed

describe('authorize: Kafka\'s rules', () => {
  test('a matching ALLOW allows, and names the ACL', () => {
    const grant = acl()
    expect(authorize(AclIndex.of([grant]), request())).toEqual({ allowed: true, reason: 'ALLOW_ACL', acl: grant })
  })

  test('DENY wins over ALLOW, whichever pattern either is on', () => {
    const deny = acl({ permission: 'DENY', patternType: 'PREFIXED', resourceName: 'ord' })
    const decision = authorize(AclIndex.of([acl(), acl({ operation: 'ALL' }), deny]), request())
    expect(decision).toEqual({ allowed: false, reason: 'DENY_ACL', acl: deny })
    expect(allowed([acl(), acl({ permission: 'DENY', resourceName: WILDCARD_RESOURCE, principal: WILDCARD_PRINCIPAL })])).toBe(false)
  })

  test('no ACL on the resource: denied unless allow.everyone.if.no.acl.found', () => {
    expect(authorize(AclIndex.of([]), request())).toEqual({ allowed: false, reason: 'NO_ACL_FOUND' })
    expect(allowed([acl({ resourceName: 'payments' })])).toBe(false)
    expect(allowed([], {}, { allowEveryoneIfNoAclFound: true })).toBe(true)
    // An ACL on the resource for someone else means the resource has ACLs: the default no longer applies.
    const others = [acl({ principal: 'User:bob' })]
    expect(authorize(AclIndex.of(others), request(), { allowEveryoneIfNoAclFound: true }))
      .toEqual({ allowed: false, reason: 'NO_MATCHING_ALLOW_ACL' })
  })

  test('super users are allowed everything, even against a DENY', () => {
    const superUsers = new Set(['User:admin'])
    expect(authorize(AclIndex.of([acl({ principal: WILDCARD_PRINCIPAL, operation: 'ALL', permission: 'DENY' })]),
      request({ principal: 'User:admin', operation: 'DELETE' }), { superUsers })).toEqual({ allowed: true, reason: 'SUPER_USER' })
    expect(allowed([], { principal: 'User:alice' }, { superUsers })).toBe(false)
  })

  test('a PREFIXED ACL covers every name with the prefix, including topics created later; not others', () => {
    const acls = [acl({ patternType: 'PREFIXED', resourceName: 'orders.', operation: 'WRITE' })]
    for (const name of ['orders.', 'orders.eu', 'orders.eu.2026']) expect(allowed(acls, { resourceName: name, operation: 'WRITE' })).toBe(true)
    for (const name of ['orders', 'order', 'payments.orders.']) expect(allowed(acls, { resourceName: name, operation: 'WRITE' })).toBe(false)
  })

  test('a LITERAL ACL is that name only; the * literal is every name of its type', () => {
    expect(allowed([acl()], { resourceName: 'orders2' })).toBe(false)
    const wildcard = [acl({ resourceName: WILDCARD_RESOURCE })]
    expect(allowed(wildcard, { resourceName: 'anything' })).toBe(true)
    expect(allowed(wildcard, { resourceType: 'GROUP', resourceName: 'anything' })).toBe(false)
    // A PREFIXED `*` is the prefix "*", not a wildcard.
    expect(allowed([acl({ patternType: 'PREFIXED', resourceName: '*' })], { resourceName: 'anything' })).toBe(false)
  })

  test('resource types are separate: a TOPIC ACL says nothing about the GROUP of the same name', () => {
    expect(allowed([acl({ resourceName: 'g' })], { resourceType: 'GROUP', resourceName: 'g' })).toBe(false)
    expect(allowed([acl({ resourceType: 'GROUP', resourceName: 'g' })], { resourceType: 'GROUP', resourceName: 'g' })).toBe(true)
  })

  test('principals: exact or User:*', () => {
    expect(allowed([acl({ principal: 'User:bob' })])).toBe(false)
    expect(allowed([acl({ principal: WILDCARD_PRINCIPAL })])).toBe(true)
    // Principal names are compared exactly: no case folding, no prefix.
    expect(allowed([acl({ principal: 'User:Alice' })])).toBe(false)
    expect(allowed([acl({ principal: 'User:alic' })])).toBe(false)
  })

  test('hosts: exact or *', () => {
    expect(allowed([acl({ host: '10.0.0.1' })])).toBe(true)
    expect(allowed([acl({ host: '10.0.0.2' })])).toBe(false)
    expect(allowed([acl({ host: WILDCARD_HOST })])).toBe(true)
    expect(allowed([acl({ host: '10.0.0.2', permission: 'DENY' }), acl()])).toBe(true)
    expect(allowed([acl({ host: '10.0.0.1', permission: 'DENY' }), acl()])).toBe(false)
  })

  test('implied operations: READ, WRITE, DELETE, ALTER allow DESCRIBE; ALTER_CONFIGS allows DESCRIBE_CONFIGS; ALL allows all', () => {
    for (const operation of ['READ', 'WRITE', 'DELETE', 'ALTER', 'DESCRIBE', 'ALL'] as const) {
      expect(allowed([acl({ operation })], { operation: 'DESCRIBE' })).toBe(true)
    }
    for (const operation of ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE'] as const) {
      expect(allowed([acl({ operation })], { operation: 'DESCRIBE' })).toBe(false)
    }
    expect(allowed([acl({ operation: 'ALTER_CONFIGS' })], { operation: 'DESCRIBE_CONFIGS' })).toBe(true)
    expect(allowed([acl({ operation: 'DESCRIBE_CONFIGS' })], { operation: 'ALTER_CONFIGS' })).toBe(false)
    // Implication goes one way: DESCRIBE does not allow READ, WRITE does not allow READ.
    expect(allowed([acl({ operation: 'DESCRIBE' })], { operation: 'READ' })).toBe(false)
    expect(allowed([acl({ operation: 'WRITE' })], { operation: 'READ' })).toBe(false)
    for (const operation of aclOperations.filter((op) => op !== 'ALL')) {
      expect(allowed([acl({ operation: 'ALL' })], { operation })).toBe(true)
    }
  })

  test('a DENY implies nothing: DENY READ leaves DESCRIBE to an ALLOW; DENY ALL denies everything', () => {
    expect(allowed([acl({ operation: 'READ', permission: 'DENY' }), acl({ operation: 'DESCRIBE' })], { operation: 'DESCRIBE' })).toBe(true)
    expect(allowed([acl({ operation: 'ALL', permission: 'DENY' }), acl({ operation: 'DESCRIBE' })], { operation: 'DESCRIBE' })).toBe(false)
    expect(denyCovers('READ', 'DESCRIBE')).toBe(false)
    expect(allowCovers('READ', 'DESCRIBE')).toBe(true)
  })

  test('the CLUSTER resource: CREATE on kafka-cluster', () => {
    const acls = [acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'CREATE' })]
    expect(allowed(acls, { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'CREATE' })).toBe(true)
    expect(allowed(acls, { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'ALTER' })).toBe(false)
  })

  test('removing an ACL takes effect on the next decision; a clone does not see later changes', () => {
    const grant = acl()
    const index = AclIndex.of([grant])
    const before = index.clone()
    expect(index.remove(grant.id)).toEqual(grant)
    expect(index.remove(grant.id)).toBeUndefined()
    expect(authorize(index, request()).allowed).toBe(false)
    expect(authorize(before, request()).allowed).toBe(true)
    expect(index.size).toBe(0)
    expect(index.idOf(grant)).toBeUndefined()
  })
})

describe('filters (DescribeAcls, DeleteAcls)', () => {
  const acls = [
    acl({ resourceName: 'orders' }),
    acl({ resourceName: WILDCARD_RESOURCE }),
    acl({ patternType: 'PREFIXED', resourceName: 'ord' }),
    acl({ patternType: 'PREFIXED', resourceName: 'pay' }),
    acl({ resourceType: 'GROUP', resourceName: 'orders', principal: 'User:bob', permission: 'DENY', operation: 'ALL' }),
  ]
  const ids = (filter: Partial<AclBindingFilter>): string[] =>
    describeAcls(AclIndex.of(acls), { ...anyAclFilter, ...filter }).map((found) => found.id).sort()
  const [literal, wildcard, prefixed, otherPrefix, group] = acls.map((found) => found.id)

  test('ANY and absent fields match everything', () => {
    expect(ids({})).toEqual([...acls.map((found) => found.id)].sort())
  })

  test('a named LITERAL or PREFIXED filter matches that exact pattern only', () => {
    expect(ids({ patternType: 'LITERAL', resourceName: 'orders' })).toEqual([literal, group].sort())
    expect(ids({ patternType: 'LITERAL', resourceName: '*' })).toEqual([wildcard])
    expect(ids({ patternType: 'PREFIXED', resourceName: 'ord' })).toEqual([prefixed])
    expect(ids({ patternType: 'ANY', resourceName: 'ord' })).toEqual([prefixed])
  })

  test('MATCH finds every ACL that applies to the named resource', () => {
    expect(ids({ resourceType: 'TOPIC', patternType: 'MATCH', resourceName: 'orders' })).toEqual([literal, wildcard, prefixed].sort())
    expect(ids({ resourceType: 'TOPIC', patternType: 'MATCH', resourceName: 'payments' })).toEqual([wildcard, otherPrefix].sort())
  })

  test('principal, host, operation and permission narrow', () => {
    expect(ids({ principal: 'User:bob' })).toEqual([group])
    expect(ids({ permission: 'DENY' })).toEqual([group])
    expect(ids({ operation: 'READ', resourceType: 'GROUP' })).toEqual([])
    expect(ids({ host: '10.0.0.1' })).toEqual([])
  })
})

// ---- properties ------------------------------------------------------------------------------------------------

const names = ['o', 'or', 'orders', 'orders.eu', 'p', 'pay', '*']
const principals = ['User:alice', 'User:bob', WILDCARD_PRINCIPAL]
const hosts = ['10.0.0.1', '10.0.0.2', WILDCARD_HOST]
const requestOperations = aclOperations.filter((op): op is Exclude<AclOperation, 'ALL'> => op !== 'ALL')

const aclArb: fc.Arbitrary<AclBinding> = fc.record({
  resourceType: fc.constantFrom('TOPIC' as const, 'GROUP' as const),
  resourceName: fc.constantFrom(...names),
  patternType: fc.constantFrom('LITERAL' as const, 'PREFIXED' as const),
  principal: fc.constantFrom(...principals),
  host: fc.constantFrom(...hosts),
  operation: fc.constantFrom(...aclOperations),
  permission: fc.constantFrom('ALLOW' as const, 'DENY' as const),
})

const requestArb: fc.Arbitrary<AuthorizationRequest> = fc.record({
  principal: fc.constantFrom('User:alice', 'User:bob', 'User:carol'),
  host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
  operation: fc.constantFrom(...requestOperations),
  resourceType: fc.constantFrom('TOPIC' as const, 'GROUP' as const),
  resourceName: fc.constantFrom('o', 'orders', 'orders.eu', 'orders.eu.1', 'pay', 'payments', 'x'),
})

const withIds = (bindings: readonly AclBinding[]): Acl[] => bindings.map((binding, i) => ({ ...binding, id: `id-${i}` }))

/** The rules read straight off Kafka's documentation, by scanning every ACL: what the index must agree with. */
function reference (acls: readonly Acl[], req: AuthorizationRequest, options: AuthorizerOptions): boolean {
  if (options.superUsers?.has(req.principal) === true) return true
  const onResource = acls.filter((a) => a.resourceType === req.resourceType && (a.patternType === 'LITERAL'
    ? a.resourceName === req.resourceName || a.resourceName === '*'
    : req.resourceName.startsWith(a.resourceName)))
  if (onResource.length === 0) return options.allowEveryoneIfNoAclFound === true
  const applying = onResource.filter((a) => (a.principal === req.principal || a.principal === 'User:*') &&
    (a.host === req.host || a.host === '*'))
  const implied: Record<string, readonly string[]> = { DESCRIBE: ['READ', 'WRITE', 'DELETE', 'ALTER'], DESCRIBE_CONFIGS: ['ALTER_CONFIGS'] }
  if (applying.some((a) => a.permission === 'DENY' && (a.operation === 'ALL' || a.operation === req.operation))) return false
  return applying.some((a) => a.permission === 'ALLOW' &&
    (a.operation === 'ALL' || a.operation === req.operation || (implied[req.operation] ?? []).includes(a.operation)))
}

describe('authorize: properties', () => {
  const optionsArb: fc.Arbitrary<AuthorizerOptions> = fc.record({
    allowEveryoneIfNoAclFound: fc.boolean(),
    superUsers: fc.constantFrom(new Set<string>(), new Set(['User:bob'])),
  })

  test('the indexed decision is the full scan\'s, for any ACLs and request', () => {
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 25 }), requestArb, optionsArb, (bindings, req, options) => {
      const acls = withIds(bindings)
      expect(authorize(AclIndex.of(acls), req, options).allowed).toBe(reference(acls, req, options))
    }), { numRuns: 2000 })
  })

  test('deny beats allow: a DENY that applies to the request denies it, whatever else is there', () => {
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 20 }), requestArb, fc.constantFrom('LITERAL', 'WILDCARD', 'PREFIXED'), fc.boolean(),
      (bindings, req, pattern, all) => {
        const deny: AclBinding = {
          resourceType: req.resourceType,
          patternType: pattern === 'PREFIXED' ? 'PREFIXED' : 'LITERAL',
          resourceName: pattern === 'WILDCARD' ? '*' : pattern === 'PREFIXED' ? req.resourceName.slice(0, 1) : req.resourceName,
          principal: req.principal,
          host: req.host,
          operation: all ? 'ALL' : req.operation,
          permission: 'DENY',
        }
        const allowAll: AclBinding = { ...deny, patternType: 'LITERAL', resourceName: req.resourceName, operation: 'ALL', permission: 'ALLOW' }
        const decision = authorize(AclIndex.of(withIds([...bindings, allowAll, deny])), req, { allowEveryoneIfNoAclFound: true })
        expect(decision.allowed).toBe(false)
        expect(decision.reason).toBe('DENY_ACL')
      }))
  })

  test('a prefixed ALLOW covers any name with the prefix that nothing denies', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 10 }).filter((p) => !/\p{Cc}/u.test(p)), fc.string({ maxLength: 10 }),
      fc.constantFrom(...requestOperations), (prefix, rest, operation) => {
        const grant = withIds([{ resourceType: 'TOPIC', patternType: 'PREFIXED', resourceName: prefix, principal: 'User:alice', host: '*', operation, permission: 'ALLOW' }])
        expect(authorize(AclIndex.of(grant), request({ resourceName: prefix + rest, operation })).allowed).toBe(true)
      }))
  })

  test('with allow.everyone.if.no.acl.found off, adding an ALLOW never denies and removing one never allows', () => {
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 20 }), aclArb, requestArb, (bindings, extra, req) => {
      const before = authorize(AclIndex.of(withIds(bindings)), req).allowed
      const after = authorize(AclIndex.of(withIds([...bindings, { ...extra, permission: 'ALLOW' }])), req).allowed
      expect(before && !after).toBe(false)
    }))
  })

  test('a super user is allowed whatever the ACLs', () => {
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 20 }), requestArb, (bindings, req) => {
      const options = { superUsers: new Set([req.principal]) }
      expect(authorize(AclIndex.of(withIds(bindings)), req, options)).toEqual({ allowed: true, reason: 'SUPER_USER' })
    }))
  })

  test('MATCH filters find exactly the ACLs that can apply to the resource (what authorize reads)', () => {
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 25 }), requestArb, (bindings, req) => {
      const acls = withIds(bindings)
      const index = AclIndex.of(acls)
      const viaIndex = [...index.matching(req.resourceType, req.resourceName)].map((a) => a.id).sort()
      const filter: AclBindingFilter = { ...anyAclFilter, resourceType: req.resourceType, patternType: 'MATCH', resourceName: req.resourceName }
      expect(acls.filter((a) => aclMatchesFilter(filter, a)).map((a) => a.id).sort()).toEqual(viaIndex)
    }))
  })
})

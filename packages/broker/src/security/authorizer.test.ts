import { silentLogger } from '@gregor/common'
import { type Acl, AclIndex } from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import { validateBrokerConfig } from '../broker-config.js'
import { type AuthorizationConfig } from '../broker-config.js'
import { type Caller, allowEverythingAuthorizer, canonicalHost, createAuthorizer } from './authorizer.js'
import { authorizationFailed, listableGroups, mayCreateTopic, mayWriteIdempotently, requestPermissions } from './request-permissions.js'

const alice: Caller = { principal: 'User:alice', host: '127.0.0.1', listener: 'KAFKA' }
const admin: Caller = { principal: 'User:admin', host: '127.0.0.1', listener: 'KAFKA' }

let ids = 0
const acl = (overrides: Partial<Acl>): Acl => ({
  id: `acl-${++ids}`, resourceType: 'TOPIC', resourceName: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*',
  operation: 'WRITE', permission: 'ALLOW', ...overrides,
})

function authorizerWith (acls: readonly Acl[], config: Partial<AuthorizationConfig> = {}) {
  const index = AclIndex.of(acls)
  const denials: string[] = []
  const authorizer = createAuthorizer({
    config: { aclsEnabled: true, superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false, ...config },
    acls: () => index, logger: silentLogger,
    metrics: { denied: (listener, operation, resourceType) => { denials.push(`${listener} ${operation} ${resourceType}`) } },
  })
  return { authorizer, index, denials }
}

describe('Authorizer', () => {
  test('ACLs off: the allow-everything authorizer, whatever the ACLs', () => {
    const authorizer = createAuthorizer({ config: { aclsEnabled: false, superUsers: [], allowEveryoneIfNoAclFound: false }, acls: () => new AclIndex(), logger: silentLogger })
    expect(authorizer).toBe(allowEverythingAuthorizer)
    expect(authorizer.enabled).toBe(false)
    expect(authorizer.authorize(alice, 'DELETE', 'TOPIC', 'anything')).toBe(true)
    expect(mayCreateTopic(authorizer, alice, 'x')).toBe(true)
  })

  test('WRITE on topic a: writes a, may describe it, may not read it nor touch b; denials counted, filtered ones not', () => {
    const { authorizer, denials } = authorizerWith([acl({})])
    expect(authorizer.authorize(alice, 'WRITE', 'TOPIC', 'a')).toBe(true)
    expect(authorizer.authorize(alice, 'DESCRIBE', 'TOPIC', 'a')).toBe(true)
    expect(authorizer.authorize(alice, 'READ', 'TOPIC', 'a')).toBe(false)
    expect(authorizer.authorize(alice, 'WRITE', 'TOPIC', 'b')).toBe(false)
    expect(denials).toEqual(['KAFKA READ TOPIC', 'KAFKA WRITE TOPIC'])
    expect(authorizer.filter(alice, 'DESCRIBE', 'TOPIC', ['a', 'b', 'c'], (name) => name)).toEqual(['a'])
    expect(denials).toHaveLength(2)
  })

  test('super users are allowed everything; the decision reads the index of the moment', () => {
    const { authorizer, index } = authorizerWith([])
    expect(authorizer.authorize(admin, 'ALTER', 'CLUSTER', 'kafka-cluster')).toBe(true)
    expect(authorizer.authorize(alice, 'READ', 'GROUP', 'g')).toBe(false)
    index.add(acl({ id: 'later', resourceType: 'GROUP', resourceName: 'g', operation: 'READ' }))
    expect(authorizer.authorize(alice, 'READ', 'GROUP', 'g')).toBe(true)
    index.remove('later')
    expect(authorizer.authorize(alice, 'READ', 'GROUP', 'g')).toBe(false)
  })

  test('allow.everyone.if.no.acl.found allows resources without any ACL only', () => {
    const { authorizer } = authorizerWith([acl({ principal: 'User:bob' })], { allowEveryoneIfNoAclFound: true })
    expect(authorizer.authorize(alice, 'READ', 'TOPIC', 'free')).toBe(true)
    expect(authorizer.authorize(alice, 'WRITE', 'TOPIC', 'a')).toBe(false)
  })

  test('CreateTopics: CREATE on the cluster or on the topic (prefixed covers new names)', () => {
    const topicLevel = authorizerWith([acl({ resourceName: 'new-', patternType: 'PREFIXED', operation: 'CREATE' })]).authorizer
    expect(mayCreateTopic(topicLevel, alice, 'new-1')).toBe(true)
    expect(mayCreateTopic(topicLevel, alice, 'other')).toBe(false)
    const clusterLevel = authorizerWith([acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'CREATE' })]).authorizer
    expect(mayCreateTopic(clusterLevel, alice, 'anything')).toBe(true)
  })

  test('InitProducerId (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic not wholly denied', () => {
    expect(mayWriteIdempotently(authorizerWith([acl({})]).authorizer, alice)).toBe(true)
    expect(mayWriteIdempotently(authorizerWith([acl({ operation: 'READ' })]).authorizer, alice)).toBe(false)
    expect(mayWriteIdempotently(authorizerWith([acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'IDEMPOTENT_WRITE' })]).authorizer, alice)).toBe(true)
    // A DENY on the same literal, on a prefix of it, or on every topic takes the ALLOW back.
    expect(mayWriteIdempotently(authorizerWith([acl({}), acl({ permission: 'DENY' })]).authorizer, alice)).toBe(false)
    expect(mayWriteIdempotently(authorizerWith([acl({ resourceName: 'ab', patternType: 'PREFIXED' }), acl({ resourceName: 'a', patternType: 'PREFIXED', permission: 'DENY' })]).authorizer, alice)).toBe(false)
    expect(mayWriteIdempotently(authorizerWith([acl({}), acl({ resourceName: '*', permission: 'DENY' })]).authorizer, alice)).toBe(false)
    expect(mayWriteIdempotently(authorizerWith([acl({}), acl({ resourceName: 'b', permission: 'DENY' })]).authorizer, alice)).toBe(true)
  })

  test('ListGroups: DESCRIBE on the cluster lists all, else the groups the caller may describe', () => {
    const groups = ['g1', 'g2', 'h1']
    const some = authorizerWith([acl({ resourceType: 'GROUP', resourceName: 'g', patternType: 'PREFIXED', operation: 'READ' })]).authorizer
    expect(listableGroups(some, alice, groups, (id) => id)).toEqual(['g1', 'g2'])
    const all = authorizerWith([acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'DESCRIBE' })]).authorizer
    expect(listableGroups(all, alice, groups, (id) => id)).toEqual(groups)
  })

  test('the rule table keeps Kafka\'s rules and the errors per resource type', () => {
    expect(requestPermissions.produce.topic).toBe('WRITE')
    expect(requestPermissions.offsetCommit).toEqual({ group: 'READ', topic: 'READ' })
    expect(requestPermissions.offsetDelete).toEqual({ group: 'DELETE', topic: 'READ' })
    expect(requestPermissions.createAcls.cluster).toBe('ALTER')
    expect(requestPermissions.describeAcls.cluster).toBe('DESCRIBE')
    expect(authorizationFailed('TOPIC', 'READ').code).toBe('TOPIC_AUTHORIZATION_FAILED')
    expect(authorizationFailed('GROUP', 'READ').code).toBe('GROUP_AUTHORIZATION_FAILED')
    expect(authorizationFailed('CLUSTER', 'ALTER').code).toBe('CLUSTER_AUTHORIZATION_FAILED')
  })

  test('canonicalHost: IPv4-mapped IPv6 as IPv4, IPv6 lower-case without zone', () => {
    expect(canonicalHost('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(canonicalHost('FE80::1%eth0')).toBe('fe80::1')
    expect(canonicalHost('10.0.0.1')).toBe('10.0.0.1')
    expect(canonicalHost(undefined)).toBe('')
  })
})

describe('authorization config', () => {
  const valid = {
    nodeId: '1', clusterId: 'c', voters: '1@127.0.0.1:9093', listeners: 'CLIENT://127.0.0.1:9092,BROKER://127.0.0.1:9093,ADMIN://127.0.0.1:9094', dataDir: '/tmp/x',
  }
  test('off by default; super users split on ;; bad values are listed', () => {
    expect(validateBrokerConfig(valid).authorization).toEqual({ aclsEnabled: false, superUsers: [], allowEveryoneIfNoAclFound: false })
    expect(validateBrokerConfig({ ...valid, aclsEnabled: 'true', superUsers: 'User:admin; User:bob', allowEveryoneIfNoAclFound: 'TRUE' }).authorization)
      .toEqual({ aclsEnabled: true, superUsers: ['User:admin', 'User:bob'], allowEveryoneIfNoAclFound: true })
    expect(() => validateBrokerConfig({ ...valid, aclsEnabled: 'yes', superUsers: 'admin' })).toThrow(/acls-enabled: true or false[\s\S]*super-users: "admin" is not User:<name>/)
  })
})

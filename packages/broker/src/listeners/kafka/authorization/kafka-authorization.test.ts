import { silentLogger } from '@gregor/common'
import { ApiKey, type RequestBodies, type ResponseBodies } from '@gregor/kafka-protocol'
import { type Acl, AclIndex } from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import { allowEverythingAuthorizer, createAuthorizer } from '../../../security/authorizer.js'
import { handleCreateAcls } from '../handlers/create-acls.js'
import { handleDescribeAcls } from '../handlers/describe-acls.js'
import type { KafkaAclApi } from '../kafka-acl-api.js'
import type { KafkaBrokerApi } from '../kafka-broker-api.js'
import { type KafkaHandler, type KafkaHandlers, type KafkaRequestContext, kafkaHandlers } from '../kafka-handlers.js'
import { authorizedHandlers } from './kafka-authorization.js'

let ids = 0
const acl = (overrides: Partial<Acl>): Acl => ({
  id: `acl-${++ids}`, resourceType: 'TOPIC', resourceName: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*',
  operation: 'WRITE', permission: 'ALLOW', ...overrides,
})

const existing = new Set(['a', 'b'])
function deps (acls: readonly Acl[]) {
  const index = AclIndex.of(acls)
  return {
    authorizer: createAuthorizer({ config: { aclsEnabled: true, superUsers: [], allowEveryoneIfNoAclFound: false }, acls: () => index, logger: silentLogger }),
    listenerName: 'KAFKA',
    metadata: { topic: (name: string) => existing.has(name) ? { name, topicId: name, internal: false, partitions: [] } : undefined, autoCreateTopicsEnable: () => true },
    topicName: () => undefined,
  }
}

const context = (apiVersion: number, closed: string[] = []): KafkaRequestContext => ({
  apiVersion, correlationId: 1, clientId: 'test', peer: '127.0.0.1:5000', peerHost: '127.0.0.1', principal: 'User:alice',
  closeAfterResponse: (reason) => { closed.push(reason) },
})

/** The handlers of every API, each answering what it was asked (so a test sees what passed the authorizer). */
function echoHandlers (): KafkaHandlers {
  const fake = new Proxy({}, { get: () => () => { throw new Error('the broker API is not used here') } })
  return kafkaHandlers({ metadata: fake, data: fake, admin: fake, groups: fake, acls: fake } as unknown as KafkaBrokerApi)
}

describe('Kafka listener authorization', () => {
  test('ACLs off: the very same handlers; on: every served API but ApiVersions and SASL is wrapped', () => {
    const handlers = echoHandlers()
    expect(authorizedHandlers(handlers, { ...deps([]), authorizer: allowEverythingAuthorizer })).toBe(handlers)
    const wrapped = authorizedHandlers(handlers, deps([]))
    for (const key of Object.keys(handlers).map(Number) as ApiKey[]) {
      const exempt = key === ApiKey.ApiVersions || key === ApiKey.SaslHandshake || key === ApiKey.SaslAuthenticate
      expect(wrapped[key] === handlers[key], `api ${key}`).toBe(exempt)
    }
    // An API served without a rule is a bug found at start, not a hole.
    expect(() => authorizedHandlers({ ...handlers, [ApiKey.DeleteRecords]: () => undefined } as KafkaHandlers, deps([]))).toThrow(/without an authorization rule/)
  })

  test('Metadata: a named topic the caller may not describe fails the same whether it exists or not, and is never auto-created', async () => {
    const asked: (string | null)[][] = []
    const inner: KafkaHandler<typeof ApiKey.Metadata> = (request) => {
      asked.push((request.topics ?? []).map((topic) => topic.name))
      return {
        throttleTimeMs: 0, brokers: [], clusterId: 'c', controllerId: 1, clusterAuthorizedOperations: 0,
        topics: (request.topics ?? [{ name: 'a' }, { name: 'b' }]).map((topic) => ({ errorCode: 0, name: topic.name, topicId: 'x', isInternal: false, partitions: [], topicAuthorizedOperations: 0 })),
      }
    }
    const handler = authorizedHandlers({ [ApiKey.Metadata]: inner }, deps([acl({})]))[ApiKey.Metadata] as KafkaHandler<typeof ApiKey.Metadata>
    const request = (names: string[] | null): RequestBodies[typeof ApiKey.Metadata] => ({
      topics: names?.map((name) => ({ topicId: '', name })) ?? null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })
    const named = await handler(request(['a', 'b', 'missing']), context(9)) as ResponseBodies[typeof ApiKey.Metadata]
    expect(named.topics.map((topic) => [topic.name, topic.errorCode])).toEqual([['a', 0], ['b', 29], ['missing', 29]])
    expect(asked).toEqual([['a']])
    const all = await handler(request(null), context(9)) as ResponseBodies[typeof ApiKey.Metadata]
    expect(all.topics.map((topic) => topic.name)).toEqual(['a'])
  })

  test('Produce: denied topics answer per partition; with acks=0 the connection is closed after the request', async () => {
    const inner: KafkaHandler<typeof ApiKey.Produce> = (request) => request.acks === 0
      ? undefined
      : { throttleTimeMs: 0, responses: request.topicData.map((topic) => ({ name: topic.name, partitionResponses: topic.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 })) })) }
    const handler = authorizedHandlers({ [ApiKey.Produce]: inner }, deps([acl({})]))[ApiKey.Produce] as KafkaHandler<typeof ApiKey.Produce>
    const request = (acks: number): RequestBodies[typeof ApiKey.Produce] => ({
      transactionalId: null, acks, timeoutMs: 1000,
      topicData: ['a', 'b'].map((name) => ({ name, partitionData: [{ index: 0, records: null }, { index: 1, records: null }] })),
    })
    const answer = await handler(request(-1), context(7)) as ResponseBodies[typeof ApiKey.Produce]
    expect(answer.responses.map((topic) => [topic.name, topic.partitionResponses.map((p) => p.errorCode)])).toEqual([['a', [0, 0]], ['b', [29, 29]]])
    const closed: string[] = []
    expect(await handler(request(0), context(7, closed))).toBeUndefined()
    expect(closed).toEqual(['topic authorization failed'])
  })

  test('group requests: READ on the group for JoinGroup; OffsetCommit needs the group, then each topic', async () => {
    const handlers = authorizedHandlers({
      [ApiKey.JoinGroup]: () => ({ throttleTimeMs: 0, errorCode: 0, generationId: 1, protocolName: 'range', leader: 'm', memberId: 'm', members: [] }),
      [ApiKey.OffsetCommit]: (request) => ({ throttleTimeMs: 0, topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })) }),
    }, deps([acl({ resourceType: 'GROUP', resourceName: 'g', operation: 'READ' }), acl({ operation: 'READ' })]))
    const join = handlers[ApiKey.JoinGroup] as KafkaHandler<typeof ApiKey.JoinGroup>
    const joinOf = (groupId: string): RequestBodies[typeof ApiKey.JoinGroup] => ({ groupId, sessionTimeoutMs: 1, rebalanceTimeoutMs: 1, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [] })
    expect((await join(joinOf('g'), context(5)) as ResponseBodies[typeof ApiKey.JoinGroup]).errorCode).toBe(0)
    expect((await join(joinOf('other'), context(5)) as ResponseBodies[typeof ApiKey.JoinGroup]).errorCode).toBe(30)
    const commit = handlers[ApiKey.OffsetCommit] as KafkaHandler<typeof ApiKey.OffsetCommit>
    const commitOf = (groupId: string): RequestBodies[typeof ApiKey.OffsetCommit] => ({
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: ['a', 'b'].map((name) => ({ name, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] })),
    })
    const codes = async (groupId: string) => ((await commit(commitOf(groupId), context(7))) as ResponseBodies[typeof ApiKey.OffsetCommit]).topics.map((topic) => [topic.name, topic.partitions[0]?.errorCode])
    expect(await codes('g')).toEqual([['a', 0], ['b', 29]])
    expect(await codes('other')).toEqual([['a', 30], ['b', 30]])
  })

  test('CreateTopics: CREATE on the cluster, yet an existing topic the caller may not describe is refused, not TOPIC_ALREADY_EXISTS', async () => {
    const inner: KafkaHandler<typeof ApiKey.CreateTopics> = (request) => ({
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name, topicId: 'x', errorCode: existing.has(topic.name) ? 36 : 0, errorMessage: null, topicConfigErrorCode: 0, numPartitions: 1, replicationFactor: 1, configs: null,
      })),
    })
    const handler = authorizedHandlers({ [ApiKey.CreateTopics]: inner }, deps([acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'CREATE' }), acl({})]))[ApiKey.CreateTopics] as KafkaHandler<typeof ApiKey.CreateTopics>
    const answer = await handler({
      topics: ['a', 'b', 'new'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 1000, validateOnly: false,
    }, context(5)) as ResponseBodies[typeof ApiKey.CreateTopics]
    // a: alice may describe it (WRITE implies DESCRIBE); b: she may not.
    expect(answer.topics.map((topic) => [topic.name, topic.errorCode])).toEqual([['a', 36], ['b', 29], ['new', 0]])
  })

  test('DescribeConfigs: a topic needs DESCRIBE_CONFIGS on it (ALTER_CONFIGS implies it), a broker DESCRIBE_CONFIGS on the cluster', async () => {
    const inner: KafkaHandler<typeof ApiKey.DescribeConfigs> = (request) => ({
      throttleTimeMs: 0,
      results: request.resources.map((resource) => ({ errorCode: 0, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] })),
    })
    const handler = authorizedHandlers({ [ApiKey.DescribeConfigs]: inner }, deps([acl({ operation: 'ALTER_CONFIGS' })]))[ApiKey.DescribeConfigs] as KafkaHandler<typeof ApiKey.DescribeConfigs>
    const answer = await handler({
      resources: [{ resourceType: 2, resourceName: 'a', configurationKeys: null }, { resourceType: 2, resourceName: 'b', configurationKeys: null }, { resourceType: 4, resourceName: '1', configurationKeys: null }],
      includeSynonyms: false, includeDocumentation: false,
    }, context(4)) as ResponseBodies[typeof ApiKey.DescribeConfigs]
    expect(answer.results.map((result) => [result.resourceName, result.errorCode])).toEqual([['a', 0], ['b', 29], ['1', 31]])
  })

  test('Fetch v13 names topics by id: an id this broker cannot name goes on to the handler (UNKNOWN_TOPIC_ID), a known one is checked', async () => {
    const asked: string[] = []
    const inner: KafkaHandler<typeof ApiKey.Fetch> = (request) => {
      asked.push(...request.topics.map((topic) => topic.topicId))
      return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [] }
    }
    const names: Record<string, string> = { 'id-a': 'a', 'id-b': 'b' }
    const handler = authorizedHandlers({ [ApiKey.Fetch]: inner }, { ...deps([acl({ operation: 'READ' })]), topicName: (id: string) => names[id] })[ApiKey.Fetch] as KafkaHandler<typeof ApiKey.Fetch>
    const answer = await handler({
      clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: ['id-a', 'id-b', 'id-unknown'].map((topicId) => ({ topic: '', topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 100 }] })),
    }, context(13)) as ResponseBodies[typeof ApiKey.Fetch]
    expect(asked).toEqual(['id-a', 'id-unknown'])
    expect(answer.responses.map((topic) => [topic.topicId, topic.partitions[0]?.errorCode])).toEqual([['id-b', 29]])
  })

  test('the ACL APIs answer SECURITY_DISABLED without an authorizer', async () => {
    const off: KafkaAclApi = {
      enabled: false,
      createAcls: async () => { throw new Error('not called') },
      describeAcls: () => { throw new Error('not called') },
      deleteAcls: async () => { throw new Error('not called') },
    }
    const created = await handleCreateAcls(off, { creations: [{ resourceType: 2, resourceName: 'a', resourcePatternType: 3, principal: 'User:x', host: '*', operation: 3, permissionType: 3 }] }, context(1))
    expect(created.results.map((result) => result.errorCode)).toEqual([54])
    const described = handleDescribeAcls(off, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }, context(1))
    expect(described.errorCode).toBe(54)
  })
})

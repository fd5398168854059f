/**
 * ACLs enforced on the Kafka listener of three real broker processes (issue 13, test 3): KAFKA is SASL_PLAINTEXT,
 * GREGOR_ACLS_ENABLED, `User:admin` a super user who manages ACLs with KafkaJS's admin createAcls/describeAcls/deleteAcls.
 * `alice` may WRITE topic `a` and nothing else: she writes `a`, cannot read it, cannot touch `b` nor learn whether a
 * topic exists, cannot join group `g` without READ on it, cannot create or delete topics without the cluster or topic
 * permission; a PREFIXED ACL covers a topic created later; DENY overrides ALLOW; removing an ACL takes effect on the
 * next request. Raw requests (one SASL PLAIN login, then Kafka frames) check the exact per-entry codes.
 *
 * `User:ANONYMOUS` is a super user too: the CLI's gRPC CLIENT listener (no SASL) stands in for the operator, who
 * creates the SCRAM users; every Kafka client here logs in, so no Kafka request is anonymous.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import {
  AclOperationTypes, AclPermissionTypes, AclResourceTypes, type AclEntry, Kafka, type KafkaConfig, type SASLOptions, ResourcePatternTypes, logLevel,
} from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { ApiKey, type RequestBodies, type ResponseBodies } from '@gregor/kafka-protocol'
import { RawKafkaClient } from '../../packages/broker/src/listeners/kafka/testing/raw-kafka-client.js'
import { runGregor, useCluster } from './cluster-helpers.js'

const run = promisify(execFile)

const TOPIC_AUTHORIZATION_FAILED = 29
const GROUP_AUTHORIZATION_FAILED = 30
const CLUSTER_AUTHORIZATION_FAILED = 31

let cluster: BrokerProcesses

useCluster((started) => { cluster = started }, {
  env: {
    GREGOR_LISTENER_SECURITY_PROTOCOL_MAP: 'KAFKA:SASL_PLAINTEXT',
    GREGOR_ACLS_ENABLED: 'true',
    GREGOR_SUPER_USERS: 'User:admin;User:ANONYMOUS',
    // One offsets partition: the group check below creates __consumer_offsets, whose 50 default logs would delay
    // the opening of the topics created after it.
    GREGOR_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
  },
})

const passwords: Readonly<Record<string, string>> = { admin: 'admin-secret', alice: 'alice-secret' }

/** A connection logged in as `user` (SASL PLAIN), sending raw requests in order. */
async function session (address: string, user: string) {
  const [host = '127.0.0.1', port = '0'] = address.split(':')
  const client = await RawKafkaClient.connect(Number(port), host)
  let correlationId = 0
  const call = async <K extends ApiKey>(apiKey: K, apiVersion: number, body: RequestBodies[K]): Promise<ResponseBodies[K]> => {
    client.write(RawKafkaClient.frame(apiKey, apiVersion, ++correlationId, body))
    return (await client.response(apiKey, apiVersion)).body
  }
  await call(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })
  const login = await call(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${passwords[user] ?? ''}`) })
  if (login.errorCode !== 0) {
    client.close()
    throw new Error(`${user} could not log in: ${login.errorCode}`)
  }
  return { call, close: () => { client.close() } }
}

function kafkaJs (user: string, extra: Partial<KafkaConfig> = {}): Kafka {
  const sasl: SASLOptions = { mechanism: 'plain', username: user, password: passwords[user] ?? '' }
  return new Kafka({
    clientId: `acl-test-${user}`, brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING, sasl,
    // A new partition's leader may take a moment to open its log: UNKNOWN_TOPIC_OR_PARTITION is retried meanwhile.
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1_000 }, ...extra,
  })
}

const acl = (overrides: Partial<AclEntry>): AclEntry => ({
  resourceType: AclResourceTypes.TOPIC, resourceName: 'a', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice',
  host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW, ...overrides,
})

/** Every broker lists exactly `count` ACLs (each applies the metadata log in its own time). */
async function waitForAclCount (count: number): Promise<void> {
  for (const address of cluster.kafkaBootstrapServers.split(',')) {
    const admin = await session(address, 'admin')
    try {
      await waitFor(`${count} ACLs on ${address}`, async () => {
        const described = await admin.call(ApiKey.DescribeAcls, 1, {
          resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1,
        })
        return described.resources.reduce((sum, resource) => sum + resource.acls.length, 0) === count ? true : undefined
      }, { timeoutMs: 10_000, intervalMs: 50 })
    } finally {
      admin.close()
    }
  }
}

/** A KafkaJS send's outcome: 'ok' or the Kafka error type. */
async function send (kafka: Kafka, topic: string, value: string): Promise<string> {
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await producer.send({ topic, acks: -1, messages: [{ value, partition: 0 }] })
    return 'ok'
  } catch (error) {
    // KafkaJS reports a refused topic in metadata as a non-retriable error naming the cause in its message.
    const { type, message } = error as { type?: string, message?: string }
    return type ?? (message?.includes('Topic authorization failed') === true ? 'TOPIC_AUTHORIZATION_FAILED' : String(error))
  } finally {
    await producer.disconnect()
  }
}

const metadataOf = (names: readonly string[] | null): RequestBodies[typeof ApiKey.Metadata] => ({
  topics: names === null ? null : names.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })),
  allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
})

const fetchOf = (topic: string): RequestBodies[typeof ApiKey.Fetch] => ({
  clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{
    topic, topicId: '00000000-0000-0000-0000-000000000000',
    partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }],
  }],
  forgottenTopicsData: [], rackId: '',
})

const createTopicsOf = (name: string): RequestBodies[typeof ApiKey.CreateTopics] => ({
  topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
})

describe('ACLs on the Kafka listener of a three-broker cluster', () => {
  let admin: ReturnType<Kafka['admin']>

  test('alice may WRITE topic a: she writes it, cannot read it, cannot touch b or learn it exists, cannot join g, create or delete topics', async () => {
    await Promise.all(['admin', 'alice'].map(async (user) => {
      expect(await runGregor(cluster, ['users', 'create', '--user', user, '--password', passwords[user] ?? ''])).toMatchObject({ code: 0 })
    }))
    // Each broker learns the users from the metadata log: wait until each one lets both log in.
    for (const address of cluster.kafkaBootstrapServers.split(',')) {
      for (const user of ['admin', 'alice']) {
        await waitFor(`${user} logging in on ${address}`, async () => (await session(address, user).then((s) => { s.close(); return true }, () => undefined)), { timeoutMs: 10_000, intervalMs: 50 })
      }
    }
    admin = kafkaJs('admin').admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: ['a', 'b'].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 3 })), waitForLeaders: true })).toBe(true)
    expect(await admin.createAcls({ acl: [acl({})] })).toBe(true)
    await waitForAclCount(1)
    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    })
    expect(described.resources).toEqual([{
      resourceType: AclResourceTypes.TOPIC, resourceName: 'a', resourcePatternType: ResourcePatternTypes.LITERAL,
      acls: [{ principal: 'User:alice', host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW }],
    }])

    const alice = kafkaJs('alice')
    expect(await send(alice, 'a', 'from-alice')).toBe('ok')
    expect(await send(alice, 'b', 'nope')).toBe('TOPIC_AUTHORIZATION_FAILED')

    const raw = await session(cluster.kafkaBootstrapServers.split(',')[0] as string, 'alice')
    try {
      // WRITE implies DESCRIBE, not READ.
      const fetched = await raw.call(ApiKey.Fetch, 11, fetchOf('a'))
      expect(fetched.responses.map((topic) => [topic.topic, topic.partitions.map((partition) => partition.errorCode)])).toEqual([['a', [TOPIC_AUTHORIZATION_FAILED]]])
      // b exists, zz-missing does not: the same answer for both, and no auto-creation of zz-missing.
      const named = await raw.call(ApiKey.Metadata, 9, metadataOf(['a', 'b', 'zz-missing']))
      expect(named.topics.map((topic) => [topic.name, topic.errorCode, topic.partitions.length])).toEqual([
        ['a', 0, 1], ['b', TOPIC_AUTHORIZATION_FAILED, 0], ['zz-missing', TOPIC_AUTHORIZATION_FAILED, 0],
      ])
      const all = await raw.call(ApiKey.Metadata, 9, metadataOf(null))
      expect(all.topics.map((topic) => topic.name)).toEqual(['a'])
      expect(await admin.listTopics()).not.toContain('zz-missing')
      // librdkafka (kcat 1.7.1 on 2.0.2) sees the same: only a listed, b refused like a topic that does not exist.
      const kcat = async (...args: string[]): Promise<{ topics: { topic: string, error?: string }[] }> => JSON.parse((await run('kcat', [
        '-b', cluster.kafkaBootstrapServers, '-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=alice',
        '-X', `sasl.password=${passwords.alice ?? ''}`, '-L', '-J', ...args,
      ], { timeout: 30_000 })).stdout) as { topics: { topic: string, error?: string }[] }
      expect((await kcat()).topics.map((topic) => topic.topic)).toEqual(['a'])
      const [kcatB, kcatMissing] = await Promise.all([kcat('-t', 'b'), kcat('-t', 'zz-missing')])
      expect(kcatB.topics.map((topic) => [topic.topic, topic.error])).toEqual([['b', 'Broker: Topic authorization failed']])
      expect(kcatMissing.topics.map((topic) => topic.error)).toEqual(['Broker: Topic authorization failed'])
      // Group g: no READ, no DESCRIBE.
      const coordinator = await raw.call(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0, coordinatorKeys: [] })
      expect(coordinator.errorCode).toBe(GROUP_AUTHORIZATION_FAILED)
      const joined = await raw.call(ApiKey.JoinGroup, 5, {
        groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      })
      expect(joined.errorCode).toBe(GROUP_AUTHORIZATION_FAILED)
      const committed = await raw.call(ApiKey.OffsetCommit, 7, {
        groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: 'a', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
      })
      expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(GROUP_AUTHORIZATION_FAILED)
      // Topics: no CREATE on the cluster or the topic, no DELETE on a.
      expect((await raw.call(ApiKey.CreateTopics, 5, createTopicsOf('c'))).topics.map((topic) => topic.errorCode)).toEqual([TOPIC_AUTHORIZATION_FAILED])
      const deleted = await raw.call(ApiKey.DeleteTopics, 5, { topics: [], topicNames: ['a', 'zz-missing'], timeoutMs: 10_000 })
      expect(deleted.responses.map((topic) => [topic.name, topic.errorCode])).toEqual([['a', TOPIC_AUTHORIZATION_FAILED], ['zz-missing', TOPIC_AUTHORIZATION_FAILED]])
      // ACLs are the cluster's: alice may not manage them.
      const created = await raw.call(ApiKey.CreateAcls, 1, {
        creations: [{ resourceType: 2, resourceName: '*', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 2, permissionType: 3 }],
      })
      expect(created.results.map((result) => result.errorCode)).toEqual([CLUSTER_AUTHORIZATION_FAILED])

      // With READ on g and CREATE on the cluster, the same requests pass the authorizer.
      await admin.createAcls({ acl: [
        acl({ resourceType: AclResourceTypes.GROUP, resourceName: 'g', operation: AclOperationTypes.READ }),
        acl({ resourceType: AclResourceTypes.CLUSTER, resourceName: 'kafka-cluster', operation: AclOperationTypes.CREATE }),
        acl({ resourceName: 'c', operation: AclOperationTypes.DELETE }),
      ] })
      await waitForAclCount(4)
      // Past the authorizer (the coordinator may still be loading: COORDINATOR_NOT_AVAILABLE is not a refusal).
      expect((await raw.call(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0, coordinatorKeys: [] })).errorCode).not.toBe(GROUP_AUTHORIZATION_FAILED)
      expect((await raw.call(ApiKey.CreateTopics, 5, createTopicsOf('c'))).topics.map((topic) => topic.errorCode)).toEqual([0])
      // CREATE on the cluster does not reveal b: creating it again is refused, not TOPIC_ALREADY_EXISTS.
      expect((await raw.call(ApiKey.CreateTopics, 5, createTopicsOf('b'))).topics.map((topic) => topic.errorCode)).toEqual([TOPIC_AUTHORIZATION_FAILED])
      const deletedC = await raw.call(ApiKey.DeleteTopics, 5, { topics: [], topicNames: ['c'], timeoutMs: 10_000 })
      expect(deletedC.responses.map((topic) => topic.errorCode)).toEqual([0])
    } finally {
      raw.close()
    }
  }, 60_000)

  test('a PREFIXED ACL covers a topic created later; DENY overrides ALLOW; removing an ACL takes effect on the next request', async () => {
    const alice = kafkaJs('alice')
    await admin.createAcls({ acl: [acl({ resourceName: 'logs-', resourcePatternType: ResourcePatternTypes.PREFIXED })] })
    await admin.createTopics({ topics: [{ topic: 'logs-later', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true })
    await waitForAclCount(5)
    expect(await send(alice, 'logs-later', 'prefixed')).toBe('ok')

    // A DENY of WRITE on every topic beats the ALLOWs on a and logs-.
    await admin.createAcls({ acl: [acl({ resourceName: '*', permissionType: AclPermissionTypes.DENY })] })
    await waitForAclCount(6)
    expect(await send(alice, 'a', 'denied')).toBe('TOPIC_AUTHORIZATION_FAILED')
    expect(await send(alice, 'logs-later', 'denied')).toBe('TOPIC_AUTHORIZATION_FAILED')

    // Removing the DENY: the next request is allowed again; removing alice's ALLOW on a: refused again.
    const removed = await admin.deleteAcls({ filters: [{
      resourceType: AclResourceTypes.TOPIC, resourceName: '*', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice',
      operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.DENY,
    }] })
    expect(removed.filterResponses.map((result) => result.matchingAcls.length)).toEqual([1])
    await waitForAclCount(5)
    expect(await send(alice, 'a', 'allowed-again')).toBe('ok')
    await admin.deleteAcls({ filters: [{
      resourceType: AclResourceTypes.TOPIC, resourceName: 'a', resourcePatternType: ResourcePatternTypes.MATCH, principal: 'User:alice',
      operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW,
    }] })
    await waitForAclCount(4)
    expect(await send(alice, 'a', 'no-longer')).toBe('TOPIC_AUTHORIZATION_FAILED')
    await admin.disconnect()
  }, 60_000)
})

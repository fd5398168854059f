/**
 * The admin handlers over ControllerAdminApi, without sockets: a scripted controller records what it is asked and
 * answers as the real one does, over a real MetadataImage. What is refused before the controller is asked, how
 * defaults (-1) and configs travel, and the Kafka codes and shapes of the answers.
 */
import { ErrorCode, GregorError, type NodeId, leaderEpoch, nodeId, raftIndex } from '@gregor/common'
import { pbkdf2Sync } from 'node:crypto'
import {
  MetadataImage, type MetadataRecord, decideAlterTopicConfigs, decideAlterUserScramCredentials, defaultMetadataConfig, defaultTopicConfig,
} from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { type AdminControllerCalls, ControllerAdminApi } from '../controller-admin-api.js'
import { handleAlterUserScramCredentials } from './alter-user-scram-credentials.js'
import { handleCreatePartitions } from './create-partitions.js'
import { handleCreateTopics } from './create-topics.js'
import { handleDeleteTopics } from './delete-topics.js'
import { handleDescribeConfigs } from './describe-configs.js'
import { handleDescribeLogDirs } from './describe-log-dirs.js'
import { handleDescribeQuorum } from './describe-quorum.js'
import { handleDescribeUserScramCredentials } from './describe-user-scram-credentials.js'
import { handleElectLeaders } from './elect-leaders.js'
import { handleIncrementalAlterConfigs } from './incremental-alter-configs.js'
import { wireTopicConfigAlterations } from '../../../controller/wire-topic-configs.js'

const ids = (...list: number[]): NodeId[] => list.map(nodeId)
const context = (apiVersion: number): { apiVersion: number; correlationId: number; clientId: string; peer: string } =>
  ({ apiVersion, correlationId: 1, clientId: 'test', peer: '127.0.0.1:1' })
const ORDERS_ID = '11111111-2222-3333-4444-555555555555'
const NO_ID = '00000000-0000-0000-0000-000000000000'

/** Brokers 1-3; `orders` with 2 partitions at RF 3 and retention.ms overridden. */
function image (): MetadataImage {
  const result = new MetadataImage()
  const records: MetadataRecord[] = []
  for (const id of [1, 2, 3]) {
    records.push({ type: 'RegisterBroker', brokerId: nodeId(id), incarnationId: `i-${id}`, listeners: [{ name: 'KAFKA', host: 'h', port: 9000 + id }] })
    records.push({ type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId: `i-${id}` })
  }
  result.applyBatch(records, raftIndex(1))
  result.applyBatch([
    { type: 'Topic', name: 'orders', topicId: ORDERS_ID, partitionCount: 2, config: { ...defaultTopicConfig, retentionMs: 60_000 } },
    { type: 'Partition', topicId: ORDERS_ID, partition: 0, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), leader: nodeId(1), leaderEpoch: leaderEpoch(0), partitionEpoch: 0 },
    { type: 'Partition', topicId: ORDERS_ID, partition: 1, replicas: ids(2, 3, 1), isr: ids(2, 3, 1), leader: nodeId(3), leaderEpoch: leaderEpoch(1), partitionEpoch: 1 },
  ], raftIndex(2))
  return result
}

class ScriptedController implements AdminControllerCalls {
  readonly calls: unknown[] = []
  failWith: GregorError | undefined

  async createTopics (request: gregor.cluster.CreateTopicsRequest.$Properties): Promise<gregor.cluster.CreateTopicsResponse.$Properties> {
    this.#record(request)
    return {
      topics: (request.topics ?? []).map((topic) => topic.name === 'orders'
        ? { name: 'orders', errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: 'topic orders already exists' }
        : {
            name: topic.name, topicId: 'aaaaaaaa-0000-0000-0000-000000000001', errorCode: '', partitions: topic.partitions || 1,
            replicationFactor: topic.replicationFactor || 3, configs: { 'retention.ms': '604800000', 'cleanup.policy': topic.configs?.['cleanup.policy'] ?? 'delete' },
          }),
    }
  }

  async deleteTopics (request: gregor.cluster.DeleteTopicsRequest.$Properties): Promise<gregor.cluster.DeleteTopicsResponse.$Properties> {
    this.#record(request)
    return {
      topics: (request.topics ?? []).map((name) => name === 'orders'
        ? { name, topicId: ORDERS_ID, errorCode: '' }
        : { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} does not exist` }),
    }
  }

  async createPartitions (request: gregor.cluster.CreatePartitionsRequest.$Properties): Promise<gregor.cluster.CreatePartitionsResponse.$Properties> {
    this.#record(request)
    return { topics: (request.topics ?? []).map((topic) => ({ name: topic.name, errorCode: '', partitions: topic.partitions })) }
  }

  async electLeaders (request: gregor.cluster.ElectLeadersRequest.$Properties): Promise<gregor.cluster.ElectLeadersResponse.$Properties> {
    this.#record(request)
    const all = [{ topic: 'orders', partition: 0, outcome: 'ELECTION_NOT_NEEDED' }, { topic: 'orders', partition: 1, outcome: 'ELECTED' }]
    if (request.allPartitions === true) return { errorCode: '', results: all }
    return {
      errorCode: '',
      results: (request.partitions ?? []).map(({ topic, partition }) =>
        all.find((item) => item.topic === topic && item.partition === partition) ?? { topic, partition, outcome: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
    }
  }

  /** As the controller decides (the real decision), committed to the image the adapter reads. */
  async alterTopicConfigs (request: gregor.cluster.AlterTopicConfigsRequest.$Properties): Promise<gregor.cluster.AlterTopicConfigsResponse.$Properties> {
    this.#record(request)
    const image = this.image
    if (image === undefined) throw new Error('no image')
    const decision = decideAlterTopicConfigs(image, {
      topics: (request.topics ?? []).map((topic) => ({ name: topic.name ?? '', alterations: wireTopicConfigAlterations(topic.alterations ?? []) })),
      validateOnly: request.validateOnly ?? false,
    }, defaultMetadataConfig)
    if (decision.records.length > 0) image.applyBatch(decision.records, raftIndex(image.appliedIndex + 1))
    return { topics: decision.results.map((result) => 'error' in result ? { name: result.name, errorCode: result.error.code, errorMessage: result.error.message } : { name: result.name, errorCode: '' }) }
  }

  async alterUserScramCredentials (request: gregor.cluster.AlterUserScramCredentialsRequest.$Properties): Promise<gregor.cluster.AlterUserScramCredentialsResponse.$Properties> {
    this.#record(request)
    const image = this.image
    if (image === undefined) throw new Error('no image')
    const decision = decideAlterUserScramCredentials(image, {
      deletions: (request.deletions ?? []).map(({ name, mechanism }) => ({ name: name ?? '', mechanism: mechanism ?? '' })),
      upsertions: (request.upsertions ?? []).map((upsertion) => ({
        name: upsertion.name ?? '', mechanism: upsertion.mechanism ?? '', iterations: upsertion.iterations ?? 0,
        salt: upsertion.salt ?? new Uint8Array(0), saltedPassword: upsertion.saltedPassword ?? new Uint8Array(0),
      })),
    })
    if (decision.records.length > 0) image.applyBatch(decision.records, raftIndex(image.appliedIndex + 1))
    return { results: decision.results.map((result) => ({ user: result.name, errorCode: result.error?.code ?? '', errorMessage: result.error?.message ?? '' })) }
  }

  image: MetadataImage | undefined

  #record (request: unknown): void {
    if (this.failWith !== undefined) throw this.failWith
    this.calls.push(request)
  }
}

function setup (leaderProgress: ReadonlyMap<number, number> = new Map()): { controller: ScriptedController; api: ControllerAdminApi } {
  const fixed = image()
  const controller = new ScriptedController()
  controller.image = fixed
  const api = new ControllerAdminApi({
    brokerId: 1, controller, image: () => fixed, cluster: () => ({ clusterId: 'c', controllerId: 2, brokers: [] }),
    quorum: () => ({ leaderId: 2, term: 5, commitIndex: 40, lastIndex: 41, voterMatchIndexes: leaderProgress }), voters: [1, 2, 3], logDir: '/data/broker-1',
    logDirOffline: () => false,
    replica: (topic, partition) => topic === 'orders' ? { sizeBytes: 100 * (partition + 1), highWatermark: 10, logEndOffset: partition === 0 ? 10 : 7 } : undefined,
    autoCreateTopicsEnable: true,
  })
  return { controller, api }
}

const topicSpec = (name: string, extra: Partial<{ numPartitions: number; replicationFactor: number; configs: Array<{ name: string; value: string | null }>; assignments: Array<{ partitionIndex: number; brokerIds: number[] }> }> = {}) =>
  ({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [], ...extra })

describe('CreateTopics', () => {
  test('-1 means the default; overrides are reported as such; errors per topic; refused ones never reach the controller', async () => {
    const { controller, api } = setup()
    const response = await handleCreateTopics(api, {
      timeoutMs: 1000, validateOnly: false,
      topics: [
        topicSpec('fresh', { configs: [{ name: 'cleanup.policy', value: 'compact' }] }),
        topicSpec('orders'),
        topicSpec('twice'), topicSpec('twice'),
        topicSpec('manual', { assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
        topicSpec('zero', { numPartitions: 0 }),
        topicSpec('rf0', { replicationFactor: 0 }),
        topicSpec('nullcfg', { configs: [{ name: 'retention.ms', value: null }] }),
      ],
    }, context(7))
    expect(controller.calls).toEqual([{
      validateOnly: false,
      topics: [
        { name: 'fresh', partitions: 0, replicationFactor: 0, configs: { 'cleanup.policy': 'compact' } },
        { name: 'orders', partitions: 0, replicationFactor: 0, configs: {} },
      ],
    }])
    // NONE, TOPIC_ALREADY_EXISTS 36, INVALID_REQUEST 42 (twice, twice, manual), INVALID_PARTITIONS 37 (zero),
    // INVALID_REPLICATION_FACTOR 38, INVALID_CONFIG 40.
    expect(response.topics.map((topic) => topic.errorCode)).toEqual([0, 36, 42, 42, 42, 37, 38, 40])
    expect(response.topics[0]).toMatchObject({ name: 'fresh', numPartitions: 1, replicationFactor: 3, topicId: 'aaaaaaaa-0000-0000-0000-000000000001' })
    expect(response.topics[0]?.configs).toEqual([
      { name: 'retention.ms', value: '604800000', readOnly: false, configSource: 5, isSensitive: false },
      { name: 'cleanup.policy', value: 'compact', readOnly: false, configSource: 1, isSensitive: false },
    ])
    expect(response.topics[1]).toMatchObject({ numPartitions: -1, replicationFactor: -1, configs: null, topicId: NO_ID, errorMessage: 'topic orders already exists' })
  })

  test('a controller out of reach fails every topic with its code, the broker does not throw', async () => {
    const { controller, api } = setup()
    controller.failWith = new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'no controller answered createTopics in time')
    const response = await handleCreateTopics(api, { timeoutMs: 1000, validateOnly: false, topics: [topicSpec('a'), topicSpec('b')] }, context(4))
    expect(response.topics.map((topic) => [topic.errorCode, topic.errorMessage])).toEqual([[7, 'no controller answered createTopics in time'], [7, 'no controller answered createTopics in time']])
  })
})

describe('DeleteTopics', () => {
  test('v1 by name; v6 by id (resolved here), an unknown id is UNKNOWN_TOPIC_ID, a name and an id together INVALID_REQUEST', async () => {
    const { controller, api } = setup()
    const v1 = await handleDeleteTopics(api, { topicNames: ['orders', 'missing'], topics: [], timeoutMs: 1000 }, context(1))
    expect(v1.responses.map((item) => [item.name, item.errorCode])).toEqual([['orders', 0], ['missing', 3]])
    controller.calls.length = 0
    const v6 = await handleDeleteTopics(api, {
      topicNames: [], timeoutMs: 1000,
      topics: [{ name: null, topicId: ORDERS_ID }, { name: null, topicId: '99999999-0000-0000-0000-000000000000' }, { name: 'orders', topicId: ORDERS_ID }, { name: null, topicId: NO_ID }],
    }, context(6))
    expect(controller.calls).toEqual([{ topics: ['orders'] }])
    expect(v6.responses.map((item) => [item.name, item.topicId, item.errorCode])).toEqual([
      ['orders', ORDERS_ID, 0], [null, '99999999-0000-0000-0000-000000000000', 100], ['orders', ORDERS_ID, 42], [null, NO_ID, 42],
    ])
  })
})

describe('CreatePartitions', () => {
  test('a topic named twice or with assignments is refused here; the rest go to the controller with validate_only', async () => {
    const { controller, api } = setup()
    const response = await handleCreatePartitions(api, {
      timeoutMs: 1000, validateOnly: true,
      topics: [{ name: 'orders', count: 4, assignments: null }, { name: 'x', count: 2, assignments: [{ brokerIds: [1] }] }, { name: 'y', count: 2, assignments: [] },
        { name: 'y', count: 3, assignments: null }],
    }, context(3))
    expect(controller.calls).toEqual([{ validateOnly: true, topics: [{ name: 'orders', partitions: 4 }] }])
    expect(response.results.map((result) => result.errorCode)).toEqual([0, 42, 42, 42])
  })
})

describe('DescribeConfigs', () => {
  test('topic configs under Kafka\'s names with their source, filtered by key; this broker only; unknown topic and type', () => {
    const { api } = setup()
    const response = handleDescribeConfigs(api, {
      includeSynonyms: false, includeDocumentation: false,
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: null },
        { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms', 'no.such.key'] },
        { resourceType: 2, resourceName: 'missing', configurationKeys: null },
        { resourceType: 4, resourceName: '1', configurationKeys: ['auto.create.topics.enable'] },
        { resourceType: 4, resourceName: '2', configurationKeys: null },
        { resourceType: 8, resourceName: 'x', configurationKeys: null },
      ],
    }, context(4))
    const [all, filtered, missing, broker, other, unknownType] = response.results
    expect(all?.configs).toHaveLength(10)
    expect(all?.configs.find((entry) => entry.name === 'cleanup.policy')).toMatchObject({ value: 'delete', configSource: 5, configType: 7 })
    expect(filtered?.configs).toEqual([{
      name: 'retention.ms', value: '60000', readOnly: false, configSource: 1, isSensitive: false, synonyms: [], configType: 5, documentation: null,
    }])
    expect(missing?.errorCode).toBe(3)
    expect(broker?.configs).toMatchObject([{ name: 'auto.create.topics.enable', value: 'true', readOnly: true, configSource: 4, configType: 1 }])
    expect([other?.errorCode, unknownType?.errorCode]).toEqual([42, 42])
  })
})

describe('DescribeQuorum, DescribeLogDirs, ElectLeaders', () => {
  test('the quorum of __cluster_metadata-0 only; this voter\'s log end known, the others -1', () => {
    const { api } = setup()
    const response = handleDescribeQuorum(api, {
      topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }] }],
    }, context(2))
    const [metadata, other] = response.topics[0]?.partitions ?? []
    expect(metadata).toMatchObject({ errorCode: 0, leaderId: 2, leaderEpoch: 5, highWatermark: 40 })
    expect(metadata?.currentVoters.map((voter) => [voter.replicaId, voter.logEndOffset])).toEqual([[1, 41], [2, -1], [3, -1]])
    expect(other?.errorCode).toBe(3)
  })

  test('on the raft leader: every voter\'s matched index', () => {
    const { api } = setup(new Map([[1, 41], [2, 38], [3, 0]]))
    const response = handleDescribeQuorum(api, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] }, context(2))
    expect(response.topics[0]?.partitions[0]?.currentVoters.map((voter) => [voter.replicaId, voter.logEndOffset])).toEqual([[1, 41], [2, 38], [3, 0]])
  })

  test('log dirs: sizes and offset lag of the replicas held here, filtered by the request', () => {
    const { api } = setup()
    const all = handleDescribeLogDirs(api, { topics: null }, context(4))
    expect(all.results).toEqual([{
      errorCode: 0, logDir: '/data/broker-1', totalBytes: -1, usableBytes: -1,
      topics: [{ name: 'orders', partitions: [
        { partitionIndex: 0, partitionSize: 100, offsetLag: 0, isFutureKey: false },
        { partitionIndex: 1, partitionSize: 200, offsetLag: 3, isFutureKey: false },
      ] }],
    }])
    const one = handleDescribeLogDirs(api, { topics: [{ topic: 'orders', partitions: [1] }, { topic: 'missing', partitions: [0] }] }, context(4))
    expect(one.results[0]?.topics).toEqual([{ name: 'orders', partitions: [{ partitionIndex: 1, partitionSize: 200, offsetLag: 3, isFutureKey: false }] }])
  })

  test('preferred elections: Kafka codes per partition; all partitions lists only what changed; unclean is refused', async () => {
    const { api } = setup()
    const named = await handleElectLeaders(api, {
      electionType: 0, timeoutMs: 1000, topicPartitions: [{ topic: 'orders', partitions: [0, 1] }, { topic: 'missing', partitions: [0] }],
    }, context(2))
    expect(named.replicaElectionResults.map((result) => [result.topic, result.partitionResult.map((p) => [p.partitionId, p.errorCode])]))
      .toEqual([['orders', [[0, 84], [1, 0]]], ['missing', [[0, 3]]]])
    const all = await handleElectLeaders(api, { electionType: 0, timeoutMs: 1000, topicPartitions: null }, context(2))
    expect(all.replicaElectionResults).toEqual([{ topic: 'orders', partitionResult: [{ partitionId: 1, errorCode: 0, errorMessage: null }] }])
    const unclean = await handleElectLeaders(api, { electionType: 1, timeoutMs: 1000, topicPartitions: [{ topic: 'orders', partitions: [0] }] }, context(2))
    expect([unclean.errorCode, unclean.replicaElectionResults[0]?.partitionResult[0]?.errorCode]).toEqual([42, 42])
  })
})

describe('IncrementalAlterConfigs', () => {
  const resource = (resourceName: string, configs: Array<{ name: string; configOperation: number; value: string | null }>, resourceType = 2) =>
    ({ resourceType, resourceName, configs })

  test('SET and DELETE reach the topic, and DescribeConfigs then shows the new value as DYNAMIC_TOPIC_CONFIG', async () => {
    const { api } = setup()
    const response = await handleIncrementalAlterConfigs(api, {
      validateOnly: false,
      resources: [resource('orders', [{ name: 'segment.bytes', configOperation: 0, value: '4096' }, { name: 'retention.ms', configOperation: 1, value: null }])],
    }, context(1))
    expect(response).toEqual({ throttleTimeMs: 0, responses: [{ resourceType: 2, resourceName: 'orders', errorCode: 0, errorMessage: null }] })
    const described = handleDescribeConfigs(api, {
      includeSynonyms: false, includeDocumentation: false, resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['segment.bytes', 'retention.ms'] }],
    }, context(4))
    expect(described.results[0]?.configs.map(({ name, value, configSource }) => ({ name, value, configSource }))).toEqual([
      { name: 'retention.ms', value: '604800000', configSource: 5 }, { name: 'segment.bytes', value: '4096', configSource: 1 },
    ])
  })

  test('per-resource codes: bad value INVALID_CONFIG, APPEND on a non-list and broker, repeated, unknown-op resources INVALID_REQUEST, unknown topic 3; validate_only changes nothing', async () => {
    const { controller, api } = setup()
    const response = await handleIncrementalAlterConfigs(api, {
      validateOnly: false,
      resources: [
        resource('orders', [{ name: 'segment.bytes', configOperation: 0, value: 'big' }]),
        resource('orders', [{ name: 'retention.ms', configOperation: 2, value: '5' }]),
        resource('1', [{ name: 'log.retention.ms', configOperation: 0, value: '5' }], 4),
        resource('missing', [{ name: 'retention.ms', configOperation: 0, value: '5' }]),
        resource('x', [{ name: 'retention.ms', configOperation: 7, value: '5' }]),
      ],
    }, context(1))
    // The two `orders` entries are the same resource twice: both refused here, before the controller.
    expect(response.responses.map((r) => r.errorCode)).toEqual([42, 42, 42, 3, 42])
    const single = async (configs: Array<{ name: string; configOperation: number; value: string | null }>) =>
      (await handleIncrementalAlterConfigs(api, { validateOnly: false, resources: [resource('orders', configs)] }, context(1))).responses[0]
    expect(await single([{ name: 'segment.bytes', configOperation: 0, value: 'big' }])).toMatchObject({ errorCode: 40, errorMessage: expect.stringMatching(/segmentBytes/) })
    expect((await single([{ name: 'retention.ms', configOperation: 2, value: '5' }]))?.errorCode).toBe(42)
    expect((await single([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }]))?.errorCode).toBe(0)
    const calls = controller.calls.length
    await handleIncrementalAlterConfigs(api, { validateOnly: true, resources: [resource('orders', [{ name: 'retention.ms', configOperation: 0, value: '5' }])] }, context(1))
    expect(controller.calls).toHaveLength(calls + 1)
    expect(api.topicConfigs('orders')?.find((entry) => entry.name === 'retention.ms')?.value).toBe('60000')
    expect(api.topicConfigs('orders')?.find((entry) => entry.name === 'cleanup.policy')).toMatchObject({ value: 'compact,delete', source: 'topic-override' })
  })
})

describe('AlterUserScramCredentials and DescribeUserScramCredentials', () => {
  const salt = Buffer.from('salt-from-the-client')
  const upsertion = (name: string, mechanism: number, iterations = 4096) => ({
    name, mechanism, iterations, salt,
    saltedPassword: pbkdf2Sync(`${name}-secret`, salt, iterations, mechanism === 2 ? 64 : 32, mechanism === 2 ? 'sha512' : 'sha256'),
  })

  test('upserts reach the image as salted hashes; describe lists mechanisms (1, 2) and iterations; Kafka\'s refusals', async () => {
    const { controller, api } = setup()
    const altered = await handleAlterUserScramCredentials(api, {
      deletions: [{ name: 'ghost', mechanism: 1 }],
      upsertions: [upsertion('alice', 1), upsertion('alice', 2, 8192), upsertion('md5', 3), upsertion('few', 1, 1000)],
    }, context(0))
    // RESOURCE_NOT_FOUND 91, UNSUPPORTED_SASL_MECHANISM 33, UNACCEPTABLE_CREDENTIAL 93.
    expect(altered.results.map(({ user, errorCode }) => [user, errorCode])).toEqual([['ghost', 91], ['alice', 0], ['md5', 33], ['few', 93]])
    expect(controller.calls).toHaveLength(1)
    const stored = controller.image?.scramCredential('alice', 'SCRAM-SHA-512')
    expect(stored?.iterations).toBe(8192)
    expect(Buffer.from(stored?.salt ?? [])).toEqual(salt)

    const all = handleDescribeUserScramCredentials(api, { users: null }, context(0))
    expect(all).toEqual({
      throttleTimeMs: 0, errorCode: 0, errorMessage: null,
      results: [{ user: 'alice', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 4096 }, { mechanism: 2, iterations: 8192 }] }],
    })
    const named = handleDescribeUserScramCredentials(api, { users: [{ name: 'alice' }, { name: 'bob' }, { name: 'dup' }, { name: 'dup' }] }, context(0))
    // DUPLICATE_RESOURCE 92 for a name given twice, RESOURCE_NOT_FOUND 91 for a user without credentials.
    expect(named.results.map(({ user, errorCode }) => [user, errorCode])).toEqual([['dup', 92], ['alice', 0], ['bob', 91]])

    const deleted = await handleAlterUserScramCredentials(api, { deletions: [{ name: 'alice', mechanism: 2 }], upsertions: [] }, context(0))
    expect(deleted.results).toEqual([{ user: 'alice', errorCode: 0, errorMessage: null }])
    expect(controller.image?.scramUsers()).toEqual([{ name: 'alice', mechanisms: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] }])
  })

  test('a controller that cannot be reached fails every user with its code', async () => {
    const { controller, api } = setup()
    controller.failWith = new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'no controller answered in time')
    const altered = await handleAlterUserScramCredentials(api, { deletions: [], upsertions: [upsertion('alice', 1), upsertion('bob', 1)] }, context(0))
    expect(altered.results.map(({ user, errorCode }) => [user, errorCode])).toEqual([['alice', 7], ['bob', 7]])
  })
})

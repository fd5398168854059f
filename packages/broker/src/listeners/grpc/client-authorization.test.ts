/**
 * ClientService's authorization with a real authorizer over real ACLs: refused partitions and topics answer Kafka's
 * per-resource error in request order and never reach the broker; cluster-level refusals; ACLs off is a pass-through.
 */
import { ErrorCode, silentLogger } from '@gregor/common'
import { type Acl, AclIndex } from '@gregor/metadata'
import { describe, expect, test } from 'vitest'
import type { ProduceRequest } from '../../replica/index.js'
import { type Caller, createAuthorizer } from '../../security/authorizer.js'
import { authorizedClientCalls } from './client-authorization.js'
import type { ClientServiceDeps } from './client-service.js'
import { splitByPermission } from './grpc-authorization.js'

const alice: Caller = { principal: 'User:alice', host: '127.0.0.1', listener: 'CLIENT' }
let aclId = 0
const allow = (resourceType: Acl['resourceType'], resourceName: string, operation: Acl['operation']): Acl => ({
  id: `acl-${++aclId}`, resourceType, resourceName, patternType: 'LITERAL', principal: 'User:alice', host: '*', operation, permission: 'ALLOW',
})

function setUp (acls: readonly Acl[], aclsEnabled = true) {
  const seen: string[][] = []
  const authorizer = createAuthorizer({
    config: { aclsEnabled, superUsers: [], allowEveryoneIfNoAclFound: false }, acls: () => AclIndex.of(acls), logger: silentLogger,
  })
  const deps = {
    produce: async (request: ProduceRequest) => {
      seen.push(request.partitions.map((p) => `${p.topic}-${p.partition}`))
      return { partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: '', baseOffset: 7 })) }
    },
    createTopics: async (request: { topics: Array<{ name?: string | null }> }) => {
      seen.push(request.topics.map((topic) => topic.name ?? ''))
      return { topics: request.topics.map((topic) => ({ name: topic.name ?? '', errorCode: topic.name === 'taken' ? ErrorCode.TOPIC_ALREADY_EXISTS : '' })) }
    },
    alterUserScramCredentials: async () => ({ results: [] }),
    initProducerId: () => ({ producerId: 1, producerEpoch: 0 }),
  } as unknown as ClientServiceDeps
  return { calls: authorizedClientCalls(deps, authorizer), seen }
}

const produceOf = (...partitions: Array<[string, number]>): ProduceRequest => ({
  acks: -1, timeoutMs: 1000, partitions: partitions.map(([topic, partition]) => ({ topic, partition, topicId: '', records: new Uint8Array(0) })),
})

describe('ClientService authorization', () => {
  test('produce: partitions of topics without WRITE answer TOPIC_AUTHORIZATION_FAILED in place and are never written', async () => {
    const { calls, seen } = setUp([allow('TOPIC', 'a', 'WRITE'), allow('TOPIC', 'b', 'READ')])
    const response = await calls.produce(produceOf(['a', 0], ['b', 0], ['a', 1], ['nope', 0]), alice)
    expect(response.partitions?.map((p) => `${p.topic}-${p.partition}:${p.errorCode || 'ok'}`)).toEqual([
      'a-0:ok', `b-0:${ErrorCode.TOPIC_AUTHORIZATION_FAILED}`, 'a-1:ok', `nope-0:${ErrorCode.TOPIC_AUTHORIZATION_FAILED}`,
    ])
    expect(seen).toEqual([['a-0', 'a-1']])
    expect(await calls.produce(produceOf(['b', 0]), alice)).toMatchObject({ partitions: [{ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, baseOffset: -1 }] })
    expect(seen).toHaveLength(1) // nothing allowed: the broker is not asked at all
  })

  test('create topics: CREATE on the cluster or on the topic; the others refused, not forwarded', async () => {
    const { calls, seen } = setUp([allow('TOPIC', 'mine', 'CREATE')])
    const response = await calls.createTopics({ topics: [{ name: 'other' }, { name: 'mine' }] } as never, alice)
    expect(response.topics?.map((topic) => [topic.name, topic.errorCode])).toEqual([['other', ErrorCode.TOPIC_AUTHORIZATION_FAILED], ['mine', '']])
    expect(seen).toEqual([['mine']])
    const ops = setUp([{ ...allow('CLUSTER', 'kafka-cluster', 'CREATE'), principal: 'User:ops' }])
    expect((await ops.calls.createTopics({ topics: [{ name: 'anything' }] } as never, { ...alice, principal: 'User:ops' })).topics?.[0]?.errorCode).toBe('')
    // An existing topic it may not describe: refused as unauthorized, never "already exists".
    expect((await ops.calls.createTopics({ topics: [{ name: 'taken' }] } as never, { ...alice, principal: 'User:ops' })).topics?.[0]?.errorCode)
      .toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
  })

  test('cluster-level calls: users ALTER, describe DESCRIBE, idempotent producer IDEMPOTENT_WRITE or WRITE on some topic', async () => {
    const { calls } = setUp([allow('TOPIC', 'a', 'READ')])
    const refused = await calls.alterUserScramCredentials({ deletions: [{ name: 'bob' }], upsertions: [{ name: 'bob' }, { name: 'carol' }] } as never, alice)
    expect(refused.results?.map((result) => [result.user, result.errorCode])).toEqual([['bob', ErrorCode.CLUSTER_AUTHORIZATION_FAILED], ['carol', ErrorCode.CLUSTER_AUTHORIZATION_FAILED]])
    expect(() => { calls.describeCluster(alice, 'describeCluster') }).toThrow(expect.objectContaining({ code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }) as Error)
    expect(() => calls.initProducerId(alice)).toThrow(expect.objectContaining({ code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }) as Error)
    expect(setUp([allow('TOPIC', 'a', 'WRITE')]).calls.initProducerId(alice)).toEqual({ producerId: 1, producerEpoch: 0 })
  })

  test('ACLs off: every call passes through unchanged', async () => {
    const { calls, seen } = setUp([], false)
    expect((await calls.produce(produceOf(['x', 0]), alice)).partitions?.[0]?.errorCode).toBe('')
    expect(seen).toEqual([['x-0']])
    expect(() => { calls.describeCluster(alice, 'describeCluster') }).not.toThrow()
  })

  test('splitByPermission keeps request order and asks `run` only for what is allowed', async () => {
    const runs: number[][] = []
    const answers = await splitByPermission([1, 2, 3, 4], (n) => n % 2 === 0, async (allowed) => { runs.push(allowed); return allowed.map((n) => n * 10) }, (n) => -n)
    expect(answers).toEqual([-1, 20, -3, 40])
    expect(runs).toEqual([[2, 4]])
  })
})

/**
 * GroupService's authorization over gRPC in this process, with a real authorizer and a scripted coordinator runtime:
 * a group without READ cannot be joined, a subscription to a topic the caller may not describe is refused, an
 * offset commit serves only the partitions of readable topics, listings show only what the caller may describe,
 * and nothing refused ever reaches the runtime.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, silentLogger } from '@gregor/common'
import { type Acl, AclIndex } from '@gregor/metadata'
import { type GrpcMethod, groupMethods, unaryCall } from '@gregor/protocol'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { GroupCoordinatorRuntime } from '../../group-coordinator/group-coordinator-runtime.js'
import { createAuthorizer } from '../../security/authorizer.js'
import { addGroupService } from './group-service.js'

let aclId = 0
const allow = (resourceType: Acl['resourceType'], resourceName: string, operation: Acl['operation']): Acl => ({
  id: `acl-${++aclId}`, resourceType, resourceName, patternType: 'LITERAL', principal: 'User:alice', host: '*', operation, permission: 'ALLOW',
})

const runtimeCalls: string[] = []
const runtime = {
  heartbeat: async (request: { groupId: string }) => {
    runtimeCalls.push(`heartbeat ${request.groupId}`)
    return { memberId: 'm', memberEpoch: 1, heartbeatIntervalMs: 100, assignment: [] }
  },
  commitOffsets: async (request: { partitions: Array<{ topic: string; partition: number }> }) => {
    runtimeCalls.push(`commit ${request.partitions.map((p) => `${p.topic}-${p.partition}`).join(',')}`)
    return { partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: '' })) }
  },
  fetchOffsets: async () => ({ partitions: [{ topic: 'a', partition: 0, offset: 5 }, { topic: 'b', partition: 0, offset: 7 }] }),
  listGroups: () => [{ groupId: 'g', groupType: 'consumer', state: 'stable' }, { groupId: 'secret', groupType: 'consumer', state: 'stable' }],
} as unknown as GroupCoordinatorRuntime

let server: grpc.Server
let client: grpc.Client

beforeAll(async () => {
  server = new grpc.Server()
  const acls = AclIndex.of([allow('GROUP', 'g', 'READ'), allow('TOPIC', 'a', 'READ')])
  addGroupService(server, 'CLIENT', {
    runtime, image: () => { throw new Error('unused') }, brokerId: 1,
    identify: (call) => ({ principal: 'User:alice', host: '127.0.0.1', listener: 'CLIENT', source: call.getPeer() }),
    authorizer: createAuthorizer({ config: { aclsEnabled: true, superUsers: [], allowEveryoneIfNoAclFound: false }, acls: () => acls, logger: silentLogger }),
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => { if (error === null) resolve(bound); else reject(error) })
  })
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
})

afterAll(() => {
  client?.close()
  server?.forceShutdown()
})

async function call<Response> (method: GrpcMethod<unknown, never, Response, unknown>, request: object): Promise<Response> {
  return await unaryCall(client, method, request as never, { deadlineMs: 5_000 })
}

describe('GroupService authorization', () => {
  test('joining needs READ on the group and DESCRIBE on every subscribed topic', async () => {
    const heartbeat = async (groupId: string, topics: string[]) =>
      await call(groupMethods.consumerGroupHeartbeat as never, { groupId, memberId: '', memberEpoch: 0, subscribedTopicNames: topics }) as { errorCode: string }
    expect((await heartbeat('g', ['a'])).errorCode).toBe('')
    expect((await heartbeat('h', ['a'])).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED)
    expect((await heartbeat('g', ['a', 'b'])).errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    expect(runtimeCalls.filter((item) => item.startsWith('heartbeat'))).toEqual(['heartbeat g'])
  })

  test('offset commit: the group first, then each partition\'s topic; offset fetch and listings leave out what is hidden', async () => {
    const committed = await call(groupMethods.offsetCommit as never, {
      groupId: 'g', memberId: 'm', memberEpoch: 1, partitions: [{ topic: 'a', partition: 0, offset: 1 }, { topic: 'b', partition: 0, offset: 1 }],
    }) as { errorCode: string, partitions: Array<{ topic: string, errorCode: string }> }
    expect(committed.partitions.map((p) => [p.topic, p.errorCode])).toEqual([['a', ''], ['b', ErrorCode.TOPIC_AUTHORIZATION_FAILED]])
    expect(runtimeCalls).toContain('commit a-0')
    const other = await call(groupMethods.offsetCommit as never, { groupId: 'h', partitions: [{ topic: 'a', partition: 0 }] }) as { errorCode: string }
    expect(other.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const fetched = await call(groupMethods.offsetFetch as never, { groupId: 'g', partitions: [] }) as { partitions: Array<{ topic: string }> }
    expect(fetched.partitions.map((p) => p.topic)).toEqual(['a'])
    const listed = await call(groupMethods.listGroups as never, {}) as { groups: Array<{ groupId: string }> }
    expect(listed.groups.map((group) => group.groupId)).toEqual(['g'])
  })
})

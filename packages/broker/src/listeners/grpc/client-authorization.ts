/**
 * ClientService's requests authorized as Kafka's KafkaApis authorizes their Kafka twins (the rule table is
 * security/request-permissions.ts): each call of `authorizedClientCalls` checks the caller, then hands what it may
 * do to the broker (`ClientServiceDeps`) and answers the rest with Kafka's per-resource error.
 *
 * - Produce WRITE, Fetch READ, ListOffsets DESCRIBE on each partition's topic; refused partitions answer
 *   TOPIC_AUTHORIZATION_FAILED, the others are served.
 * - CreateTopics: CREATE on the cluster or on the topic (an existing topic the caller may not DESCRIBE answers
 *   TOPIC_AUTHORIZATION_FAILED, not TOPIC_ALREADY_EXISTS); DeleteTopics DELETE, CreatePartitions ALTER,
 *   AlterTopicConfigs ALTER_CONFIGS on each topic; refused topics answer TOPIC_AUTHORIZATION_FAILED and are not
 *   forwarded to the controller.
 * - AlterUserScramCredentials: ALTER on the cluster, else every user CLUSTER_AUTHORIZATION_FAILED;
 *   DescribeUserScramCredentials and DescribeCluster: DESCRIBE on the cluster, else the call is refused.
 * - InitProducerId: IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
 * Every check runs before any existence check, so a refused caller learns nothing about what exists. Metadata is
 * authorized where it is answered (client-service.ts `metadataResponse`).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { gregor } from '@gregor/protocol'
import { type Authorizer, type Caller, type Operation, authorizeCluster } from '../../security/authorizer.js'
import { authorizationFailed, mayCreateTopic, mayWriteIdempotently, requestPermissions } from '../../security/request-permissions.js'
import type { ClientServiceDeps } from './client-service.js'
import { decisions, refusalFields, splitByPermission } from './grpc-authorization.js'

type Cluster = typeof gregor.cluster
type Response<K extends keyof Cluster> = Cluster[K] extends { prototype: unknown } ? NonNullable<ConstructorParameters<Cluster[K]>[0]> : never

const noOffset = { baseOffset: -1, logStartOffset: -1, logAppendTimeMs: -1 }
const noFetch = { highWatermark: -1, logStartOffset: -1, records: new Uint8Array(0) }
const noListedOffset = { offset: -1, timestamp: -1, leaderEpoch: -1 }

/** The calls of ClientService that need a decision, each taking the caller; pass-throughs when ACLs are off. */
export function authorizedClientCalls (deps: ClientServiceDeps, authorizer: Authorizer) {
  const { produce, fetch, listOffsets, deleteTopics, createPartitions, incrementalAlterConfigs: alterTopicConfigs } = requestPermissions
  const topicResult = (name: string, operation: Operation): Response<'TopicResult'> => ({ name, ...refusalFields('TOPIC', operation) })
  /** A topic-admin call: the topics the caller may touch are forwarded, the others refused, in request order. */
  const topicAdmin = async <R extends { readonly topics: Array<{ name?: string | null }> }> (
    request: R, allowed: (name: string) => boolean, operation: Operation,
    forward: (request: R) => Promise<{ topics?: Response<'TopicResult'>[] | null }>,
  ): Promise<{ topics: Response<'TopicResult'>[] }> => ({
    topics: await splitByPermission(request.topics, (topic) => allowed(topic.name ?? ''),
      async (topics) => (await forward({ ...request, topics })).topics ?? [], (topic) => topicResult(topic.name ?? '', operation)),
  })

  /** A data-plane call: the partitions whose topic the caller may `operation` are served, the others refused. */
  const partitionCall = <Request extends { readonly partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }> }, Result> (
    serve: (request: Request) => Promise<{ partitions?: Result[] | null }>, operation: Operation, absent: object,
  ) => async (request: Request, caller: Caller): Promise<{ partitions?: Result[] | null }> => {
    if (!authorizer.enabled) return await serve(request)
    const allowed = decisions(authorizer, caller, operation, 'TOPIC')
    return {
      partitions: await splitByPermission(request.partitions, (p) => allowed(p.topic),
        async (partitions) => (await serve({ ...request, partitions })).partitions ?? [],
        (p) => ({ topic: p.topic, partition: p.partition, ...refusalFields('TOPIC', operation), ...absent }) as Result),
    }
  }

  return {

    produce: partitionCall(deps.produce, produce.topic, noOffset),
    fetch: partitionCall(deps.fetch, fetch.topic, noFetch),
    listOffsets: partitionCall(deps.listOffsets, listOffsets.topic, noListedOffset),

    async createTopics (request: gregor.cluster.CreateTopicsRequest, caller: Caller): Promise<Response<'CreateTopicsResponse'>> {
      if (!authorizer.enabled) return await deps.createTopics(request)
      const answer = await topicAdmin(request, (name) => mayCreateTopic(authorizer, caller, name), 'CREATE', deps.createTopics)
      // CREATE on the cluster does not reveal topics the caller may not DESCRIBE (Kafka's ControllerApis.createTopics).
      const mayDescribe = decisions(authorizer, caller, requestPermissions.metadata.topic, 'TOPIC')
      return {
        topics: answer.topics.map((topic) => topic.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && !mayDescribe(topic.name ?? '')
          ? topicResult(topic.name ?? '', requestPermissions.metadata.topic)
          : topic),
      }
    },

    async deleteTopics (request: gregor.cluster.DeleteTopicsRequest, caller: Caller): Promise<Response<'DeleteTopicsResponse'>> {
      if (!authorizer.enabled) return await deps.deleteTopics(request)
      const mayDelete = decisions(authorizer, caller, deleteTopics.topic, 'TOPIC')
      return {
        topics: await splitByPermission(request.topics, mayDelete,
          async (topics) => (await deps.deleteTopics({ ...request, topics })).topics ?? [], (name) => topicResult(name, deleteTopics.topic)),
      }
    },

    async createPartitions (request: gregor.cluster.CreatePartitionsRequest, caller: Caller): Promise<Response<'CreatePartitionsResponse'>> {
      if (!authorizer.enabled) return await deps.createPartitions(request)
      return await topicAdmin(request, decisions(authorizer, caller, createPartitions.topic, 'TOPIC'), createPartitions.topic, deps.createPartitions)
    },

    async alterTopicConfigs (request: gregor.cluster.AlterTopicConfigsRequest, caller: Caller): Promise<Response<'AlterTopicConfigsResponse'>> {
      if (!authorizer.enabled) return await deps.alterTopicConfigs(request)
      return await topicAdmin(request, decisions(authorizer, caller, alterTopicConfigs.topic, 'TOPIC'), alterTopicConfigs.topic, deps.alterTopicConfigs)
    },

    async alterUserScramCredentials (request: gregor.cluster.AlterUserScramCredentialsRequest, caller: Caller): Promise<Response<'AlterUserScramCredentialsResponse'>> {
      const operation = requestPermissions.alterUserScramCredentials.cluster
      if (!authorizer.enabled || authorizeCluster(authorizer, caller, operation)) return await deps.alterUserScramCredentials(request)
      const users = [...new Set([...request.deletions, ...request.upsertions].map((item) => item.name ?? ''))]
      return { results: users.map((user) => ({ user, ...refusalFields('CLUSTER', operation) })) }
    },

    /** Throws CLUSTER_AUTHORIZATION_FAILED (a refused call) unless the caller may DESCRIBE the cluster. */
    describeCluster (caller: Caller, kind: 'describeCluster' | 'describeUserScramCredentials'): void {
      const operation = requestPermissions[kind].cluster
      if (authorizer.enabled && !authorizeCluster(authorizer, caller, operation)) throw authorizationFailed('CLUSTER', operation)
    },

    initProducerId (caller: Caller): { producerId: number; producerEpoch: number } {
      if (!mayWriteIdempotently(authorizer, caller)) {
        throw new GregorError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'not authorized to IDEMPOTENT_WRITE the cluster or WRITE any topic')
      }
      return deps.initProducerId()
    },
  }
}

/**
 * Authorization rules of the admin and ACL families (KafkaApis): CreateTopics needs CREATE on the cluster or the
 * topic, DeleteTopics DELETE and CreatePartitions ALTER on each topic, DescribeConfigs DESCRIBE_CONFIGS and
 * IncrementalAlterConfigs ALTER_CONFIGS on each topic (on the cluster for a broker resource), all answered per item
 * (CreateTopics of an existing topic the caller may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED, not
 * TOPIC_ALREADY_EXISTS);
 * DescribeCluster, DescribeQuorum, DescribeLogDirs, DescribeUserScramCredentials and DescribeAcls need DESCRIBE on the
 * cluster, ElectLeaders, AlterUserScramCredentials, CreateAcls and DeleteAcls ALTER on it: refused as a whole with
 * CLUSTER_AUTHORIZATION_FAILED in every entry the answer has.
 */
import { ErrorCode } from '@gregor/common'
import { ApiKey, kafkaErrorCode } from '@gregor/kafka-protocol'
import { type Operation, authorizeCluster } from '../../../security/authorizer.js'
import { authorizationFailed, mayCreateTopic, requestPermissions } from '../../../security/request-permissions.js'
import { ZERO_UUID } from '../handlers/kafka-topic-id.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { byTopicPermission } from './data-rules.js'
import { type RuleScope, type Rules, withRefusals } from './kafka-authorization.js'

const TOPIC_DENIED = kafkaErrorCode(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
const CLUSTER_DENIED = kafkaErrorCode(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
const TOPIC_EXISTS = kafkaErrorCode(ErrorCode.TOPIC_ALREADY_EXISTS)
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648
/** DescribeConfigs / IncrementalAlterConfigs resource types (Kafka's ConfigResource.Type). */
const TOPIC_RESOURCE = 2

const topicMessage = (operation: Operation): string => authorizationFailed('TOPIC', operation).message
const clusterMessage = (operation: Operation): string => authorizationFailed('CLUSTER', operation).message

export function adminRules (scope: RuleScope): Rules {
  const { authorizer, deps } = scope
  /** Whether the caller may `operation` the cluster (denial logged and counted). */
  const cluster = (context: KafkaRequestContext, operation: 'DESCRIBE' | 'ALTER' | 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS'): boolean =>
    authorizeCluster(authorizer, scope.caller(context), operation)
  /** A config resource's check: its topic, or the cluster for a broker (or broker logger) resource. */
  const configResource = (context: KafkaRequestContext, operation: 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS', resource: { resourceType: number, resourceName: string }): number | undefined => {
    if (resource.resourceType === TOPIC_RESOURCE) {
      return authorizer.authorize(scope.caller(context), operation, 'TOPIC', resource.resourceName) ? undefined : TOPIC_DENIED
    }
    return cluster(context, operation) ? undefined : CLUSTER_DENIED
  }
  /** DescribeConfigs and IncrementalAlterConfigs: the resources the caller may touch, and the refused ones with their answer. */
  const splitConfigResources = <Resource extends { resourceType: number, resourceName: string }> (
    context: KafkaRequestContext, operation: 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS', resources: readonly Resource[],
  ): { allowed: Resource[], denied: Array<{ errorCode: number, errorMessage: string, resourceType: number, resourceName: string }> } => {
    const allowed: Resource[] = []
    const denied: Array<{ errorCode: number, errorMessage: string, resourceType: number, resourceName: string }> = []
    for (const resource of resources) {
      const code = configResource(context, operation, resource)
      if (code === undefined) allowed.push(resource)
      else {
        denied.push({
          errorCode: code, errorMessage: code === TOPIC_DENIED ? topicMessage(operation) : clusterMessage(operation),
          resourceType: resource.resourceType, resourceName: resource.resourceName,
        })
      }
    }
    return { allowed, denied }
  }
  return {
    [ApiKey.CreateTopics]: (inner) => async (request, context) => {
      const caller = scope.caller(context)
      const refused = (name: string) => ({
        name, topicId: ZERO_UUID, errorCode: TOPIC_DENIED, errorMessage: topicMessage('CREATE'), topicConfigErrorCode: 0,
        numPartitions: -1, replicationFactor: -1, configs: null,
      })
      const allowed = request.topics.filter((topic) => mayCreateTopic(authorizer, caller, topic.name))
      const response = await withRefusals(inner, request, context, request.topics.length - allowed.length, () => ({ ...request, topics: allowed }), (answer) => ({
        ...answer,
        topics: [...answer.topics, ...request.topics.filter((topic) => !allowed.includes(topic)).map((topic) => refused(topic.name))],
      }))
      if (response === undefined) return undefined
      // CREATE on the cluster is not DESCRIBE on every topic: TOPIC_ALREADY_EXISTS would tell a caller who may not
      // describe the topic that it exists, so it is refused instead (as Kafka's ControllerApis.createTopics).
      return {
        ...response,
        topics: response.topics.map((topic) => topic.errorCode === TOPIC_EXISTS && !authorizer.authorize(caller, 'DESCRIBE', 'TOPIC', topic.name)
          ? refused(topic.name)
          : topic),
      }
    },
    [ApiKey.DeleteTopics]: (inner) => async (request, context) => {
      const operation = requestPermissions.deleteTopics.topic
      if (context.apiVersion >= 6) {
        const { allowed, denied } = byTopicPermission(scope, context, operation, request.topics, (topic) => topic.name ?? deps.topicName(topic.topicId))
        return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => ({
          ...response,
          responses: [...response.responses, ...denied.map((topic) => ({
            name: topic.name, topicId: topic.topicId, errorCode: TOPIC_DENIED, errorMessage: topicMessage(operation),
          }))],
        }))
      }
      const { allowed, denied } = byTopicPermission(scope, context, operation, request.topicNames, (name) => name)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topicNames: allowed }), (response) => ({
        ...response,
        responses: [...response.responses, ...denied.map((name) => ({ name, topicId: ZERO_UUID, errorCode: TOPIC_DENIED, errorMessage: topicMessage(operation) }))],
      }))
    },
    [ApiKey.CreatePartitions]: (inner) => async (request, context) => {
      const operation = requestPermissions.createPartitions.topic
      const { allowed, denied } = byTopicPermission(scope, context, operation, request.topics, (topic) => topic.name)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, topics: allowed }), (response) => ({
        ...response,
        results: [...response.results, ...denied.map((topic) => ({ name: topic.name, errorCode: TOPIC_DENIED, errorMessage: topicMessage(operation) }))],
      }))
    },
    [ApiKey.DescribeConfigs]: (inner) => async (request, context) => {
      const { allowed, denied } = splitConfigResources(context, 'DESCRIBE_CONFIGS', request.resources)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, resources: allowed }), (response) => ({
        ...response, results: [...response.results, ...denied.map((refusal) => ({ ...refusal, configs: [] }))],
      }))
    },
    [ApiKey.IncrementalAlterConfigs]: (inner) => async (request, context) => {
      const { allowed, denied } = splitConfigResources(context, 'ALTER_CONFIGS', request.resources)
      return await withRefusals(inner, request, context, denied.length, () => ({ ...request, resources: allowed }), (response) => ({
        ...response, responses: [...response.responses, ...denied],
      }))
    },
    [ApiKey.DescribeCluster]: (inner) => async (request, context) => cluster(context, 'DESCRIBE')
      ? await inner(request, context)
      : {
          throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('DESCRIBE'), endpointType: request.endpointType, clusterId: '',
          controllerId: -1, brokers: [], clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        },
    [ApiKey.DescribeQuorum]: (inner) => async (request, context) => cluster(context, 'DESCRIBE')
      ? await inner(request, context)
      : { errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('DESCRIBE'), topics: [], nodes: [] },
    [ApiKey.DescribeLogDirs]: (inner) => async (request, context) => cluster(context, 'DESCRIBE')
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, results: [] },
    [ApiKey.DescribeUserScramCredentials]: (inner) => async (request, context) => cluster(context, 'DESCRIBE')
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('DESCRIBE'), results: [] },
    [ApiKey.DescribeAcls]: (inner) => async (request, context) => cluster(context, 'DESCRIBE')
      ? await inner(request, context)
      : { throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('DESCRIBE'), resources: [] },
    [ApiKey.ElectLeaders]: (inner) => async (request, context) => cluster(context, 'ALTER')
      ? await inner(request, context)
      : {
          throttleTimeMs: 0,
          errorCode: CLUSTER_DENIED,
          replicaElectionResults: (request.topicPartitions ?? []).map((topic) => ({
            topic: topic.topic,
            partitionResult: topic.partitions.map((partitionId) => ({ partitionId, errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('ALTER') })),
          })),
        },
    [ApiKey.AlterUserScramCredentials]: (inner) => async (request, context) => {
      if (cluster(context, 'ALTER')) return await inner(request, context)
      const users = [...new Set([...request.deletions, ...request.upsertions].map((change) => change.name))]
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('ALTER') })) }
    },
    [ApiKey.CreateAcls]: (inner) => async (request, context) => cluster(context, 'ALTER')
      ? await inner(request, context)
      : { throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('ALTER') })) },
    [ApiKey.DeleteAcls]: (inner) => async (request, context) => cluster(context, 'ALTER')
      ? await inner(request, context)
      : { throttleTimeMs: 0, filterResults: request.filters.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: clusterMessage('ALTER'), matchingAcls: [] })) },
  }
}

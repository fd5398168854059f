/**
 * ClientService on one client listener: metadata and cluster description from this broker's applied image, admin
 * requests forwarded to the active controller, produce (unary, or on a ProduceStream: produce-stream-service.ts),
 * fetch and list-offsets handed to the replica manager. Every call is first given its caller (`identify`: session
 * token, client certificate or anonymous; an unknown token is refused UNAUTHENTICATED) and then authorized
 * (client-authorization.ts; Metadata here) before anything else is looked at.
 *
 * Invariant: a metadata answer names every broker by its advertised address on *this* listener (by name), so a
 * client that reached the cluster through, say, the host-facing listener of a docker network keeps using host-facing
 * addresses. Brokers without such a listener are left out rather than given an unreachable address.
 */
import type * as grpc from '@grpc/grpc-js'
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { type MetadataImage, NO_LEADER } from '@gregor/metadata'
import { clientMethods, serviceDefinition, type gregor } from '@gregor/protocol'
import { listenerEndpoints } from '../kafka/metadata-image-api.js'
import type { QuorumStatusView } from '../../metadata-quorum.js'
import { kafkaTopicConfigOverrides } from '../../controller/wire-topic-configs.js'
import type { BrokerMetrics, ClientApi } from '../../metrics/index.js'
import type { FetchRequest, ListOffsetsRequest, ProduceRequest } from '../../replica/index.js'
import { type Authorizer, allowEverythingAuthorizer } from '../../security/authorizer.js'
import { requestPermissions } from '../../security/request-permissions.js'
import { authorizedClientCalls } from './client-authorization.js'
import { type CallIdentity, type IdentifyCall, anonymousCallers } from './grpc-authentication.js'
import { decisions, permissionDenied, refusalFields } from './grpc-authorization.js'
import { produceStreamHandler } from './produce-stream-service.js'


/**
 * Kafka's DescribeUserScramCredentials from this broker's image: every user with a credential, or the named ones
 * (RESOURCE_NOT_FOUND for a name without any); mechanisms and iteration counts only, never salts or keys.
 */
export function describeUserScramCredentialsResponse (
  image: MetadataImage, request: gregor.cluster.DescribeUserScramCredentialsRequest.$Properties,
): gregor.cluster.DescribeUserScramCredentialsResponse.$Properties {
  const all = image.scramUsers()
  const named = request.users ?? []
  const users = named.length === 0 ? all.map((user) => user.name) : [...new Set(named)]
  return {
    users: users.map((name) => {
      const user = all.find((candidate) => candidate.name === name)
      if (user === undefined) {
        return { user: name, credentials: [], errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `user ${name} has no SCRAM credentials` }
      }
      return { user: name, credentials: user.mechanisms.map(({ mechanism, iterations }) => ({ mechanism, iterations })), errorCode: '' }
    }),
  }
}

/** What the client API needs from the rest of the broker. */
export interface ClientServiceDeps {
  readonly clusterId: string
  readonly image: () => MetadataImage
  readonly quorum: () => QuorumStatusView
  readonly createTopics: (request: gregor.cluster.CreateTopicsRequest) => Promise<gregor.cluster.CreateTopicsResponse.$Properties>
  readonly deleteTopics: (request: gregor.cluster.DeleteTopicsRequest) => Promise<gregor.cluster.DeleteTopicsResponse.$Properties>
  /** More partitions (increase only), forwarded to the controller. */
  readonly createPartitions: (request: gregor.cluster.CreatePartitionsRequest) => Promise<gregor.cluster.CreatePartitionsResponse.$Properties>
  /** Topic config changes (set, delete back to the default, append/subtract on lists), forwarded to the controller. */
  readonly alterTopicConfigs: (request: gregor.cluster.AlterTopicConfigsRequest) => Promise<gregor.cluster.AlterTopicConfigsResponse.$Properties>
  /** SCRAM credential upserts (salted passwords, never passwords) and deletions, forwarded to the controller. */
  readonly alterUserScramCredentials: (request: gregor.cluster.AlterUserScramCredentialsRequest) => Promise<gregor.cluster.AlterUserScramCredentialsResponse.$Properties>
  readonly produce: (request: ProduceRequest) => Promise<gregor.cluster.ProduceResponse.$Properties>
  readonly fetch: (request: FetchRequest) => Promise<gregor.cluster.FetchResponse.$Properties>
  readonly listOffsets: (request: ListOffsetsRequest) => Promise<gregor.cluster.ListOffsetsResponse.$Properties>
  /** A producer id for an idempotent producer; throws a GregorError when none can be given now. */
  readonly initProducerId: () => { producerId: number; producerEpoch: number }
  /** Request latency, errors and bytes in/out (absent: nothing is measured). */
  readonly metrics?: BrokerMetrics
  /** Who each call comes from (session token, client certificate); absent: every caller is User:ANONYMOUS. */
  readonly identify?: IdentifyCall
  /** Who may do what (ACLs); absent: everything is allowed. */
  readonly authorizer?: Authorizer
}

export function addClientService (server: grpc.Server, listenerName: string, deps: ClientServiceDeps): void {
  const metrics = deps.metrics
  // Bound once per listener: a request then costs one histogram observe and a loop over its partitions.
  // BrokerMetrics.timed wraps one-argument handlers: the caller travels with the request as a pair.
  const timed = <Request, Response> (api: ClientApi, handler: (request: Request, caller: CallIdentity) => Promise<Response> | Response) => {
    if (metrics === undefined) return handler
    const measured = metrics.timed(api, (call: readonly [Request, CallIdentity]) => handler(call[0], call[1]))
    return async (request: Request, caller: CallIdentity) => await measured([request, caller])
  }
  const identify = deps.identify ?? anonymousCallers(listenerName)
  const unary = unaryWith(identify)
  const authorizer = deps.authorizer ?? allowEverythingAuthorizer
  const calls = authorizedClientCalls(deps, authorizer)
  // One handler for Produce and ProduceStream: the same authorization, metrics (api="produce") and domain call.
  const produce = timed('produce', async (request: gregor.cluster.ProduceRequest, caller: CallIdentity) => {
    const response = await calls.produce(produceRequestFromWire(request), caller)
    metrics?.produced(request.partitions, response.partitions ?? [])
    return response
  })
  const handlers = {
    metadata: unary(timed('metadata', (request: gregor.cluster.MetadataRequest, caller: CallIdentity) =>
      metadataResponse(deps, listenerName, request, authorizer, caller))),
    describeCluster: unary(timed('describe_cluster', (_request: unknown, caller: CallIdentity) => {
      calls.describeCluster(caller, 'describeCluster')
      return describeClusterResponse(deps, listenerName)
    })),
    createTopics: unary(timed('create_topics', calls.createTopics)),
    deleteTopics: unary(timed('delete_topics', calls.deleteTopics)),
    createPartitions: unary(timed('create_partitions', calls.createPartitions)),
    alterTopicConfigs: unary(timed('alter_topic_configs', calls.alterTopicConfigs)),
    alterUserScramCredentials: unary(timed('alter_user_scram_credentials', calls.alterUserScramCredentials)),
    describeUserScramCredentials: unary(timed('describe_user_scram_credentials',
      (request: gregor.cluster.DescribeUserScramCredentialsRequest, caller: CallIdentity) => {
        calls.describeCluster(caller, 'describeUserScramCredentials')
        return describeUserScramCredentialsResponse(deps.image(), request)
      })),
    produce: unary(produce),
    produceStream: produceStreamHandler({ identify, produce }),
    fetch: unary(timed('fetch', async (request: gregor.cluster.FetchRequest, caller: CallIdentity) => {
      const response = await calls.fetch(fetchRequestFromWire(request), caller)
      metrics?.fetched(response.partitions ?? [])
      return response
    })),
    initProducerId: unary(timed('init_producer_id', (_request: unknown, caller: CallIdentity): gregor.cluster.InitProducerIdResponse.$Properties => {
      try {
        return { errorCode: '', ...calls.initProducerId(caller) }
      } catch (error) {
        if (!isGregorError(error)) throw error
        return { errorCode: error.code, errorMessage: error.message, producerId: -1, producerEpoch: -1 }
      }
    })),
    listOffsets: unary(timed('list_offsets', async (request: gregor.cluster.ListOffsetsRequest, caller: CallIdentity) => {
      const response = await calls.listOffsets(listOffsetsRequestFromWire(request), caller)
      metrics?.answered('list_offsets', response.partitions ?? [])
      return response
    })),
  }
  server.addService(serviceDefinition(clientMethods as never), handlers as unknown as grpc.UntypedServiceImplementation)
}

// ---- the wire edge of the data plane: protobuf objects in, domain requests out ----
// Proto3 cannot tell an absent scalar from its zero: an absent field reads as the protocol's documented default
// (acks 0, offset 0, epoch 0, no topic id), decided here once. A partition that names no topic is malformed and the
// whole request is refused (INVALID_ARGUMENT), rather than answered as some partition of topic ''.

function topicOf (topic: string | null | undefined, what: string): string {
  if (typeof topic !== 'string' || topic === '') throw new GregorError(ErrorCode.INVALID_REQUEST, `${what}: a partition names no topic`)
  return topic
}

/** A protobuf count or offset (int64 may arrive as a Long) as a number; absent is `absent`. */
function numberOf (value: number | { toNumber (): number } | null | undefined, absent: number): number {
  if (value === null || value === undefined) return absent
  return typeof value === 'number' ? value : value.toNumber()
}

export function produceRequestFromWire (request: gregor.cluster.ProduceRequest.$Properties): ProduceRequest {
  return {
    acks: numberOf(request.acks, 0),
    timeoutMs: numberOf(request.timeoutMs, 0),
    partitions: (request.partitions ?? []).map((p) => ({
      topic: topicOf(p.topic, 'produce'), partition: numberOf(p.partition, 0), topicId: p.topicId ?? '', records: p.records ?? new Uint8Array(0),
    })),
  }
}

export function fetchRequestFromWire (request: gregor.cluster.FetchRequest.$Properties): FetchRequest {
  return {
    maxWaitMs: numberOf(request.maxWaitMs, 0),
    minBytes: numberOf(request.minBytes, 0),
    maxBytes: numberOf(request.maxBytes, 0),
    partitions: (request.partitions ?? []).map((p) => ({
      topic: topicOf(p.topic, 'fetch'), partition: numberOf(p.partition, 0), topicId: p.topicId ?? '',
      fetchOffset: numberOf(p.fetchOffset, 0), partitionMaxBytes: numberOf(p.partitionMaxBytes, 0),
      currentLeaderEpoch: numberOf(p.currentLeaderEpoch, -1),
    })),
  }
}

/** The gRPC ListOffsets has no leader-epoch fencing (no field for it): -1. */
export function listOffsetsRequestFromWire (request: gregor.cluster.ListOffsetsRequest.$Properties): ListOffsetsRequest {
  return {
    partitions: (request.partitions ?? []).map((p) => ({
      topic: topicOf(p.topic, 'list offsets'), partition: numberOf(p.partition, 0), topicId: p.topicId ?? '',
      timestamp: numberOf(p.timestamp, -1), currentLeaderEpoch: -1,
    })),
  }
}

/**
 * Wraps a handler: the caller is identified first (a session token this broker does not know is refused
 * UNAUTHENTICATED before the handler runs); GregorErrors that escape become INVALID_ARGUMENT/UNAVAILABLE statuses,
 * never a crash.
 */
const unaryWith = (identify: IdentifyCall) => <Request, Response> (
  handler: (request: Request, caller: CallIdentity) => Promise<Response> | Response,
): grpc.handleUnaryCall<Request, Response> => {
  return (call, callback) => {
    const caller = identify(call)
    if (caller instanceof Error) { callback(caller); return }
    Promise.resolve().then(() => handler(call.request, caller)).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const refused = permissionDenied(error)
        if (refused !== undefined) { callback(refused); return }
        const code = isGregorError(error) && error.code === ErrorCode.INVALID_REQUEST ? 3 /* INVALID_ARGUMENT */ : 14 /* UNAVAILABLE */
        callback({ name: 'Error', message: error instanceof Error ? error.message : String(error), code, details: String(error) })
      },
    )
  }
}

/** Every broker's address on `listenerName`, as the Kafka listener finds them too; protobuf says '' for no rack. */
function endpoints (image: MetadataImage, listenerName: string): gregor.cluster.BrokerEndpoint.$Properties[] {
  return listenerEndpoints(image, listenerName).map((endpoint) => ({ ...endpoint, rack: endpoint.rack ?? '' }))
}

/**
 * Metadata as Kafka authorizes it: all topics lists only those the caller may DESCRIBE (silently); a named topic the
 * caller may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED whether it exists or not, and its configs need
 * DESCRIBE_CONFIGS too. The broker list is everyone's.
 */
function metadataResponse (
  deps: ClientServiceDeps, listenerName: string, request: gregor.cluster.MetadataRequest, authorizer: Authorizer, caller: CallIdentity,
): gregor.cluster.MetadataResponse.$Properties {
  const image = deps.image()
  const { topic: describe } = requestPermissions.metadata
  const mayDescribe = authorizer.enabled ? decisions(authorizer, caller, describe, 'TOPIC') : () => true
  const mayDescribeConfigs = authorizer.enabled && request.includeConfigs
    ? decisions(authorizer, caller, requestPermissions.describeConfigs.topic, 'TOPIC')
    : () => true
  const names = request.topics.length > 0
    ? request.topics
    : authorizer.filter(caller, describe, 'TOPIC', image.topics(), (topic) => topic.name).map((topic) => topic.name)
  const topics = names.map((name): gregor.cluster.TopicMetadata.$Properties => {
    if (!mayDescribe(name) || !mayDescribeConfigs(name)) {
      return { name, ...refusalFields('TOPIC', mayDescribe(name) ? requestPermissions.describeConfigs.topic : describe), partitions: [] }
    }
    const topic = image.topic(name)
    if (topic === undefined) return { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'unknown topic', partitions: [] }
    const partitions = image.partitionsOf(topic.topicId)
    return {
      name, topicId: topic.topicId, errorCode: '', internal: name.startsWith('__'),
      configOverrides: request.includeConfigs ? kafkaTopicConfigOverrides(topic.config, partitions[0]?.replicas.length ?? 1) : {},
      partitions: partitions.map((partition) => ({
        partition: partition.partition, leader: partition.leader === NO_LEADER ? -1 : partition.leader, leaderEpoch: partition.leaderEpoch,
        replicas: [...partition.replicas], isr: [...partition.isr],
        errorCode: partition.leader === NO_LEADER ? ErrorCode.LEADER_NOT_AVAILABLE : '',
      })),
    }
  })
  return { clusterId: deps.clusterId, controllerId: controllerId(deps), brokers: endpoints(image, listenerName), topics }
}

function describeClusterResponse (deps: ClientServiceDeps, listenerName: string): gregor.cluster.DescribeClusterResponse.$Properties {
  const image = deps.image()
  const quorum = deps.quorum()
  const leaderCounts = image.leaderCounts()
  return {
    clusterId: deps.clusterId, controllerId: controllerId(deps), raftTerm: quorum.term, raftLeaderId: quorum.leaderId || -1,
    raftCommitIndex: quorum.commitIndex, raftAppliedIndex: quorum.appliedIndex,
    brokers: image.brokers().map((broker) => {
      const listener = broker.listeners.find((item) => item.name === listenerName)
      return {
        brokerId: broker.brokerId, host: listener?.host ?? '', port: listener?.port ?? 0, fenced: broker.fenced,
        shuttingDown: broker.shuttingDown, rack: broker.rack ?? '',
        partitionCount: image.partitionsReplicatedOn(broker.brokerId).length, leaderCount: leaderCounts.get(broker.brokerId) ?? 0,
      }
    }),
  }
}

/** In combined mode the controller is the raft leader. */
function controllerId (deps: ClientServiceDeps): number {
  const leaderId = deps.quorum().leaderId
  return leaderId === 0 ? -1 : leaderId
}

export function notController (): GregorError {
  return new GregorError(ErrorCode.NOT_CONTROLLER, 'no active controller known')
}

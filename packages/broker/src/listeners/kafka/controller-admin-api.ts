/**
 * The admin part of `KafkaBrokerApi` over the broker: topic changes and elections are forwarded to the active
 * controller through `BrokerLifecycle` (as the gRPC ClientService forwards them), descriptions are read from this
 * broker's applied MetadataImage, its metadata quorum status and its replicas' logs.
 *
 * Invariants: no protobuf object leaves this file (the lifecycle speaks the controller's wire types; this adapter turns
 * them into the domain types of `kafka-admin-api.ts`); every per-item failure, including a controller that could not
 * be reached in time, comes back as an `AdminFailure`, never as a rejection. Topic configs are reported under Kafka's
 * names; a value equal to Gregor's built-in default (min.insync.replicas: 2 capped at the replication factor) is
 * reported as the default, any other as a topic override (the image keeps only the effective config).
 */
import { ErrorCode, isGregorError, nodeId } from '@gregor/common'
import type { MetadataImage, TopicConfig } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { isTopicConfigOverride, kafkaTopicConfigNames, kafkaTopicConfigs } from '../../controller/wire-topic-configs.js'
import type {
  AdminFailure, AdminOptions, ClusterDescription, ConfigEntry, ConfigType, CreatedTopic, DeletedTopic, ElectionOutcome, KafkaAdminApi,
  LogDirDescription, NewTopic, PartitionCountChange, TopicConfigChange, PartitionReference, QuorumDescription, ScramCredentialDeletion,
  ScramCredentialUpsertion, ScramUserDescription, TopicReference,
} from './kafka-admin-api.js'
import type { BrokerKafkaApiDeps } from './broker-kafka-api.js'
import { activeControllerId, listenerEndpoints } from './metadata-image-api.js'

/** What the adapter calls on the controller (BrokerLifecycle's forwarding methods). */
export interface AdminControllerCalls {
  createTopics (request: gregor.cluster.CreateTopicsRequest.$Properties): Promise<gregor.cluster.CreateTopicsResponse.$Properties>
  deleteTopics (request: gregor.cluster.DeleteTopicsRequest.$Properties): Promise<gregor.cluster.DeleteTopicsResponse.$Properties>
  createPartitions (request: gregor.cluster.CreatePartitionsRequest.$Properties): Promise<gregor.cluster.CreatePartitionsResponse.$Properties>
  electLeaders (request: gregor.cluster.ElectLeadersRequest.$Properties): Promise<gregor.cluster.ElectLeadersResponse.$Properties>
  alterTopicConfigs (request: gregor.cluster.AlterTopicConfigsRequest.$Properties): Promise<gregor.cluster.AlterTopicConfigsResponse.$Properties>
  alterUserScramCredentials (request: gregor.cluster.AlterUserScramCredentialsRequest.$Properties): Promise<gregor.cluster.AlterUserScramCredentialsResponse.$Properties>
}

/** The metadata quorum as this broker knows it. */
export interface QuorumView {
  readonly leaderId: number
  readonly term: number
  readonly commitIndex: number
  readonly lastIndex: number
  /** On the raft leader: each voter's matched index; empty on a follower. */
  readonly voterMatchIndexes: ReadonlyMap<number, number>
}

export interface ControllerAdminApiOptions {
  readonly brokerId: number
  readonly controller: AdminControllerCalls
  readonly image: () => MetadataImage
  /** Cluster id, controller and the live brokers as seen on this listener. */
  readonly cluster: () => ClusterDescription
  /** Undefined before the quorum has started. */
  readonly quorum: () => QuorumView | undefined
  readonly voters: readonly number[]
  readonly logDir: string
  readonly logDirOffline: () => boolean
  /** Size, high watermark and log end of this broker's replica of a partition, if it holds one. */
  readonly replica: (topic: string, partition: number) => { sizeBytes: number; highWatermark: number; logEndOffset: number } | undefined
  readonly autoCreateTopicsEnable: boolean
}

const configTypes: Readonly<Record<keyof TopicConfig, ConfigType>> = {
  minInsyncReplicas: 'int',
  retentionMs: 'long',
  retentionBytes: 'long',
  segmentBytes: 'int',
  segmentMs: 'long',
  maxMessageBytes: 'int',
  cleanupPolicy: 'list',
  deleteRetentionMs: 'long',
  minCleanableDirtyRatio: 'double',
  minCompactionLagMs: 'long',
}

/** A controller's error code string as a Gregor code (anything unknown is UNKNOWN_SERVER_ERROR). */
export function failure (code: string | null | undefined, message: string | null | undefined): AdminFailure {
  const known = (Object.values(ErrorCode) as string[]).includes(code ?? '')
  return { error: known ? code as ErrorCode : ErrorCode.UNKNOWN_SERVER_ERROR, message: message ?? code ?? 'failed' }
}

/** The controller's per-topic answers, in request order: undefined for success, else the failure. */
function topicOutcomes (count: number, results: readonly gregor.cluster.ITopicResult[] | null | undefined): (AdminFailure | undefined)[] {
  return Array.from({ length: count }, (_, i) => {
    const result = results?.[i]
    if (result === undefined) return failure(undefined, 'the controller gave no answer for this topic')
    return (result.errorCode ?? '') === '' ? undefined : failure(result.errorCode, result.errorMessage)
  })
}

/** A failure of the whole call (no controller in time): every item fails with it; anything else is a bug. */
export function callFailure (error: unknown): AdminFailure {
  if (!isGregorError(error)) throw error
  return { error: error.code, message: error.message }
}

export function topicConfigEntries (config: TopicConfig, isOverride: (key: keyof TopicConfig, kafkaName: string) => boolean): ConfigEntry[] {
  const values = kafkaTopicConfigs(config)
  return (Object.keys(configTypes) as (keyof TopicConfig)[]).map((key) => {
    const name = kafkaTopicConfigNames[key]
    return { name, value: values[name] ?? '', readOnly: false, source: isOverride(key, name) ? 'topic-override' : 'default', type: configTypes[key] }
  })
}

export class ControllerAdminApi implements KafkaAdminApi {
  readonly #options: ControllerAdminApiOptions

  constructor (options: ControllerAdminApiOptions) {
    this.#options = options
  }

  async createTopics (topics: readonly NewTopic[], options: AdminOptions): Promise<readonly (CreatedTopic | (AdminFailure & { readonly name: string }))[]> {
    let response: gregor.cluster.CreateTopicsResponse.$Properties
    try {
      response = await this.#options.controller.createTopics({
        validateOnly: options.validateOnly,
        topics: topics.map((topic) => ({
          name: topic.name, partitions: topic.partitionCount ?? 0, replicationFactor: topic.replicationFactor ?? 0, configs: { ...topic.configs },
        })),
      })
    } catch (error) {
      const failed = callFailure(error)
      return topics.map((topic) => ({ name: topic.name, ...failed }))
    }
    return topics.map((topic, i) => {
      const result = response.topics?.[i]
      if (result === undefined) return { name: topic.name, ...failure(undefined, 'the controller gave no answer for this topic') }
      if ((result.errorCode ?? '') !== '') return { name: topic.name, ...failure(result.errorCode, result.errorMessage) }
      const configs = result.configs ?? {}
      return {
        name: topic.name,
        topicId: result.topicId ?? '',
        partitionCount: result.partitions ?? 0,
        replicationFactor: result.replicationFactor ?? 0,
        configs: Object.entries(configs).map(([name, value]): ConfigEntry => {
          const key = (Object.keys(kafkaTopicConfigNames) as (keyof TopicConfig)[]).find((item) => kafkaTopicConfigNames[item] === name)
          const overridden = name in topic.configs || (key !== undefined && key in topic.configs)
          return { name, value, readOnly: false, source: overridden ? 'topic-override' : 'default', type: key === undefined ? 'string' : configTypes[key] }
        }),
      }
    })
  }

  async deleteTopics (references: readonly TopicReference[]): Promise<readonly (DeletedTopic | (AdminFailure & { readonly reference: TopicReference }))[]> {
    const image = this.#options.image()
    // The controller deletes by name; an id is resolved here against this broker's image.
    const names = references.map((reference) => 'name' in reference ? reference.name : image.topicById(reference.topicId)?.name)
    const known = names.filter((name): name is string => name !== undefined)
    let response: gregor.cluster.DeleteTopicsResponse.$Properties = { topics: [] }
    try {
      if (known.length > 0) response = await this.#options.controller.deleteTopics({ topics: known })
    } catch (error) {
      const failed = callFailure(error)
      return references.map((reference) => ({ reference, ...failed }))
    }
    let next = 0
    return references.map((reference, i) => {
      if (names[i] === undefined) {
        return { reference, error: ErrorCode.UNKNOWN_TOPIC_ID, message: `no topic has id ${'topicId' in reference ? reference.topicId : ''}` }
      }
      const result = response.topics?.[next++]
      if (result === undefined) return { reference, ...failure(undefined, 'the controller gave no answer for this topic') }
      if ((result.errorCode ?? '') !== '') {
        // Deleted meanwhile (this broker's image lagged the controller's): by id, Kafka says UNKNOWN_TOPIC_ID.
        const gone = 'topicId' in reference && result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return { reference, ...failure(gone ? ErrorCode.UNKNOWN_TOPIC_ID : result.errorCode, result.errorMessage) }
      }
      return { name: result.name ?? '', topicId: result.topicId ?? '' }
    })
  }

  async createPartitions (changes: readonly PartitionCountChange[], options: AdminOptions): Promise<readonly (AdminFailure | undefined)[]> {
    try {
      const response = await this.#options.controller.createPartitions({
        validateOnly: options.validateOnly, topics: changes.map(({ name, partitionCount }) => ({ name, partitions: partitionCount })),
      })
      return topicOutcomes(changes.length, response.topics)
    } catch (error) {
      const failed = callFailure(error)
      return changes.map(() => failed)
    }
  }

  async alterTopicConfigs (changes: readonly TopicConfigChange[], options: AdminOptions): Promise<readonly (AdminFailure | undefined)[]> {
    try {
      const response = await this.#options.controller.alterTopicConfigs({
        validateOnly: options.validateOnly,
        topics: changes.map(({ name, alterations }) => ({
          name, alterations: alterations.map(({ name: key, operation, value }) => ({ key, operation: operation.toUpperCase(), value: value ?? '' })),
        })),
      })
      return topicOutcomes(changes.length, response.topics)
    } catch (error) {
      const failed = callFailure(error)
      return changes.map(() => failed)
    }
  }

  async alterUserScramCredentials (
    deletions: readonly ScramCredentialDeletion[], upsertions: readonly ScramCredentialUpsertion[],
  ): Promise<readonly { readonly user: string, readonly failure: AdminFailure | undefined }[]> {
    const users = [...new Set([...deletions, ...upsertions].map((change) => change.user))]
    try {
      const response = await this.#options.controller.alterUserScramCredentials({
        deletions: deletions.map(({ user, mechanism }) => ({ name: user, mechanism })),
        upsertions: upsertions.map(({ user, mechanism, iterations, salt, saltedPassword }) => ({ name: user, mechanism, iterations, salt, saltedPassword })),
      })
      return users.map((user) => {
        const result = response.results?.find((candidate) => candidate.user === user)
        if (result === undefined) return { user, failure: { error: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'no result for user' } }
        return { user, failure: result.errorCode === '' || result.errorCode == null ? undefined : failure(result.errorCode, result.errorMessage) }
      })
    } catch (error) {
      const failed = callFailure(error)
      return users.map((user) => ({ user, failure: failed }))
    }
  }

  describeUserScramCredentials (users: readonly string[] | null): readonly (ScramUserDescription | (AdminFailure & { readonly user: string }))[] {
    const known = this.#options.image().scramUsers()
    const named = users === null || users.length === 0 ? known.map((user) => user.name) : users
    return named.map((name) => {
      const user = known.find((candidate) => candidate.name === name)
      if (user === undefined) return { user: name, error: ErrorCode.RESOURCE_NOT_FOUND, message: 'attempt to describe a user credential that does not exist' }
      return { user: name, credentials: user.mechanisms.map(({ mechanism, iterations }) => ({ mechanism, iterations })) }
    })
  }

  describeCluster (): ClusterDescription {
    return this.#options.cluster()
  }

  topicConfigs (name: string): readonly ConfigEntry[] | undefined {
    const image = this.#options.image()
    const topic = image.topic(name)
    if (topic === undefined) return undefined
    const replicationFactor = image.partition(topic.topicId, 0)?.replicas.length ?? 1
    return topicConfigEntries(topic.config, (key) => isTopicConfigOverride(topic.config, replicationFactor, key))
  }

  brokerConfigs (brokerId: number): readonly ConfigEntry[] | undefined {
    if (brokerId !== this.#options.brokerId) return undefined
    const entry = (name: string, value: string, type: ConfigType): ConfigEntry => ({ name, value, readOnly: true, source: 'static-broker', type })
    return [
      entry('broker.id', String(brokerId), 'int'),
      entry('node.id', String(brokerId), 'int'),
      entry('auto.create.topics.enable', String(this.#options.autoCreateTopicsEnable), 'boolean'),
      entry('log.dirs', this.#options.logDir, 'list'),
      entry('process.roles', 'broker,controller', 'list'),
    ]
  }

  describeQuorum (): QuorumDescription {
    const status = this.#options.quorum()
    const self = this.#options.brokerId
    return {
      leaderId: status === undefined || status.leaderId <= 0 ? -1 : status.leaderId,
      leaderEpoch: status?.term ?? 0,
      highWatermark: status?.commitIndex ?? 0,
      // Raft offsets of the metadata log. The leader knows every voter's matched index; a follower only its own log end.
      voters: this.#options.voters.map((replicaId) => ({
        replicaId,
        logEndOffset: status?.voterMatchIndexes.get(replicaId) ?? (replicaId === self && status !== undefined ? status.lastIndex : -1),
      })),
    }
  }

  describeLogDirs (): readonly LogDirDescription[] {
    const image = this.#options.image()
    const offline = this.#options.logDirOffline()
    const partitions = offline
      ? []
      : image.partitionsReplicatedOn(nodeId(this.#options.brokerId)).flatMap((partition) => {
        const topic = image.topicById(partition.topicId)?.name
        const replica = topic === undefined ? undefined : this.#options.replica(topic, partition.partition)
        if (topic === undefined || replica === undefined) return []
        return [{
          topic, partition: partition.partition, sizeBytes: replica.sizeBytes,
          offsetLag: Math.max(0, replica.highWatermark - replica.logEndOffset),
        }]
      })
    return [{ path: this.#options.logDir, error: offline ? ErrorCode.KAFKA_STORAGE_ERROR : undefined, partitions }]
  }

  async electPreferredLeaders (partitions: readonly PartitionReference[] | null): Promise<readonly (PartitionReference & { readonly outcome: ElectionOutcome })[] | AdminFailure> {
    let response: gregor.cluster.ElectLeadersResponse.$Properties
    try {
      response = await this.#options.controller.electLeaders(partitions === null
        ? { allPartitions: true }
        : { partitions: partitions.map(({ topic, partition }) => ({ topic, partition })) })
    } catch (error) {
      return callFailure(error)
    }
    if ((response.errorCode ?? '') !== '') return failure(response.errorCode, response.errorMessage)
    return (response.results ?? []).map((result) => ({ topic: result.topic ?? '', partition: result.partition ?? 0, outcome: electionOutcome(result.outcome) }))
  }
}

const electionOutcomes: Readonly<Record<string, ElectionOutcome>> = {
  ELECTED: 'elected',
  ELECTION_NOT_NEEDED: 'election-not-needed',
  PREFERRED_LEADER_NOT_AVAILABLE: 'preferred-leader-not-available',
  [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]: 'unknown-topic-or-partition',
}

/** The controller names one of the four outcomes; anything else would be a controller bug. */
function electionOutcome (outcome: string | null | undefined): ElectionOutcome {
  const known = electionOutcomes[outcome ?? '']
  if (known === undefined) throw new Error(`unknown election outcome ${String(outcome)}`)
  return known
}

/** The adapter over one broker node (what `kafkaBrokerApi` builds per Kafka listener). */
export function controllerAdminApi (
  deps: Pick<BrokerKafkaApiDeps, 'listenerName' | 'clusterId' | 'brokerId' | 'node' | 'quorumLeaderId' | 'autoCreateTopicsEnable'>,
): ControllerAdminApi {
  const { node } = deps
  const cluster = (): ClusterDescription => ({
    clusterId: deps.clusterId,
    controllerId: activeControllerId(deps.quorumLeaderId()),
    brokers: listenerEndpoints(node.image, deps.listenerName).filter((endpoint) => !endpoint.fenced)
      .map(({ brokerId, host, port, rack }) => ({ brokerId, host, port, rack })),
  })
  return new ControllerAdminApi({
    brokerId: deps.brokerId, controller: node.lifecycle, image: () => node.image, cluster, quorum: () => node.quorumStatus(),
    voters: node.voters, logDir: node.logDir, logDirOffline: () => node.replicas.logDirOffline,
    replica: (topic, partition) => {
      const state = node.replicas.replicaState(topic, partition)
      const log = node.replicas.partitionLog(topic, partition)
      return state === undefined || log === undefined ? undefined : { sizeBytes: log.sizeBytes, highWatermark: state.highWatermark, logEndOffset: state.logEndOffset }
    },
    autoCreateTopicsEnable: deps.autoCreateTopicsEnable,
  })
}

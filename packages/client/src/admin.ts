/**
 * `Admin`: topic management and cluster inspection (KafkaJS `admin()`, Kafka's AdminClient).
 *
 * Every request goes to any reachable broker (`ClusterConnection.callAny`): brokers forward CreateTopics and
 * DeleteTopics to the active controller themselves, so the client never has to find it. ListOffsets is the exception:
 * only a partition's leader knows its high watermark, so it goes to each leader. Failures per topic come
 * back as GregorErrors with the broker's code; transport failures as retriable REQUEST_TIMED_OUT (see
 * response-error.ts). Nothing here retries a domain error: whether to retry "topic already exists" is the caller's
 * business. Consumer group methods delegate to GroupAdmin (group-admin.ts): they go to the group's coordinator and
 * are the exception, retrying a moved or loading coordinator within the request timeout.
 */
import { type Clock, ErrorCode, GregorError } from '@gregor/common'
import { type gregor, clientMethods } from '@gregor/protocol'
import { type BrokerConnection, ClusterConnection, type ClusterConnectionConfig, defaultClusterConnectionConfig } from './cluster-connection.js'
import type { GroupCoordinatorInfo, TopicPartitionList } from './coordinator-lookup.js'
import { groupByLeader } from './group-by-leader.js'
import {
  type CommittedOffset, type GroupDescription, type GroupLagRow, type ListOffsetsSpec, type ListedGroup, type OffsetResetPlanRow,
  type OffsetResetSpec, GroupAdmin,
} from './group-admin.js'
import type { PartitionInfo } from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'
import { responseError, staleMetadataCodes } from './response-error.js'
import { saltedScramPassword } from './scram-salted-password.js'
import { type Scheduler, systemClock, systemScheduler } from './scheduler.js'

export interface ClientConfig extends Partial<Omit<ClusterConnectionConfig, 'bootstrapServers'>> {
  readonly bootstrapServers: readonly string[] | string
}

export interface NewTopic {
  readonly topic: string
  readonly numPartitions: number
  readonly replicationFactor: number
  readonly configs?: Readonly<Record<string, string>>
}

export interface TopicDescription {
  readonly name: string
  readonly topicId: string
  readonly internal: boolean
  readonly partitions: readonly PartitionInfo[]
}

export interface BrokerDescription {
  readonly brokerId: number
  readonly host: string
  readonly port: number
  readonly rack: string
  readonly fenced: boolean
  readonly shuttingDown: boolean
  readonly partitionCount: number
  readonly leaderCount: number
}

/** A partition's offset from ListOffsets; `errorCode` "" when `offset` is valid (-1: no such offset). */
export interface ListedOffset extends TopicPartition {
  readonly offset: number
  readonly leaderEpoch: number
  readonly errorCode: string
}

export interface ClusterDescription {
  readonly clusterId: string
  /** -1 when no controller is known. */
  readonly controllerId: number
  readonly raftTerm: number
  readonly raftLeaderId: number
  readonly raftCommitIndex: number
  readonly raftAppliedIndex: number
  readonly brokers: readonly BrokerDescription[]
}

/** Builds a ClusterConnection from a client config, filling defaults. */
export function connectionFor (config: ClientConfig): ClusterConnection {
  const bootstrapServers = typeof config.bootstrapServers === 'string' ? config.bootstrapServers.split(',') : config.bootstrapServers
  return new ClusterConnection({
    bootstrapServers,
    requestTimeoutMs: config.requestTimeoutMs ?? defaultClusterConnectionConfig.requestTimeoutMs,
    messageBytesMax: config.messageBytesMax ?? defaultClusterConnectionConfig.messageBytesMax,
    requestStallMs: config.requestStallMs ?? defaultClusterConnectionConfig.requestStallMs,
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.sasl === undefined ? {} : { sasl: config.sasl }),
  })
}

/** Injected for tests: a fake cluster at the transport seam, and virtual time for the coordinator retries. */
export interface AdminDeps {
  readonly connection?: BrokerConnection
  readonly clock?: Clock
  readonly scheduler?: Scheduler
}

/** Backoff between retries of a group request whose coordinator moved or is loading (Kafka `retry.backoff.ms`). */
const GROUP_RETRY_BACKOFF_MS = 100
const GROUP_RETRY_BACKOFF_MAX_MS = 1000

export class Admin {
  readonly #connection: BrokerConnection
  readonly #groups: GroupAdmin

  constructor (config: ClientConfig, deps: AdminDeps = {}) {
    this.#connection = deps.connection ?? connectionFor(config)
    this.#groups = new GroupAdmin({
      connection: this.#connection,
      clock: deps.clock ?? systemClock,
      scheduler: deps.scheduler ?? systemScheduler,
      timeoutMs: this.#connection.requestTimeoutMs,
      retryBackoffMs: GROUP_RETRY_BACKOFF_MS,
      retryBackoffMaxMs: GROUP_RETRY_BACKOFF_MAX_MS,
      listOffsets: async (partitions, spec) => await this.listOffsets(partitions, spec),
    })
  }

  /** Creates the topics; throws the error of the first topic that failed, with every failure in `details.failures`. */
  async createTopics (topics: readonly NewTopic[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    const response = await this.#connection.callAny(clientMethods.createTopics, {
      topics: topics.map((topic) => ({
        name: topic.topic, partitions: topic.numPartitions, replicationFactor: topic.replicationFactor, configs: { ...topic.configs },
      })),
      validateOnly: options.validateOnly ?? false,
      timeoutMs: this.#connection.requestTimeoutMs,
    })
    throwTopicFailures(response.topics, topics.map((topic) => topic.topic))
  }

  /** Deletes the topics; throws like `createTopics`. */
  async deleteTopics (topics: readonly string[]): Promise<void> {
    const response = await this.#connection.callAny(clientMethods.deleteTopics, {
      topics: [...topics], timeoutMs: this.#connection.requestTimeoutMs,
    })
    throwTopicFailures(response.topics, topics)
  }

  /**
   * Grows each topic to `partitions` partitions (increase only; the new ones placed as at creation); throws like
   * `createTopics`. Keyed records map to other partitions afterwards (the partitioner hashes over the count): a
   * producer that needs per-key order across the change gives the producer a partitioner of its own.
   */
  async createPartitions (topics: readonly { readonly topic: string; readonly partitions: number }[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    const response = await this.#connection.callAny(clientMethods.createPartitions, {
      topics: topics.map(({ topic, partitions }) => ({ name: topic, partitions })),
      validateOnly: options.validateOnly ?? false,
      timeoutMs: this.#connection.requestTimeoutMs,
    })
    throwTopicFailures(response.topics, topics.map(({ topic }) => topic))
  }

  /**
   * Changes a topic's configs after creation (Kafka's IncrementalAlterConfigs): `set` gives keys a value, `delete` puts
   * keys back to the cluster default; keys under Kafka's names (`retention.ms`). Returns the topic's whole config
   * afterwards under Kafka's names; throws like `createTopics` (INVALID_CONFIG for unknown keys or bad values). The
   * change reaches every replica through the metadata log: see docs/cluster.md for what takes effect when.
   */
  async alterTopicConfigs (
    topic: string,
    changes: { readonly set?: Readonly<Record<string, string>>; readonly delete?: readonly string[] },
    options: { readonly validateOnly?: boolean } = {},
  ): Promise<Record<string, string>> {
    const alterations = [
      ...Object.entries(changes.set ?? {}).map(([key, value]) => ({ key, operation: 'SET', value })),
      ...(changes.delete ?? []).map((key) => ({ key, operation: 'DELETE', value: '' })),
    ]
    const response = await this.#connection.callAny(clientMethods.alterTopicConfigs, {
      topics: [{ name: topic, alterations }], validateOnly: options.validateOnly ?? false,
    })
    throwTopicFailures(response.topics, [topic])
    return { ...(response.topics[0]?.configs ?? {}) }
  }

  /**
   * Creates or replaces a user's SCRAM credential (Kafka's AlterUserScramCredentials upsertion; `kafka-configs --alter
   * --add-config 'SCRAM-SHA-256=[password=...]' --entity-type users`). The salt and salted password are computed here:
   * the password itself is never sent. Throws UNSUPPORTED_SASL_MECHANISM or UNACCEPTABLE_CREDENTIAL (iterations outside
   * [4096, 16384]) as the controller answers.
   */
  async upsertUserScramCredential (
    user: string, password: string, options: { readonly mechanism?: string, readonly iterations?: number } = {},
  ): Promise<void> {
    const mechanism = options.mechanism ?? 'SCRAM-SHA-256'
    const iterations = options.iterations ?? 4096
    const { salt, saltedPassword } = await saltedScramPassword(mechanism, password, iterations)
    const response = await this.#connection.callAny(clientMethods.alterUserScramCredentials, {
      deletions: [], upsertions: [{ name: user, mechanism, iterations, salt, saltedPassword }],
    })
    throwUserFailures(response.results, [user])
  }

  /**
   * Deletes a user's SCRAM credentials: the named mechanisms, or every one the user has. Throws RESOURCE_NOT_FOUND when
   * the user has none (or not the named one).
   */
  async deleteUserScramCredentials (user: string, mechanisms?: readonly string[]): Promise<readonly string[]> {
    const chosen = mechanisms ?? (await this.describeUserScramCredentials([user]))[0]?.credentials.map((credential) => credential.mechanism) ?? []
    const response = await this.#connection.callAny(clientMethods.alterUserScramCredentials, {
      deletions: chosen.map((mechanism) => ({ name: user, mechanism })), upsertions: [],
    })
    throwUserFailures(response.results, [user])
    return chosen
  }

  /**
   * Users with SCRAM credentials and, per user, the mechanisms and iteration counts (never salts or keys), sorted by
   * name; every user when `users` is empty. A named user without credentials throws RESOURCE_NOT_FOUND.
   */
  async describeUserScramCredentials (users: readonly string[] = []): Promise<Array<{ user: string, credentials: Array<{ mechanism: string, iterations: number }> }>> {
    const response = await this.#connection.callAny(clientMethods.describeUserScramCredentials, { users: [...users] })
    return response.users.map((entry) => {
      const error = responseError(entry.errorCode, entry.errorMessage, { user: entry.user })
      if (error !== undefined) throw error
      return {
        user: entry.user ?? '',
        credentials: (entry.credentials ?? []).map((credential) => ({ mechanism: credential.mechanism ?? '', iterations: credential.iterations ?? 0 })),
      }
    }).sort((a, b) => a.user.localeCompare(b.user))
  }

  /** Names of the topics that are not internal, sorted. */
  async listTopics (): Promise<string[]> {
    const snapshot = await this.#connection.metadata([])
    return [...snapshot.topics.values()].filter((topic) => !topic.internal && topic.errorCode === '').map((topic) => topic.name).sort()
  }

  /**
   * Partitions with leader, replicas, ISR and leader epoch, sorted by topic name; all topics when `names` is absent
   * or empty. A named topic the broker does not know throws its error (UNKNOWN_TOPIC_OR_PARTITION).
   */
  async describeTopics (names: readonly string[] = []): Promise<TopicDescription[]> {
    const snapshot = await this.#connection.metadata(names)
    const descriptions: TopicDescription[] = []
    for (const topic of snapshot.topics.values()) {
      const error = responseError(topic.errorCode, topic.errorMessage, { topic: topic.name })
      if (error !== undefined) throw error
      descriptions.push({ name: topic.name, topicId: topic.topicId, internal: topic.internal, partitions: topic.partitions })
    }
    return descriptions.sort((a, b) => a.name.localeCompare(b.name))
  }

  /**
   * Each named topic's configs that differ from the cluster default, under Kafka's names (what `kafka-topics --describe`
   * lists); every topic's when `names` is empty. A named topic the broker does not know throws its error.
   */
  async describeTopicConfigOverrides (names: readonly string[] = []): Promise<Map<string, Readonly<Record<string, string>>>> {
    const response = await this.#connection.callAny(clientMethods.metadata, { topics: [...names], includeConfigs: true })
    const overrides = new Map<string, Readonly<Record<string, string>>>()
    for (const topic of response.topics) {
      const error = responseError(topic.errorCode ?? '', topic.errorMessage ?? '', { topic: topic.name ?? '' })
      if (error !== undefined) throw error
      overrides.set(topic.name ?? '', { ...topic.configOverrides })
    }
    return overrides
  }

  /** Cluster id, controller, metadata quorum state and brokers with their partition and leader counts. */
  async describeCluster (): Promise<ClusterDescription> {
    return clusterDescription(await this.#connection.callAny(clientMethods.describeCluster, {}))
  }

  /**
   * The earliest offset, the latest (= the high watermark), or the first offset whose record timestamp is at least
   * `timestampMs` (-1 when there is none) of each partition, asked of its leader by the latest
   * metadata (refreshed first for a topic it lacks): one request per leader, all at once, so an unreachable leader
   * costs one request timeout, not one per partition. Each partition names its topic id (KIP-516). Partitions answered
   * with a stale-metadata error (a leader moved, a topic re-created under its name: `staleMetadataCodes`) are asked
   * once more after their topics' metadata is refreshed. Never throws for a partition: a leaderless partition answers
   * LEADER_NOT_AVAILABLE, an unreachable leader REQUEST_TIMED_OUT, each in `errorCode`; order is not kept.
   */
  async listOffsets (partitions: readonly TopicPartition[], spec: ListOffsetsSpec): Promise<ListedOffset[]> {
    const timestamp = spec === 'earliest' ? -2 : spec === 'latest' ? -1 : spec.timestampMs
    if (!Number.isSafeInteger(timestamp) || timestamp < -2) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'timestamp must be a non-negative integer (epoch ms)', { details: { timestamp } })
    }
    const missing = [...new Set(partitions.map((tp) => tp.topic))].filter((topic) => !this.#connection.snapshot.topics.has(topic))
    if (missing.length > 0) await this.#connection.metadata(missing)
    const first = await this.#listOffsetsOnce(partitions, timestamp)
    const stale = first.filter((answer) => staleMetadataCodes.has(answer.errorCode))
    if (stale.length === 0) return first
    // A failed refresh leaves the snapshot as it was: the second answers say what is still wrong.
    await this.#connection.metadata([...new Set(stale.map((answer) => answer.topic))]).catch(() => undefined)
    return [...first.filter((answer) => !staleMetadataCodes.has(answer.errorCode)), ...await this.#listOffsetsOnce(stale, timestamp)]
  }

  /** One ListOffsets per leader by the current snapshot (see `listOffsets`). */
  async #listOffsetsOnce (partitions: readonly TopicPartition[], timestamp: number): Promise<ListedOffset[]> {
    const { snapshot } = this.#connection
    const { groups, leaderless } = groupByLeader(partitions, (tp) => this.#connection.leaderFor(tp))
    const failed = (items: readonly TopicPartition[], errorCode: string): ListedOffset[] =>
      items.map(({ topic, partition }) => ({ topic, partition, offset: -1, leaderEpoch: -1, errorCode }))
    const answers = await Promise.all([...groups.values()].map(async (group) => {
      try {
        const response = await this.#connection.call(group.address, clientMethods.listOffsets, {
          partitions: group.items.map(({ topic, partition }) => ({ topic, partition, timestamp, topicId: snapshot.topics.get(topic)?.topicId ?? '' })),
        })
        return response.partitions.map((result): ListedOffset => ({
          topic: result.topic ?? '', partition: result.partition ?? 0, offset: result.offset ?? -1,
          leaderEpoch: result.leaderEpoch ?? -1, errorCode: result.errorCode ?? '',
        }))
      } catch {
        return failed(group.items, ErrorCode.REQUEST_TIMED_OUT)
      }
    }))
    return [...answers.flat(), ...failed(leaderless, ErrorCode.LEADER_NOT_AVAILABLE)]
  }

  // ---- consumer groups (logic in group-admin.ts) ----

  /** The group's coordinator; retries COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS within the request timeout. */
  async findCoordinator (groupId: string): Promise<GroupCoordinatorInfo> {
    return await this.#groups.findCoordinator(groupId)
  }

  /** Asks every broker, merges, sorted by groupId; `states` filters by lower-case state name. */
  async listGroups (options?: { states?: string[] }): Promise<ListedGroup[]> {
    return await this.#groups.listGroups(options)
  }

  /** One description per id, in order; throws a GregorError for a failed group (GROUP_ID_NOT_FOUND, …). */
  async describeGroups (groupIds: string[]): Promise<GroupDescription[]> {
    return await this.#groups.describeGroups(groupIds)
  }

  async deleteGroups (groupIds: string[]): Promise<{ groupId: string; errorCode: string; errorMessage: string }[]> {
    return await this.#groups.deleteGroups(groupIds)
  }

  /** Committed offsets of the group (all of them when `partitions` is absent); offset -1: nothing committed. */
  async fetchOffsets (groupId: string, partitions?: TopicPartitionList[]): Promise<CommittedOffset[]> {
    return await this.#groups.fetchOffsets(groupId, partitions)
  }

  async deleteOffsets (groupId: string, partitions: TopicPartitionList[]): Promise<{ topic: string; partition: number; errorCode: string }[]> {
    return await this.#groups.deleteOffsets(groupId, partitions)
  }

  /** Every partition with a committed offset or owned by a member, sorted by topic, partition. */
  async groupLag (groupId: string): Promise<GroupLagRow[]> {
    return await this.#groups.groupLag(groupId)
  }

  /** New offsets for `topic` (all partitions, or `partitions`) under `spec`, clamped to [logStart, logEnd]. */
  async planOffsetReset (groupId: string, topic: string, spec: OffsetResetSpec, partitions?: number[]): Promise<OffsetResetPlanRow[]> {
    return await this.#groups.planOffsetReset(groupId, topic, spec, partitions)
  }

  /** Executes a plan (ResetOffsets); NON_EMPTY_GROUP while the group has members, as a GregorError. */
  async resetOffsets (groupId: string, plan: readonly OffsetResetPlanRow[]): Promise<void> {
    await this.#groups.resetOffsets(groupId, plan)
  }

  close (): void {
    this.#connection.close()
  }
}

function clusterDescription (response: gregor.cluster.DescribeClusterResponse): ClusterDescription {
  return {
    clusterId: response.clusterId,
    controllerId: response.controllerId,
    raftTerm: response.raftTerm,
    raftLeaderId: response.raftLeaderId,
    raftCommitIndex: response.raftCommitIndex,
    raftAppliedIndex: response.raftAppliedIndex,
    brokers: response.brokers.map((broker) => ({
      brokerId: broker.brokerId ?? 0,
      host: broker.host ?? '',
      port: broker.port ?? 0,
      rack: broker.rack ?? '',
      fenced: broker.fenced ?? false,
      shuttingDown: broker.shuttingDown ?? false,
      partitionCount: broker.partitionCount ?? 0,
      leaderCount: broker.leaderCount ?? 0,
    })).sort((a, b) => a.brokerId - b.brokerId),
  }
}

/** Throws for failed topic results, and for topics asked about that the response does not mention. */
export function throwTopicFailures (results: readonly gregor.cluster.TopicResult.$Properties[], asked: readonly string[]): void {
  const failures: GregorError[] = []
  const answered = new Set<string>()
  for (const result of results) {
    const topic = result.name ?? ''
    answered.add(topic)
    const error = responseError(result.errorCode, result.errorMessage, { topic })
    if (error !== undefined) failures.push(error)
  }
  for (const topic of asked) {
    if (!answered.has(topic)) failures.push(new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no result for topic', { details: { topic } }))
  }
  const first = failures[0]
  if (first === undefined) return
  if (failures.length === 1) throw first
  const summary = failures.map((failure) => ({ topic: failure.details.topic, code: failure.code, message: failure.message }))
  throw new GregorError(first.code, `${failures.length} topics failed: ${summary.map((s) => `${String(s.topic)}: ${s.code}`).join(', ')}`, {
    details: { failures: summary }, retriable: first.retriable,
  })
}

/** Throws the first failed user's error (AlterUserScramCredentials answers one result per user). */
function throwUserFailures (results: readonly gregor.cluster.AlterUserScramCredentialResult.$Properties[], asked: readonly string[]): void {
  for (const user of asked) {
    const result = results.find((candidate) => candidate.user === user)
    if (result === undefined) throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no result for user', { details: { user } })
    const error = responseError(result.errorCode, result.errorMessage, { user })
    if (error !== undefined) throw error
  }
}

/**
 * The admin part of `KafkaBrokerApi`: topic and cluster administration (create/delete topics, more partitions,
 * configs, the cluster, the metadata quorum, log directories, preferred-leader elections), in domain terms: no Kafka
 * struct and no protobuf object crosses it. Implemented over the broker by `controller-admin-api.ts`.
 *
 * Contract: per-item failures come back as `AdminFailure` values (a Gregor code and a message), never as rejections;
 * a method rejects only on a bug, and the handler's caller then closes the connection with a log line.
 */
import type { ErrorCode } from '@gregor/common'
import type { ListenerBroker } from './kafka-broker-api.js'

/** One item that failed: the Gregor code (the handler turns it into Kafka's) and a message for the client. */
export interface AdminFailure {
  readonly error: ErrorCode
  readonly message: string
}

export function isAdminFailure (value: object): value is AdminFailure {
  return 'error' in value
}

/** Where a config's value comes from (Kafka's DescribeConfigs config sources). */
export type ConfigSource = 'topic-override' | 'static-broker' | 'default'

/** Kafka's config value types (DescribeConfigs v3+). */
export type ConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list'

/** One configuration entry, named as Kafka names it (`retention.ms`). */
export interface ConfigEntry {
  readonly name: string
  readonly value: string
  readonly readOnly: boolean
  readonly source: ConfigSource
  readonly type: ConfigType
}

export interface NewTopic {
  readonly name: string
  /** Undefined: the cluster's default (Kafka's -1). */
  readonly partitionCount: number | undefined
  /** Undefined: the cluster's default (Kafka's -1). */
  readonly replicationFactor: number | undefined
  /** Overrides by Kafka config name (`cleanup.policy`). */
  readonly configs: Readonly<Record<string, string>>
}

export interface CreatedTopic {
  readonly name: string
  readonly topicId: string
  readonly partitionCount: number
  readonly replicationFactor: number
  /** Every topic config with its effective value. */
  readonly configs: readonly ConfigEntry[]
}

export interface AdminOptions {
  /** Check and report only, change nothing (Kafka's `validate_only`). */
  readonly validateOnly: boolean
}

export type TopicReference = { readonly name: string } | { readonly topicId: string }

export interface DeletedTopic {
  readonly name: string
  readonly topicId: string
}

export interface PartitionCountChange {
  readonly name: string
  /** The new total partition count; must exceed the current one. */
  readonly partitionCount: number
}

/** Kafka's IncrementalAlterConfigs operations: DELETE puts the key back to its default; APPEND/SUBTRACT on lists only. */
export type ConfigOperation = 'set' | 'delete' | 'append' | 'subtract'

export interface TopicConfigChange {
  readonly name: string
  /** By Kafka config name (`retention.ms`); `value` is ignored for `delete`. */
  readonly alterations: readonly { readonly name: string; readonly operation: ConfigOperation; readonly value: string | null }[]
}

export interface ClusterDescription {
  readonly clusterId: string
  /** -1 when none is known. */
  readonly controllerId: number
  readonly brokers: readonly ListenerBroker[]
}

export interface QuorumReplica {
  readonly replicaId: number
  /** -1 when this broker does not know it (only the quorum leader tracks its followers). */
  readonly logEndOffset: number
}

/** The metadata quorum (Kafka's `__cluster_metadata-0`) as this broker sees it. */
export interface QuorumDescription {
  /** -1 when no leader is known. */
  readonly leaderId: number
  readonly leaderEpoch: number
  readonly highWatermark: number
  readonly voters: readonly QuorumReplica[]
}

export interface LogDirPartition {
  readonly topic: string
  readonly partition: number
  readonly sizeBytes: number
  /** How far this replica is behind its leader's log end; 0 on the leader. */
  readonly offsetLag: number
}

export interface LogDirDescription {
  readonly path: string
  /** Undefined when healthy; KAFKA_STORAGE_ERROR when the directory failed. */
  readonly error: ErrorCode | undefined
  readonly partitions: readonly LogDirPartition[]
}

export interface PartitionReference {
  readonly topic: string
  readonly partition: number
}

/** Kafka's per-partition ElectLeaders outcomes. */
export type ElectionOutcome = 'elected' | 'election-not-needed' | 'preferred-leader-not-available' | 'unknown-topic-or-partition'

/** A SCRAM credential to delete: the user and the mechanism's name (`SCRAM-SHA-256`; anything else is refused). */
export interface ScramCredentialDeletion {
  readonly user: string
  readonly mechanism: string
}

/** A SCRAM credential to set: what the client derived from the password (the password itself never arrives). */
export interface ScramCredentialUpsertion extends ScramCredentialDeletion {
  readonly iterations: number
  readonly salt: Uint8Array
  readonly saltedPassword: Uint8Array
}

/** A user's SCRAM credentials as described to clients: mechanisms and iteration counts, never salts or keys. */
export interface ScramUserDescription {
  readonly user: string
  readonly credentials: readonly { readonly mechanism: string, readonly iterations: number }[]
}

export interface KafkaAdminApi {
  createTopics (topics: readonly NewTopic[], options: AdminOptions): Promise<readonly (CreatedTopic | (AdminFailure & { readonly name: string }))[]>
  deleteTopics (topics: readonly TopicReference[]): Promise<readonly (DeletedTopic | (AdminFailure & { readonly reference: TopicReference }))[]>
  createPartitions (changes: readonly PartitionCountChange[], options: AdminOptions): Promise<readonly (AdminFailure | undefined)[]>
  /** Changes existing topics' configs (Kafka's IncrementalAlterConfigs on TOPIC resources); one outcome per change. */
  alterTopicConfigs (changes: readonly TopicConfigChange[], options: AdminOptions): Promise<readonly (AdminFailure | undefined)[]>
  describeCluster (): ClusterDescription
  /** A topic's configs, undefined when the topic does not exist. */
  topicConfigs (topic: string): readonly ConfigEntry[] | undefined
  /** This broker's configs (Kafka's broker resource), undefined for another broker id. */
  brokerConfigs (brokerId: number): readonly ConfigEntry[] | undefined
  describeQuorum (): QuorumDescription
  describeLogDirs (): readonly LogDirDescription[]
  /**
   * Preferred-leader elections for the named partitions, or for every partition when `partitions` is null; one
   * AdminFailure when the whole request failed (no controller in time).
   */
  electPreferredLeaders (partitions: readonly PartitionReference[] | null): Promise<readonly (PartitionReference & { readonly outcome: ElectionOutcome })[] | AdminFailure>
  /** Upserts and deletes SCRAM credentials through the controller; one outcome per user named, in first-seen order. */
  alterUserScramCredentials (
    deletions: readonly ScramCredentialDeletion[], upsertions: readonly ScramCredentialUpsertion[],
  ): Promise<readonly { readonly user: string, readonly failure: AdminFailure | undefined }[]>
  /** Every user with SCRAM credentials, or the named ones (RESOURCE_NOT_FOUND for a name without any), from the image. */
  describeUserScramCredentials (users: readonly string[] | null): readonly (ScramUserDescription | (AdminFailure & { readonly user: string }))[]
}

/**
 * What the Kafka listener's handlers need from the broker, in domain terms: no Kafka struct and no protobuf object
 * crosses this interface (ARCHITECTURE.md §3). Handlers turn a decoded request into calls here and the answers into a
 * response body; the broker implements it (`metadata-image-api.ts` for the metadata part).
 *
 * One part per API family, each in its own file and implemented by its own adapter: metadata (here, answered by
 * `metadata-image-api.ts`), the data plane (`kafka-data-api.ts`), topic and cluster administration
 * (`kafka-admin-api.ts`), consumer groups (`kafka-group-api.ts`) and ACLs (`kafka-acl-api.ts`).
 */
import type { KafkaAclApi } from './kafka-acl-api.js'
import type { KafkaAdminApi } from './kafka-admin-api.js'
import type { KafkaDataApi } from './kafka-data-api.js'
import type { KafkaGroupApi } from './kafka-group-api.js'

/** A broker as clients of one listener should dial it. */
export interface ListenerBroker {
  readonly brokerId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

export interface PartitionMetadata {
  readonly partition: number
  /** -1 when the partition has no leader (offline). */
  readonly leaderId: number
  readonly leaderEpoch: number
  /** Assignment order: `replicas[0]` is the preferred leader. */
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** Replicas whose broker is fenced, shutting down or gone. */
  readonly offlineReplicas: readonly number[]
}

export interface TopicMetadata {
  readonly name: string
  readonly topicId: string
  /** The cluster's own topics (`__consumer_offsets`). */
  readonly internal: boolean
  /** By partition index. */
  readonly partitions: readonly PartitionMetadata[]
}

/** The metadata part: this broker's view of the cluster, as seen through one listener. */
export interface KafkaMetadataApi {
  readonly clusterId: string
  /** The active controller's broker id, -1 when none is known. */
  controllerId (): number
  /** Live (unfenced) brokers that have an address on this listener, by id. */
  brokers (): readonly ListenerBroker[]
  /** Every topic's name, sorted. */
  topicNames (): readonly string[]
  topic (name: string): TopicMetadata | undefined
  /** Whether a metadata request may create the unknown topics it names (Kafka's `auto.create.topics.enable`). */
  autoCreateTopicsEnable (): boolean
  /**
   * Asks the controller to create topic `name` with the cluster's defaults and returns at once (Kafka's
   * AutoTopicCreationManager): the topic shows in a later answer. The implementation logs failures and never throws.
   */
  createTopic (name: string): void
}

/** Everything the Kafka handlers use. */
export interface KafkaBrokerApi {
  readonly metadata: KafkaMetadataApi
  readonly data: KafkaDataApi
  readonly admin: KafkaAdminApi
  readonly groups: KafkaGroupApi
  /** CreateAcls, DescribeAcls, DeleteAcls (`kafka-acl-api.ts`). */
  readonly acls: KafkaAclApi
}

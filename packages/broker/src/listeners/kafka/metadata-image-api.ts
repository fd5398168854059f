/**
 * The metadata part of `KafkaBrokerApi`, answered from this broker's applied MetadataImage as seen through one
 * listener, the way the gRPC ClientService answers its Metadata call (client-service.ts): the same image, the same
 * listener rule, the controller taken from the quorum.
 *
 * Invariants: brokers are named by their advertised address on *this* listener (by name), so a client that came in
 * through the host-facing listener keeps using host-facing addresses; a broker without that listener is left out
 * rather than given an unreachable address, and so is a fenced one (KRaftMetadataCache lists unfenced brokers only).
 * Auto-creation asks the controller at most once at a time per topic name; its failures are logged here, never thrown
 * into a handler.
 */
import { ErrorCode, type Logger, isGregorError } from '@gregor/common'
import { type MetadataImage, NO_LEADER } from '@gregor/metadata'
import type { KafkaMetadataApi, ListenerBroker, TopicMetadata } from './kafka-broker-api.js'

/** A broker's address on one listener; `rack` null when unset. */
export interface ListenerEndpoint extends ListenerBroker {
  readonly fenced: boolean
}

/**
 * Every registered broker that has listener `listenerName`, with that listener's advertised address, by id.
 * The gRPC listener's Metadata (client-service.ts) answers from it too.
 */
export function listenerEndpoints (image: MetadataImage, listenerName: string): ListenerEndpoint[] {
  return image.brokers().flatMap((broker) => {
    const listener = broker.listeners.find((item) => item.name === listenerName)
    return listener === undefined ? [] : [{ brokerId: broker.brokerId, host: listener.host, port: listener.port, rack: broker.rack ?? null, fenced: broker.fenced }]
  })
}

/** In combined mode the controller is the raft leader; 0 (none known) becomes the protocols' -1. */
export function activeControllerId (quorumLeaderId: number): number {
  return quorumLeaderId <= 0 ? -1 : quorumLeaderId
}

export interface MetadataImageApiOptions {
  readonly listenerName: string
  readonly clusterId: string
  /** This broker's applied image (replaced as entries apply, so read it per request). */
  readonly image: () => MetadataImage
  /** The metadata quorum's leader, 0 when none is known. */
  readonly quorumLeaderId: () => number
  /** Kafka's `auto.create.topics.enable`. */
  readonly autoCreateTopicsEnable: boolean
  /** Creates a topic with the cluster's defaults (through the admin part, KafkaAdminApi); rejects with a GregorError. */
  readonly createTopic: (name: string) => Promise<void>
  readonly logger: Logger
}

export class MetadataImageApi implements KafkaMetadataApi {
  readonly #options: MetadataImageApiOptions
  readonly #log: Logger
  /** Topics whose auto-creation is under way: one controller request per name at a time. */
  readonly #creating = new Set<string>()

  constructor (options: MetadataImageApiOptions) {
    this.#options = options
    this.#log = options.logger.child({ component: 'kafka-listener', listener: options.listenerName })
  }

  get clusterId (): string {
    return this.#options.clusterId
  }

  controllerId (): number {
    return activeControllerId(this.#options.quorumLeaderId())
  }

  brokers (): readonly ListenerBroker[] {
    return listenerEndpoints(this.#options.image(), this.#options.listenerName)
      .filter((endpoint) => !endpoint.fenced)
      .map(({ brokerId, host, port, rack }) => ({ brokerId, host, port, rack }))
  }

  topicNames (): readonly string[] {
    return this.#options.image().topics().map((topic) => topic.name)
  }

  topic (name: string): TopicMetadata | undefined {
    const topic = this.#options.image().describeTopic(name)
    if (topic === undefined) return undefined
    return {
      name: topic.name, topicId: topic.topicId, internal: topic.internal,
      partitions: topic.partitions.map((partition) => ({
        partition: partition.partition,
        leaderId: partition.leader === NO_LEADER ? -1 : partition.leader,
        leaderEpoch: partition.leaderEpoch,
        replicas: partition.replicas,
        isr: partition.isr,
        offlineReplicas: partition.offlineReplicas,
      })),
    }
  }

  autoCreateTopicsEnable (): boolean {
    return this.#options.autoCreateTopicsEnable
  }

  createTopic (name: string): void {
    if (!this.#options.autoCreateTopicsEnable || this.#creating.has(name)) return
    this.#creating.add(name)
    this.#log.info({ topic: name }, 'auto-creating topic')
    this.#options.createTopic(name).then(
      () => { this.#creating.delete(name) },
      (error: unknown) => {
        this.#creating.delete(name)
        if (isGregorError(error) && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) return
        this.#log.warn({ topic: name, code: isGregorError(error) ? error.code : undefined, error: String(error) }, 'topic auto-creation failed')
      },
    )
  }
}

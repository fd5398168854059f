/**
 * Test support: one broker's Kafka listener in-process, over a real ReplicaManager (real partition logs in a temp
 * directory) that leads every partition of the topics it is given (replication factor 1), a real ProducerIdAllocator,
 * and a MetadataImage that names this listener's port. Kafka clients (kcat, KafkaJS, the raw test client) produce and
 * fetch against it as against a broker, without the raft and controller around it.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, leaderEpoch, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, defaultTopicConfig } from '@gregor/metadata'
import { FileHandleCache, nodeFileSystem } from '@gregor/storage'
import { ProducerIdAllocator } from '../../../producer-id-allocator.js'
import { ReplicaManager } from '../../../replica/replica-manager.js'
import { validateReplicationConfig } from '../../../replica/replication-config.js'
import { systemTimers } from '../../../system/system-timers.js'
import type { KafkaBrokerApi } from '../kafka-broker-api.js'
import { kafkaHandlers } from '../kafka-handlers.js'
import { defaultKafkaListenerConfig } from '../kafka-listener-config.js'
import { KafkaServer } from '../kafka-server.js'
import { MetadataImageApi } from '../metadata-image-api.js'
import { ReplicaDataApi } from '../replica-data-api.js'

const BROKER_ID = 1
const INCARNATION = 'incarnation-1'
/** The Raft index of the registration: this broker's epoch, hence its producer ids' high bits. */
const REGISTRATION_INDEX = 1

export class SingleBrokerKafka {
  readonly server: KafkaServer
  readonly replicas: ReplicaManager
  readonly data: ReplicaDataApi
  readonly image: MetadataImage
  readonly #dir: string
  readonly #files: FileHandleCache

  private constructor (fields: { server: KafkaServer, replicas: ReplicaManager, data: ReplicaDataApi, image: MetadataImage, dir: string, files: FileHandleCache }) {
    this.server = fields.server
    this.replicas = fields.replicas
    this.data = fields.data
    this.image = fields.image
    this.#dir = fields.dir
    this.#files = fields.files
  }

  /**
   * `topics`: name → partition count; every partition is led here at leader epoch `epoch`. Topic ids are
   * `<name>-id` unless `topicId` names them (`nameUuid` for ids the Kafka wire can carry: Metadata v10+, Fetch v13+).
   */
  static async start (topics: Readonly<Record<string, number>>, options: { epoch?: number, logger?: Logger, topicId?: (name: string) => string } = {}): Promise<SingleBrokerKafka> {
    const logger = options.logger ?? silentLogger
    const dir = await mkdtemp(join(tmpdir(), 'gregor-kafka-data-'))
    const files = new FileHandleCache({ openFilesMax: 100, fs: nodeFileSystem })
    const replicas = new ReplicaManager({
      brokerId: BROKER_ID, incarnationId: INCARNATION, dataDir: dir, logConfig: {}, fs: nodeFileSystem, files,
      alterPartition: async () => { throw new Error('a single broker changes no ISR') },
      fetchTransport: { open: () => undefined }, // a single broker follows no one
      clock: { nowMs: () => Date.now() }, timers: systemTimers, logger, config: validateReplicationConfig({}),
    })
    const image = new MetadataImage()
    const data = new ReplicaDataApi({ replicas, producerIds: new ProducerIdAllocator(() => REGISTRATION_INDEX), topicName: (topicId) => image.topicById(topicId)?.name })
    const metadata = new MetadataImageApi({
      listenerName: 'KAFKA', clusterId: 'single-broker', image: () => image, quorumLeaderId: () => BROKER_ID,
      autoCreateTopicsEnable: false, createTopic: async () => {}, logger,
    })
    const server = await KafkaServer.start({
      listenerName: 'KAFKA', host: '127.0.0.1', port: 0, config: defaultKafkaListenerConfig, logger,
      handlers: kafkaHandlers({ metadata, data } as unknown as KafkaBrokerApi),
    })
    const records: MetadataRecord[] = [
      { type: 'RegisterBroker', brokerId: nodeId(BROKER_ID), incarnationId: INCARNATION, listeners: [{ name: 'KAFKA', host: '127.0.0.1', port: server.port }] },
      { type: 'UnfenceBroker', brokerId: nodeId(BROKER_ID), incarnationId: INCARNATION },
    ]
    for (const [name, partitionCount] of Object.entries(topics)) {
      const topicId = options.topicId?.(name) ?? `${name}-id`
      records.push({ type: 'Topic', name, topicId, partitionCount, config: { ...defaultTopicConfig, minInsyncReplicas: 1 } })
      for (let partition = 0; partition < partitionCount; partition++) {
        records.push({
          type: 'Partition', topicId, partition, replicas: [nodeId(BROKER_ID)], isr: [nodeId(BROKER_ID)], leader: nodeId(BROKER_ID),
          leaderEpoch: leaderEpoch(options.epoch ?? 0), partitionEpoch: options.epoch ?? 0,
        })
      }
    }
    image.applyBatch(records, raftIndex(REGISTRATION_INDEX))
    await replicas.onMetadata(image)
    return new SingleBrokerKafka({ server, replicas, data, image, dir, files })
  }

  get bootstrap (): string {
    return `127.0.0.1:${this.server.port}`
  }

  async close (): Promise<void> {
    await this.server.close()
    await this.replicas.close()
    await this.#files.closeAll()
    await rm(this.#dir, { recursive: true, force: true })
  }
}

/** A UUID derived from `name` (the same name, the same id), for topic ids on the Kafka wire. */
export function nameUuid (name: string): string {
  const hex = createHash('sha256').update(name).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

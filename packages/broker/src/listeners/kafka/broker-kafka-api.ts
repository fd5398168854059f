/**
 * The broker side of `KafkaBrokerApi` for one Kafka listener: each part's adapter bound to this broker's node
 * (image, replica manager, coordinator runtime, controller lifecycle). The composition root calls it once per Kafka
 * listener, since the answers depend on the listener's name (every broker is named by its address on that listener).
 *
 * One line per part: each part's adapter lives in its own file next to its interface. Metadata's auto-creation of a
 * topic goes through the admin part, as a CreateTopics with no settings (the cluster's defaults) would.
 */
import { ErrorCode, GregorError, type Logger } from '@gregor/common'
import type { BrokerNode } from '../../broker-node.js'
import { controllerAclApi } from './controller-acl-api.js'
import { controllerAdminApi } from './controller-admin-api.js'
import { type KafkaAdminApi, isAdminFailure } from './kafka-admin-api.js'
import type { KafkaBrokerApi } from './kafka-broker-api.js'
import { coordinatorGroupApi } from './coordinator-group-api.js'
import { MetadataImageApi } from './metadata-image-api.js'
import { ReplicaDataApi, type TopicByteCounters } from './replica-data-api.js'

export interface BrokerKafkaApiDeps {
  readonly listenerName: string
  readonly clusterId: string
  readonly brokerId: number
  readonly node: BrokerNode
  /** The metadata quorum's leader, 0 when none is known. */
  readonly quorumLeaderId: () => number
  readonly autoCreateTopicsEnable: boolean
  /** The broker's topic byte counters (BrokerMetrics), which both client listeners feed. */
  readonly topicBytes: TopicByteCounters
  readonly logger: Logger
  /** GREGOR_ACLS_ENABLED: the ACL APIs answer SECURITY_DISABLED without it. */
  readonly aclsEnabled?: boolean
}

export function kafkaBrokerApi (deps: BrokerKafkaApiDeps): KafkaBrokerApi {
  const { node } = deps
  const admin = controllerAdminApi(deps)
  return {
    metadata: new MetadataImageApi({
      listenerName: deps.listenerName, clusterId: deps.clusterId, image: () => node.image, quorumLeaderId: deps.quorumLeaderId,
      autoCreateTopicsEnable: deps.autoCreateTopicsEnable, createTopic: async (name) => { await createWithDefaults(admin, name) }, logger: deps.logger,
    }),
    data: new ReplicaDataApi({ replicas: node.replicas, producerIds: node.producerIds, topicName: (topicId) => node.image.topicById(topicId)?.name, topicBytes: deps.topicBytes }),
    admin,
    groups: coordinatorGroupApi({ runtime: node.groups, image: () => node.image, listenerName: deps.listenerName }),
    acls: controllerAclApi({ enabled: deps.aclsEnabled === true, controller: node.lifecycle, acls: () => node.image.acls() }),
  }
}

/** Creates topic `name` with the controller's defaults (partitions, replication factor, configs); rejects with its failure. */
async function createWithDefaults (admin: KafkaAdminApi, name: string): Promise<void> {
  const [result] = await admin.createTopics([{ name, partitionCount: undefined, replicationFactor: undefined, configs: {} }], { validateOnly: false })
  if (result === undefined) throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'topic creation failed')
  if (isAdminFailure(result)) throw new GregorError(result.error, result.message)
}

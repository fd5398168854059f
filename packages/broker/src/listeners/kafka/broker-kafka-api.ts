/**
 * The broker side of `KafkaBrokerApi` for one Kafka listener: each part's adapter bound to this broker's node
 * (image, replica manager, coordinator runtime, controller lifecycle). The composition root calls it once per Kafka
 * listener, since the answers depend on the listener's name (every broker is named by its address on that listener).
 *
 * One line per part: each part's adapter lives in its own file next to its interface.
 */
import { ErrorCode, GregorError, type Logger } from '@gregor/common'
import type { BrokerNode } from '../../broker-node.js'
import { controllerAdminApi } from './controller-admin-api.js'
import type { KafkaBrokerApi } from './kafka-broker-api.js'
import { coordinatorGroupApi } from './coordinator-group-api.js'
import { MetadataImageApi } from './metadata-image-api.js'
import { ReplicaDataApi } from './replica-data-api.js'

export interface BrokerKafkaApiDeps {
  readonly listenerName: string
  readonly clusterId: string
  readonly brokerId: number
  readonly node: BrokerNode
  /** The metadata quorum's leader, 0 when none is known. */
  readonly quorumLeaderId: () => number
  readonly autoCreateTopicsEnable: boolean
  readonly logger: Logger
}

export function kafkaBrokerApi (deps: BrokerKafkaApiDeps): KafkaBrokerApi {
  const { node } = deps
  return {
    metadata: new MetadataImageApi({
      listenerName: deps.listenerName, clusterId: deps.clusterId, image: () => node.image, quorumLeaderId: deps.quorumLeaderId,
      autoCreateTopicsEnable: deps.autoCreateTopicsEnable, createTopic: async (name) => { await createWithDefaults(node, name) }, logger: deps.logger,
    }),
    data: new ReplicaDataApi({ replicas: node.replicas, producerIds: node.producerIds }),
    admin: controllerAdminApi(deps),
    groups: coordinatorGroupApi({ runtime: node.groups, image: () => node.image, listenerName: deps.listenerName }),
  }
}

/** Creates topic `name` with the controller's defaults (partitions, replication factor, configs). */
async function createWithDefaults (node: BrokerNode, name: string): Promise<void> {
  const response = await node.lifecycle.createTopics({ topics: [{ name }] })
  const result = response.topics?.[0]
  const code = result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
  if (code !== '') throw new GregorError(code as ErrorCode, result?.errorMessage ?? 'topic creation failed')
}

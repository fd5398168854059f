/**
 * `KafkaGroupApi` over this broker's group coordinator runtime, for one Kafka listener: the coordinator of a group is
 * named by its address on that listener (as the metadata answer names every broker).
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { MetadataImage } from '@gregor/metadata'
import type { GroupCoordinatorRuntime } from '../../group-coordinator/group-coordinator-runtime.js'
import type { CoordinatorAddress, KafkaGroupApi } from './kafka-group-api.js'

export interface CoordinatorGroupApiDeps {
  readonly runtime: GroupCoordinatorRuntime
  readonly image: () => MetadataImage
  readonly listenerName: string
}

export function coordinatorGroupApi (deps: CoordinatorGroupApiDeps): KafkaGroupApi {
  const { runtime } = deps
  return {
    async findGroupCoordinator (groupId: string): Promise<CoordinatorAddress> {
      const { nodeId } = await runtime.findCoordinator(groupId)
      const listener = deps.image().broker(nodeId as never)?.listeners.find((item) => item.name === deps.listenerName)
      if (listener === undefined) {
        throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `broker ${nodeId} has no ${deps.listenerName} listener`)
      }
      return { nodeId, host: listener.host, port: listener.port }
    },
    joinGroup: async (request) => await runtime.joinGroup(request),
    syncGroup: async (request) => await runtime.syncGroup(request),
    heartbeat: async (request) => await runtime.classicHeartbeat(request),
    leaveGroup: async (request) => await runtime.leaveGroup(request),
    commitOffsets: async (request) => await runtime.commitOffsets(request),
    fetchOffsets: async (request) => await runtime.fetchOffsets(request),
    listGroups: () => runtime.listGroups(),
    describeGroup: async (groupId) => await runtime.describeClassicGroup(groupId),
    consumerGroupHeartbeat: async (request) => await runtime.heartbeat(request),
    describeConsumerGroup: async (groupId) => await runtime.describeGroup(groupId),
    deleteGroup: async (groupId) => await runtime.deleteGroup(groupId),
    deleteOffsets: async (request) => await runtime.deleteOffsets(request),
    topicId: (name) => deps.image().topic(name)?.topicId,
    topicName: (topicId) => deps.image().topicById(topicId)?.name,
  }
}

/**
 * The Kafka handlers of the group family (coordinators, the classic group protocol, KIP-848's consumer group protocol,
 * offsets, listing, describing and deleting groups), bound to `KafkaGroupApi`; one file per API under `handlers/`.
 */
import { ApiKey as Api } from '@gregor/kafka-protocol'
import { handleConsumerGroupDescribe } from './handlers/consumer-group-describe.js'
import { handleConsumerGroupHeartbeat } from './handlers/consumer-group-heartbeat.js'
import { handleDeleteGroups } from './handlers/delete-groups.js'
import { handleDescribeGroups } from './handlers/describe-groups.js'
import { handleFindCoordinator } from './handlers/find-coordinator.js'
import { handleHeartbeat } from './handlers/heartbeat.js'
import { handleJoinGroup } from './handlers/join-group.js'
import { handleLeaveGroup } from './handlers/leave-group.js'
import { handleListGroups } from './handlers/list-groups.js'
import { handleOffsetCommit } from './handlers/offset-commit.js'
import { handleOffsetDelete } from './handlers/offset-delete.js'
import { handleOffsetFetch } from './handlers/offset-fetch.js'
import { handleSyncGroup } from './handlers/sync-group.js'
import type { KafkaGroupApi } from './kafka-group-api.js'
import type { KafkaHandlers } from './kafka-handlers.js'

export function groupHandlers (api: KafkaGroupApi): KafkaHandlers {
  return {
    [Api.FindCoordinator]: async (request, context) => await handleFindCoordinator(api, request, context),
    [Api.JoinGroup]: async (request, context) => await handleJoinGroup(api, request, context),
    [Api.SyncGroup]: async (request, context) => await handleSyncGroup(api, request, context),
    [Api.Heartbeat]: async (request, context) => await handleHeartbeat(api, request, context),
    [Api.LeaveGroup]: async (request, context) => await handleLeaveGroup(api, request, context),
    [Api.OffsetCommit]: async (request, context) => await handleOffsetCommit(api, request, context),
    [Api.OffsetFetch]: async (request, context) => await handleOffsetFetch(api, request, context),
    [Api.ListGroups]: (request, context) => handleListGroups(api, request, context),
    [Api.DescribeGroups]: async (request, context) => await handleDescribeGroups(api, request, context),
    [Api.DeleteGroups]: async (request, context) => await handleDeleteGroups(api, request, context),
    [Api.OffsetDelete]: async (request, context) => await handleOffsetDelete(api, request, context),
    [Api.ConsumerGroupHeartbeat]: async (request, context) => await handleConsumerGroupHeartbeat(api, request, context),
    [Api.ConsumerGroupDescribe]: async (request, context) => await handleConsumerGroupDescribe(api, request, context),
  }
}

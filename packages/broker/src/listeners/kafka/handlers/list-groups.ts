/**
 * ListGroups (key 16, v0-4): the groups this broker coordinates (a client asks every broker), both types, with
 * Kafka's state names (v4, filtered by `states_filter`, case-insensitively as Kafka does). A KIP-848 group's protocol
 * type is `consumer`; a classic group's is its members' (empty when it has none).
 */
import type { GroupState, ListedGroup } from '@gregor/coordinator'
import { KAFKA_NONE, type ListGroupsRequest, type ListGroupsResponse } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'

/** Kafka's names of the group states. */
export const KAFKA_GROUP_STATE: Readonly<Record<GroupState, string>> = Object.freeze({
  empty: 'Empty',
  assigning: 'Assigning',
  reconciling: 'Reconciling',
  stable: 'Stable',
  dead: 'Dead',
  preparing_rebalance: 'PreparingRebalance',
  completing_rebalance: 'CompletingRebalance',
})

export function protocolTypeOf (group: ListedGroup): string {
  return group.groupType === 'consumer' ? 'consumer' : group.protocolType ?? ''
}

export function handleListGroups (api: KafkaGroupApi, request: ListGroupsRequest, context: KafkaRequestContext): ListGroupsResponse {
  const states = new Set(context.apiVersion >= 4 ? request.statesFilter.map((state) => state.toLowerCase()) : [])
  const groups = api.listGroups()
    .filter((group) => states.size === 0 || states.has(KAFKA_GROUP_STATE[group.state].toLowerCase()))
    .map((group) => ({ groupId: group.groupId, protocolType: protocolTypeOf(group), groupState: KAFKA_GROUP_STATE[group.state] }))
  return { throttleTimeMs: 0, errorCode: KAFKA_NONE, groups }
}

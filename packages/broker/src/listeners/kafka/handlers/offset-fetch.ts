/**
 * OffsetFetch (key 9, v1-8): a group's committed offsets (-1 where nothing is committed); a null topic list (v2+)
 * means every committed offset of the group. v8 asks for several groups at once. A group-level failure is the
 * group's error (v2+) or, in v1, every partition's. `require_stable` needs no wait: Gregor has no transactions, so
 * no commit is ever pending.
 */
import {
  KAFKA_NONE, type OffsetFetchRequest, type OffsetFetchResponse, type OffsetFetchResponsePartition, type OffsetFetchResponseTopic,
} from '@gregor/kafka-protocol'
import type { FetchedOffset } from '@gregor/coordinator'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaGroupApi } from '../kafka-group-api.js'
import { failureOf } from './group-errors.js'

interface AskedTopic { readonly name: string; readonly partitionIndexes: readonly number[] }

/** One group's answer: its topics, or its error with the partitions asked for (v1 reports errors per partition). */
async function fetchGroup (api: KafkaGroupApi, groupId: string, topics: readonly AskedTopic[] | null): Promise<{ topics: OffsetFetchResponseTopic[]; errorCode: number }> {
  try {
    const response = await api.fetchOffsets({
      groupId, partitions: (topics ?? []).map((t) => ({ topic: t.name, partitions: [...new Set(t.partitionIndexes)].sort((a, b) => a - b) })),
    })
    return { topics: byTopic(response.partitions), errorCode: KAFKA_NONE }
  } catch (error) {
    const { code } = failureOf(error)
    const failed = (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex): OffsetFetchResponsePartition =>
        ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: code })),
    }))
    return { topics: failed, errorCode: code }
  }
}

function byTopic (fetched: readonly FetchedOffset[]): OffsetFetchResponseTopic[] {
  const topics = new Map<string, OffsetFetchResponsePartition[]>()
  for (const p of fetched) {
    let partitions = topics.get(p.topic)
    if (partitions === undefined) topics.set(p.topic, partitions = [])
    partitions.push({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: KAFKA_NONE })
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }))
}

export async function handleOffsetFetch (api: KafkaGroupApi, request: OffsetFetchRequest, context: KafkaRequestContext): Promise<OffsetFetchResponse> {
  if (context.apiVersion >= 8) {
    const groups = await Promise.all(request.groups.map(async (group) => {
      const { topics, errorCode } = await fetchGroup(api, group.groupId, group.topics)
      return { groupId: group.groupId, topics: errorCode === KAFKA_NONE ? topics : [], errorCode }
    }))
    return { throttleTimeMs: 0, topics: [], errorCode: KAFKA_NONE, groups }
  }
  const { topics, errorCode } = await fetchGroup(api, request.groupId, request.topics)
  if (context.apiVersion >= 2) return { throttleTimeMs: 0, topics: errorCode === KAFKA_NONE ? topics : [], errorCode, groups: [] }
  return { throttleTimeMs: 0, topics, errorCode: KAFKA_NONE, groups: [] }
}

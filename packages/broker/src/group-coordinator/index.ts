/**
 * The group coordinator runtime and its wiring to the replica manager (the acks=all append path, the replica view).
 * Timers and clock are the broker's (`system/system-timers.ts` in production).
 */
import { CONSUMER_OFFSETS_TOPIC } from '@gregor/coordinator'
import { ErrorCode, GregorError } from '@gregor/common'
import type { ReplicaManager } from '../replica/index.js'
import type { OffsetsReplicaView } from './group-coordinator-runtime.js'

export { GroupCoordinatorRuntime, type GroupCoordinatorRuntimeDeps, type OffsetsReplicaView } from './group-coordinator-runtime.js'
export { CoordinatorPartition, coordinatorError } from './coordinator-partition.js'

/** How long a coordinator write may wait for the in-sync replicas (Kafka's offsets.commit.timeout.ms is 5 s). */
export const coordinatorWriteTimeoutMs = 5000

/** This broker's replica of `__consumer_offsets-<partition>`, as the runtime sees it. */
export function offsetsReplicaOf (replicas: ReplicaManager, partition: number): OffsetsReplicaView | undefined {
  const state = replicas.replicaState(CONSUMER_OFFSETS_TOPIC, partition)
  const log = replicas.partitionLog(CONSUMER_OFFSETS_TOPIC, partition)
  if (state === undefined || log === undefined) return undefined
  return { role: state.role, leaderEpoch: state.leaderEpoch, highWatermark: state.highWatermark, log }
}

/** Appends through the leader's normal acks=all path: resolves once the records are committed. */
export async function appendCoordinatorRecords (replicas: ReplicaManager, partition: number, records: Buffer): Promise<void> {
  const response = await replicas.produce({
    acks: -1, timeoutMs: coordinatorWriteTimeoutMs, partitions: [{ topic: CONSUMER_OFFSETS_TOPIC, partition, topicId: '', records }],
  }, { internalTopicsAllowed: true })
  const result = response.partitions?.[0]
  if (result === undefined) throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no produce result')
  if (result.errorCode !== undefined && result.errorCode !== null && result.errorCode !== '') {
    throw new GregorError(result.errorCode as ErrorCode, result.errorMessage ?? result.errorCode)
  }
}

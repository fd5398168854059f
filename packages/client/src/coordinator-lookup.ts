/**
 * Finding a consumer group's coordinator (Kafka FindCoordinator, key type GROUP) and the facts about group RPCs that
 * the admin and the group consumer share: which failures mean "ask the coordinator again, maybe a different one",
 * how long to back off, and the wire ↔ domain form of partition lists.
 *
 * Owns: the one place that decides a group call failed because of *where* it went (NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, or a transport failure): callers then forget the cached
 * coordinator and look it up again. `retryOnCoordinator` is the one retry loop of group calls (admin, commit,
 * OffsetFetch): it bounds such retries by a deadline (the request timeout), so an admin call never spins forever
 * while a coordinator moves. Pure apart from the injected connection and timers.
 */
import { type Clock, ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { type gregor, groupMethods } from '@gregor/protocol'
import type { BrokerConnection, CallOptions } from './cluster-connection.js'
import { joinHostPort } from './metadata-snapshot.js'
import type { TopicPartition } from './record-accumulator.js'
import { responseError } from './response-error.js'
import { exponentialBackoffMs } from './retry-policy.js'
import type { Scheduler } from './scheduler.js'

export interface GroupCoordinatorInfo {
  groupId: string
  nodeId: number
  host: string
  port: number
  /** The `__consumer_offsets` partition that holds the group. */
  partition: number
}

/** A coordinator and the address a gRPC channel is opened to. */
export interface CoordinatorAddress extends GroupCoordinatorInfo {
  readonly address: string
}

/** A topic and some of its partitions: the shape group requests and responses name partitions in. */
export interface TopicPartitionList {
  topic: string
  partitions: number[]
}

/**
 * The topic whose partition leaders are the group coordinators (Kafka's, and the coordinator package's
 * CONSUMER_OFFSETS_TOPIC: the client does not depend on that package).
 */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets'

/**
 * Call options for a request to `coordinator`: it names the coordinator's `__consumer_offsets` partition and broker,
 * so the connection abandons the call when it stalls and metadata shows that partition led by another broker.
 */
export function coordinatorWatch (coordinator: CoordinatorAddress): CallOptions {
  return { leaders: [{ topic: CONSUMER_OFFSETS_TOPIC, partition: coordinator.partition, brokerId: coordinator.nodeId, leaderEpoch: -1 }] }
}

const coordinatorCodes: ReadonlySet<string> = new Set<string>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
])

/** Whether `error` means the request should go to the coordinator again, found anew: the coordinator moved, is not
 * ready yet, or could not be reached. */
export function isCoordinatorError (error: unknown): boolean {
  return isGregorError(error) && (coordinatorCodes.has(error.code) || error.details.transport === true)
}

/**
 * Asks any broker for the coordinators of `groupIds`: one FindCoordinator request (hedged, suspects last). A group the broker could not
 * place (COORDINATOR_NOT_AVAILABLE while `__consumer_offsets` is created or leaderless) comes back as its error.
 */
export async function findCoordinators (
  connection: Pick<BrokerConnection, 'callAny'>,
  groupIds: readonly string[],
): Promise<Map<string, CoordinatorAddress | GregorError>> {
  // Hedged: a read, and the broker that answered last may be the coordinator that just stopped answering.
  const response = await connection.callAny(groupMethods.findCoordinator, { groupIds: [...groupIds] }, { hedge: true })
  const found = new Map<string, CoordinatorAddress | GregorError>()
  for (const coordinator of response.coordinators) {
    const groupId = coordinator.groupId ?? ''
    const error = responseError(coordinator.errorCode, coordinator.errorMessage, { groupId })
    const nodeId = coordinator.nodeId ?? -1
    if (error !== undefined) found.set(groupId, error)
    else if (nodeId < 0) found.set(groupId, new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'coordinator unknown', { details: { groupId } }))
    else {
      const host = coordinator.host ?? ''
      const port = coordinator.port ?? 0
      found.set(groupId, { groupId, nodeId, host, port, partition: coordinator.partition ?? 0, address: joinHostPort(host, port) })
    }
  }
  for (const groupId of groupIds) {
    if (!found.has(groupId)) found.set(groupId, new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no coordinator in response', { details: { groupId } }))
  }
  return found
}

/** The coordinator of one group; throws its error (COORDINATOR_NOT_AVAILABLE, retriable) when there is none. */
export async function findCoordinator (connection: Pick<BrokerConnection, 'callAny'>, groupId: string): Promise<CoordinatorAddress> {
  const found = (await findCoordinators(connection, [groupId])).get(groupId)
  if (found === undefined || found instanceof GregorError) throw found ?? new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no coordinator', { details: { groupId } })
  return found
}

export interface CoordinatorRetryDeps {
  readonly clock: Clock
  readonly scheduler: Scheduler
  /** Retries stop once this much time has passed since the first attempt (Infinity: never). */
  readonly timeoutMs: number
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
}

/** What a caller with more state than a coordinator cache adds to `retryOnCoordinator`. */
export interface CoordinatorRetryOptions {
  /** Which failures are retried after a backoff; default `isCoordinatorError`. */
  readonly retriable?: (error: unknown) => boolean
  /** Told before each retry after a coordinator error: forget the cached coordinator. */
  readonly onCoordinatorError?: () => void
  /**
   * A failure to retry at once after this wait instead (e.g. STALE_MEMBER_EPOCH: wait for the next heartbeat), or
   * undefined for one it does not handle. Only asked while time remains; `remainingMs` bounds the wait.
   */
  readonly waitBeforeRetry?: (error: unknown, remainingMs: number) => Promise<void> | undefined
}

/**
 * Runs `attempt` until it succeeds, or fails with an error that is not retriable (default: not `isCoordinatorError`),
 * or the deadline passes (then the last error is thrown). Retries back off exponentially (`exponentialBackoffMs`).
 * `attempt` receives its 1-based number; it must look the coordinator up again itself (the caller knows what it
 * cached; `onCoordinatorError` is where to forget it).
 */
export async function retryOnCoordinator<T> (
  deps: CoordinatorRetryDeps,
  attempt: (attemptNumber: number) => Promise<T>,
  options: CoordinatorRetryOptions = {},
): Promise<T> {
  const deadlineMs = deps.clock.nowMs() + deps.timeoutMs
  const retriable = options.retriable ?? isCoordinatorError
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber)
    } catch (error) {
      const remainingMs = deadlineMs - deps.clock.nowMs()
      const wait = remainingMs > 0 ? options.waitBeforeRetry?.(error, remainingMs) : undefined
      if (wait !== undefined) {
        await wait
        continue
      }
      if (!retriable(error)) throw error
      if (isCoordinatorError(error)) options.onCoordinatorError?.()
      const delayMs = exponentialBackoffMs(attemptNumber, deps.retryBackoffMs, deps.retryBackoffMaxMs)
      if (delayMs >= remainingMs) throw error
      await new Promise<void>((resolve) => { deps.scheduler.setTimer(delayMs, resolve) })
    }
  }
}

/** Wire partition lists → domain, partitions sorted; lists of the same topic merged. */
export function topicPartitionLists (wire: readonly gregor.groups.TopicPartitions.$Properties[] | null | undefined): TopicPartitionList[] {
  const byTopic = new Map<string, Set<number>>()
  for (const entry of wire ?? []) {
    const topic = entry.topic ?? ''
    let partitions = byTopic.get(topic)
    if (partitions === undefined) byTopic.set(topic, partitions = new Set())
    for (const partition of entry.partitions ?? []) partitions.add(partition)
  }
  return [...byTopic.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }))
}

/** Flat topic-partitions → one list per topic, topics and partitions sorted. */
export function groupPartitionsByTopic (partitions: Iterable<TopicPartition>): TopicPartitionList[] {
  return topicPartitionLists([...partitions].map(({ topic, partition }) => ({ topic, partitions: [partition] })))
}

/** Lists → flat topic-partitions, in list order. */
export function flattenPartitionLists (lists: readonly TopicPartitionList[]): TopicPartition[] {
  return lists.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })))
}

/**
 * `Consumer`: `for await (const message of consumer)` or `run({ eachMessage | eachBatch })` over records of
 * partitions that the caller assigns (`assign`, no group) or that a consumer group gives it (`groupId` +
 * `subscribe`, KIP-848: the coordinator assigns, `group-membership.ts` heartbeats and reconciles).
 *
 * Owns: the facade over a FetchEngine (positions, fetches, buffer: fetch-engine.ts) and, with a group, a
 * GroupMembership whose target is that engine. Offsets: `commit()` commits the positions after the records handed
 * out; auto-commit (every `autoCommitIntervalMs`, and before partitions are revoked or the consumer closes) commits
 * the positions after the records the application finished (the next one was asked for, or `eachMessage` /
 * `eachBatch` resolved), so a crash redelivers rather than skips (at-least-once).
 *
 * The batch-level path (`for await (const records of consumer.records())`, `run({ eachRecords })`): one
 * `PartitionRecords` per fetch answer and partition, decoded lazily by a cursor (partition-records.ts), with no
 * per-record allocation unless the application asks for a record's key, value, headers or `message()`. Such a chunk
 * counts as processed (auto-commit may commit its `nextOffset`) when `eachRecords` resolved or the next chunk is
 * asked for; leaving the loop (break, throw) does not count it, since the application may have stopped inside it.
 *
 * Without a group, behaviour is as before: `autoOffsetReset` defaults to 'none', `close` closes at once. With a
 * group it defaults to 'latest' (Kafka), and applies when the group has no committed offset for a partition too.
 */
import { type Clock, ErrorCode, GregorError, type Logger, type Offset, offset as toOffset } from '@gregor/common'
import { type ClientConfig, connectionFor } from './admin.js'
import type { BrokerConnection } from './cluster-connection.js'
import { type ConsumerAssignment, FetchEngine, type StartOffset } from './fetch-engine.js'
import type { ConsumerMessage } from './fetch-records.js'
import type { PartitionRecords } from './partition-records.js'
import { type AssignedPartition, GroupMembership, type OffsetToCommit, defaultGroupMembershipConfig } from './group-membership.js'
import type { TopicPartition } from './record-accumulator.js'
import { type Scheduler, systemClock, systemScheduler } from './scheduler.js'

export type { ConsumerAssignment, StartOffset }

export interface ConsumerOptions extends ClientConfig {
  readonly clientId?: string
  /** How long the broker may hold a fetch that has fewer than `minBytes` (Kafka `fetch.max.wait.ms`). */
  readonly maxWaitMs?: number
  readonly minBytes?: number
  /** Bytes of records per fetch response (Kafka `fetch.max.bytes`). */
  readonly fetchBytesMax?: number
  /** Bytes of records per partition in one response (Kafka `max.partition.fetch.bytes`). */
  readonly partitionBytesMax?: number
  readonly retryBackoffMs?: number
  /**
   * Where a position goes when it is out of range, when its topic was re-created (another topic id), or (with a
   * group) when nothing is committed (Kafka `auto.offset.reset`); 'none' ends the iteration instead. Default 'none'
   * without a group, 'latest' with one.
   */
  readonly autoOffsetReset?: 'earliest' | 'latest' | 'none'
  /** With a group: membership via ConsumerGroupHeartbeat, `subscribe()` instead of `assign()`. */
  readonly groupId?: string
  /** Default true with a group. */
  readonly autoCommit?: boolean
  /** Default 5000. */
  readonly autoCommitIntervalMs?: number
  /** How long this member may take to revoke partitions (Kafka `max.poll.interval.ms`); default 300000. */
  readonly rebalanceTimeoutMs?: number
  /** Without a successful heartbeat for this long the consumer drops its partitions as lost; default 45000. */
  readonly sessionTimeoutMs?: number
  /** Server-side assignor; the coordinator's default when absent. */
  readonly groupAssignor?: 'uniform' | 'range'
  readonly onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>
  /** Called before the revocation is acknowledged to the coordinator; auto-commit has committed them first. */
  readonly onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>
}

/** Injected for tests: a fake cluster at the transport seam and virtual time. */
export interface ConsumerDeps {
  readonly connection?: BrokerConnection
  readonly scheduler?: Scheduler
  readonly clock?: Clock
  readonly logger?: Logger
}

export interface ConsumerBatch {
  readonly topic: string
  readonly partition: number
  readonly messages: ConsumerMessage[]
}

export interface ConsumerRunOptions {
  /** The lazy batch-level path: one fetch answer of one partition at a time (taken before eachBatch/eachMessage). */
  readonly eachRecords?: (records: PartitionRecords) => Promise<void>
  readonly eachMessage?: (message: ConsumerMessage) => Promise<void>
  readonly eachBatch?: (batch: ConsumerBatch) => Promise<void>
}

/** An offset to commit, with optional metadata (the membership's type). */
export type OffsetCommitEntry = OffsetToCommit

const defaults = {
  maxWaitMs: 500, minBytes: 1, fetchBytesMax: 16 * 1024 * 1024, partitionBytesMax: 1024 * 1024, retryBackoffMs: 100,
}

export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly #connection: BrokerConnection
  readonly #engine: FetchEngine
  readonly #membership: GroupMembership | undefined
  readonly #autoOffsetReset: 'earliest' | 'latest' | 'none'
  #closing: Promise<void> | undefined

  constructor (options: ConsumerOptions, deps: ConsumerDeps = {}) {
    const group = options.groupId !== undefined
    if (group && options.groupId === '') throw new GregorError(ErrorCode.INVALID_GROUP_ID, 'groupId must not be empty')
    this.#autoOffsetReset = options.autoOffsetReset ?? (group ? 'latest' : 'none')
    this.#connection = deps.connection ?? connectionFor(options)
    const scheduler = deps.scheduler ?? systemScheduler
    this.#engine = new FetchEngine({
      maxWaitMs: options.maxWaitMs ?? defaults.maxWaitMs,
      minBytes: options.minBytes ?? defaults.minBytes,
      fetchBytesMax: options.fetchBytesMax ?? defaults.fetchBytesMax,
      partitionBytesMax: options.partitionBytesMax ?? defaults.partitionBytesMax,
      retryBackoffMs: options.retryBackoffMs ?? defaults.retryBackoffMs,
      autoOffsetReset: this.#autoOffsetReset,
    }, { connection: this.#connection, scheduler })
    if (options.groupId === undefined) return
    const engine = this.#engine
    this.#membership = new GroupMembership({
      ...defaultGroupMembershipConfig,
      groupId: options.groupId,
      clientId: options.clientId ?? defaultGroupMembershipConfig.clientId,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? defaultGroupMembershipConfig.rebalanceTimeoutMs,
      sessionTimeoutMs: options.sessionTimeoutMs ?? defaultGroupMembershipConfig.sessionTimeoutMs,
      groupAssignor: options.groupAssignor ?? defaultGroupMembershipConfig.groupAssignor,
      autoCommit: options.autoCommit ?? defaultGroupMembershipConfig.autoCommit,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? defaultGroupMembershipConfig.autoCommitIntervalMs,
      retryBackoffMs: options.retryBackoffMs ?? defaultGroupMembershipConfig.retryBackoffMs,
      requestTimeoutMs: this.#connection.requestTimeoutMs,
    }, {
      startPartitions: (partitions) => { this.#startPartitions(partitions) },
      stopPartitions: (partitions) => { engine.remove(partitions) },
      committableOffsets: (partitions) => engine.committable('processed', partitions),
      onPartitionsAssigned: options.onPartitionsAssigned,
      onPartitionsRevoked: options.onPartitionsRevoked,
      onFatalError: (error) => { engine.fail(error) },
    }, { connection: this.#connection, clock: deps.clock ?? systemClock, scheduler, logger: deps.logger })
  }

  /** The member id the coordinator gave (undefined before joining, or without a group). */
  get memberId (): string | undefined { return this.#membership?.memberId }

  /** The member epoch (0 before joining or while rejoining, -1 after leaving; 0 without a group). */
  get memberEpoch (): number { return this.#membership?.memberEpoch ?? 0 }

  /** Replaces the assignment (no group only); buffered records of partitions no longer assigned are dropped. */
  assign (assignments: readonly ConsumerAssignment[]): void {
    if (this.#membership !== undefined) throw new GregorError(ErrorCode.INVALID_REQUEST, 'a consumer with a groupId subscribes; it cannot assign')
    this.#engine.assign(assignments)
  }

  /** Joins the group (groupId required) for these topics, or topics matching `regex` (a JavaScript RegExp source). */
  subscribe (topics: string[] | { topics?: string[]; regex?: string }): void {
    const membership = this.#membership
    if (membership === undefined) throw new GregorError(ErrorCode.INVALID_REQUEST, 'subscribe needs a groupId; use assign() without one')
    const subscription = Array.isArray(topics) ? { topics, regex: '' } : { topics: topics.topics ?? [], regex: topics.regex ?? '' }
    if (subscription.topics.length === 0 && subscription.regex === '') {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'subscribe to at least one topic or a regex')
    }
    membership.subscribe(subscription)
  }

  /** Partitions owned right now (with a group), or assigned (without). */
  assignment (): TopicPartition[] {
    return this.#membership?.owned() ?? this.#engine.partitions()
  }

  /** The next offset the consumer fetches for a partition (after the records buffered so far). */
  position (topic: string, partition: number): Offset | undefined {
    const position = this.#engine.fetchPosition(topic, partition)
    return position === undefined ? undefined : toOffset(position)
  }

  pause (partitions: TopicPartition[]): void { this.#engine.pause(partitions) }

  resume (partitions: TopicPartition[]): void { this.#engine.resume(partitions) }

  /** The next record of this partition will be `offset`; throws INVALID_REQUEST for a partition not owned. */
  seek (topic: string, partition: number, offset: number): void { this.#engine.seek(topic, partition, offset) }

  /**
   * Commits offsets for the group (with the member's id and epoch); by default the positions of all owned
   * partitions after the records already handed out. Rejects with the coordinator's error (a GregorError).
   */
  async commit (offsets?: OffsetCommitEntry[]): Promise<void> {
    const membership = this.#membership
    if (membership === undefined) throw new GregorError(ErrorCode.INVALID_REQUEST, 'commit needs a groupId')
    await membership.commit(offsets ?? this.#engine.committable('consumed', membership.owned()))
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<ConsumerMessage, void, undefined> {
    for (;;) {
      const message = await this.#engine.next()
      if (message === undefined) return
      try {
        yield message
      } finally {
        // Asked for the next one, or left the loop (break/return: the generator is closed here): the application is
        // done with this one, as Kafka's close() commits the position of every record poll() returned.
        this.#engine.processed(message)
      }
    }
  }

  /**
   * The batch-level iteration: each fetch answer of one partition as a lazily decoded `PartitionRecords` (read it
   * with `records.records()`, a cursor). A chunk counts as processed when the next one is asked for (see the header).
   */
  async * records (): AsyncGenerator<PartitionRecords, void, undefined> {
    for (;;) {
      const chunk = await this.#engine.nextChunk()
      if (chunk === undefined) return
      yield chunk
      // Only reached when the next chunk is asked for: a loop left inside a chunk does not count it as processed.
      this.#engine.processedUpTo(chunk.topic, chunk.partition, chunk.nextOffset)
    }
  }

  /**
   * Hands records to `eachRecords` (lazily decoded, one fetch answer of one partition at a time), or else
   * `eachBatch` (the same, as messages) or else `eachMessage`, one call at a time; resolves when the consumer is
   * closed, rejects with a fatal consumer error or a handler's error.
   */
  async run (handlers: ConsumerRunOptions): Promise<void> {
    const { eachRecords, eachBatch, eachMessage } = handlers
    if (eachRecords === undefined && eachBatch === undefined && eachMessage === undefined) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'run needs eachRecords, eachBatch or eachMessage')
    }
    for (;;) {
      if (eachRecords !== undefined) {
        const chunk = await this.#engine.nextChunk()
        if (chunk === undefined) return
        await eachRecords(chunk)
        this.#engine.processedUpTo(chunk.topic, chunk.partition, chunk.nextOffset)
      } else if (eachBatch !== undefined) {
        const messages = await this.#engine.nextBatch()
        const first = messages[0]
        if (first === undefined) return
        await eachBatch({ topic: first.topic, partition: first.partition, messages })
        for (const message of messages) this.#engine.processed(message)
      } else if (eachMessage !== undefined) {
        const message = await this.#engine.next()
        if (message === undefined) return
        await eachMessage(message)
        this.#engine.processed(message)
      }
    }
  }

  /**
   * Stops fetching and ends any iteration; with a group, commits (autoCommit), calls onPartitionsRevoked and leaves
   * the group (epoch -1) at once; then closes the connections. Without a group everything happens before the first
   * await, so a caller that does not await still gets a closed consumer. Every call returns the one close, so a
   * signal handler and a normal exit can both await it.
   */
  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    this.#engine.close()
    try {
      if (this.#membership !== undefined) await this.#membership.close()
    } finally {
      this.#connection.close()
    }
  }

  #startPartitions (partitions: readonly AssignedPartition[]): void {
    const assignments: ConsumerAssignment[] = []
    const uncommitted: TopicPartition[] = []
    for (const { topic, partition, committedOffset } of partitions) {
      if (committedOffset !== undefined) assignments.push({ topic, partition, offset: committedOffset })
      else if (this.#autoOffsetReset === 'none') uncommitted.push({ topic, partition })
      else assignments.push({ topic, partition, offset: this.#autoOffsetReset })
    }
    this.#engine.add(assignments)
    if (uncommitted.length > 0) {
      // Kafka's NoOffsetForPartitionException: the application chose to decide itself (seek) rather than reset.
      this.#engine.fail(new GregorError(ErrorCode.OFFSET_OUT_OF_RANGE, 'no committed offset and autoOffsetReset is none', {
        details: { partitions: uncommitted },
      }))
    }
  }
}

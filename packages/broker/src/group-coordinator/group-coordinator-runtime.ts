/**
 * The group coordinator runtime of one broker (Kafka 4's `CoordinatorRuntime` + `GroupCoordinatorService`): it
 * coordinates the groups of every `__consumer_offsets` partition this broker leads.
 *
 * Owns: the loaded partitions (`CoordinatorPartition`, one per led partition and leader epoch), their loading and
 * unloading as leadership moves, the periodic `tick` (session expiry, rebalance timeouts, offset retention), and the
 * first-use creation of `__consumer_offsets` (Kafka: offsets.topic.num.partitions, replication factor
 * min(3, brokers), min.insync.replicas 2, cleanup.policy=compact).
 *
 * Lifecycle of a partition here: the replica manager makes this broker its leader → `onMetadata` starts a load (the
 * partition answers COORDINATOR_LOAD_IN_PROGRESS) → the load waits until the high watermark reaches the log end it
 * saw (so nothing it replays can still be truncated away), replays every record into a fresh shard → active →
 * leadership lost, or a new leader epoch, or a failed write → unloaded (NOT_COORDINATOR), reloaded if still leader.
 *
 * Classic groups (JoinGroup/SyncGroup): a JoinGroup or SyncGroup may wait for other members; the runtime parks it
 * (`ClassicWaiters`) and answers it when a later decision, or the tick's timeouts, deliver its answer. A parked request
 * of a partition that unloads is answered NOT_COORDINATOR (the member finds the new coordinator and asks again). A
 * load restores each classic group's last completed generation with its members from its records, so a member that
 * goes on heartbeating at its generation to the new coordinator stays in without rejoining.
 *
 * Pure decisions live in @gregor/coordinator; this module holds no group logic. Clock, timers and ids are injected.
 */
import {
  type Clock, ErrorCode, GregorError, isGregorError, type Logger, type TimerHandle, type Timers, offset as toOffset,
} from '@gregor/common'
import {
  type ClassicGroupConfig, type ClassicGroupDescription, type ClassicHeartbeatRequest, type ClassicHeartbeatResponse,
  type ClassicOutcome, type JoinGroupRequest, type JoinGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse,
  type SyncGroupRequest, type SyncGroupResponse,
  CONSUMER_OFFSETS_TOPIC, type CoordinatorConfig, type CoordinatorResult, type DecisionContext, type DescribedGroup,
  GroupCoordinatorShard, type GroupResult, type HeartbeatRequest, type HeartbeatResponse, type ListedGroup,
  type OffsetCommitRequest, type OffsetCommitResponse, type OffsetDeleteRequest, type OffsetDeleteResponse,
  type OffsetFetchRequest, type OffsetFetchResponse, type ResetOffsetsRequest, type TickReport, type ClassicTickOutcome, type TopicsView, checkGroupId, decodeGroupRecord,
  groupPartition,
} from '@gregor/coordinator'
import type { MetadataImage } from '@gregor/metadata'
import { parseBatch, walkBatches } from '@gregor/records'
import type { PartitionLog } from '@gregor/storage'
import { ClassicWaiters } from './classic-waiters.js'
import { CoordinatorPartition } from './coordinator-partition.js'

/** What the runtime needs from the replica manager for one partition of `__consumer_offsets`. */
export interface OffsetsReplicaView {
  readonly role: 'leader' | 'follower'
  readonly leaderEpoch: number
  readonly highWatermark: number
  readonly log: PartitionLog
}

export interface GroupCoordinatorRuntimeDeps {
  readonly brokerId: number
  readonly config: CoordinatorConfig
  /** The classic group protocol's settings (Kafka's defaults when omitted). */
  readonly classicConfig?: Partial<ClassicGroupConfig>
  readonly offsetsTopicNumPartitions: number
  /** `segment.bytes` of `__consumer_offsets` (Kafka `offsets.topic.segment.bytes`). */
  readonly offsetsTopicSegmentBytes: number
  readonly image: () => MetadataImage
  /** This broker's replica of `__consumer_offsets-<partition>`, if it holds one. */
  readonly replica: (partition: number) => OffsetsReplicaView | undefined
  /** acks=all append to `__consumer_offsets-<partition>`; rejects with a GregorError on a partition error. */
  readonly append: (partition: number, records: Buffer) => Promise<void>
  /** Asks the controller to create `__consumer_offsets` (errors other than TOPIC_ALREADY_EXISTS are thrown). */
  readonly createOffsetsTopic: (spec: { partitions: number; replicationFactor: number; configs: Record<string, string> }) => Promise<void>
  readonly newMemberId: () => string
  readonly clock: Clock
  /** The tick and the load's wait for the high watermark run on these (virtual time in the simulation). */
  readonly timers: Timers
  readonly logger: Logger
  /** How often sessions, rebalance timeouts and offset retention are checked. */
  readonly tickIntervalMs?: number
  /** Told of every decision's records (metrics: assignment changes). */
  readonly onDecision?: (groupId: string | undefined, result: CoordinatorResult<unknown>) => void
}

/** Bytes read per step while loading a partition. */
const loadReadBytes = 1024 * 1024
const defaultTickIntervalMs = 100
const loadPollMs = 20

export class GroupCoordinatorRuntime {
  readonly #deps: GroupCoordinatorRuntimeDeps
  readonly #log: Logger
  readonly #partitions = new Map<number, CoordinatorPartition>()
  readonly #tick: TimerHandle
  #creatingTopic: Promise<void> | undefined
  #closed = false
  #metadataChain: Promise<void> = Promise.resolve()
  readonly #waiters = new ClassicWaiters()

  constructor (deps: GroupCoordinatorRuntimeDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'group-coordinator' })
    this.#tick = deps.timers.setInterval(() => { this.#tickAll() }, deps.tickIntervalMs ?? defaultTickIntervalMs)
  }

  // ---- coordinator lookup ----

  /**
   * The coordinator of `groupId`: the leader of its `__consumer_offsets` partition. The first lookup asks the
   * controller to create the topic and answers COORDINATOR_NOT_AVAILABLE (retriable) until it has a leader.
   */
  async findCoordinator (groupId: string): Promise<{ nodeId: number; partition: number }> {
    checkGroupId(groupId, this.#deps.config)
    const image = this.#deps.image()
    const topic = image.topic(CONSUMER_OFFSETS_TOPIC)
    if (topic === undefined) {
      await this.#ensureOffsetsTopic()
      throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${CONSUMER_OFFSETS_TOPIC} is being created`)
    }
    const partition = groupPartition(groupId, topic.partitionCount)
    const leader = image.partition(topic.topicId, partition)?.leader ?? -1
    if (leader < 0) throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${CONSUMER_OFFSETS_TOPIC}-${partition} has no leader`)
    return { nodeId: leader, partition }
  }

  async #ensureOffsetsTopic (): Promise<void> {
    if (this.#creatingTopic !== undefined) return await this.#creatingTopic
    const live = this.#deps.image().liveBrokers().length
    const replicationFactor = Math.max(1, Math.min(3, live))
    const spec = {
      partitions: this.#deps.offsetsTopicNumPartitions,
      replicationFactor,
      configs: {
        'cleanup.policy': 'compact',
        'min.insync.replicas': String(Math.min(2, replicationFactor)),
        // Small segments (Kafka's offsets.topic.segment.bytes), so the cleaner, which never touches the active segment, keeps the topic small.
        'segment.bytes': String(this.#deps.offsetsTopicSegmentBytes),
      },
    }
    this.#creatingTopic = this.#deps.createOffsetsTopic(spec).then(() => {
      this.#log.info({ topic: CONSUMER_OFFSETS_TOPIC, ...spec }, 'offsets topic created')
    }, (error: unknown) => {
      if (isGregorError(error) && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) return
      this.#log.warn({ err: error }, 'offsets topic creation failed')
    }).finally(() => { this.#creatingTopic = undefined })
    await this.#creatingTopic
  }

  // ---- group requests (each answered by the shard of the group's partition) ----

  async heartbeat (request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const response = await this.#run(request.groupId, (shard, context) => shard.heartbeat(request, context))
    if (request.memberEpoch === 0) {
      this.#log.info({ groupId: request.groupId, memberId: response.memberId, clientId: request.clientId, clientHost: request.clientHost }, 'member joined')
    } else if (request.memberEpoch === -1) {
      this.#log.info({ groupId: request.groupId, memberId: request.memberId }, 'member left')
    }
    return response
  }

  async commitOffsets (request: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    return await this.#run(request.groupId, (shard, context) => shard.commitOffsets(request, context))
  }

  async fetchOffsets (request: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    return await this.#run(request.groupId, (shard) => ({ records: [], response: shard.fetchOffsets(request) }))
  }

  async deleteOffsets (request: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
    return await this.#run(request.groupId, (shard, context) => shard.deleteOffsets(request, context))
  }

  async resetOffsets (request: ResetOffsetsRequest): Promise<OffsetCommitResponse> {
    return await this.#run(request.groupId, (shard, context) => shard.resetOffsets(request, context))
  }

  // ---- the classic group protocol ----

  async joinGroup (request: JoinGroupRequest): Promise<JoinGroupResponse> {
    const response = await this.#runClassic(request.groupId, 'join', (shard, context) => shard.joinGroup(request, context))
    if (response.errorCode === '' && response.leader === response.memberId) {
      this.#log.info({ groupId: request.groupId, generationId: response.generationId, members: response.members.length, protocol: response.protocolName }, 'classic generation started')
    }
    return response
  }

  async syncGroup (request: SyncGroupRequest): Promise<SyncGroupResponse> {
    return await this.#runClassic(request.groupId, 'sync', (shard, context) => shard.syncGroup(request, context))
  }

  async classicHeartbeat (request: ClassicHeartbeatRequest): Promise<ClassicHeartbeatResponse> {
    return await this.#runClassic(request.groupId, undefined, (shard, context) => shard.classicHeartbeat(request, context))
  }

  async leaveGroup (request: LeaveGroupRequest): Promise<LeaveGroupResponse> {
    const response = await this.#runClassic(request.groupId, undefined, (shard, context) => shard.leaveGroup(request, context))
    for (const member of response.members) {
      if (member.errorCode === '') this.#log.info({ groupId: request.groupId, memberId: member.memberId }, 'member left')
    }
    return response
  }

  async describeClassicGroup (groupId: string): Promise<ClassicGroupDescription> {
    return await this.#run(groupId, (shard) => ({ records: [], response: shard.describeClassicGroup(groupId) }))
  }

  /**
   * Runs a classic decision. Its caller's answer is the decision's reply, or, when it waits, what a delivery to it
   * brings later (`kind` says which of its requests waits). Deliveries go out once the decision's records commit.
   */
  async #runClassic<Reply> (
    groupId: string, kind: 'join' | 'sync' | undefined,
    decide: (shard: GroupCoordinatorShard, context: DecisionContext) => CoordinatorResult<ClassicOutcome<Reply>>,
  ): Promise<Reply> {
    let parked: Promise<Reply> | undefined
    let partitionIndex = -1
    const outcome = await this.#run(groupId, (shard, context) => {
      const result = decide(shard, context)
      const waiting = result.response.reply === undefined && kind !== undefined
      partitionIndex = this.#partitionOf(groupId)
      if (waiting) parked = this.#waiters.park(partitionIndex, groupId, result.response.awaitingMemberId, kind) as Promise<Reply>
      return result
    }).catch((error: unknown) => {
      // The decision's write failed: its own parked request fails with it (the unload answers the others).
      if (parked !== undefined) this.#waiters.failPartition(partitionIndex, error)
      throw error
    })
    this.#waiters.deliver(groupId, outcome)
    if (outcome.reply !== undefined) return outcome.reply
    if (parked === undefined) throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'a classic request waits without a waiter')
    return await parked
  }

  #partitionOf (groupId: string): number {
    return groupPartition(groupId, this.#deps.image().topic(CONSUMER_OFFSETS_TOPIC)?.partitionCount ?? 1)
  }

  async describeGroup (groupId: string): Promise<DescribedGroup> {
    return await this.#run(groupId, (shard) => ({ records: [], response: shard.describeGroup(groupId) }))
  }

  async deleteGroup (groupId: string): Promise<GroupResult> {
    const results = await this.#run(groupId, (shard, context) => shard.deleteGroups([groupId], context))
    const result = results[0] ?? { groupId, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no result' }
    if (result.errorCode === '') this.#log.info({ groupId }, 'group deleted')
    return result
  }

  /** The groups of every partition this broker coordinates (loading partitions are skipped). */
  listGroups (): ListedGroup[] {
    const groups: ListedGroup[] = []
    for (const partition of this.#partitions.values()) {
      if (partition.status === 'active') groups.push(...partition.shard.listGroups())
    }
    return groups.sort((a, b) => a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)
  }

  /** The active shards, for metrics and the cluster page (read only). */
  activeShards (): GroupCoordinatorShard[] {
    return [...this.#partitions.values()].filter((p) => p.status === 'active').map((p) => p.shard)
  }

  async #run<Response> (groupId: string, decide: (shard: GroupCoordinatorShard, context: DecisionContext) => CoordinatorResult<Response>): Promise<Response> {
    checkGroupId(groupId, this.#deps.config)
    const topic = this.#deps.image().topic(CONSUMER_OFFSETS_TOPIC)
    if (topic === undefined) throw new GregorError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${CONSUMER_OFFSETS_TOPIC} does not exist yet`)
    const partitionIndex = groupPartition(groupId, topic.partitionCount)
    const partition = this.#partitions.get(partitionIndex)
    if (partition === undefined) {
      throw new GregorError(ErrorCode.NOT_COORDINATOR, `broker ${this.#deps.brokerId} is not the coordinator of group ${groupId}`)
    }
    partition.assertActive()
    const context = this.#context()
    const result = decide(partition.shard, context)
    this.#deps.onDecision?.(groupId, result)
    return await partition.complete(result, context.nowMs, (error) => { this.#onWriteFailure(partition, error) })
  }

  #context (): DecisionContext {
    return { nowMs: this.#deps.clock.nowMs(), topics: topicsView(this.#deps.image()) }
  }

  // ---- leadership: load and unload ----

  /** Follows the image once the replica manager has applied it: load led partitions, unload the others. */
  onMetadata (): Promise<void> {
    const run = this.#metadataChain.then(() => { this.#reconcileLeadership() })
    this.#metadataChain = run.catch(() => {})
    return run
  }

  #reconcileLeadership (): void {
    if (this.#closed) return
    const count = this.#deps.image().topic(CONSUMER_OFFSETS_TOPIC)?.partitionCount ?? 0
    for (const [index, loaded] of this.#partitions) {
      const replica = index < count ? this.#deps.replica(index) : undefined
      if (replica?.role !== 'leader' || replica.leaderEpoch !== loaded.leaderEpoch) this.#unload(loaded, 'leadership moved')
    }
    for (let index = 0; index < count; index++) {
      const replica = this.#deps.replica(index)
      if (replica?.role === 'leader' && !this.#partitions.has(index)) this.#load(index, replica.leaderEpoch)
    }
  }

  #unload (partition: CoordinatorPartition, reason: string): void {
    if (this.#partitions.get(partition.partition) === partition) this.#partitions.delete(partition.partition)
    partition.unload()
    this.#waiters.failPartition(partition.partition, new GregorError(ErrorCode.NOT_COORDINATOR,
      `this broker no longer coordinates __consumer_offsets-${partition.partition}`))
    this.#log.info({ partition: partition.partition, leaderEpoch: partition.leaderEpoch, groups: partition.shard.groupCount, reason }, 'coordinator unloaded')
  }

  #load (index: number, leaderEpoch: number): void {
    const shard = new GroupCoordinatorShard({ config: this.#deps.config, newMemberId: this.#deps.newMemberId, classic: this.#deps.classicConfig })
    const partition = new CoordinatorPartition({
      partition: index, leaderEpoch, shard, append: async (records) => { await this.#deps.append(index, records) }, logger: this.#log,
    })
    this.#partitions.set(index, partition)
    void this.#replay(partition).then((stats) => {
      if (stats === undefined || this.#partitions.get(index) !== partition) return
      // Sessions (KIP-848 and restored classic members alike) start afresh now.
      const restored = shard.onLoaded(this.#deps.clock.nowMs())
      partition.activate()
      this.#log.info({ partition: index, leaderEpoch, groups: shard.groupCount, ...restored, ...stats }, 'coordinator loaded')
    }, (error: unknown) => {
      this.#log.error({ partition: index, leaderEpoch, err: error }, 'coordinator load failed')
      if (this.#partitions.get(index) === partition) this.#unload(partition, 'load failed')
      // Try again later: the next metadata change (or tick) will start a new load while this broker still leads.
    })
  }

  /**
   * Replays the partition into the shard. Returns undefined when leadership moved meanwhile. Reads up to the log end
   * seen when the load began, after waiting for the high watermark to reach it: a new leader's log end is committed
   * once its followers confirm it, and nothing replayed can then be truncated away.
   */
  async #replay (partition: CoordinatorPartition): Promise<{ records: number; bytes: number; durationMs: number; skipped: number } | undefined> {
    const startedMs = this.#deps.clock.nowMs()
    const stillLoading = (): OffsetsReplicaView | undefined => {
      const replica = this.#deps.replica(partition.partition)
      const current = replica?.role === 'leader' && replica.leaderEpoch === partition.leaderEpoch && partition.status === 'loading' && !this.#closed
      return current ? replica : undefined
    }
    let replica = stillLoading()
    if (replica === undefined) return undefined
    const endOffset = replica.log.logEndOffset
    while (replica.highWatermark < endOffset) {
      await this.#deps.timers.sleep(loadPollMs)
      replica = stillLoading()
      if (replica === undefined) return undefined
    }
    let position: number = replica.log.logStartOffset
    let records = 0
    let bytes = 0
    let skipped = 0
    while (position < endOffset) {
      const read = await replica.log.read({ offset: toOffset(position), bytesMax: loadReadBytes, maxOffset: toOffset(endOffset) })
      if (read.bytes.length === 0) break
      bytes += read.bytes.length
      for (const { position: at, header } of walkBatches(read.bytes)) {
        const batch = parseBatch(read.bytes, at)
        for (const record of batch.records) {
          if (record.offset < position || record.key === null) continue
          try {
            partition.shard.replay(decodeGroupRecord(record.key, record.value))
            records++
          } catch (error) {
            // One bad record must not keep every group of the partition offline: log it and go on.
            skipped++
            this.#log.error({ partition: partition.partition, offset: record.offset, err: error }, 'coordinator record skipped')
          }
        }
        position = Math.max(position, header.baseOffset + header.lastOffsetDelta + 1)
      }
      position = Math.max(position, read.nextOffset)
      if (stillLoading() === undefined) return undefined
    }
    return { records, bytes, skipped, durationMs: this.#deps.clock.nowMs() - startedMs }
  }

  #onWriteFailure (partition: CoordinatorPartition, error: GregorError): void {
    if (this.#partitions.get(partition.partition) !== partition) return
    this.#unload(partition, `write failed: ${error.code}`)
    const replica = this.#deps.replica(partition.partition)
    if (replica?.role === 'leader' && !this.#closed) this.#load(partition.partition, replica.leaderEpoch)
  }

  // ---- timers ----

  #tickAll (): void {
    if (this.#closed) return
    // A load that failed (or a partition whose failed write found no leader to reload on) is retried here.
    this.#reconcileLeadership()
    const context = this.#context()
    for (const partition of this.#partitions.values()) {
      if (partition.status !== 'active') continue
      this.#tickClassic(partition, context)
      let result: CoordinatorResult<TickReport>
      try {
        result = partition.shard.tick(context)
      } catch (error) {
        this.#log.error({ partition: partition.partition, err: error }, 'coordinator tick failed')
        continue
      }
      if (result.records.length === 0) continue
      for (const expired of result.response.expiredMembers) this.#log.info({ ...expired }, 'member expired')
      if (result.response.expiredOffsets > 0) this.#log.info({ partition: partition.partition, offsets: result.response.expiredOffsets }, 'offsets expired')
      this.#deps.onDecision?.(undefined, result)
      partition.complete(result, context.nowMs, (error) => { this.#onWriteFailure(partition, error) }).catch(() => {
        // The failure handler has logged it and reloads the partition.
      })
    }
  }

  /** Classic groups' timeouts: their records are written and the answers they release go out once committed. */
  #tickClassic (partition: CoordinatorPartition, context: DecisionContext): void {
    let result: CoordinatorResult<ClassicTickOutcome>
    try {
      result = partition.shard.classicTick(context)
    } catch (error) {
      this.#log.error({ partition: partition.partition, err: error }, 'classic group tick failed')
      return
    }
    const outcome = result.response
    if (result.records.length === 0 && outcome.joins.length === 0 && outcome.syncs.length === 0) return
    for (const expired of outcome.expiredMembers) this.#log.info({ ...expired }, 'member expired')
    partition.complete(result, context.nowMs, (error) => { this.#onWriteFailure(partition, error) }).then((delivered) => {
      this.#waiters.deliverAll(delivered)
    }, () => {
      // The failure handler has logged it; the unload answers the parked requests.
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#tick.cancel()
    for (const partition of [...this.#partitions.values()]) this.#unload(partition, 'broker stopping')
    await this.#metadataChain
  }
}

function topicsView (image: MetadataImage): TopicsView {
  return {
    partitionCount: (topic) => image.topic(topic)?.partitionCount,
    topicNames: () => image.topics().map((topic) => topic.name),
  }
}

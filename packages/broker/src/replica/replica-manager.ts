/**
 * The replica manager: every partition replica this broker holds, as leader or follower, driven by the metadata
 * image (Kafka's `ReplicaManager`, fed by KRaft metadata deltas).
 *
 * Owns: the partition logs it opens, each replica's role and high watermark, the replica fetchers (one per leader
 * broker), the purgatory of waiting requests (one bounded queue per kind) and the broker-wide bytes in flight, the
 * ISR shrink timer, and the high-watermark and recovery-point checkpoints of `dataDir`. Leader request handling
 * lives in `LeaderRequests`, per-partition state in `PartitionReplica`, the follower stream in `ReplicaFetcher`.
 *
 * Async model: images apply one at a time, in order; within a partition, role changes, follower appends and
 * truncations run one at a time (`PartitionReplica.runExclusive`). Leader appends do not take that turn (the log's
 * own writer orders them, and its epoch fence rejects a stale leader's append).
 *
 * Producer state: each replica's table is rebuilt when its log opens or truncates, from the newest producer-state
 * snapshot plus the log after it (producer-state.ts). Snapshots are taken as the log rolls (`onRoll`) and when a
 * replica's log closes cleanly (at its end); a truncation deletes those above its target first.
 *
 * Seams: clock, timers, the file system and the fetchers' network are injected (`ReplicaManagerDeps`); production
 * wiring lives in broker.ts, and the whole-cluster simulation wires virtual ones into this same code.
 *
 * Invariants:
 * - Nothing is led or followed until the image shows this process's own registration (its incarnation): a restarted
 *   broker replaying its metadata log must not lead at the epochs its previous incarnation held, since it may have
 *   lost that incarnation's unsynced tail (issue 10, defect 3; Kafka's broker epoch). The controller moves a replaced
 *   incarnation's leaderships away in the registration's own batch, so every leadership in such an image is this
 *   process's.
 * - An I/O error anywhere in `dataDir` takes every replica offline at once (`LogDirHealth`): no leading, no fetching,
 *   no images applied, until the directory probes healthy and every log has been reopened from disk, each failed one
 *   cut back to what it had synced (KIP-858; issue 10, defect 5). Meanwhile the heartbeats ask to be fenced.
 * - A stale image (leader epoch older than the replica's, or the same epochs again) changes nothing.
 * - ISR changes go through `alterPartition` and take effect only when an image shows them (KIP-497); until then the
 *   HW counts the maximal ISR, so a leader cut off from the controller can never shrink the ISR to itself and ack.
 * - A new follower never truncates on becoming one: it fetches with its last epoch and truncates only to what the
 *   leader's diverging-epoch answer proves divergent (KIP-595).
 */
import {
  type Clock, ErrorCode, type GregorError, type Logger, type TimerHandle, type Timers, isGregorError, leaderEpoch, nodeId, offset,
} from '@gregor/common'
import { type MetadataImage, NO_LEADER, type PartitionImage, type TopicImage } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { type BatchHeader, walkBatches } from '@gregor/records'
import {
  type FileHandleCache, type FileSystem, type LogConfig, OffsetCheckpoints, PartitionLog, RECOVERY_POINT_CHECKPOINT_FILE, type ReadBuffers,
  REPLICATION_OFFSET_CHECKPOINT_FILE, mkdirDurable, topicPartitionKey,
} from '@gregor/storage'
import { ByteBudget } from './byte-budget.js'
import { DelayedOperations, type WaiterKind } from './delayed-operations.js'
import {
  type FetchRequest, type FetchResponse, LeaderRequests, type ListOffsetsRequest, type ListOffsetsResponse,
  type OffsetForLeaderEpochPartitionRequest, type OffsetForLeaderEpochPartitionResult, type ProduceRequest, type ProduceResponse,
  type ReplicaFetchPartition, type ReplicaFetchPartitionResult,
  type ReplicaFetchRequest, type ReplicaFetchResponse,
} from './leader-requests.js'
import { LogDirHealth } from './log-dir-health.js'
import { PartitionMetadataFile, deletePartitionDir } from './partition-metadata-file.js'
import { PartitionReplica, type ReplicaRole } from './partition-replica.js'
import { loadProducerState } from './producer-state.js'
import type { ReplicaFetchTransport } from './replica-fetch-transport.js'
import { ReplicaFetcher } from './replica-fetcher.js'
import type { ReplicationConfig } from './replication-config.js'
import { changedTopicLogSettings, topicLogConfig } from './topic-log-config.js'

/** Partitions an image applies at once (opening logs, starting leader epochs): bounded, so a 1,000-partition image does not open 1,000 files together. */
const PARTITION_CHANGES_AT_ONCE = 16

export interface ReplicaManagerDeps {
  readonly brokerId: number
  /** This process's incarnation: replicas are led or followed only once the image shows it registered. */
  readonly incarnationId: string
  /** The log directory: partition directories and the broker-level checkpoints live here. */
  readonly dataDir: string
  readonly logConfig: Partial<LogConfig>
  /** Every file of `dataDir` (logs, checkpoints, producer snapshots) goes through this. */
  readonly fs: FileSystem
  /** The broker's shared handle cache, over the same `fs`. */
  readonly files: FileHandleCache
  /** Sends an ISR change to the active controller (the composition wires ControllerService.AlterPartition). */
  readonly alterPartition: (request: gregor.cluster.AlterPartitionRequest.$Properties) => Promise<gregor.cluster.AlterPartitionResponse>
  /** How the fetchers reach a leader (production: the gRPC ReplicationService stream). */
  readonly fetchTransport: ReplicaFetchTransport
  readonly clock: Clock
  /** Every timer of the manager, its fetchers and its purgatory. */
  readonly timers: Timers
  readonly logger: Logger
  readonly config: ReplicationConfig
  /** Told of every applied ISR change of a partition this broker leads (metrics: ISR shrinks and expands). */
  readonly onIsrChange?: (previousIsr: readonly number[], isr: readonly number[]) => void
  /** Told when the log directory goes offline or comes back (the lifecycle heartbeats it to the controller at once). */
  readonly onLogDirChange?: (offline: boolean) => void
}

/** The high-watermark and recovery-point checkpoints, keyed by `topicPartitionKey`. */
interface Checkpointed { readonly highWatermarks: Map<string, number>; readonly recoveryPoints: Map<string, number> }

/** A read-only view of one replica, for admin, metrics and tests. */
export interface ReplicaState {
  readonly role: ReplicaRole
  readonly leaderId: number
  readonly leaderEpoch: number
  readonly isr: readonly number[]
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly logEndOffset: number
  /** See `PartitionReplica.generation`. */
  readonly generation: number
}

export class ReplicaManager {
  readonly #deps: ReplicaManagerDeps
  readonly #log: Logger
  readonly #fetcherLog: Logger
  readonly #replicas = new Map<string, PartitionReplica>()
  readonly #fetchers = new Map<number, ReplicaFetcher>()
  readonly #delayed: DelayedOperations
  readonly #bytesInFlight: ByteBudget
  readonly #requests: LeaderRequests
  readonly #highWatermarks: OffsetCheckpoints
  readonly #recoveryPoints: OffsetCheckpoints
  /** The checkpoints as read at startup (once: every write waits for it, so no write drops what the files held). */
  #checkpointed: Promise<Checkpointed> | undefined
  /**
   * Checkpoint entries of partitions no replica here has opened yet: written back as they were read, so a checkpoint
   * taken before the first image (or while a partition's open keeps failing) loses nothing. An entry leaves when its
   * replica opens (the replica's own offsets replace it) or when an image shows the partition is not this broker's.
   */
  readonly #carried: Checkpointed = { highWatermarks: new Map(), recoveryPoints: new Map() }
  #metadataChain: Promise<void> = Promise.resolve()
  /** The latest image handed to `onMetadata`: what a recovered log directory applies. */
  #latestImage: MetadataImage | undefined
  readonly #logDir: LogDirHealth
  /** Per partition key, the synced end of a log that failed: its reopened log is cut back to it. */
  readonly #durableEndsOfFailedLogs = new Map<string, number>()
  /** Storage failures seen so far: an image application that sees this change stops where it is. */
  /** Replicas opened so far: each gets the next number as its `generation`. */
  #replicasOpened = 0
  /** The periodic ISR shrink check, checkpoints, retention and cleaner passes. */
  readonly #periodic: TimerHandle[]
  #checkpointing = false
  /** The background passes over the replicas (`#eachReplica`) running now: one of each kind at a time. */
  readonly #passes = new Set<'retention' | 'cleaner'>()
  #closing: Promise<void> | undefined

  constructor (deps: ReplicaManagerDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'replica-manager' })
    this.#fetcherLog = deps.logger.child({ component: 'fetcher' })
    this.#delayed = new DelayedOperations({
      waitersMax: {
        produce: deps.config.produceWaitersMax,
        consumerFetch: deps.config.consumerFetchWaitersMax,
        followerFetch: deps.config.followerFetchWaitersMax,
      },
      timers: deps.timers,
    })
    this.#bytesInFlight = new ByteBudget(deps.config.inFlightBytesMax)
    this.#highWatermarks = new OffsetCheckpoints({ logDir: deps.dataDir, fileName: REPLICATION_OFFSET_CHECKPOINT_FILE, fs: deps.fs })
    this.#recoveryPoints = new OffsetCheckpoints({ logDir: deps.dataDir, fileName: RECOVERY_POINT_CHECKPOINT_FILE, fs: deps.fs })
    this.#requests = new LeaderRequests({
      config: deps.config,
      clock: deps.clock,
      delayed: this.#delayed,
      bytes: this.#bytesInFlight,
      replica: (topic, partition) => this.#replicas.get(topicPartitionKey(topic, partition)),
      onLeaderProgress: (replica, followerId) => { this.#onLeaderProgress(replica, followerId) },
      topicIdKnown: (topicId) => this.#latestImage?.topicById(topicId) !== undefined,
    })
    this.#periodic = [
      deps.timers.setInterval(() => { this.#maybeShrinkIsrs() }, deps.config.isrCheckIntervalMs),
      deps.timers.setInterval(() => { void this.#periodicCheckpoint() }, deps.config.checkpointIntervalMs),
      deps.timers.setInterval(() => { void this.applyRetention() }, deps.config.retentionCheckIntervalMs),
      deps.timers.setInterval(() => { void this.cleanLogs() }, deps.config.cleanerBackoffMs),
      deps.timers.setInterval(() => { this.#expireProducers() }, deps.config.producerIdExpirationCheckIntervalMs),
    ]
    this.#logDir = new LogDirHealth({
      dir: deps.dataDir, fs: deps.fs, timers: deps.timers, logger: deps.logger, probeIntervalMs: deps.config.logDirProbeIntervalMs,
      recover: async () => { await this.#recoverLogDir() },
    })
    this.#logDir.onChange((offline) => { deps.onLogDirChange?.(offline) })
  }

  // ---- client and replication requests ----

  /** ClientService.Produce for the partitions this broker leads. */
  produce (request: ProduceRequest, options: { internalTopicsAllowed?: boolean } = {}): Promise<ProduceResponse> {
    return this.#requests.produce(request, options)
  }

  /** ClientService.Fetch: consumers read below the high watermark, with long-poll. */
  fetch (request: FetchRequest): Promise<FetchResponse> {
    return this.#requests.fetch(request)
  }

  /** ClientService.ListOffsets: earliest, latest (= HW), max timestamp or by timestamp. */
  listOffsets (request: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    return this.#requests.listOffsets(request)
  }

  /** KIP-320 for consumers: where each asked leader epoch ends in the logs this broker leads. */
  offsetForLeaderEpoch (partitions: readonly OffsetForLeaderEpochPartitionRequest[]): OffsetForLeaderEpochPartitionResult[] {
    return this.#requests.offsetForLeaderEpoch(partitions)
  }

  /** One request of a follower's ReplicationService.Fetch stream. */
  handleReplicaFetch (request: ReplicaFetchRequest, buffers?: ReadBuffers): Promise<ReplicaFetchResponse> {
    return this.#requests.replicaFetch(request, buffers)
  }

  /** Requests waiting now, per queue (acks=all produces, consumer and follower long polls), and bytes in flight. */
  waitingRequests (): Readonly<Record<WaiterKind, number>> & { readonly inFlightBytes: number } {
    return { ...this.#delayed.taken(), inFlightBytes: this.#bytesInFlight.usedBytes }
  }

  /** The state of one replica on this broker, if it holds one. */
  replicaState (topic: string, partition: number): ReplicaState | undefined {
    const replica = this.#replicas.get(topicPartitionKey(topic, partition))
    if (replica === undefined) return undefined
    return {
      role: replica.role,
      leaderId: replica.leaderId,
      leaderEpoch: replica.leaderEpoch,
      isr: replica.isr,
      highWatermark: replica.highWatermark,
      logStartOffset: replica.log.logStartOffset,
      logEndOffset: replica.log.logEndOffset,
      generation: replica.generation,
    }
  }

  /** The log of a replica on this broker (for admin tools and tests; never write to it). */
  partitionLog (topic: string, partition: number): PartitionLog | undefined {
    return this.#replicas.get(topicPartitionKey(topic, partition))?.log
  }

  // ---- metadata ----

  /** Applies `image` (after every image before it): open, lead, follow, stop. */
  onMetadata (image: MetadataImage): Promise<void> {
    this.#latestImage = image
    const run = this.#metadataChain.then(async () => {
      if (this.#closing === undefined && !this.#logDir.offline) await this.#applyImage(image)
    })
    this.#metadataChain = run.catch(() => {})
    return run
  }

  /**
   * Replicas whose log found corruption and is re-fetching from the leader (`PartitionLog.needsRefetch`): the
   * heartbeat reports them, and the controller takes this broker out of their ISRs (issue 10, defect 5).
   */
  refetchingReplicas (): Array<{ topicId: string; partition: number }> {
    const refetching: Array<{ topicId: string; partition: number }> = []
    for (const replica of this.#replicas.values()) {
      if (replica.log.needsRefetch) refetching.push({ topicId: replica.topicId, partition: replica.partition })
    }
    return refetching
  }

  /** Bytes of every partition log on this broker (Kafka's per-log `Size`, summed): its records on disk. */
  logSizeBytes (): number {
    let bytes = 0
    for (const replica of this.#replicas.values()) bytes += replica.log.sizeBytes
    return bytes
  }

  /** Whether the log directory is offline (an I/O error, not yet recovered). */
  get logDirOffline (): boolean { return this.#logDir.offline }

  async #applyImage (image: MetadataImage): Promise<void> {
    const checkpointed = await this.#loadCheckpoints()
    const assigned = new Set<string>()
    const failuresBefore = this.#logDir.failureCount
    const self = image.broker(nodeId(this.#deps.brokerId))
    if (self?.incarnationId !== this.#deps.incarnationId) {
      // Not (yet, or no longer) this process's registration: lead and follow nothing (see the invariants).
      for (const replica of [...this.#replicas.values()]) await this.#stopReplica(replica, { deleteLog: false })
      this.#refreshFetchers()
      return
    }
    const changes: Array<{ topic: TopicImage; partition: PartitionImage }> = []
    for (const partition of image.partitionsReplicatedOn(nodeId(this.#deps.brokerId))) {
      const topic = image.topicById(partition.topicId)
      if (topic === undefined) continue
      assigned.add(topicPartitionKey(topic.name, partition.partition))
      changes.push({ topic, partition })
    }
    // Partitions are independent (each its own directory, log and lock), and opening a log or starting a leader epoch
    // waits for several fsyncs: one at a time, the 50 partitions of __consumer_offsets kept a topic created after
    // them without a log for ~10 s on a busy machine. A bounded number at once, as Kafka's recovery threads.
    for (let start = 0; start < changes.length; start += PARTITION_CHANGES_AT_ONCE) {
      await Promise.all(changes.slice(start, start + PARTITION_CHANGES_AT_ONCE).map(async ({ topic, partition }) => {
        try {
          await this.#applyPartition(topic, partition, checkpointed)
        } catch (error) {
          this.#log.error({ topic: topic.name, partition: partition.partition, err: error }, 'partition state change failed')
          if (isGregorError(error) && error.code === ErrorCode.KAFKA_STORAGE_ERROR) this.#onStorageFailure(error)
        }
      }))
      if (this.#logDir.failureCount !== failuresBefore) return
    }
    for (const [key, replica] of [...this.#replicas]) {
      if (assigned.has(key)) continue
      await this.#stopReplica(replica, { deleteLog: image.topicById(replica.topicId) === undefined })
    }
    for (const carried of [this.#carried.highWatermarks, this.#carried.recoveryPoints]) {
      for (const key of [...carried.keys()]) if (!assigned.has(key)) carried.delete(key)
    }
    this.#refreshFetchers()
  }

  async #applyPartition (topic: TopicImage, image: PartitionImage, checkpointed: Checkpointed): Promise<void> {
    const key = topicPartitionKey(topic.name, image.partition)
    let replica = this.#replicas.get(key)
    if (replica !== undefined && replica.topicId !== image.topicId) {
      // The topic was deleted and re-created under the same name: the old log is not this partition's history.
      await this.#stopReplica(replica, { deleteLog: true })
      replica = undefined
    }
    if (replica === undefined) replica = await this.#openReplica(topic, image, checkpointed)
    const target = replica
    // A topic's config may change after creation: min ISR counts from the next acks=all check, log settings per setConfig.
    target.minInsyncReplicas = topic.config.minInsyncReplicas
    const logChanges = changedTopicLogSettings(target.log.config, this.#deps.logConfig, topic.config)
    if (logChanges !== undefined) {
      try {
        target.log.setConfig(logChanges)
        target.logger.info({ changes: logChanges }, 'log config changed')
      } catch (error) {
        target.logger.warn({ err: error, changes: logChanges }, 'log config change refused')
      }
    }
    await target.runExclusive(async () => {
      if (image.leaderEpoch < target.leaderEpoch) return
      if (image.leaderEpoch === target.leaderEpoch) {
        if (image.partitionEpoch <= target.partitionEpoch) return
        const before = target.isr
        target.updateIsr(image)
        if (target.role === 'leader') {
          target.logger.info({ isr: image.isr, previousIsr: before, partitionEpoch: image.partitionEpoch }, 'isr updated')
          this.#deps.onIsrChange?.(before, image.isr)
          this.#onLeaderProgress(target)
        }
        return
      }
      if (image.leader === this.#deps.brokerId) await this.#becomeLeader(target, image)
      else this.#becomeFollower(target, image)
    })
  }

  async #openReplica (topic: TopicImage, image: PartitionImage, checkpointed: Checkpointed): Promise<PartitionReplica> {
    const key = topicPartitionKey(topic.name, image.partition)
    const config = topicLogConfig(this.#deps.logConfig, topic.config)
    // KIP-516: a directory of another incarnation of the topic (deleted and re-created while this broker was down)
    // is deleted before the log opens, and its checkpointed offsets are that incarnation's, not this one's.
    const claim = await PartitionMetadataFile.of(this.#deps.fs, this.#deps.dataDir, topic.name, image.partition).claim(image.topicId)
    const replaced = claim.outcome === 'replaced'
    if (replaced) {
      this.#log.warn({ topic: topic.name, partition: image.partition, topicId: image.topicId, previousTopicId: claim.previousTopicId },
        'partition directory of another topic id deleted')
    }
    const recoveryPoint = replaced ? undefined : checkpointed.recoveryPoints.get(key)
    let opened: PartitionReplica | undefined
    const log = await PartitionLog.open({
      dir: this.#deps.dataDir, topic: topic.name, partition: image.partition, config, logger: this.#deps.logger,
      fs: this.#deps.fs, files: this.#deps.files, clock: this.#deps.clock, timers: this.#deps.timers,
      ...(recoveryPoint === undefined ? {} : { recoveryPoint }),
      // As Kafka does: a snapshot per roll, so a restart replays at most the active segment's headers.
      onRoll: (baseOffset) => { void opened?.snapshotProducers(baseOffset) },
      // Followers fetch what the leader has written while its fdatasync runs; acks=all still waits for both.
      onWritten: () => { if (opened?.role === 'leader') this.#delayed.notify(opened.key) },
      onFailure: (error) => { this.#onStorageFailure(error) },
      onCorruption: () => { if (opened !== undefined) this.#reopenAfterCorruption(opened) },
    })
    const replica = new PartitionReplica({
      topic: topic.name, partition: image.partition, topicId: image.topicId, log, fs: this.#deps.fs,
      logger: this.#log.child({ topic: topic.name, partition: image.partition }),
      highWatermark: (replaced ? undefined : checkpointed.highWatermarks.get(key)) ?? 0,
      producersMax: this.#deps.config.producersPerPartitionMax,
      generation: ++this.#replicasOpened,
    })
    opened = replica
    const durableEnd = this.#durableEndsOfFailedLogs.get(key)
    if (durableEnd !== undefined && log.logEndOffset > durableEnd) {
      // Written before the failure but never synced: after a failed fsync the page cache is no proof of the disk.
      await replica.snapshots.deleteAbove(durableEnd)
      await log.truncateTo(offset(durableEnd))
      replica.highWatermark = Math.min(replica.highWatermark, log.logEndOffset)
      replica.logger.warn({ durableEnd, logEndOffset: log.logEndOffset }, 'unsynced tail of a failed log dropped')
    }
    this.#durableEndsOfFailedLogs.delete(key)
    const loaded = await loadProducerState(log, replica.producers, replica.snapshots)
    replica.producers.removeExpired(this.#deps.clock.nowMs(), this.#deps.config.producerIdExpirationMs)
    replica.logger.debug({ ...loaded, producers: replica.producers.size, logEndOffset: log.logEndOffset }, 'producer state loaded')
    this.#replicas.set(key, replica)
    this.#carried.highWatermarks.delete(key)
    this.#carried.recoveryPoints.delete(key)
    return replica
  }

  async #becomeLeader (replica: PartitionReplica, image: PartitionImage): Promise<void> {
    if (replica.log.needsRefetch) {
      // Its log lost data to corruption: leading would make the followers truncate to it. It stays offline here
      // until the controller, told by the heartbeat, moves the leadership or takes the partition offline.
      replica.becomeFollower({ ...image, leader: NO_LEADER })
      this.#detachFromFetcher(replica)
      this.#delayed.notify(replica.key)
      replica.logger.warn({ leaderEpoch: image.leaderEpoch, corruption: replica.log.corruption }, 'not leading: log needs re-fetch')
      return
    }
    this.#detachFromFetcher(replica)
    // KIP-101: the new epoch starts at our log end, durably, before any batch of it is written.
    await replica.log.assignLeaderEpoch(leaderEpoch(image.leaderEpoch), replica.log.logEndOffset)
    replica.becomeLeader(image, this.#deps.clock.nowMs())
    replica.maybeAdvanceHighWatermark()
    replica.logger.info({
      leaderEpoch: image.leaderEpoch, highWatermark: replica.highWatermark, logEndOffset: replica.log.logEndOffset, isr: image.isr,
    }, 'became leader')
    this.#delayed.notify(replica.key)
  }

  #becomeFollower (replica: PartitionReplica, image: PartitionImage): void {
    replica.becomeFollower(image)
    // Waiters of the old leadership answer NOT_LEADER_OR_FOLLOWER now rather than at their deadline.
    this.#delayed.notify(replica.key)
    this.#detachFromFetcher(replica)
    replica.logger.info({
      leaderId: image.leader, leaderEpoch: image.leaderEpoch, highWatermark: replica.highWatermark, logEndOffset: replica.log.logEndOffset,
    }, 'became follower')
    if (image.leader !== NO_LEADER) this.#fetcherFor(image.leader).addPartition(replica.key)
  }

  async #stopReplica (replica: PartitionReplica, options: { deleteLog: boolean }): Promise<void> {
    this.#replicas.delete(replica.key)
    this.#detachFromFetcher(replica)
    this.#delayed.notify(replica.key)
    await replica.runExclusive(async () => {
      replica.role = 'follower'
      await this.#closeLog(replica, { snapshot: !options.deleteLog })
      if (options.deleteLog) await deletePartitionDir(this.#deps.fs, replica.log.dir)
    })
    replica.logger.info({ deleted: options.deleteLog }, 'replica stopped')
  }

  // ---- follower side ----

  #fetcherFor (leaderId: number): ReplicaFetcher {
    const existing = this.#fetchers.get(leaderId)
    if (existing !== undefined) return existing
    const fetcher = new ReplicaFetcher({
      brokerId: this.#deps.brokerId, leaderId, transport: this.#deps.fetchTransport, config: this.#deps.config,
      clock: this.#deps.clock, timers: this.#deps.timers, logger: this.#fetcherLog,
      // KIP-903: this incarnation's broker epoch, once the latest image shows its registration (-1 before).
      brokerEpoch: () => {
        const self = this.#latestImage?.broker(nodeId(this.#deps.brokerId))
        return self !== undefined && self.incarnationId === this.#deps.incarnationId ? self.brokerEpoch : -1
      },
      host: {
        fetchState: (key, leader) => this.#fetchState(key, leader),
        handleFetchResult: async (key, leader, sent, result) => await this.#handleFetchResult(key, leader, sent, result),
      },
    })
    this.#fetchers.set(leaderId, fetcher)
    return fetcher
  }

  #detachFromFetcher (replica: PartitionReplica): void {
    for (const fetcher of this.#fetchers.values()) fetcher.removePartition(replica.key)
  }

  /** Closes fetchers left without partitions, so a broker that leads nothing here holds no stream to it. */
  #refreshFetchers (): void {
    for (const [leaderId, fetcher] of [...this.#fetchers]) {
      if (fetcher.partitionCount > 0) continue
      const follows = [...this.#replicas.values()].some((r) => r.role === 'follower' && r.leaderId === leaderId)
      if (follows) continue
      this.#fetchers.delete(leaderId)
      void fetcher.close()
    }
  }

  #fetchState (key: string, leaderId: number): ReplicaFetchPartition | undefined {
    const replica = this.#replicas.get(key)
    if (replica === undefined || replica.role !== 'follower' || replica.leaderId !== leaderId) return undefined
    const log = replica.log
    return {
      topic: replica.topic,
      // KIP-516: always sent, so a leader holding another incarnation of the topic refuses rather than serves it.
      topicId: replica.topicId,
      partition: replica.partition,
      fetchOffset: log.logEndOffset,
      lastFetchedEpoch: lastFetchedEpoch(log),
      currentLeaderEpoch: replica.leaderEpoch,
      logStartOffset: log.logStartOffset,
    }
  }

  /** Applies one partition of a leader's fetch response, durably, on the partition's turn. */
  async #handleFetchResult (key: string, leaderId: number, sent: ReplicaFetchPartition, result: ReplicaFetchPartitionResult): Promise<boolean> {
    const replica = this.#replicas.get(key)
    if (replica === undefined) return true
    return await replica.runExclusive(async () => {
      const log = replica.log
      // The response is for a log state that no longer holds (role change, truncation): just fetch again.
      if (replica.role !== 'follower' || replica.leaderId !== leaderId || replica.leaderEpoch !== sent.currentLeaderEpoch) return true
      if (log.logEndOffset !== sent.fetchOffset) return true
      const errorCode = result.errorCode ?? ''
      if (errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) return await this.#handleOutOfRange(replica, sent, result)
      if (errorCode !== '') {
        replica.logger.debug({ leaderId, errorCode }, 'fetch partition error')
        return false
      }
      const diverging = result.divergingEpoch
      if (diverging !== undefined && diverging !== null) {
        await this.#truncateOnDivergence(replica, diverging.epoch ?? -1, diverging.endOffset ?? 0)
        return true
      }
      const records = result.records
      if (records !== undefined && records !== null && records.byteLength > 0) {
        const bytes = Buffer.from(records.buffer, records.byteOffset, records.byteLength)
        await log.appendAsFollower(bytes, { nowMs: this.#deps.clock.nowMs() })
        // Headers only, from the bytes just written: a promoted follower dedupes retries of its leader's batches.
        replica.producers.observe(headersOf(bytes))
      }
      replica.updateFollowerHighWatermark(result.highWatermark ?? 0)
      // 0 is protobuf's unset as well as an empty leader: only a positive log end can end a re-fetch early.
      const leaderLogEndOffset = Number(result.logEndOffset ?? 0)
      if (log.needsRefetch && leaderLogEndOffset > 0) log.caughtUpWithLeader(leaderLogEndOffset)
      return true
    })
  }

  /**
   * KIP-320/KIP-595 truncation: the leader ends `epoch` at `endOffset`. If our log has that epoch too, the logs agree
   * up to the smaller end; otherwise truncate to our end of the largest epoch not after it and ask again.
   */
  async #truncateOnDivergence (replica: PartitionReplica, epoch: number, endOffset: number): Promise<void> {
    const log = replica.log
    const own = epoch >= 0 ? log.endOffsetForEpoch(leaderEpoch(epoch)) : undefined
    // Epoch -1: the leader does not know our last epoch at all; what we know to be committed is all we can keep.
    let target = epoch < 0 ? replica.highWatermark : own === undefined ? endOffset : own.epoch === epoch ? Math.min(endOffset, own.endOffset) : own.endOffset
    target = Math.max(0, Math.min(target, log.logEndOffset))
    const before = log.logEndOffset
    // Snapshots above the target describe a tail about to go: they go first, or the truncation does not happen.
    await replica.snapshots.deleteAbove(target)
    await log.truncateTo(offset(target))
    await loadProducerState(log, replica.producers, replica.snapshots)
    replica.producers.removeExpired(this.#deps.clock.nowMs(), this.#deps.config.producerIdExpirationMs)
    // Only reachable after an unclean election: the HW must stay within the log.
    replica.highWatermark = Math.min(replica.highWatermark, log.logEndOffset)
    replica.logger.info({ offset: target, previousLogEndOffset: before, logEndOffset: log.logEndOffset, divergingEpoch: epoch, divergingEndOffset: endOffset }, 'truncated')
  }

  async #handleOutOfRange (replica: PartitionReplica, sent: ReplicaFetchPartition, result: ReplicaFetchPartitionResult): Promise<boolean> {
    const leaderStart = result.logStartOffset ?? -1
    if (leaderStart >= 0 && (sent.fetchOffset ?? 0) < leaderStart) {
      // Behind the leader's log start (retention): nothing here can be completed, start over where the leader starts.
      await replica.snapshots.deleteAll()
      await replica.log.truncateFullyAndStartAt(offset(leaderStart))
      replica.producers.clear()
      replica.highWatermark = Math.max(replica.highWatermark, leaderStart)
      replica.logger.info({ offset: leaderStart, logEndOffset: replica.log.logEndOffset }, 'truncated')
      return true
    }
    replica.logger.warn({ fetchOffset: sent.fetchOffset, leaderLogStartOffset: leaderStart }, 'fetch offset out of range')
    return false
  }

  // ---- leader side: high watermark and ISR ----

  #onLeaderProgress (replica: PartitionReplica, followerId?: number): void {
    if (replica.role !== 'leader') return
    replica.maybeAdvanceHighWatermark()
    // Wake on any progress: acks=all waiters check the HW, follower long-polls the log end.
    this.#delayed.notify(replica.key)
    if (followerId === undefined || replica.pendingIsr !== undefined || !replica.canJoinIsr(followerId)) return
    // After a refusal (a fenced follower that can still fetch) wait out the backoff, not propose on every fetch.
    if (this.#deps.clock.nowMs() < replica.isrExpandBackoff.retryAtMs) return
    this.#alterIsr(replica, [...replica.isr, followerId], 'isr expanded')
  }

  #maybeShrinkIsrs (): void {
    const nowMs = this.#deps.clock.nowMs()
    for (const replica of this.#replicas.values()) {
      if (replica.role !== 'leader' || replica.pendingIsr !== undefined) continue
      const lagging = replica.laggingFollowers(nowMs, this.#deps.config.replicaLagTimeMaxMs)
      if (lagging.length === 0) continue
      this.#alterIsr(replica, replica.isr.filter((id) => !lagging.includes(id)), 'isr shrunk', lagging)
    }
  }

  /**
   * Asks the controller for `newIsr`; it counts (as the maximal ISR) until it is resolved: by an image of a newer
   * partition epoch (which shows it, or shows that it came too late), or a refusal. An answer that never comes
   * (failure, or no answer within `alterPartitionTimeoutMs`) stops blocking further changes, but the members it would
   * add keep counting until an image shows the outcome (`uncertainIsr`).
   */
  #alterIsr (replica: PartitionReplica, newIsr: readonly number[], message: 'isr shrunk' | 'isr expanded', lagging: readonly number[] = []): void {
    replica.pendingIsr = newIsr
    replica.pendingIsrPartitionEpoch = replica.partitionEpoch
    const request = {
      brokerId: this.#deps.brokerId, topicId: replica.topicId, partition: replica.partition,
      leaderEpoch: replica.leaderEpoch, partitionEpoch: replica.partitionEpoch,
      // KIP-903: each member with the broker epoch it last fetched with, so a restarted broker is not let in.
      newIsrWithEpochs: newIsr.map((id) => ({ brokerId: id, brokerEpoch: replica.followerBrokerEpoch(id) })),
    }
    const clearPending = (): void => { if (replica.pendingIsr === newIsr) replica.pendingIsr = undefined }
    const expanding = message === 'isr expanded'
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      timeout.cancel()
      return true
    }
    const unknownOutcome = (error: unknown): void => {
      if (!settle()) return
      const retryInMs = expanding ? this.#backOffIsrExpansion(replica, request.leaderEpoch) : undefined
      replica.logger.warn({ newIsr, err: error, retryInMs }, 'isr change failed')
      const added = newIsr.filter((id) => !replica.isr.includes(id))
      if (replica.pendingIsr === newIsr && added.length > 0 && replica.partitionEpoch === request.partitionEpoch) {
        replica.uncertainIsr = { members: added, partitionEpoch: request.partitionEpoch }
      }
      clearPending()
    }
    const timeout = this.#deps.timers.setTimeout(() => {
      unknownOutcome(new Error('no answer from the controller'))
    }, this.#deps.config.alterPartitionTimeoutMs)
    this.#deps.alterPartition(request).then((response) => {
      if (!settle()) return
      if (response.errorCode !== '') {
        const retryInMs = expanding ? this.#backOffIsrExpansion(replica, request.leaderEpoch) : undefined
        replica.logger.warn({ newIsr, errorCode: response.errorCode, errorMessage: response.errorMessage, retryInMs }, 'isr change rejected')
        clearPending()
        return
      }
      if (expanding) Object.assign(replica.isrExpandBackoff, { delayMs: 0, retryAtMs: 0 })
      replica.logger.info({ isr: response.isr, previousIsr: replica.isr, lagging, highWatermark: replica.highWatermark, partitionEpoch: response.partitionEpoch }, message)
      // Accepted, but the image decides: if it already shows the change (or a later one), nothing is pending any more.
      if (replica.partitionEpoch > request.partitionEpoch) clearPending()
    }, unknownOutcome)
  }

  /**
   * The next wait before an ISR expansion of `replica` may be proposed again: `isrExpandBackoffMsMin`, doubled per
   * refusal up to `isrExpandBackoffMsMax`. A refusal of an older leadership is ignored. Returns the wait (ms).
   */
  #backOffIsrExpansion (replica: PartitionReplica, proposedLeaderEpoch: number): number | undefined {
    if (replica.role !== 'leader' || replica.leaderEpoch !== proposedLeaderEpoch) return undefined
    const { isrExpandBackoffMsMin, isrExpandBackoffMsMax } = this.#deps.config
    const backoff = replica.isrExpandBackoff
    backoff.delayMs = backoff.delayMs === 0 ? isrExpandBackoffMsMin : Math.min(backoff.delayMs * 2, isrExpandBackoffMsMax)
    backoff.retryAtMs = this.#deps.clock.nowMs() + backoff.delayMs
    return backoff.delayMs
  }

  // ---- log directory failure and recovery ----

  /** An I/O error in `dataDir`: every replica stops at once; the directory is probed until it works again. */
  #onStorageFailure (error: GregorError): void {
    if (this.#closing !== undefined) return
    this.#logDir.fail(error)
    for (const replica of this.#replicas.values()) {
      // No acks, no fetch answers as leader, no fetches (so no progress reported) as follower, from this moment.
      replica.role = 'follower'
      replica.leaderId = -1
      this.#detachFromFetcher(replica)
      this.#delayed.notify(replica.key)
    }
    this.#refreshFetchers()
  }

  /**
   * The directory probed healthy: close every log, then reopen them all from disk under the latest image, each failed
   * log cut back to the end it had synced. Runs on the metadata chain, so no image applies in between; a failure on
   * the way throws, and the directory stays offline.
   *
   * Not before the image shows this broker fenced: the fence moved every leadership it held away (new leader epochs)
   * and it is unfenced only after this recovery. A log cut back here may have served its unsynced tail to followers
   * already, so leading again at an epoch it held before the failure could write other data at offsets they hold.
   */
  async #recoverLogDir (): Promise<void> {
    const run = this.#metadataChain.then(async () => {
      if (this.#closing !== undefined) return
      if (this.#latestImage?.broker(nodeId(this.#deps.brokerId))?.fenced !== true) {
        throw new Error('waiting for the controller to fence this broker')
      }
      const checkpointed = await this.#loadCheckpoints()
      const closing = [...this.#replicas.values()]
      // Out of the map first, so that no one sees an old replica while its log closes (the reopened ones are new).
      this.#replicas.clear()
      for (const replica of closing) {
        const failed = replica.log.failure !== undefined
        if (failed) this.#durableEndsOfFailedLogs.set(replica.key, replica.log.recoveryPoint)
        // The reopened replica starts from these, as from a checkpoint written just now.
        checkpointed.highWatermarks.set(replica.key, replica.highWatermark)
        checkpointed.recoveryPoints.set(replica.key, replica.log.recoveryPoint)
        await replica.runExclusive(async () => { await this.#closeLog(replica, { snapshot: !failed }) })
      }
      const image = this.#latestImage
      if (image !== undefined) await this.#applyImage(image)
    })
    this.#metadataChain = run.catch(() => {})
    await run
  }

  /**
   * A read or a verify found a corrupt batch in `replica`'s log at runtime: the log is `needsRefetch` already (so the
   * heartbeat reports it and the controller moves its leadership and ISR membership away), but the bad bytes are still
   * in the file, and its high watermark may cover them. Close it and open it again from disk, as a restart would: the
   * recovery scan starts at the damaged segment (the re-fetch marker says which) and truncates at the bad batch, and
   * the new replica follows (never leads) until it has re-fetched what it lost. Runs on the metadata chain.
   */
  #reopenAfterCorruption (replica: PartitionReplica): void {
    const run = this.#metadataChain.then(async () => {
      if (this.#closing !== undefined || this.#logDir.offline || this.#replicas.get(replica.key) !== replica) return
      this.#replicas.delete(replica.key)
      this.#detachFromFetcher(replica)
      // Waiters (acks=all, long polls) answer now, not at their deadline.
      this.#delayed.notify(replica.key)
      const checkpointed = await this.#loadCheckpoints()
      checkpointed.highWatermarks.set(replica.key, replica.highWatermark)
      checkpointed.recoveryPoints.set(replica.key, replica.log.recoveryPoint)
      await replica.runExclusive(async () => { await this.#closeLog(replica, { snapshot: false }) })
      replica.logger.warn({ corruption: replica.log.corruption, highWatermark: replica.highWatermark }, 'replica reopened after corruption')
      const image = this.#latestImage
      if (image !== undefined) await this.#applyImage(image)
    })
    this.#metadataChain = run.catch((error: unknown) => { replica.logger.error({ err: error }, 'reopen after corruption failed') })
  }

  // ---- checkpoints and shutdown ----

  #loadCheckpoints (): Promise<Checkpointed> {
    this.#checkpointed ??= this.#readCheckpoints()
    return this.#checkpointed
  }

  async #readCheckpoints (): Promise<Checkpointed> {
    const read = async (file: OffsetCheckpoints): Promise<Map<string, number>> => {
      try {
        return await file.read()
      } catch (error) {
        // A malformed checkpoint: the conservative fallback is none (full recovery scans, HW from 0).
        this.#log.warn({ path: file.path, err: error }, 'checkpoint unreadable')
        return new Map()
      }
    }
    const checkpointed = { highWatermarks: await read(this.#highWatermarks), recoveryPoints: await read(this.#recoveryPoints) }
    for (const [key, value] of checkpointed.highWatermarks) if (!this.#replicas.has(key)) this.#carried.highWatermarks.set(key, value)
    for (const [key, value] of checkpointed.recoveryPoints) if (!this.#replicas.has(key)) this.#carried.recoveryPoints.set(key, value)
    return checkpointed
  }

  /**
   * Writes the high-watermark and recovery-point checkpoints of every replica (call periodically and at close), plus
   * the entries read at startup for partitions not opened here yet. Never before the files were read: a broker that
   * has no image yet would otherwise replace them with nothing (issue 10, defect 8).
   */
  async checkpoint (): Promise<void> {
    await this.#loadCheckpoints()
    const replicas = [...this.#replicas.values()]
    const carried = (entries: Map<string, number>): Array<{ topic: string; partition: number; offset: number }> =>
      [...entries].flatMap(([key, value]) => {
        if (this.#replicas.has(key)) return []
        const split = key.lastIndexOf('-')
        return [{ topic: key.slice(0, split), partition: Number(key.slice(split + 1)), offset: value }]
      })
    await mkdirDurable(this.#deps.fs, this.#deps.dataDir)
    await this.#highWatermarks.write([
      ...replicas.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.highWatermark })),
      ...carried(this.#carried.highWatermarks),
    ])
    await this.#recoveryPoints.write([
      ...replicas.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.log.recoveryPoint })),
      ...carried(this.#carried.recoveryPoints),
    ])
  }

  /**
   * Deletes the segments that `retention.ms` / `retention.bytes` of their topic let go, on every replica (leader or
   * follower), never past the replica's own high watermark (Kafka's log retention check, every
   * `retentionCheckIntervalMs`). Producer-state snapshots below the new log start go with them.
   */
  async applyRetention (): Promise<void> {
    const nowMs = this.#deps.clock.nowMs()
    await this.#eachReplica('retention', 'retention failed', async (replica) => {
      const { deletedSegments, logStartOffset } = await replica.log.applyRetention(nowMs, { highWatermark: offset(replica.highWatermark) })
      if (deletedSegments > 0) await replica.snapshots.prune(logStartOffset)
    })
  }

  /**
   * Kafka's log cleaner thread: for topics whose `cleanup.policy` compacts, runs the cleaner (storage log-cleaner.ts)
   * on each replica in turn, one partition at a time, below the replica's high watermark and never on the active
   * segment (the log's rules; the log's dirty ratio decides whether a pass is worth it). Every `cleanerBackoffMs`.
   */
  async cleanLogs (): Promise<void> {
    await this.#eachReplica('cleaner', 'log clean failed', async (replica) => {
      if (replica.log.config.cleanupPolicy === 'delete') return
      await replica.log.clean(this.#deps.clock.nowMs(), { highWatermark: offset(replica.highWatermark) })
    })
  }

  /**
   * A background pass over every replica, in turn: skipped while a pass of the same kind still runs or once the
   * manager closes (checked again before each replica); replicas whose log is offline are left out; one replica's
   * failure is logged (`failureMessage`) and the pass goes on.
   */
  async #eachReplica (
    kind: 'retention' | 'cleaner', failureMessage: string, work: (replica: PartitionReplica) => Promise<void>,
  ): Promise<void> {
    if (this.#passes.has(kind) || this.#closing !== undefined) return
    this.#passes.add(kind)
    try {
      for (const replica of [...this.#replicas.values()]) {
        if (replica.log.failure !== undefined || this.#closing !== undefined) continue
        try {
          await work(replica)
        } catch (error) {
          replica.logger.warn({ err: error }, failureMessage)
        }
      }
    } finally {
      this.#passes.delete(kind)
    }
  }

  async #periodicCheckpoint (): Promise<void> {
    if (this.#checkpointing || this.#closing !== undefined) return
    this.#checkpointing = true
    try {
      await this.checkpoint()
    } catch (error) {
      this.#log.warn({ err: error }, 'checkpoint failed')
      if (isGregorError(error) && error.code === ErrorCode.KAFKA_STORAGE_ERROR) this.#onStorageFailure(error)
    } finally {
      this.#checkpointing = false
    }
  }

  /**
   * Closes a replica's log; one that closed cleanly leaves a producer-state snapshot at its end (Kafka does on close),
   * so the next open replays nothing. Failures are logged: the next open recovers the log and scans if it must.
   */
  async #closeLog (replica: PartitionReplica, options: { snapshot: boolean }): Promise<void> {
    try {
      await replica.log.close()
      if (options.snapshot && replica.log.failure === undefined) await replica.snapshotProducers(replica.log.logEndOffset)
    } catch (error) {
      replica.logger.warn({ err: error }, 'log close failed')
    }
    await replica.snapshots.close()
  }

  /** Clean shutdown: stop fetchers and the ISR timer, answer every waiter, close the logs, write the checkpoints. */
  /** Forgets idempotent producers idle longer than `producerIdExpirationMs`, on every replica (Kafka does so too). */
  #expireProducers (): void {
    const nowMs = this.#deps.clock.nowMs()
    for (const replica of this.#replicas.values()) {
      const removed = replica.producers.removeExpired(nowMs, this.#deps.config.producerIdExpirationMs)
      if (removed > 0) replica.logger.debug({ removed, producers: replica.producers.size }, 'expired producers removed')
    }
  }

  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    for (const timer of this.#periodic) timer.cancel()
    this.#logDir.close()
    await this.#metadataChain
    await Promise.all([...this.#fetchers.values()].map(async (f) => { await f.close() }))
    this.#fetchers.clear()
    for (const replica of this.#replicas.values()) replica.role = 'follower'
    this.#delayed.expireAll()
    for (const replica of this.#replicas.values()) {
      await replica.runExclusive(async () => { await this.#closeLog(replica, { snapshot: true }) })
    }
    await this.checkpoint().catch((error: unknown) => { this.#log.warn({ err: error }, 'checkpoint failed') })
    this.#log.info({ partitions: this.#replicas.size }, 'replica manager closed')
  }
}

/**
 * The epoch of the last batch in the log (KIP-595 `lastFetchedEpoch`). Not the epoch cache's latest entry: a broker
 * that led an epoch without writing in it keeps an entry starting at its log end, which names no data; sending it
 * would make the leader answer a divergence that truncating to the log end cannot resolve, since `truncateTo` at or
 * past the log end leaves the epoch cache as it is.
 */
function lastFetchedEpoch (log: PartitionLog): number {
  if (log.logEndOffset <= log.logStartOffset) return -1
  return log.leaderEpochCache.epochForOffset(offset(log.logEndOffset - 1)) ?? -1
}

function * headersOf (bytes: Buffer): Generator<BatchHeader> {
  for (const { header } of walkBatches(bytes)) yield header
}

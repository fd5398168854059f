/**
 * One partition replica on this broker: its log, its role (leader or follower) in the current leader epoch, the
 * high watermark, and, on the leader, what each follower last reported (Kafka's `Partition` + `Replica`).
 *
 * Owns: the replica's state, never the log's contents: role, HW, follower progress, and the idempotent-producer
 * table with its snapshot files. Role changes, follower appends and truncations run one at a time through
 * `runExclusive`, so a fetcher never writes into a log the broker is turning into a leader.
 *
 * Invariants:
 * - `highWatermark` never goes back while this broker holds the partition, and never exceeds `logEndOffset`.
 * - On the leader, HW = min over the *maximal* ISR (the image's ISR plus any member of an ISR change still in flight,
 *   KIP-497) of each member's durable log end: the leader's own synced end, a follower's last fetch offset. So a
 *   shrink counts the removed follower until the controller accepted it, and a zombie leader can never ack alone.
 * - HW does not advance while the image's |ISR| < minInsyncReplicas (ARCHITECTURE.md §1).
 * - A follower joins the ISR once its log end reaches HW and the start of the current leader epoch (KIP-101).
 */
import type { Logger } from '@gregor/common'
import type { PartitionImage } from '@gregor/metadata'
import type { FileSystem, PartitionLog } from '@gregor/storage'
import { ProducerSnapshots } from './producer-snapshots.js'
import { ProducerStateTable } from './producer-state.js'

export type ReplicaRole = 'leader' | 'follower'

/** What the leader knows of one follower (Kafka `Replica.updateFetchState`). */
export interface FollowerProgress {
  /** The follower's durable log end, as its last fetch reported it; -1 before its first fetch in this epoch. */
  logEndOffset: number
  lastCaughtUpMs: number
  lastFetchMs: number
  lastFetchLeaderLogEndOffset: number
  /** KIP-903: the broker epoch the follower's latest fetch carried; absent or -1 when unknown. */
  brokerEpoch?: number
}

export class PartitionReplica {
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  readonly log: PartitionLog
  /**
   * Which opening of the partition on this broker this is (the replica manager counts them): a reopened replica (log
   * directory recovered, corruption found) starts from disk, and its high watermark may be lower than the last one's.
   */
  readonly generation: number
  readonly logger: Logger
  role: ReplicaRole = 'follower'
  leaderId = -1
  leaderEpoch = -1
  partitionEpoch = -1
  replicas: readonly number[] = []
  /** The ISR as the metadata image shows it. */
  isr: readonly number[] = []
  /**
   * An ISR this leader asked the controller for, based on partition epoch `pendingIsrPartitionEpoch`, that no image
   * has resolved yet. Any image of the same leader epoch with a newer partition epoch resolves it: either it shows the
   * change, or a change was committed before it and the controller refuses the request as stale. (Comparing members
   * is not enough: an image can coalesce the change with a later one, and then it would stay pending forever.)
   */
  pendingIsr: readonly number[] | undefined
  pendingIsrPartitionEpoch = -1
  /**
   * Members an expansion whose answer never came (failed or timed out) may have added on the controller, based on
   * `partitionEpoch`: the HW keeps counting them until an image with a newer partition epoch shows the outcome.
   */
  uncertainIsr: { readonly members: readonly number[]; readonly partitionEpoch: number } | undefined
  /** ISR expansion backoff after a refusal: no expansion is proposed before `retryAtMs`; 0 when none is due. */
  readonly isrExpandBackoff = { delayMs: 0, retryAtMs: 0 }
  minInsyncReplicas = 1
  highWatermark: number
  /** The log end offset when this broker became leader of the current epoch. */
  leaderEpochStartOffset = 0
  readonly followers = new Map<number, FollowerProgress>()
  /** Idempotent producers' last batches, as this replica's log holds them (every role keeps it). */
  readonly producers: ProducerStateTable
  /** Snapshots of `producers` in the partition directory, so opening and truncating replay only the log's tail. */
  readonly snapshots: ProducerSnapshots
  #chain: Promise<void> = Promise.resolve()

  constructor (init: {
    topic: string; partition: number; topicId: string; log: PartitionLog; fs: FileSystem; logger: Logger; highWatermark: number; producersMax: number
    generation?: number
  }) {
    this.generation = init.generation ?? 0
    this.producers = new ProducerStateTable({ producersMax: init.producersMax })
    this.topic = init.topic
    this.partition = init.partition
    this.topicId = init.topicId
    this.log = init.log
    this.logger = init.logger
    this.highWatermark = Math.min(init.highWatermark, init.log.logEndOffset)
    this.snapshots = new ProducerSnapshots({ dir: init.log.dir, fs: init.fs, logger: init.logger })
  }

  /**
   * Snapshots the producer table as of `offset` (the log has just rolled there, or is closed and ends there); the
   * write happens in the background and never fails the caller.
   */
  snapshotProducers (offset: number): Promise<void> {
    return this.snapshots.take(this.producers, offset, this.log.logStartOffset)
  }

  /** The purgatory key of this partition. */
  get key (): string {
    return `${this.topic}-${this.partition}`
  }

  /** Runs `task` after every task queued before it (role changes, follower appends, truncations). */
  runExclusive<T> (task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task)
    this.#chain = run.then(() => {}, () => {})
    return run
  }

  /** Takes the leader role for the epoch of `image`; followers start unknown and "caught up now" (Kafka). */
  becomeLeader (image: PartitionImage, nowMs: number): void {
    this.role = 'leader'
    this.#adopt(image)
    this.pendingIsr = undefined
    this.uncertainIsr = undefined
    this.isrExpandBackoff.delayMs = 0
    this.isrExpandBackoff.retryAtMs = 0
    this.leaderEpochStartOffset = this.log.logEndOffset
    this.followers.clear()
    for (const id of image.replicas) {
      if (id === image.leader) continue
      this.followers.set(id, { logEndOffset: -1, lastCaughtUpMs: nowMs, lastFetchMs: nowMs, lastFetchLeaderLogEndOffset: -1 })
    }
  }

  becomeFollower (image: PartitionImage): void {
    this.role = 'follower'
    this.#adopt(image)
    this.pendingIsr = undefined
    this.uncertainIsr = undefined
    this.followers.clear()
  }

  /** A newer partition epoch within the same leader epoch: only the ISR (or assignment) changed. */
  updateIsr (image: PartitionImage): void {
    this.replicas = image.replicas
    this.isr = image.isr
    this.partitionEpoch = image.partitionEpoch
    if (this.pendingIsr !== undefined && image.partitionEpoch > this.pendingIsrPartitionEpoch) this.pendingIsr = undefined
    if (this.uncertainIsr !== undefined && image.partitionEpoch > this.uncertainIsr.partitionEpoch) this.uncertainIsr = undefined
    for (const id of image.replicas) {
      if (this.role === 'leader' && id !== this.leaderId && !this.followers.has(id)) {
        this.followers.set(id, { logEndOffset: -1, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1 })
      }
    }
  }

  #adopt (image: PartitionImage): void {
    this.leaderId = image.leader
    this.leaderEpoch = image.leaderEpoch
    this.partitionEpoch = image.partitionEpoch
    this.replicas = image.replicas
    this.isr = image.isr
  }

  /** The leader's own contribution to the HW: what is on its disk (ARCHITECTURE.md §2 Durability). */
  localDurableEnd (): number {
    return this.log.config.flush === 'always' ? this.log.recoveryPoint : this.log.logEndOffset
  }

  /**
   * The ISR the HW counts: the image's plus any member of a change in flight or of unknown outcome (KIP-497
   * "maximal ISR").
   */
  maximalIsr (): readonly number[] {
    if (this.pendingIsr === undefined && this.uncertainIsr === undefined) return this.isr
    return [...new Set([...this.isr, ...(this.pendingIsr ?? []), ...(this.uncertainIsr?.members ?? [])])]
  }

  /** Records a follower fetch at `fetchOffset` (its durable log end), with the broker epoch it carried, on the leader. */
  recordFollowerFetch (brokerId: number, fetchOffset: number, nowMs: number, brokerEpoch = -1): void {
    let progress = this.followers.get(brokerId)
    if (progress === undefined) {
      progress = { logEndOffset: -1, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1 }
      this.followers.set(brokerId, progress)
    }
    const leaderEnd = this.log.logEndOffset
    if (fetchOffset >= leaderEnd) {
      progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, nowMs)
    } else if (fetchOffset >= progress.lastFetchLeaderLogEndOffset) {
      progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, progress.lastFetchMs)
    }
    progress.logEndOffset = fetchOffset
    progress.brokerEpoch = brokerEpoch
    progress.lastFetchMs = nowMs
    progress.lastFetchLeaderLogEndOffset = leaderEnd
  }

  /** Advances the leader's HW if the maximal ISR allows it; true when it moved. */
  maybeAdvanceHighWatermark (): boolean {
    if (this.role !== 'leader' || this.isr.length < this.minInsyncReplicas) return false
    let candidate = this.localDurableEnd()
    for (const id of this.maximalIsr()) {
      if (id === this.leaderId) continue
      const progress = this.followers.get(id)
      candidate = Math.min(candidate, progress === undefined ? -1 : progress.logEndOffset)
    }
    if (candidate <= this.highWatermark) return false
    this.highWatermark = candidate
    return true
  }

  /** ISR members (never the leader) that have not caught up within `lagMaxMs`. */
  laggingFollowers (nowMs: number, lagMaxMs: number): number[] {
    return this.isr.filter((id) => {
      if (id === this.leaderId) return false
      const progress = this.followers.get(id)
      return progress === undefined || nowMs - progress.lastCaughtUpMs > lagMaxMs
    })
  }

  /** The broker epoch `brokerId` last fetched with, -1 when unknown (KIP-903: sent with every ISR change). */
  followerBrokerEpoch (brokerId: number): number {
    return this.followers.get(brokerId)?.brokerEpoch ?? -1
  }

  /** Whether `brokerId`, outside the ISR, may join it now (KIP-101: HW and the current epoch's start). */
  canJoinIsr (brokerId: number): boolean {
    if (this.role !== 'leader' || this.isr.includes(brokerId) || !this.replicas.includes(brokerId)) return false
    const progress = this.followers.get(brokerId)
    if (progress === undefined) return false
    return progress.logEndOffset >= this.highWatermark && progress.logEndOffset >= this.leaderEpochStartOffset
  }

  /** On a follower: HW = min(leader's HW, own log end), never going back. */
  updateFollowerHighWatermark (leaderHighWatermark: number): void {
    const candidate = Math.min(leaderHighWatermark, this.log.logEndOffset)
    if (candidate > this.highWatermark) this.highWatermark = candidate
  }
}

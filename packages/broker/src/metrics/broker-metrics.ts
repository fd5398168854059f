/**
 * A broker's Prometheus metrics: one `Registry` per broker (never prom-client's global one, so several brokers can
 * share a process in tests), Node's default process metrics on it, and the Kafka-named instruments listed in
 * docs/metrics.md.
 *
 * Owns: the registry and every instrument on it. Two kinds, on purpose:
 * - State gauges (active controller, offline / under-replicated / under-min-ISR partitions, raft term, ...) hold no
 *   value of their own: `collect()` reads the applied metadata image and the raft status at scrape time, so they can
 *   never drift from what the broker actually believes. The image-derived ones are computed once per image version
 *   (image identity + applied index), however many gauges read them.
 * - Event counters and the request histogram are incremented where the event happens (client requests, applied ISR
 *   changes, committed leader elections). Their cost on the hot path is one pre-bound `observe()`/`inc()` per
 *   request, a loop over the request's partitions (not its records), and labelled lookups only on error paths.
 *
 * Invariants: labels are bounded (client API names, Kafka error names, raft roles); no per-topic or per-partition
 * label. A scrape never throws for want of state: before the quorum has started the raft gauges read 0.
 */
import { type MetadataImage, type MetadataRecord, NO_LEADER } from '@gregor/metadata'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { QuorumStatusView } from '../metadata-quorum.js'

/** The ClientService methods, as `api` label values (snake_case of the gRPC method names). */
export const clientApis = ['produce', 'fetch', 'list_offsets', 'metadata', 'describe_cluster', 'create_topics', 'delete_topics', 'create_partitions', 'alter_topic_configs', 'init_producer_id', 'alter_user_scram_credentials', 'describe_user_scram_credentials'] as const
export type ClientApi = typeof clientApis[number]

/** The raft roles, as `state` label values of `gregor_raft_current_state` (`@gregor/raft`'s `Role`). */
const raftRoles = ['follower', 'preCandidate', 'candidate', 'leader'] as const

/**
 * Request latency buckets, in seconds: sub-millisecond metadata answers up to fetch long-polls (the client's
 * `maxWaitMs`, 500 ms by default) and acks=all produces waiting out a slow follower.
 */
export const requestLatencyBucketsSeconds: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

export interface BrokerMetricsDeps {
  readonly brokerId: number
  /** The applied metadata image (it is mutated in place; read it at scrape time, never keep it). */
  readonly image: () => MetadataImage
  /** The raft status, or undefined before the quorum has started. */
  readonly quorum: () => QuorumStatusView | undefined
  /** Whether this broker's controller is the active one (KRaft: it leads the metadata quorum). */
  readonly controllerActive: () => boolean
  /** Bytes of every partition log on this broker; no `gregor_log_size_bytes` without it. */
  readonly logSizeBytes?: () => number
  /** Register Node's default process metrics (heap, GC, event-loop lag, fds). Default true. */
  readonly processMetrics?: boolean
}

/** A partition result with a Kafka error name ('' = none), as in every data-plane response. */
interface PartitionOutcome { readonly errorCode?: string | null }
interface ProducedPartition { readonly records?: Uint8Array | null }
interface FetchedPartition extends PartitionOutcome { readonly records?: Uint8Array | null }

/** What the image says about this broker and the cluster, computed once per image version. */
interface ImageStats {
  readonly topics: number
  readonly partitions: number
  readonly offline: number
  readonly activeBrokers: number
  readonly fencedBrokers: number
  readonly replicas: number
  readonly leaders: number
  readonly underReplicated: number
  readonly underMinIsr: number
  readonly atMinIsr: number
}

export class BrokerMetrics {
  readonly registry = new Registry()
  readonly #deps: BrokerMetricsDeps
  readonly #latency: Histogram<'api'>
  readonly #errors: Counter<'api' | 'error'>
  readonly #bytesIn: Counter
  readonly #bytesOut: Counter
  readonly #isrShrinks: Counter
  readonly #isrExpands: Counter
  readonly #leaderElections: Counter
  #stats: { image: MetadataImage; appliedIndex: number; stats: ImageStats } | undefined

  constructor (deps: BrokerMetricsDeps) {
    this.#deps = deps
    const registers = [this.registry]
    if (deps.processMetrics ?? true) collectDefaultMetrics({ register: this.registry })

    // ---- controller (kafka.controller:type=KafkaController / ControllerStats) ----
    this.#gauge('gregor_controller_active_controller_count', 'Whether this broker is the active controller (1) or not (0); the cluster-wide sum must be 1.',
      () => deps.controllerActive() ? 1 : 0)
    this.#gauge('gregor_controller_offline_partitions_count', 'Partitions without a leader, in this broker\'s applied metadata image (KRaft: every controller reports it; alert on max).',
      () => this.#imageStats().offline)
    this.#gauge('gregor_controller_global_topic_count', 'Topics in this broker\'s applied metadata image.', () => this.#imageStats().topics)
    this.#gauge('gregor_controller_global_partition_count', 'Partitions in this broker\'s applied metadata image.', () => this.#imageStats().partitions)
    this.#gauge('gregor_controller_active_broker_count', 'Registered brokers that are unfenced, in this broker\'s applied metadata image.', () => this.#imageStats().activeBrokers)
    this.#gauge('gregor_controller_fenced_broker_count', 'Registered brokers that are fenced, in this broker\'s applied metadata image.', () => this.#imageStats().fencedBrokers)
    this.#leaderElections = new Counter({
      name: 'gregor_controller_leader_elections_total',
      help: 'Partition leader elections committed by this broker while it was the active controller (a leader change to a live replica; topic creation not counted).',
      registers,
    })

    // ---- replica manager (kafka.server:type=ReplicaManager) ----
    this.#gauge('gregor_replica_manager_partition_count', 'Partitions with a replica on this broker.', () => this.#imageStats().replicas)
    this.#gauge('gregor_replica_manager_leader_count', 'Partitions this broker leads.', () => this.#imageStats().leaders)
    this.#gauge('gregor_replica_manager_under_replicated_partitions', 'Partitions this broker leads whose ISR is smaller than the assignment.',
      () => this.#imageStats().underReplicated)
    this.#gauge('gregor_replica_manager_under_min_isr_partition_count', 'Partitions this broker leads whose ISR is smaller than min.insync.replicas (acks=all produce fails).',
      () => this.#imageStats().underMinIsr)
    this.#gauge('gregor_replica_manager_at_min_isr_partition_count', 'Partitions this broker leads whose ISR size equals min.insync.replicas (one more loss blocks acks=all).',
      () => this.#imageStats().atMinIsr)
    this.#isrShrinks = new Counter({
      name: 'gregor_replica_manager_isr_shrinks_total',
      help: 'Applied ISR changes that removed a replica, on partitions this broker leads (whoever asked: this leader or the controller fencing a broker).',
      registers,
    })
    this.#isrExpands = new Counter({
      name: 'gregor_replica_manager_isr_expands_total',
      help: 'Applied ISR changes that added a replica, on partitions this broker leads.',
      registers,
    })

    // ---- logs (kafka.log:type=Log,name=Size, summed: no per-partition label) ----
    const logSizeBytes = deps.logSizeBytes
    if (logSizeBytes !== undefined) {
      this.#gauge('gregor_log_size_bytes', 'Bytes of every partition log on this broker (records on disk, indexes not counted).', logSizeBytes)
    }

    // ---- client requests (kafka.network:type=RequestMetrics, kafka.server:type=BrokerTopicMetrics) ----
    this.#latency = new Histogram({
      name: 'gregor_request_latency_seconds',
      help: 'Client request time from decoded request to response handed to gRPC, by ClientService method (includes acks=all and long-poll waits).',
      labelNames: ['api'], buckets: [...requestLatencyBucketsSeconds], registers,
    })
    for (const api of clientApis) this.#latency.zero({ api }) // every API appears from the first scrape
    this.#errors = new Counter({
      name: 'gregor_request_errors_total',
      help: 'Client request errors by method and Kafka error name: per partition in produce/fetch/list-offsets answers, per request for failed calls.',
      labelNames: ['api', 'error'], registers,
    })
    this.#bytesIn = new Counter({
      name: 'gregor_broker_topic_bytes_in_total',
      help: 'Record batch bytes produced by clients and accepted by this broker as leader (replication not included).',
      registers,
    })
    this.#bytesOut = new Counter({
      name: 'gregor_broker_topic_bytes_out_total',
      help: 'Record batch bytes sent to consumers by this broker (replication not included).',
      registers,
    })

    // ---- metadata quorum (KRaft kafka.server:type=raft-metrics) ----
    const raft = (read: (status: QuorumStatusView) => number) => function (this: Gauge) {
      const status = deps.quorum()
      if (status !== undefined) this.set(read(status))
    }
    new Gauge({ name: 'gregor_raft_current_term', help: 'The metadata quorum\'s current raft term (KRaft current-epoch).', registers, collect: raft((s) => s.term) })
    new Gauge({ name: 'gregor_raft_leader_id', help: 'The metadata quorum leader this broker knows of, -1 if none (KRaft current-leader).', registers, collect: raft((s) => s.leaderId === 0 ? -1 : s.leaderId) })
    new Gauge({ name: 'gregor_raft_commit_index', help: 'The highest metadata log index known committed (KRaft high-watermark).', registers, collect: raft((s) => s.commitIndex) })
    new Gauge({ name: 'gregor_raft_applied_index', help: 'The highest metadata log index applied to this broker\'s image (Kafka last-applied-record-offset).', registers, collect: raft((s) => s.appliedIndex) })
    new Gauge({ name: 'gregor_raft_log_end_index', help: 'The last index of this voter\'s metadata log (KRaft log-end-offset).', registers, collect: raft((s) => s.lastIndex) })
    new Gauge({
      name: 'gregor_raft_current_state', help: 'This voter\'s raft role: 1 for the current one, 0 for the others (KRaft current-state).',
      labelNames: ['state'], registers,
      collect () {
        const status = deps.quorum()
        if (status === undefined) return
        for (const role of raftRoles) this.set({ state: role }, status.role === role ? 1 : 0)
      },
    })
  }

  /** Serves the registry in the Prometheus text format. */
  async scrape (): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /**
   * Wraps a ClientService handler: times it into `gregor_request_latency_seconds{api}` and counts a failed call in
   * `gregor_request_errors_total`. The histogram child is bound here, once, so a request costs one `observe()`.
   */
  timed<Request, Response> (api: ClientApi, handler: (request: Request) => Promise<Response> | Response): (request: Request) => Promise<Response> {
    const latency = this.#latency.labels(api)
    return async (request) => {
      const startMs = performance.now()
      try {
        return await handler(request)
      } catch (error) {
        this.#errors.inc({ api, error: errorName(error) })
        throw error
      } finally {
        latency.observe((performance.now() - startMs) / 1000)
      }
    }
  }

  /** Counts a produce answer: bytes in for each partition it accepted (answers are in request order), errors. */
  produced (request: readonly ProducedPartition[], response: readonly PartitionOutcome[]): void {
    let bytes = 0
    for (let i = 0; i < response.length; i++) {
      const code = response[i]?.errorCode ?? ''
      if (code === '') bytes += request[i]?.records?.byteLength ?? 0
      else this.#errors.inc({ api: 'produce', error: code })
    }
    this.topicBytesIn(bytes)
  }

  /** Record batch bytes a produce stored as leader, from either client listener (BrokerTopicMetrics BytesInPerSec). */
  topicBytesIn (bytes: number): void {
    if (bytes > 0) this.#bytesIn.inc(bytes)
  }

  /** Record batch bytes a consumer fetch answered, from either client listener (BrokerTopicMetrics BytesOutPerSec). */
  topicBytesOut (bytes: number): void {
    if (bytes > 0) this.#bytesOut.inc(bytes)
  }

  /** Counts a fetch answer: bytes out of every partition's records, errors. */
  fetched (response: readonly FetchedPartition[]): void {
    let bytes = 0
    for (const partition of response) {
      const code = partition.errorCode ?? ''
      if (code !== '') this.#errors.inc({ api: 'fetch', error: code })
      bytes += partition.records?.byteLength ?? 0
    }
    this.topicBytesOut(bytes)
  }

  /** Counts per-partition errors of an answer without bytes (list offsets). */
  answered (api: ClientApi, response: readonly PartitionOutcome[]): void {
    for (const partition of response) {
      const code = partition.errorCode ?? ''
      if (code !== '') this.#errors.inc({ api, error: code })
    }
  }

  /**
   * An applied ISR change of a partition this broker leads (called by the replica manager). A change can both
   * remove and add (a member replaced), so it may count as a shrink and an expand.
   */
  isrChanged (previousIsr: readonly number[], isr: readonly number[]): void {
    if (previousIsr.some((id) => !isr.includes(id))) this.#isrShrinks.inc()
    if (isr.some((id) => !previousIsr.includes(id))) this.#isrExpands.inc()
  }

  /** Counts the leader elections of a batch the active controller committed (see `leaderElectionsIn`). */
  leaderElectionsCommitted (count: number): void {
    if (count > 0) this.#leaderElections.inc(count)
  }

  #gauge (name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect () { this.set(read()) } })
  }

  #imageStats (): ImageStats {
    const image = this.#deps.image()
    const appliedIndex = Number(image.appliedIndex)
    if (this.#stats?.image === image && this.#stats.appliedIndex === appliedIndex) return this.#stats.stats
    const stats = computeImageStats(image, this.#deps.brokerId)
    this.#stats = { image, appliedIndex, stats }
    return stats
  }
}

function computeImageStats (image: MetadataImage, brokerId: number): ImageStats {
  const brokers = image.brokers()
  const topics = image.topics()
  const stats = {
    topics: topics.length, partitions: 0, offline: 0,
    activeBrokers: brokers.filter((broker) => !broker.fenced).length, fencedBrokers: brokers.filter((broker) => broker.fenced).length,
    replicas: 0, leaders: 0, underReplicated: 0, underMinIsr: 0, atMinIsr: 0,
  }
  for (const topic of topics) {
    const minIsr = topic.config.minInsyncReplicas
    for (const partition of image.partitionsOf(topic.topicId)) {
      stats.partitions++
      if (partition.leader === NO_LEADER) stats.offline++
      if (partition.replicas.some((id) => id === brokerId)) stats.replicas++
      if (partition.leader !== brokerId) continue
      stats.leaders++
      if (partition.isr.length < partition.replicas.length) stats.underReplicated++
      if (partition.isr.length < minIsr) stats.underMinIsr++
      else if (partition.isr.length === minIsr) stats.atMinIsr++
    }
  }
  return stats
}

/**
 * The leader elections in a batch about to be proposed on `image`: PartitionChange records that move leadership to
 * a live replica other than the current leader. Not counted: partitions created with a leader, a partition going
 * offline (leader → NO_LEADER), and an epoch bump that keeps the leader (a replica left the assignment).
 */
export function leaderElectionsIn (image: MetadataImage, records: readonly MetadataRecord[]): number {
  let count = 0
  for (const record of records) {
    if (record.type !== 'PartitionChange' || record.leader === undefined || record.leader === NO_LEADER) continue
    const current = image.partition(record.topicId, record.partition)
    if (current !== undefined && current.leader !== record.leader) count++
  }
  return count
}

function errorName (error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  // GregorError codes are Kafka names; anything else (a bug, a gRPC failure) is one bounded bucket.
  return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : 'UNKNOWN_SERVER_ERROR'
}

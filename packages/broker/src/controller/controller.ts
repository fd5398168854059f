/**
 * The active controller: runs on the broker that leads the metadata Raft group, and turns broker and admin requests
 * into metadata records (KRaft's `QuorumController`, minus the speculative image).
 *
 * Owns: the decision queue, broker liveness soft state (heartbeats, connection-loss hints, never in the log), the
 * fencing timer, and the translation between wire requests and the pure decisions of @gregor/metadata.
 *
 * Invariants:
 * - One decision at a time. Every decision runs on the queue: decide on `image()`, propose the records, await
 *   `propose` (which resolves only once the entry is committed AND applied to `image()`), then the next. So a
 *   decision never sees an image that lacks records this controller proposed, and records never fail to apply.
 * - Soft state changes in arrival order, synchronously, outside the queue: a heartbeat refreshes its broker's entry
 *   the moment it arrives, and a dropped stream marks it at once, so a queued decision can never resurrect a broker
 *   whose connection dropped after its last heartbeat.
 * - A new activation decides nothing until an entry of its own term has been applied (`#catchUp`), so the image
 *   already holds every entry earlier controllers committed.
 * - Inactive means inert: every handler answers NOT_CONTROLLER, queued and in-flight callers are failed with
 *   NOT_CONTROLLER on `deactivate()`, no timer is armed and no soft state survives (a new activation counts every
 *   broker's session from its own `controllerActivatedMs`, as Kafka does).
 * - Every proposed batch encodes to at most `entryDataBytesMax` (@gregor/raft owns it: followers refuse a bigger
 *   entry, which would then never commit and wedge every decision queued behind it). Decisions bound themselves: a
 *   topic is created in one entry or refused at once with POLICY_VIOLATION; fencing, controlled shutdown, a restart's
 *   re-registration, unfencing's elections, the leader rebalance and topic deletion go in several entries, each a
 *   valid image on its own, deciding again on the applied image after each (see @gregor/metadata's
 *   `boundedBrokerRemoval`). `#propose` refuses anything bigger with MESSAGE_TOO_LARGE before it reaches Raft.
 */
import {
  ErrorCode, GregorError, type Clock, type Logger, type NodeId, type Rng, type TimerHandle, type Timers, isGregorError,
  leaderEpoch, nodeId, raftIndex,
} from '@gregor/common'
import {
  type BrokerHeartbeat, type BrokerLivenessInput, type CreateTopicRequest, type MetadataConfig, type MetadataImage,
  type MetadataRecord, type PreferredElectionOutcome, type RefetchingReplica, type TopicPartition, type TopicReference, checkBrokerIncarnation, connectionLost, decideBrokerFencing,
  decideAlterTopicConfigs, decideAlterUserScramCredentials, decideCreateAcls, decideDeleteAcls, decideBrokerRegistration, decideBrokerUnfencing, decideControlledShutdown, decideCreatePartitions, decideCreateTopics, decideDeleteTopics,
  decideIsrChange, decideOfflinePartitionElections, decideRefetchIsrRemovals, decidePreferredLeaderElection, heartbeatReceived,
  metadataBatchBytes, nextFencingDeadlineMs, splitIndependentRecords,
} from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { entryDataBytesMax } from '@gregor/raft'
import { kafkaTopicConfigs, wireTopicConfigAlterations, wireTopicConfigs } from './wire-topic-configs.js'
import { aclBindingFromWire, aclBindingToWire, aclFilterFromWire } from './wire-acls.js'
import { CancellableWaits } from './cancellable-waits.js'

export type RegisterBrokerRequest = gregor.cluster.RegisterBrokerRequest.$Properties
export type RegisterBrokerResponse = gregor.cluster.RegisterBrokerResponse.$Properties
export type BrokerHeartbeatRequest = gregor.cluster.BrokerHeartbeat.$Properties
export type BrokerHeartbeatResponse = gregor.cluster.BrokerHeartbeatResponse.$Properties
export type AlterPartitionRequest = gregor.cluster.AlterPartitionRequest.$Properties
export type AlterPartitionResponse = gregor.cluster.AlterPartitionResponse.$Properties
export type CreateTopicsRequest = gregor.cluster.CreateTopicsRequest.$Properties
export type CreateTopicsResponse = gregor.cluster.CreateTopicsResponse.$Properties
export type DeleteTopicsRequest = gregor.cluster.DeleteTopicsRequest.$Properties
export type DeleteTopicsResponse = gregor.cluster.DeleteTopicsResponse.$Properties
export type CreatePartitionsRequest = gregor.cluster.CreatePartitionsRequest.$Properties
export type CreatePartitionsResponse = gregor.cluster.CreatePartitionsResponse.$Properties
export type ElectLeadersRequest = gregor.cluster.ElectLeadersRequest.$Properties
export type AlterTopicConfigsRequest = gregor.cluster.AlterTopicConfigsRequest.$Properties
export type AlterTopicConfigsResponse = gregor.cluster.AlterTopicConfigsResponse.$Properties
export type ElectLeadersResponse = gregor.cluster.ElectLeadersResponse.$Properties
export type AlterUserScramCredentialsRequest = gregor.cluster.AlterUserScramCredentialsRequest.$Properties
export type AlterUserScramCredentialsResponse = gregor.cluster.AlterUserScramCredentialsResponse.$Properties
export type CreateAclsRequest = gregor.cluster.CreateAclsRequest.$Properties
export type CreateAclsResponse = gregor.cluster.CreateAclsResponse.$Properties
export type DeleteAclsRequest = gregor.cluster.DeleteAclsRequest.$Properties
export type DeleteAclsResponse = gregor.cluster.DeleteAclsResponse.$Properties

export interface ControllerDeps {
  readonly brokerId: NodeId
  readonly clusterId: string
  readonly config: MetadataConfig
  readonly image: () => MetadataImage
  /** Resolves after the records committed as one Raft entry AND were applied to `image()`; rejects otherwise. */
  readonly propose: (records: readonly MetadataRecord[]) => Promise<void>
  /** A fresh id, unique for all time: topic ids and ACL ids. */
  readonly newId: () => string
  readonly clock: Clock
  readonly logger: Logger
  /** The fencing check's timer (tests and the simulation fire it themselves). */
  readonly timers: Timers
  /** Where replica placement starts: Kafka draws it at random, so the seed of a simulation decides it. */
  readonly rng: Rng
  /** The metadata Raft leader's voters heard from this CheckQuorum round (brokers proven alive). */
  readonly activeVoters?: () => readonly NodeId[]
}

/** The most bytes one proposed batch may encode to: one Raft entry's payload. */
const batchBytesMax = entryDataBytesMax
/** Re-fetching replicas read from one heartbeat: the rest wait for the next one (a bound on one request's work). */
const refetchingReportedMax = 1000

/** After a failed fencing proposal, the check is retried no sooner than this (it would fail again at once). */
const fencingRetryDelayMs = 50

/** Kafka names the heartbeat and registration errors that tell a broker to register again; they travel as such. */
const brokerKafkaCodes: ReadonlySet<unknown> = new Set(['BROKER_ID_NOT_REGISTERED', 'STALE_BROKER_EPOCH', 'DUPLICATE_BROKER_REGISTRATION'])

export function notControllerError (): GregorError {
  return new GregorError(ErrorCode.NOT_CONTROLLER, 'this broker is not the active controller')
}

/** `error_code` and `error_message` for a failure; anything but a GregorError is a bug and is rethrown. */
export function errorFields (error: unknown): { errorCode: string; errorMessage: string } {
  if (!isGregorError(error)) throw error
  const kafkaCode = error.details.kafkaCode
  const errorCode = brokerKafkaCodes.has(kafkaCode) ? String(kafkaCode) : error.code
  return { errorCode, errorMessage: error.message }
}

/** The answer of a topic request that failed as a whole (not the controller, proposal dropped): each topic fails so. */
function everyTopicFailed (names: readonly string[], error: unknown): { topics: gregor.cluster.ITopicResult[] } {
  const fields = errorFields(error)
  return { topics: names.map((name) => ({ name, ...fields })) }
}

/** A preferred-election outcome as the wire names it (Kafka's error names). */
function electionOutcome (outcome: Exclude<PreferredElectionOutcome, 'deferred'>): string {
  switch (outcome) {
    case 'elected': return 'ELECTED'
    case 'election-not-needed': return 'ELECTION_NOT_NEEDED'
    case 'preferred-leader-not-available': return 'PREFERRED_LEADER_NOT_AVAILABLE'
    case 'unknown-topic-or-partition': return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  }
}

export class Controller {
  readonly #deps: ControllerDeps
  readonly #log: Logger
  readonly #timers: Timers
  readonly #heartbeats = new Map<NodeId, BrokerHeartbeat>()
  #active = false
  #generation = 0
  #controllerActivatedMs = 0
  /** Settles when the last queued decision settled; never rejects. */
  #tail: Promise<void> = Promise.resolve()
  /** The callers of queued decisions: deactivation fails them all with NOT_CONTROLLER (held only while waiting). */
  readonly #callers = new CancellableWaits()
  #fencingTimer: TimerHandle | undefined
  /** The activation whose catch-up barrier was applied; decisions of another wait for their own. */
  #caughtUpGeneration = -1
  /** When the next preferred-leader check is due (heartbeats drive it: no timer of its own). */
  #nextLeaderRebalanceMs = 0
  /**
   * Offline partitions may have an acceptable ISR member that nobody elected: a predecessor died between an unfencing
   * and its remaining elections, or halfway through a bounded fence of a broker that lives on. Set at activation and
   * after an unfinished bounded decision; the next heartbeat elects them (`#electOfflinePartitions`) and clears it.
   */
  #offlineElectionsDue = false

  constructor (deps: ControllerDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'controller' })
    this.#timers = deps.timers
  }

  get isActive (): boolean { return this.#active }

  get controllerActivatedMs (): number { return this.#controllerActivatedMs }

  /** This node became Raft leader: start deciding (after the catch-up barrier) and timing broker sessions. */
  activate (): void {
    if (this.#active) return
    this.#active = true
    this.#generation++
    this.#controllerActivatedMs = this.#deps.clock.nowMs()
    // As Kafka's scheduled task: the first check one interval after activation, when brokers have reported in.
    this.#nextLeaderRebalanceMs = this.#controllerActivatedMs + this.#deps.config.leaderImbalanceCheckIntervalMs
    this.#heartbeats.clear()
    this.#offlineElectionsDue = true
    this.#log.info({ brokerId: this.#deps.brokerId, appliedIndex: this.#deps.image().appliedIndex }, 'controller activated')
    this.#armFencingTimer()
    // Start the catch-up barrier now rather than on the first request; a failure is retried by the next decision.
    this.#enqueue(async () => {}).catch((error: unknown) => {
      this.#log.debug({ err: error }, 'controller catch-up failed')
    })
  }

  deactivate (): void {
    if (!this.#active) return
    this.#active = false
    this.#generation++
    this.#fencingTimer?.cancel()
    this.#fencingTimer = undefined
    this.#heartbeats.clear()
    this.#callers.cancelAll(notControllerError())
    this.#log.info({ brokerId: this.#deps.brokerId }, 'controller deactivated')
  }

  /** Resolves once every decision queued so far has settled (tests, orderly shutdown). */
  async idle (): Promise<void> {
    let tail: Promise<void>
    do { tail = this.#tail; await tail } while (tail !== this.#tail)
  }

  async registerBroker (request: RegisterBrokerRequest): Promise<RegisterBrokerResponse> {
    try {
      if ((request.clusterId ?? '') !== this.#deps.clusterId) {
        throw new GregorError(ErrorCode.INCONSISTENT_CLUSTER_ID,
          `cluster id ${request.clusterId ?? ''} is not this cluster's ${this.#deps.clusterId}`)
      }
      const brokerId = nodeId(request.brokerId ?? 0)
      const incarnationId = request.incarnationId ?? ''
      const registration = {
        brokerId, incarnationId,
        listeners: (request.listeners ?? []).map((l) => ({ name: l.name ?? '', host: l.host ?? '', port: l.port ?? 0 })),
        ...(request.rack ? { rack: request.rack } : {}),
        ...(request.logDirId ? { logDirId: request.logDirId } : {}),
      }
      await this.#enqueue(async () => {
        for (;;) {
          const decision = decideBrokerRegistration(this.#deps.image(), registration, this.#livenessInput(), batchBytesMax)
          if (decision.records.length > 0) await this.#propose(decision.records)
          if (!decision.complete) continue
          // A registration counts as a heartbeat: the broker's session starts now.
          this.#recordHeartbeat(brokerId, { incarnationId, metadataAppliedIndex: 0 })
          if (decision.records.length > 0) {
            this.#log.info({ brokerId, incarnationId, replacedIncarnationId: decision.replacedIncarnationId }, 'broker registered')
          }
          return
        }
      })
      return { errorCode: '' }
    } catch (error) {
      return errorFields(error)
    }
  }

  /**
   * One heartbeat: liveness is refreshed synchronously, before this returns its promise; then, on the queue, the
   * broker is unfenced once caught up, or its controlled shutdown advances.
   */
  async heartbeat (request: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    try {
      if (!this.#active) throw notControllerError()
      const brokerId = nodeId(request.brokerId ?? 0)
      const incarnationId = request.incarnationId ?? ''
      // A zombie incarnation must not keep its successor's session alive.
      checkBrokerIncarnation(this.#deps.image(), brokerId, incarnationId)
      const logDirOffline = request.logDirOffline === true
      const refetching = (request.refetching ?? []).slice(0, refetchingReportedMax)
        .map((replica) => ({ topicId: replica.topicId ?? '', partition: replica.partition ?? 0 }))
      this.#recordHeartbeat(brokerId, { incarnationId, metadataAppliedIndex: request.metadataAppliedIndex ?? 0, wantFence: logDirOffline })
      const wantShutDown = request.wantShutDown === true
      return await this.#enqueue(async () => {
        // KIP-858: a broker whose log directory failed leads nothing and is in no ISR from this decision on.
        if (logDirOffline && this.#deps.image().broker(brokerId)?.fenced === false) await this.#fenceExpired()
        if (refetching.length > 0) await this.#removeRefetching(brokerId, refetching)
        const shutdownReady = wantShutDown ? await this.#advanceShutdown(brokerId, incarnationId) : false
        if (!wantShutDown) {
          await this.#maybeUnfence()
          await this.#maybeRebalanceLeaders()
        }
        const fenced = this.#deps.image().broker(brokerId)?.fenced ?? true
        return { errorCode: '', fenced, shutdownReady }
      })
    } catch (error) {
      return { ...errorFields(error), fenced: true, shutdownReady: false }
    }
  }

  /** The broker's heartbeat stream broke: suspect it now, fence it after the grace unless it heartbeats again. */
  connectionLost (brokerId: NodeId, incarnationId: string): void {
    if (!this.#active) return
    const previous = this.#heartbeats.get(brokerId)
    if (previous?.incarnationId !== incarnationId || previous.connectionLostMs !== undefined) return
    const entry = connectionLost(previous, this.#deps.clock.nowMs())
    if (entry !== undefined) this.#heartbeats.set(brokerId, entry)
    this.#log.info({ brokerId, incarnationId, graceMs: this.#deps.config.brokerConnectionLossGraceMs }, 'broker connection lost')
    this.#armFencingTimer()
  }

  async alterPartition (request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    const topicId = request.topicId ?? ''
    const partition = request.partition ?? 0
    const current = (): AlterPartitionResponse => {
      const state = this.#deps.image().partition(topicId, partition)
      return state === undefined
        ? {}
        : { isr: [...state.isr], leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch }
    }
    try {
      const members = request.newIsrWithEpochs ?? []
      const newIsr = members.map((member) => nodeId(member.brokerId ?? 0))
      return await this.#enqueue(async () => {
        const { records } = decideIsrChange(this.#deps.image(), {
          brokerId: nodeId(request.brokerId ?? 0), topicId, partition,
          leaderEpoch: leaderEpoch(request.leaderEpoch ?? 0), partitionEpoch: request.partitionEpoch ?? 0,
          newIsr, brokerEpochs: members.map((member) => Number(member.brokerEpoch ?? -1)),
        })
        if (records.length > 0) {
          await this.#propose(records)
          const topic = this.#deps.image().topicById(topicId)?.name
          this.#log.info({ topic, partition, isr: newIsr, brokerId: request.brokerId }, 'isr changed')
        }
        return { errorCode: '', ...current() }
      })
    } catch (error) {
      return { ...errorFields(error), ...current() }
    }
  }

  async createTopics (request: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const specs = request.topics ?? []
    try {
      return await this.#enqueue(async () => {
        const topics = specs.map((spec): CreateTopicRequest => ({
          name: spec.name ?? '',
          ...(spec.partitions ? { partitionCount: spec.partitions } : {}),
          ...(spec.replicationFactor ? { replicationFactor: spec.replicationFactor } : {}),
          configs: wireTopicConfigs(spec.configs),
        }))
        const validateOnly = request.validateOnly === true
        const decision = decideCreateTopics(this.#deps.image(), {
          topics, topicIds: topics.map(() => this.#deps.newId()), placementStartIndex: this.#placementStartIndex(), validateOnly,
          batchBytesMax,
        }, this.#deps.config)
        // Whole topics per batch: a failure midway leaves the earlier topics created and reports every one failed,
        // and a retry answers TOPIC_ALREADY_EXISTS for those, as after a lost response.
        for (const batch of decision.batches) await this.#propose(batch)
        return {
          topics: decision.results.map((result) => {
            if ('error' in result) return { name: result.name, ...errorFields(result.error) }
            if (!validateOnly) {
              const { name: topic, topicId, partitionCount, replicationFactor } = result
              this.#log.info({ topic, topicId, partitionCount, replicationFactor }, 'topic created')
            }
            return {
              name: result.name, topicId: result.topicId, errorCode: '', partitions: result.partitionCount,
              replicationFactor: result.replicationFactor, configs: kafkaTopicConfigs(result.config),
            }
          }),
        }
      })
    } catch (error) {
      return everyTopicFailed(specs.map((spec) => spec.name ?? ''), error)
    }
  }

  /** Changes existing topics' configs; every changed topic's TopicConfigChange in one entry (a few hundred bytes each). */
  async alterTopicConfigs (request: AlterTopicConfigsRequest): Promise<AlterTopicConfigsResponse> {
    const specs = request.topics ?? []
    try {
      return await this.#enqueue(async () => {
        const validateOnly = request.validateOnly === true
        const decision = decideAlterTopicConfigs(this.#deps.image(), {
          topics: specs.map((spec) => ({ name: spec.name ?? '', alterations: wireTopicConfigAlterations(spec.alterations ?? []) })),
          validateOnly,
        }, this.#deps.config)
        if (decision.records.length > 0) await this.#propose(decision.records)
        return {
          topics: decision.results.map((result) => {
            if ('error' in result) return { name: result.name, ...errorFields(result.error) }
            if (!validateOnly && result.changedKeys.length > 0) {
              this.#log.info({ topic: result.name, topicId: result.topicId, changedKeys: result.changedKeys }, 'topic config changed')
            }
            return { name: result.name, topicId: result.topicId, errorCode: '', configs: kafkaTopicConfigs(result.config) }
          }),
        }
      })
    } catch (error) {
      return everyTopicFailed(specs.map((spec) => spec.name ?? ''), error)
    }
  }

  /**
   * Upserts and deletes users' SCRAM credentials (salted password in, StoredKey/ServerKey out: see
   * alter-user-scram-credentials.ts); every accepted change in one entry. Logged by user and mechanism, no secrets.
   */
  async alterUserScramCredentials (request: AlterUserScramCredentialsRequest): Promise<AlterUserScramCredentialsResponse> {
    const deletions = (request.deletions ?? []).map((deletion) => ({ name: deletion.name ?? '', mechanism: deletion.mechanism ?? '' }))
    const upsertions = (request.upsertions ?? []).map((upsertion) => ({
      name: upsertion.name ?? '',
      mechanism: upsertion.mechanism ?? '',
      iterations: upsertion.iterations ?? 0,
      salt: upsertion.salt ?? new Uint8Array(0),
      saltedPassword: upsertion.saltedPassword ?? new Uint8Array(0),
    }))
    try {
      return await this.#enqueue(async () => {
        const decision = decideAlterUserScramCredentials(this.#deps.image(), { deletions, upsertions })
        if (decision.records.length > 0) await this.#propose(decision.records)
        for (const record of decision.records) {
          if (record.type === 'UserScramCredential' || record.type === 'RemoveUserScramCredential') {
            this.#log.info({ user: record.name, mechanism: record.mechanism, change: record.type }, 'scram credential changed')
          }
        }
        return {
          results: decision.results.map((result) => ({
            user: result.name, ...(result.error === undefined ? { errorCode: '' } : errorFields(result.error)),
          })),
        }
      })
    } catch (error) {
      const fields = errorFields(error)
      const users = [...new Set([...deletions, ...upsertions].map((change) => change.name))]
      return { results: users.map((user) => ({ user, ...fields })) }
    }
  }

  /**
   * Kafka's CreateAcls: a result per creation, in order (INVALID_REQUEST for a malformed binding, success for one
   * that exists). ACL ids come from `newId`. The AccessControlEntry records are independent, so they are proposed in
   * as many entries as the batch limit needs; a failure midway fails every result (the ACLs of committed entries
   * exist, and creating them again succeeds without a record, as after a lost response).
   */
  async createAcls (request: CreateAclsRequest): Promise<CreateAclsResponse> {
    const creations = (request.creations ?? []).map(aclBindingFromWire)
    try {
      return await this.#enqueue(async () => {
        const decision = decideCreateAcls(this.#deps.image(), { creations, aclIds: creations.map(() => this.#deps.newId()) })
        for (const batch of splitIndependentRecords(decision.records, batchBytesMax)) await this.#propose(batch)
        for (const record of decision.records) {
          if (record.type !== 'AccessControlEntry') continue
          const { id: aclId, resourceType, resourceName, patternType, principal, host, operation, permission } = record
          this.#log.info({ aclId, resourceType, resourceName, patternType, principal, host, operation, permission }, 'acl created')
        }
        return { results: decision.results.map((result) => result.error === undefined ? { errorCode: '' } : errorFields(result.error)) }
      })
    } catch (error) {
      const fields = errorFields(error)
      return { results: creations.map(() => fields) }
    }
  }

  /**
   * Kafka's DeleteAcls: a result per filter, in order, listing the ACLs it matched (and so deleted); one
   * RemoveAccessControlEntry per ACL, proposed within the batch limit. A failure midway fails every result.
   */
  async deleteAcls (request: DeleteAclsRequest): Promise<DeleteAclsResponse> {
    const filters = (request.filters ?? []).map(aclFilterFromWire)
    try {
      return await this.#enqueue(async () => {
        const decision = decideDeleteAcls(this.#deps.image(), filters)
        for (const batch of splitIndependentRecords(decision.records, batchBytesMax)) await this.#propose(batch)
        const logged = new Set<string>()
        for (const { deleted } of decision.results) {
          for (const { id: aclId, resourceType, resourceName, patternType, principal, host, operation, permission } of deleted) {
            if (logged.has(aclId)) continue
            logged.add(aclId)
            this.#log.info({ aclId, resourceType, resourceName, patternType, principal, host, operation, permission }, 'acl deleted')
          }
        }
        return {
          results: decision.results.map((result) => ({
            ...(result.error === undefined ? { errorCode: '' } : errorFields(result.error)),
            deleted: result.deleted.map(aclBindingToWire),
          })),
        }
      })
    } catch (error) {
      const fields = errorFields(error)
      return { results: filters.map(() => ({ ...fields, deleted: [] })) }
    }
  }

  /** More partitions for existing topics (increase only), each topic in one entry of its own. */
  async createPartitions (request: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    const specs = request.topics ?? []
    try {
      return await this.#enqueue(async () => {
        const validateOnly = request.validateOnly === true
        const decision = decideCreatePartitions(this.#deps.image(), {
          topics: specs.map((spec) => ({ name: spec.name ?? '', partitionCount: spec.partitions ?? 0 })),
          placementStartIndex: this.#placementStartIndex(), validateOnly, batchBytesMax,
        }, this.#deps.config)
        for (const batch of decision.batches) await this.#propose(batch)
        return {
          topics: decision.results.map((result) => {
            if ('error' in result) return { name: result.name, ...errorFields(result.error) }
            if (!validateOnly) {
              const { name: topic, topicId, previousPartitionCount, partitionCount } = result
              this.#log.info({ topic, topicId, previousPartitionCount, partitionCount }, 'partitions added')
            }
            return { name: result.name, topicId: result.topicId, errorCode: '', partitions: result.partitionCount }
          }),
        }
      })
    } catch (error) {
      return everyTopicFailed(specs.map((spec) => spec.name ?? ''), error)
    }
  }

  /**
   * Preferred-leader elections (Kafka's ElectLeaders, PREFERRED) for the named partitions or all of them, batch by
   * batch within the entry limit; each partition's outcome as Kafka names it.
   */
  async electLeaders (request: ElectLeadersRequest): Promise<ElectLeadersResponse> {
    try {
      return await this.#enqueue(async () => {
        const image = this.#deps.image()
        const unknown: gregor.cluster.IElectionResult[] = []
        let partitions: TopicPartition[] | undefined
        if (request.allPartitions !== true) {
          partitions = []
          for (const { topic = '', partition = 0 } of request.partitions ?? []) {
            const topicId = image.topic(topic ?? '')?.topicId
            if (topicId === undefined) unknown.push({ topic, partition, outcome: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
            else partitions.push({ topicId, partition: partition ?? 0 })
          }
        }
        const outcomes = new Map<string, string>()
        for (;;) {
          const decision = decidePreferredLeaderElection(this.#deps.image(), partitions === undefined ? {} : { partitions }, batchBytesMax)
          if (decision.records.length > 0) await this.#propose(decision.records)
          for (const { topicId, partition, outcome } of decision.results) {
            if (outcome !== 'deferred' && !outcomes.has(`${topicId}/${partition}`)) outcomes.set(`${topicId}/${partition}`, electionOutcome(outcome))
          }
          if (decision.complete) break
        }
        const results = [...outcomes].map(([key, outcome]): gregor.cluster.IElectionResult => {
          const [topicId = '', partition = '0'] = key.split('/')
          return { topic: this.#deps.image().topicById(topicId)?.name ?? '', partition: Number(partition), outcome }
        })
        const elected = results.filter((result) => result.outcome === 'ELECTED').length
        if (elected > 0) this.#log.info({ elected }, 'preferred leaders elected on request')
        return { errorCode: '', results: [...results, ...unknown] }
      })
    } catch (error) {
      return { ...errorFields(error), results: [] }
    }
  }

  async deleteTopics (request: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    const names = request.topics ?? []
    try {
      return await this.#enqueue(async () => {
        const references: TopicReference[] = names.map((name) => ({ name }))
        const decision = decideDeleteTopics(this.#deps.image(), { topics: references })
        // One RemoveTopic per topic, each correct on its own.
        for (const batch of splitIndependentRecords(decision.records, batchBytesMax)) await this.#propose(batch)
        return {
          topics: decision.results.map((result, i) => {
            if ('error' in result) return { name: names[i] ?? '', ...errorFields(result.error) }
            this.#log.info({ topic: result.name, topicId: result.topicId }, 'topic deleted')
            return { name: result.name, topicId: result.topicId, errorCode: '' }
          }),
        }
      })
    } catch (error) {
      return everyTopicFailed(names, error)
    }
  }

  /** Fence every broker whose session or connection-loss grace ran out; the fencing timer calls this. */
  async checkLiveness (): Promise<void> {
    await this.#enqueue(async () => { await this.#fenceExpired() })
  }

  /** On the queue: fences every broker due (see `decideBrokerFencing`), batch by batch. */
  async #fenceExpired (): Promise<void> {
    // Decided again after every batch: a broker that heartbeats meanwhile keeps its registration.
    for (;;) {
      const decision = decideBrokerFencing(this.#deps.image(), this.#livenessInput(), batchBytesMax)
      if (decision.records.length === 0) return
      await this.#propose(decision.records)
      if (!decision.complete) {
        this.#offlineElectionsDue = true
        const brokerIds = decision.fencedBrokers.map((fenced) => fenced.brokerId)
        this.#log.info({ brokerIds, partitionChanges: decision.records.length }, 'partitions moved off brokers being fenced')
        continue
      }
      for (const { brokerId, incarnationId, reason, overdueMs } of decision.fencedBrokers) {
        this.#log.info({ brokerId, incarnationId, reason, overdueMs }, 'broker fenced')
      }
      return
    }
  }

  /** On the queue: the broker's re-fetching replicas leave their ISRs and leaderships (issue 10, defect 5). */
  async #removeRefetching (brokerId: NodeId, refetching: readonly RefetchingReplica[]): Promise<void> {
    const records = decideRefetchIsrRemovals(this.#deps.image(), brokerId, refetching)
    // One PartitionChange per partition, each correct on its own.
    for (const batch of splitIndependentRecords(records, batchBytesMax)) await this.#propose(batch)
    if (records.length > 0) this.#log.info({ brokerId, partitions: records.length }, 'refetching replicas left their isrs')
  }

  async #advanceShutdown (brokerId: NodeId, incarnationId: string): Promise<boolean> {
    const wasShuttingDown = this.#deps.image().broker(brokerId)?.shuttingDown === true
    for (;;) {
      const first = decideControlledShutdown(this.#deps.image(), { brokerId, incarnationId }, batchBytesMax)
      if (first.records.length === 0) return first.shutdownReady
      await this.#propose(first.records)
      if (first.complete) break
    }
    if (!wasShuttingDown) this.#log.info({ brokerId, incarnationId }, 'broker shutdown requested')
    // The decision is idempotent: asked again on the applied image, it says whether anything is left to move.
    const second = decideControlledShutdown(this.#deps.image(), { brokerId, incarnationId })
    if (second.shutdownReady) this.#log.info({ brokerId, incarnationId }, 'broker shutdown ready')
    return second.records.length === 0 && second.shutdownReady
  }

  async #maybeUnfence (): Promise<void> {
    const decision = decideBrokerUnfencing(this.#deps.image(), this.#livenessInput(), batchBytesMax)
    if (decision.records.length > 0) {
      await this.#propose(decision.records)
      for (const brokerId of decision.unfencedBrokers) this.#log.info({ brokerId }, 'broker unfenced')
    }
    // The elections that did not fit with the unfencing follow, each batch correct on its own.
    if (!decision.complete) this.#offlineElectionsDue = true
    if (this.#offlineElectionsDue) await this.#electOfflinePartitions()
  }

  async #electOfflinePartitions (): Promise<void> {
    for (let round = 1; ; round++) {
      const elections = decideOfflinePartitionElections(this.#deps.image(), batchBytesMax)
      if (elections.records.length > 0) {
        await this.#propose(elections.records)
        this.#log.info({ round, elected: elections.records.length }, 'offline partitions elected')
      }
      if (elections.complete) break
    }
    this.#offlineElectionsDue = false
  }

  /**
   * Auto leader rebalance: every `leaderImbalanceCheckIntervalMs`, leadership goes back to each partition's preferred
   * replica where that replica is in the ISR, unfenced and not shutting down (so never to a broker still catching up:
   * a replica joins the ISR only once it has reached the high watermark).
   */
  async #maybeRebalanceLeaders (): Promise<void> {
    const intervalMs = this.#deps.config.leaderImbalanceCheckIntervalMs
    const nowMs = this.#deps.clock.nowMs()
    if (intervalMs <= 0 || nowMs < this.#nextLeaderRebalanceMs) return
    this.#nextLeaderRebalanceMs = nowMs + intervalMs
    for (;;) {
      const decision = decidePreferredLeaderElection(this.#deps.image(), {}, batchBytesMax)
      if (decision.records.length === 0) return
      await this.#propose(decision.records)
      for (const { topicId, partition, outcome } of decision.results) {
        if (outcome !== 'elected') continue
        const state = this.#deps.image().partition(topicId, partition)
        const topic = this.#deps.image().topicById(topicId)?.name
        this.#log.info({ topic, partition, leader: state?.leader, leaderEpoch: state?.leaderEpoch }, 'preferred leader elected')
      }
      if (decision.complete) return
    }
  }

  #recordHeartbeat (brokerId: NodeId, report: { incarnationId: string; metadataAppliedIndex: number; wantFence?: boolean }): void {
    const nowMs = this.#deps.clock.nowMs()
    const previous = this.#heartbeats.get(brokerId)
    if (previous?.connectionLostMs !== undefined && previous.incarnationId === report.incarnationId) {
      this.#log.info({ brokerId, incarnationId: report.incarnationId }, 'broker connection restored')
    }
    this.#heartbeats.set(brokerId, heartbeatReceived(previous, {
      nowMs, incarnationId: report.incarnationId, metadataAppliedIndex: raftIndex(report.metadataAppliedIndex),
      ...(report.wantFence === true ? { wantFence: true } : {}),
    }))
  }

  #livenessInput (): BrokerLivenessInput {
    return {
      heartbeats: this.#heartbeats,
      nowMs: this.#deps.clock.nowMs(),
      controllerActivatedMs: this.#controllerActivatedMs,
      config: this.#deps.config,
      ...(this.#deps.activeVoters === undefined ? {} : { activeVoters: new Set(this.#deps.activeVoters()) }),
    }
  }

  /**
   * Every batch goes through here: one above the Raft entry limit is refused at once, never proposed (it would not
   * commit, and every decision after it would wait forever). A decision that bounds itself never gets here with one.
   */
  async #propose (records: readonly MetadataRecord[]): Promise<void> {
    const bytes = metadataBatchBytes(records)
    if (bytes > batchBytesMax) {
      this.#log.warn({ bytes, batchBytesMax, records: records.length }, 'metadata batch above the raft entry limit refused')
      throw new GregorError(ErrorCode.MESSAGE_TOO_LARGE,
        `a metadata batch of ${bytes} bytes is above the ${batchBytesMax}-byte limit of one metadata log entry`,
        { details: { bytes, batchBytesMax } })
    }
    await this.#deps.propose(records)
  }

  #placementStartIndex (): number {
    return this.#deps.rng.int(0, 1024)
  }

  /**
   * Runs `work` after every decision queued before it. The caller is failed with NOT_CONTROLLER as soon as this
   * controller deactivates, but the queue still waits for `work` to settle: a proposal in flight may yet be applied,
   * and the next activation must decide on an image that includes it.
   */
  async #enqueue<T> (work: () => Promise<T>): Promise<T> {
    if (!this.#active) throw notControllerError()
    const generation = this.#generation
    const run = async (): Promise<T> => {
      if (generation !== this.#generation) throw notControllerError()
      try {
        if (this.#caughtUpGeneration !== generation) await this.#catchUp(generation)
        return await work()
      } finally {
        if (generation === this.#generation) this.#armFencingTimer()
      }
    }
    const result = this.#tail.then(run)
    this.#tail = result.then(() => {}, () => {})
    return await this.#callers.wait(result)
  }

  /**
   * The first decision of an activation waits for an empty batch of this term to be applied: Raft commits the
   * previous terms' entries with it, so from then on `image()` holds everything committed before this controller
   * (the Raft leader's no-op, used as a read barrier). Deciding earlier could produce records that no longer apply.
   */
  async #catchUp (generation: number): Promise<void> {
    await this.#deps.propose([])
    if (generation !== this.#generation) throw notControllerError()
    this.#caughtUpGeneration = generation
    this.#log.info({ appliedIndex: this.#deps.image().appliedIndex }, 'controller caught up')
  }

  /** Arms one timer at the earliest moment an unfenced broker could expire; re-armed after every decision. */
  #armFencingTimer (delayMsMin = 0): void {
    this.#fencingTimer?.cancel()
    this.#fencingTimer = undefined
    if (!this.#active) return
    const deadlineMs = nextFencingDeadlineMs(this.#deps.image(), this.#livenessInput())
    if (deadlineMs === undefined) return
    const delayMs = Math.max(delayMsMin, deadlineMs - this.#deps.clock.nowMs())
    this.#fencingTimer = this.#timers.setTimeout(() => { this.#onFencingTimer() }, delayMs)
  }

  #onFencingTimer (): void {
    this.#fencingTimer = undefined
    this.checkLiveness().catch((error: unknown) => {
      if (!this.#active) return
      this.#log.warn({ err: error }, 'broker fencing failed')
      this.#armFencingTimer(fencingRetryDelayMs)
    })
  }
}

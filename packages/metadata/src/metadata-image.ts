/**
 * The metadata image: the cluster as the committed metadata log describes it (KRaft's `MetadataImage`). Every broker
 * keeps one and applies committed records to it in log order; the controller decides against one.
 *
 * Owns: brokers (registration, incarnation, fenced and shutting-down flags), topics by name and by id, partitions
 * (replicas, isr, leader, leaderEpoch, partitionEpoch), SCRAM credentials by user and mechanism (salted hashes only),
 * ACLs (by id and indexed by resource pattern for `authorize`, see acl.ts),
 * `appliedIndex`, the raft snapshot of all of it, and the queries brokers and the controller ask.
 *
 * Invariants, asserted on every apply (only a controller bug can break them, and applying a broken record would
 * corrupt every broker's view, so the process crashes instead): `leader ∈ isr ⊆ replicas` or `leader = NO_LEADER`;
 * the ISR is never empty and lists have no duplicates; `leaderEpoch` and `partitionEpoch` never go back, every
 * change bumps `partitionEpoch` and a leader change bumps `leaderEpoch`; broker state records name the registered
 * incarnation; `appliedIndex` never goes back. Batch-level invariants (every topic has all its partitions, every
 * leader is an unfenced live broker) hold between batches and are checked by `invariantProblems()`.
 *
 * Stored objects are frozen and replaced, never mutated, so queries hand them out without copying and `clone()` is
 * a copy of the maps only. Everything is synchronous; there is no I/O.
 */
import assert from 'node:assert/strict'
import { ErrorCode, GregorError, type LeaderEpoch, type NodeId, type RaftIndex, leaderEpoch, raftIndex } from '@gregor/common'
import { type Acl, AclIndex } from './acl.js'
import { imageProblems, partitionProblems } from './image-invariants.js'
import { decodeMetadataSnapshot, encodeMetadataSnapshot } from './metadata-snapshot.js'
import {
  type AccessControlEntryRecord, type AddPartitionsRecord, type BrokerListener, type BrokerStateRecord, type MetadataRecord, type PartitionChangeRecord, type PartitionRecord,
  type RegisterBrokerRecord, type RemoveUserScramCredentialRecord, type TopicConfigChangeRecord, type TopicRecord,
  type UserScramCredentialRecord, NO_LEADER,
} from './metadata-record.js'
import type { ScramCredential, ScramMechanism } from './scram-credential.js'
import type { TopicConfig } from './topic-config.js'
import { isInternalTopicName } from './topic-name.js'

export interface BrokerRegistration {
  readonly brokerId: NodeId
  readonly incarnationId: string
  readonly listeners: readonly BrokerListener[]
  readonly rack?: string
  /** KIP-858: the id of the broker's log directory as this incarnation registered it (absent: not reported). */
  readonly logDirId?: string
  /** A fenced broker may not lead or join an ISR. Brokers register fenced and are unfenced once caught up (KRaft). */
  readonly fenced: boolean
  /** In controlled shutdown: not electable and not eligible for an ISR, until it registers a new incarnation. */
  readonly shuttingDown: boolean
  /**
   * The Raft index of this incarnation's RegisterBroker record (Kafka's broker epoch): unique to the incarnation,
   * cluster-wide and forever, so the broker can hand out producer ids without asking anyone. 0 when unknown (an
   * image restored from a snapshot written before the field existed).
   */
  readonly brokerEpoch: number
}

export interface TopicImage {
  readonly name: string
  readonly topicId: string
  readonly partitionCount: number
  readonly config: TopicConfig
}

/** A partition as the image holds it: the fields of its Partition record, kept current by PartitionChanges. */
export type PartitionImage = Omit<PartitionRecord, 'type'>

export interface PartitionDescription extends Omit<PartitionImage, 'topicId'> {
  /** Replicas whose broker is fenced, shutting down or gone (Kafka's "Offline:" column). */
  readonly offlineReplicas: readonly NodeId[]
  readonly underReplicated: boolean
  readonly underMinIsr: boolean
}

export interface TopicDescription extends TopicImage {
  readonly internal: boolean
  readonly partitions: readonly PartitionDescription[]
}

/** One user's SCRAM credential for one mechanism, as its record carried it (base64 fields). */
export type UserScramCredentialImage = Omit<UserScramCredentialRecord, 'type'>

/** A user with SCRAM credentials and the mechanisms they cover (what `gregor users list` prints; no secrets). */
export interface ScramUser {
  readonly name: string
  readonly mechanisms: readonly { readonly mechanism: ScramMechanism, readonly iterations: number }[]
}

/** Everything the image holds, in canonical order: what a snapshot stores. */
export interface MetadataImageState {
  readonly appliedIndex: RaftIndex
  readonly brokers: readonly BrokerRegistration[]
  readonly topics: readonly (TopicImage & { readonly partitions: readonly PartitionImage[] })[]
  /** By user name, then mechanism. */
  readonly scramCredentials: readonly UserScramCredentialImage[]
  /** In `compareAcls` order. */
  readonly acls: readonly Acl[]
}

/** A credential's key in the image: user names are printable (no control characters), so `\n` cannot be in one. */
const credentialKey = (name: string, mechanism: ScramMechanism): string => `${name}\n${mechanism}`
const byNameAndMechanism = (a: UserScramCredentialImage, b: UserScramCredentialImage): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.mechanism < b.mechanism ? -1 : a.mechanism > b.mechanism ? 1 : 0

const byBrokerId = (a: { brokerId: NodeId }, b: { brokerId: NodeId }): number => a.brokerId - b.brokerId
const freezeList = <T>(list: readonly T[]): readonly T[] => Object.freeze([...list])

export class MetadataImage {
  #appliedIndex: RaftIndex = raftIndex(0)
  readonly #brokers = new Map<NodeId, BrokerRegistration>()
  readonly #topicsById = new Map<string, TopicImage>()
  readonly #topicIdsByName = new Map<string, string>()
  readonly #partitionsByTopicId = new Map<string, Map<number, PartitionImage>>()
  readonly #scramCredentials = new Map<string, UserScramCredentialImage>()
  #acls = new AclIndex()

  /** The Raft index of the last entry applied (records of one entry share its index). */
  get appliedIndex (): RaftIndex {
    return this.#appliedIndex
  }

  /** Applies one Raft entry's records atomically (no query can run between them) and advances to `index`. */
  applyBatch (records: readonly MetadataRecord[], index: RaftIndex): void {
    assert(Number.isSafeInteger(index) && index > this.#appliedIndex,
      `metadata entry ${index} applied after entry ${this.#appliedIndex}`)
    for (const record of records) this.apply(record, index)
    this.#appliedIndex = index
  }

  /** Applies one record of the entry at `index`; records must come in log order. */
  apply (record: MetadataRecord, index: RaftIndex): void {
    assert(Number.isSafeInteger(index) && index >= this.#appliedIndex,
      `metadata record at index ${index} applied after index ${this.#appliedIndex}`)
    switch (record.type) {
      case 'RegisterBroker': this.#registerBroker(record, index); break
      case 'UnregisterBroker': this.#unregisterBroker(record); break
      case 'FenceBroker': this.#changeBroker(record, 'fenced', true); break
      case 'UnfenceBroker': this.#changeBroker(record, 'fenced', false); break
      case 'BrokerShutdownRequested': this.#changeBroker(record, 'shuttingDown', true); break
      case 'Topic': this.#createTopic(record); break
      case 'Partition': this.#createPartition(record); break
      case 'PartitionChange': this.#changePartition(record); break
      case 'AddPartitions': this.#addPartitions(record); break
      case 'RemoveTopic': this.#removeTopic(record.topicId); break
      case 'TopicConfigChange': this.#changeTopicConfig(record); break
      case 'UserScramCredential': this.#putScramCredential(record); break
      case 'RemoveUserScramCredential': this.#removeScramCredential(record); break
      case 'AccessControlEntry': this.#addAcl(record); break
      case 'RemoveAccessControlEntry':
        assert(this.#acls.remove(record.id) !== undefined, `RemoveAccessControlEntry for unknown ACL id ${record.id}`)
        break
      default: assert.fail(`unknown metadata record type ${(record as { type: string }).type}`)
    }
    this.#appliedIndex = index
  }

  #registerBroker (record: RegisterBrokerRecord, index: RaftIndex): void {
    // A re-registration replaces the old incarnation outright; the controller has already moved its leaderships.
    const registration: BrokerRegistration = {
      brokerId: record.brokerId,
      incarnationId: record.incarnationId,
      listeners: freezeList(record.listeners.map((listener) => Object.freeze({ ...listener }))),
      ...(record.rack === undefined ? {} : { rack: record.rack }),
      ...(record.logDirId === undefined ? {} : { logDirId: record.logDirId }),
      fenced: true,
      shuttingDown: false,
      brokerEpoch: index,
    }
    this.#brokers.set(record.brokerId, Object.freeze(registration))
  }

  #registeredIncarnation (record: BrokerStateRecord): BrokerRegistration {
    const broker = this.#brokers.get(record.brokerId)
    assert(broker !== undefined, `${record.type} for unregistered broker ${record.brokerId}`)
    assert.equal(broker.incarnationId, record.incarnationId,
      `${record.type} for broker ${record.brokerId} names incarnation ${record.incarnationId}, not the registered one`)
    return broker
  }

  #unregisterBroker (record: BrokerStateRecord): void {
    assert(this.#registeredIncarnation(record).fenced, `broker ${record.brokerId} unregistered while unfenced`)
    this.#brokers.delete(record.brokerId)
  }

  /** Each broker state record is a transition; repeating one means the controller decided on a stale image. */
  #changeBroker (record: BrokerStateRecord, flag: 'fenced' | 'shuttingDown', value: boolean): void {
    const broker = this.#registeredIncarnation(record)
    assert.notEqual(broker[flag], value, `${record.type} for broker ${record.brokerId}, which is already ${flag}=${value}`)
    if (record.type === 'UnfenceBroker') assert(!broker.shuttingDown, `broker ${record.brokerId} unfenced while shutting down`)
    this.#brokers.set(record.brokerId, Object.freeze({ ...broker, [flag]: value }))
  }

  #createTopic (record: TopicRecord): void {
    assert(!this.#topicIdsByName.has(record.name), `topic ${record.name} created twice`)
    assert(!this.#topicsById.has(record.topicId), `topic id ${record.topicId} reused`)
    assert(Number.isSafeInteger(record.partitionCount) && record.partitionCount >= 1)
    const { name, topicId, partitionCount } = record
    this.#topicsById.set(topicId, Object.freeze({ name, topicId, partitionCount, config: Object.freeze({ ...record.config }) }))
    this.#topicIdsByName.set(name, topicId)
    this.#partitionsByTopicId.set(topicId, new Map())
  }

  #createPartition (record: PartitionRecord): void {
    const topic = this.#topicsById.get(record.topicId)
    assert(topic !== undefined, `Partition record for unknown topic id ${record.topicId}`)
    assert(Number.isSafeInteger(record.partition) && record.partition >= 0 && record.partition < topic.partitionCount,
      `partition ${record.partition} outside topic ${topic.name}'s ${topic.partitionCount} partitions`)
    const partitions = this.#partitionsByTopicId.get(record.topicId)
    assert(partitions !== undefined && !partitions.has(record.partition), `${topic.name}-${record.partition} created twice`)
    const { type: _type, ...fields } = record
    this.#putPartition(fields)
  }

  #changePartition (record: PartitionChangeRecord): void {
    const current = this.partition(record.topicId, record.partition)
    assert(current !== undefined, `PartitionChange for unknown partition ${record.topicId}-${record.partition}`)
    assert(record.leader !== undefined || record.isr !== undefined || record.replicas !== undefined || record.elr !== undefined,
      'PartitionChange that changes nothing')
    const replicas = record.replicas ?? current.replicas
    const replicaRemoved = current.replicas.some((id) => !replicas.includes(id))
    // KRaft bumps the leader epoch for a leader change and when a replica leaves the assignment (so the removed
    // replica's fetches are fenced); any other `leader` field would be a pointless bump, so it is a bug here.
    assert(record.leader === undefined ? !replicaRemoved : record.leader !== current.leader || replicaRemoved,
      `PartitionChange for ${record.topicId}-${record.partition} sets leader iff the leader changes or a replica leaves`)
    const next: PartitionImage = {
      ...current,
      replicas,
      isr: record.isr ?? current.isr,
      ...(record.elr !== undefined ? { elr: record.elr } : {}),
      leader: record.leader ?? current.leader,
      leaderEpoch: record.leader === undefined ? current.leaderEpoch : leaderEpoch(current.leaderEpoch + 1),
      partitionEpoch: current.partitionEpoch + 1,
    }
    this.#putPartition(next)
  }

  #putPartition (partition: PartitionImage): void {
    const problems = partitionProblems(partition)
    assert(problems.length === 0, `${partition.topicId}-${partition.partition}: ${problems.join('; ')}`)
    const frozen: PartitionImage = Object.freeze({
      ...partition, replicas: freezeList(partition.replicas), isr: freezeList(partition.isr),
      ...(partition.elr === undefined ? {} : { elr: freezeList(partition.elr) }),
    })
    const partitions = this.#partitionsByTopicId.get(partition.topicId)
    assert(partitions !== undefined)
    partitions.set(partition.partition, frozen)
  }

  #addPartitions (record: AddPartitionsRecord): void {
    const topic = this.#topicsById.get(record.topicId)
    assert(topic !== undefined, `AddPartitions for unknown topic id ${record.topicId}`)
    assert(record.partitionCount > topic.partitionCount,
      `AddPartitions for ${topic.name} to ${record.partitionCount} partitions, not above its ${topic.partitionCount}`)
    this.#topicsById.set(record.topicId, Object.freeze({ ...topic, partitionCount: record.partitionCount }))
  }

  #changeTopicConfig (record: TopicConfigChangeRecord): void {
    const topic = this.#topicsById.get(record.topicId)
    assert(topic !== undefined, `TopicConfigChange for unknown topic id ${record.topicId}`)
    this.#topicsById.set(record.topicId, Object.freeze({ ...topic, config: Object.freeze({ ...record.config }) }))
  }

  #putScramCredential (record: UserScramCredentialRecord): void {
    const { type: _type, ...credential } = record
    this.#scramCredentials.set(credentialKey(record.name, record.mechanism), Object.freeze(credential))
  }

  #removeScramCredential (record: RemoveUserScramCredentialRecord): void {
    const key = credentialKey(record.name, record.mechanism)
    assert(this.#scramCredentials.has(key), `RemoveUserScramCredential for ${record.name}'s absent ${record.mechanism} credential`)
    this.#scramCredentials.delete(key)
  }

  /** CreateAcls never writes an ACL twice: the controller decided on a stale image if it does. */
  #addAcl (record: AccessControlEntryRecord): void {
    const { type: _type, ...acl } = record
    assert(this.#acls.byId(acl.id) === undefined, `ACL id ${acl.id} reused`)
    assert(this.#acls.idOf(acl) === undefined, `ACL ${acl.id} repeats ACL ${this.#acls.idOf(acl) ?? ''}`)
    this.#acls.add(acl)
  }

  #removeTopic (topicId: string): void {
    const topic = this.#topicsById.get(topicId)
    assert(topic !== undefined, `RemoveTopic for unknown topic id ${topicId}`)
    this.#topicsById.delete(topicId)
    this.#topicIdsByName.delete(topic.name)
    this.#partitionsByTopicId.delete(topicId)
  }

  // ---- queries -------------------------------------------------------------------------------------------------

  broker (brokerId: NodeId): BrokerRegistration | undefined {
    return this.#brokers.get(brokerId)
  }

  /** Every registered broker, by id. */
  brokers (): readonly BrokerRegistration[] {
    return [...this.#brokers.values()].sort(byBrokerId)
  }

  /** Brokers that may lead and host new replicas: registered, unfenced and not shutting down. */
  liveBrokers (): readonly BrokerRegistration[] {
    return this.brokers().filter((broker) => !broker.fenced && !broker.shuttingDown)
  }

  topic (name: string): TopicImage | undefined {
    const topicId = this.#topicIdsByName.get(name)
    return topicId === undefined ? undefined : this.#topicsById.get(topicId)
  }

  topicById (topicId: string): TopicImage | undefined {
    return this.#topicsById.get(topicId)
  }

  /** Every topic, by name. */
  topics (): readonly TopicImage[] {
    return [...this.#topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  partition (topicId: string, partition: number): PartitionImage | undefined {
    return this.#partitionsByTopicId.get(topicId)?.get(partition)
  }

  /** A topic's partitions, by index. */
  partitionsOf (topicId: string): readonly PartitionImage[] {
    return [...(this.#partitionsByTopicId.get(topicId)?.values() ?? [])].sort((a, b) => a.partition - b.partition)
  }

  /** Every partition, topics by name and partitions by index: the order decisions visit them in. */
  partitions (): readonly PartitionImage[] {
    return this.topics().flatMap((topic) => this.partitionsOf(topic.topicId))
  }

  partitionsLedBy (brokerId: NodeId): readonly PartitionImage[] {
    return this.partitions().filter((partition) => partition.leader === brokerId)
  }

  /** The partitions a broker hosts a replica of (what its replica manager must serve or follow). */
  partitionsReplicatedOn (brokerId: NodeId): readonly PartitionImage[] {
    return this.partitions().filter((partition) => partition.replicas.includes(brokerId))
  }

  /** ISR smaller than the assignment (Kafka's UnderReplicatedPartitions). */
  underReplicatedPartitions (): readonly PartitionImage[] {
    return this.partitions().filter((partition) => partition.isr.length < partition.replicas.length)
  }

  /** ISR smaller than the topic's minInsyncReplicas: acks=all produce fails (Kafka's UnderMinIsrPartitionCount). */
  underMinIsrPartitions (): readonly PartitionImage[] {
    return this.partitions().filter((partition) => this.#underMinIsr(partition))
  }

  /** No leader (Kafka's OfflinePartitionsCount). */
  offlinePartitions (): readonly PartitionImage[] {
    return this.partitions().filter((partition) => partition.leader === NO_LEADER)
  }

  /** Partitions led per broker, with every registered broker present (0 when it leads nothing). */
  leaderCounts (): ReadonlyMap<NodeId, number> {
    const counts = new Map<NodeId, number>(this.brokers().map((broker) => [broker.brokerId, 0]))
    for (const partition of this.partitions()) {
      if (partition.leader !== NO_LEADER) counts.set(partition.leader, (counts.get(partition.leader) ?? 0) + 1)
    }
    return counts
  }

  /** What `gregor topics describe` prints: leader, replicas, ISR and offline replicas per partition. */
  describeTopic (name: string): TopicDescription | undefined {
    const topic = this.topic(name)
    if (topic === undefined) return undefined
    const partitions = this.partitionsOf(topic.topicId).map(({ topicId: _topicId, ...partition }) => ({
      ...partition,
      offlineReplicas: partition.replicas.filter((id) => {
        const broker = this.#brokers.get(id)
        return broker === undefined || broker.fenced || broker.shuttingDown
      }),
      underReplicated: partition.isr.length < partition.replicas.length,
      underMinIsr: partition.isr.length < topic.config.minInsyncReplicas,
    }))
    return { ...topic, internal: isInternalTopicName(name), partitions }
  }

  #underMinIsr (partition: PartitionImage): boolean {
    const topic = this.#topicsById.get(partition.topicId)
    return topic !== undefined && partition.isr.length < topic.config.minInsyncReplicas
  }

  /** A user's credential for `mechanism`, its salt and keys as bytes; undefined when the user has none. */
  scramCredential (name: string, mechanism: ScramMechanism): ScramCredential | undefined {
    const stored = this.#scramCredentials.get(credentialKey(name, mechanism))
    if (stored === undefined) return undefined
    return {
      salt: Buffer.from(stored.salt, 'base64'),
      storedKey: Buffer.from(stored.storedKey, 'base64'),
      serverKey: Buffer.from(stored.serverKey, 'base64'),
      iterations: stored.iterations,
    }
  }

  /** Every credential, by user then mechanism (the image's form: base64 fields). */
  scramCredentials (): readonly UserScramCredentialImage[] {
    return [...this.#scramCredentials.values()].sort(byNameAndMechanism)
  }

  /** Users with credentials and their mechanisms, by name: no salt, no keys. */
  scramUsers (): readonly ScramUser[] {
    const users = new Map<string, { mechanism: ScramMechanism, iterations: number }[]>()
    for (const { name, mechanism, iterations } of this.scramCredentials()) {
      const list = users.get(name) ?? []
      list.push({ mechanism, iterations })
      users.set(name, list)
    }
    return [...users].map(([name, mechanisms]) => ({ name, mechanisms }))
  }

  /**
   * The ACLs, indexed for `authorize` (acl.ts). A live view: it changes as records are applied, so a caller that
   * must not see changes clones the image first.
   */
  acls (): AclIndex {
    return this.#acls
  }

  /** Broken invariants, batch-level ones included; empty for a healthy image. For tests and snapshot restore. */
  invariantProblems (): string[] {
    return imageProblems(this)
  }

  // ---- copies and snapshots ------------------------------------------------------------------------------------

  /** An independent copy (for a controller's speculative image, or a decision's scratch state). */
  clone (): MetadataImage {
    const copy = new MetadataImage()
    copy.#appliedIndex = this.#appliedIndex
    for (const [id, broker] of this.#brokers) copy.#brokers.set(id, broker)
    for (const [id, topic] of this.#topicsById) copy.#topicsById.set(id, topic)
    for (const [name, id] of this.#topicIdsByName) copy.#topicIdsByName.set(name, id)
    for (const [id, partitions] of this.#partitionsByTopicId) copy.#partitionsByTopicId.set(id, new Map(partitions))
    for (const [key, credential] of this.#scramCredentials) copy.#scramCredentials.set(key, credential)
    copy.#acls = this.#acls.clone()
    return copy
  }

  /** Everything, in canonical order (brokers by id, topics by name, partitions by index). */
  state (): MetadataImageState {
    return {
      appliedIndex: this.#appliedIndex,
      brokers: this.brokers(),
      topics: this.topics().map((topic) => ({ ...topic, partitions: this.partitionsOf(topic.topicId) })),
      scramCredentials: this.scramCredentials(),
      acls: this.#acls.all(),
    }
  }

  /** The raft snapshot of this image; `restore(snapshot())` is an identical image, byte for byte. */
  snapshot (): Uint8Array {
    return encodeMetadataSnapshot(this.state())
  }

  /**
   * The image a snapshot describes. A snapshot comes from disk or a peer, so anything malformed or inconsistent is
   * GregorError INVALID_REQUEST rather than an assertion.
   */
  static restore (bytes: Uint8Array): MetadataImage {
    const state = decodeMetadataSnapshot(bytes)
    const image = new MetadataImage()
    image.#appliedIndex = state.appliedIndex
    const reject = (problem: string): GregorError =>
      new GregorError(ErrorCode.INVALID_REQUEST, `inconsistent metadata snapshot: ${problem}`)
    for (const broker of state.brokers) {
      if (image.#brokers.has(broker.brokerId)) throw reject(`broker ${broker.brokerId} appears twice`)
      image.#brokers.set(broker.brokerId, broker)
    }
    for (const { partitions, ...topic } of state.topics) {
      if (image.#topicIdsByName.has(topic.name)) throw reject(`topic ${topic.name} appears twice`)
      if (image.#topicsById.has(topic.topicId)) throw reject(`topic id ${topic.topicId} appears twice`)
      image.#topicsById.set(topic.topicId, topic)
      image.#topicIdsByName.set(topic.name, topic.topicId)
      const byIndex = new Map<number, PartitionImage>()
      for (const partition of partitions) {
        if (byIndex.has(partition.partition)) throw reject(`${topic.name}-${partition.partition} appears twice`)
        byIndex.set(partition.partition, partition)
      }
      image.#partitionsByTopicId.set(topic.topicId, byIndex)
    }
    for (const credential of state.scramCredentials) {
      const key = credentialKey(credential.name, credential.mechanism)
      if (image.#scramCredentials.has(key)) throw reject(`${credential.mechanism} credential of ${credential.name} appears twice`)
      image.#scramCredentials.set(key, credential)
    }
    for (const acl of state.acls) {
      if (image.#acls.byId(acl.id) !== undefined) throw reject(`ACL id ${acl.id} appears twice`)
      if (image.#acls.idOf(acl) !== undefined) throw reject(`ACL ${acl.id} repeats ACL ${image.#acls.idOf(acl) ?? ''}`)
      image.#acls.add(acl)
    }
    const problems = image.invariantProblems()
    if (problems.length > 0) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, `inconsistent metadata snapshot: ${problems.join('; ')}`,
        { details: { problems } })
    }
    return image
  }
}

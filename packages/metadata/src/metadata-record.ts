/**
 * The metadata log's vocabulary: every fact the cluster knows is one of these records (KRaft's metadata records,
 * KIP-631), proposed by the active controller and applied in log order to the `MetadataImage` on every broker.
 *
 * Owns: the record shapes, `NO_LEADER`, and the hard limits the codec enforces on every field. Records are plain,
 * immutable data; what applying one means (and which invariants it must keep) belongs to `MetadataImage`.
 *
 * Vocabulary: brokers are `NodeId`s (a broker is a Raft voter in combined mode); a partition's leadership is counted
 * in `leaderEpoch`, every change to it in `partitionEpoch` (KIP-380/KIP-704); neither is ever a Raft term.
 */
import { type LeaderEpoch, type NodeId, nodeId } from '@gregor/common'
import type { AclBinding } from './acl.js'
import type { ScramMechanism } from './scram-credential.js'
import type { TopicConfig } from './topic-config.js'

/** A partition with no leader (Kafka `LeaderConstants.NO_LEADER`): offline until an ISR member is electable. */
export const NO_LEADER: NodeId = nodeId(-1)

/** Ceilings on every field, so a corrupt or hostile record cannot make a broker allocate without bound. */
export const metadataLimits = Object.freeze({
  /** Broker ids, partition indexes and epochs are int32 on Kafka's wire; so they are here. */
  int32Max: 2 ** 31 - 1,
  partitionCountMax: 100_000,
  replicasMax: 128,
  listenersMax: 16,
  /** Topic ids and incarnation ids: caller-made UUIDs or similar tokens. */
  idLengthMax: 64,
  hostLengthMax: 255,
  rackLengthMax: 255,
  /** SCRAM user names (Kafka puts no limit on them; 255 is generous and bounds the image). */
  userNameLengthMax: 255,
  /** Base64 of a salt or key: SCRAM-SHA-512 keys are 64 bytes, salts are ours or a client's (Kafka allows 64). */
  scramBase64LengthMax: 512,
  /** ACL resource names: topic names are at most 249 characters, group ids are unbounded in Kafka. */
  aclResourceNameLengthMax: 1024,
})

export interface BrokerListener {
  /** The listener's name, e.g. `INTERNAL` or `EXTERNAL`. */
  readonly name: string
  readonly host: string
  readonly port: number
}

/** A broker (re)joins: it starts fenced (KRaft) and is unfenced once it has caught up with the metadata log. */
export interface RegisterBrokerRecord {
  readonly type: 'RegisterBroker'
  readonly brokerId: NodeId
  /** Unique per process start (made by the caller): a new incarnation means the broker restarted. */
  readonly incarnationId: string
  readonly listeners: readonly BrokerListener[]
  readonly rack?: string
  /**
   * KIP-858: the id written into the broker's log directory when it was created. A registration naming another id
   * than the previous one means the disk was replaced or wiped: the broker's replicas hold nothing any more.
   */
  readonly logDirId?: string
}

/** The broker records that change one registration name its incarnation, like KRaft's broker epoch. */
interface BrokerIncarnationFields {
  readonly brokerId: NodeId
  readonly incarnationId: string
}

/** A fenced broker leaves the cluster for good (decommissioning). */
export interface UnregisterBrokerRecord extends BrokerIncarnationFields { readonly type: 'UnregisterBroker' }
/** The broker's session expired: it may not lead and may not join an ISR. */
export interface FenceBrokerRecord extends BrokerIncarnationFields { readonly type: 'FenceBroker' }
/** The broker caught up with the metadata log: it may lead again. */
export interface UnfenceBrokerRecord extends BrokerIncarnationFields { readonly type: 'UnfenceBroker' }
/** Controlled shutdown began: leadership moves away and the broker may not lead or join an ISR until it restarts. */
export interface BrokerShutdownRequestedRecord extends BrokerIncarnationFields { readonly type: 'BrokerShutdownRequested' }

/** The records that change an existing registration. */
export type BrokerStateRecord =
  | UnregisterBrokerRecord | FenceBrokerRecord | UnfenceBrokerRecord | BrokerShutdownRequestedRecord

/** A topic; its partitions follow as Partition records in the same batch. */
export interface TopicRecord {
  readonly type: 'Topic'
  readonly name: string
  /** Unique for all time (made by the caller), so a recreated topic is never confused with its predecessor. */
  readonly topicId: string
  readonly partitionCount: number
  readonly config: TopicConfig
}

/** One partition's full state, as created. */
export interface PartitionRecord {
  readonly type: 'Partition'
  readonly topicId: string
  readonly partition: number
  /** The assignment; its order is the election order, and `replicas[0]` is the preferred leader. */
  readonly replicas: readonly NodeId[]
  /**
   * Empty only with `NO_LEADER`: the last in-sync replica came back without its data (a wiped log directory), so no
   * replica is known to hold every acknowledged record and none may be elected (KIP-966's empty ISR and ELR).
   */
  readonly isr: readonly NodeId[]
  /**
   * KIP-966 eligible leader replicas: members that left the ISR while it was below `min.insync.replicas`. No record
   * can commit without `min.insync.replicas` members, so they hold every committed record and may be elected when no
   * ISR member can lead. Disjoint from `isr`; cleared once the ISR reaches the minimum again. Absent: none.
   */
  readonly elr?: readonly NodeId[]
  /** `NO_LEADER` when the partition is offline. */
  readonly leader: NodeId
  readonly leaderEpoch: LeaderEpoch
  readonly partitionEpoch: number
}

/**
 * A change to one partition; absent fields are unchanged. Applying it bumps `partitionEpoch`, and bumps
 * `leaderEpoch` exactly when `leader` is present (KRaft `PartitionRegistration.merge`). The controller sets `leader`
 * only when the leader changes, or to bump the epoch when a replica is removed from the assignment
 * (KRaft `PartitionChangeBuilder.triggerLeaderEpochBumpIfNeeded`).
 */
export interface PartitionChangeRecord {
  readonly type: 'PartitionChange'
  readonly topicId: string
  readonly partition: number
  readonly leader?: NodeId
  readonly isr?: readonly NodeId[]
  readonly elr?: readonly NodeId[]
  readonly replicas?: readonly NodeId[]
}

/**
 * A topic grows to `partitionCount` partitions (Kafka's CreatePartitions; never shrinks). The new partitions follow
 * as Partition records in the same batch, so no committed image has a topic missing some of its partitions.
 */
export interface AddPartitionsRecord {
  readonly type: 'AddPartitions'
  readonly topicId: string
  readonly partitionCount: number
}

/**
 * A topic's config changes after creation (Kafka's IncrementalAlterConfigs on a TOPIC resource): `config` is the
 * whole new effective config, so applying it needs nothing but the record. Brokers apply it to every open replica
 * of the topic (see PartitionLog.setConfig for what takes effect when).
 */
export interface TopicConfigChangeRecord {
  readonly type: 'TopicConfigChange'
  readonly topicId: string
  readonly config: TopicConfig
}

/** A topic and all its partitions are deleted. */
export interface RemoveTopicRecord {
  readonly type: 'RemoveTopic'
  readonly topicId: string
}

/**
 * A user's SCRAM credential for one mechanism is set or replaced (KRaft's UserScramCredentialRecord): the salt,
 * StoredKey and ServerKey (base64) and the iteration count, never the password (see scram-credential.ts).
 */
export interface UserScramCredentialRecord {
  readonly type: 'UserScramCredential'
  readonly name: string
  readonly mechanism: ScramMechanism
  readonly salt: string
  readonly storedKey: string
  readonly serverKey: string
  readonly iterations: number
}

/** A user's SCRAM credential for one mechanism is deleted (KRaft writes a RemoveUserScramCredentialRecord). */
export interface RemoveUserScramCredentialRecord {
  readonly type: 'RemoveUserScramCredential'
  readonly name: string
  readonly mechanism: ScramMechanism
}

/**
 * An ACL is created (KRaft's AccessControlEntryRecord): a resource pattern, a principal and host, an operation and
 * a permission, under an id unique for all time. See acl.ts for what it means.
 */
export interface AccessControlEntryRecord extends AclBinding {
  readonly type: 'AccessControlEntry'
  readonly id: string
}

/** An ACL is deleted, by id (KRaft's RemoveAccessControlEntryRecord). */
export interface RemoveAccessControlEntryRecord {
  readonly type: 'RemoveAccessControlEntry'
  readonly id: string
}

export type MetadataRecord =
  | RegisterBrokerRecord
  | UnregisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | BrokerShutdownRequestedRecord
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | AddPartitionsRecord
  | TopicConfigChangeRecord
  | RemoveTopicRecord
  | UserScramCredentialRecord
  | RemoveUserScramCredentialRecord
  | AccessControlEntryRecord
  | RemoveAccessControlEntryRecord

export type MetadataRecordType = MetadataRecord['type']

/**
 * The bytes of a metadata image snapshot (Raft log compaction): versioned JSON of the image's full state in canonical
 * order, so equal images give equal bytes and `encode(decode(bytes))` returns the same bytes.
 *
 * Owns: the snapshot layout and its strict reader. A snapshot arrives from disk or from the leader
 * (InstallSnapshot), so decoding checks every field (GregorError INVALID_REQUEST naming it); cross-field consistency
 * (duplicates, invariants) is checked by `MetadataImage.restore`, which builds the image.
 */
import { type RaftIndex, raftIndex } from '@gregor/common'
import { malformed, parseJsonBytes, readArray, readBoolean, readInteger, readObject, withContext } from './json-reader.js'
import type { Acl } from './acl.js'
import type { BrokerRegistration, MetadataImageState, PartitionImage, TopicImage, UserScramCredentialImage } from './metadata-image.js'
import {
  readBrokerId, readBrokerIds, readId, readLeader, readLeaderEpoch, readListeners, readMetadataRecord, readPartitionEpoch,
  readPartitionIndex, readRack, readTopicConfig, readTopicName,
} from './metadata-record-codec.js'
import { metadataLimits } from './metadata-record.js'

export const METADATA_SNAPSHOT_VERSION = 1

const brokersMax = 100_000
const topicsMax = 1_000_000
const scramCredentialsMax = 1_000_000
const aclsMax = 1_000_000

type TopicState = MetadataImageState['topics'][number]

function brokerJson (broker: BrokerRegistration): object {
  return {
    brokerId: broker.brokerId,
    incarnationId: broker.incarnationId,
    listeners: broker.listeners.map(({ name, host, port }) => ({ name, host, port })),
    ...(broker.rack === undefined ? {} : { rack: broker.rack }),
    ...(broker.logDirId === undefined ? {} : { logDirId: broker.logDirId }),
    fenced: broker.fenced,
    shuttingDown: broker.shuttingDown,
    brokerEpoch: broker.brokerEpoch,
  }
}

function topicJson (topic: TopicState): object {
  const { config } = topic
  return {
    name: topic.name,
    topicId: topic.topicId,
    partitionCount: topic.partitionCount,
    config: {
      minInsyncReplicas: config.minInsyncReplicas,
      retentionMs: config.retentionMs,
      retentionBytes: config.retentionBytes,
      segmentBytes: config.segmentBytes,
      segmentMs: config.segmentMs,
      maxMessageBytes: config.maxMessageBytes,
      cleanupPolicy: config.cleanupPolicy,
      deleteRetentionMs: config.deleteRetentionMs,
      minCleanableDirtyRatio: config.minCleanableDirtyRatio,
      minCompactionLagMs: config.minCompactionLagMs,
    },
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      replicas: p.replicas,
      isr: p.isr,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
    })),
  }
}

function scramCredentialJson (credential: UserScramCredentialImage): object {
  const { name, mechanism, salt, storedKey, serverKey, iterations } = credential
  return { name, mechanism, salt, storedKey, serverKey, iterations }
}

/** A credential is checked as its record would be: one validator for both. */
function readScramCredential (value: unknown, path: string): UserScramCredentialImage {
  const record = readMetadataRecord({ ...readObject(value, path, [], ['name', 'mechanism', 'salt', 'storedKey', 'serverKey', 'iterations']), type: 'UserScramCredential' }, path)
  if (record.type !== 'UserScramCredential') throw malformed(path, 'is not a SCRAM credential')
  const { type: _type, ...credential } = record
  return Object.freeze(credential)
}

function aclJson (acl: Acl): object {
  const { id, resourceType, resourceName, patternType, principal, host, operation, permission } = acl
  return { id, resourceType, resourceName, patternType, principal, host, operation, permission }
}

/** An ACL is checked as its record would be: one validator for both. */
function readAcl (value: unknown, path: string): Acl {
  const keys = ['id', 'resourceType', 'resourceName', 'patternType', 'principal', 'host', 'operation', 'permission']
  const record = readMetadataRecord({ ...readObject(value, path, keys), type: 'AccessControlEntry' }, path)
  if (record.type !== 'AccessControlEntry') throw malformed(path, 'is not an ACL')
  const { type: _type, ...acl } = record
  return Object.freeze(acl)
}

export function encodeMetadataSnapshot (state: MetadataImageState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    v: METADATA_SNAPSHOT_VERSION,
    appliedIndex: state.appliedIndex,
    brokers: state.brokers.map(brokerJson),
    topics: state.topics.map(topicJson),
    // Written only when there are any, so a snapshot of a cluster without users reads the same as before they existed.
    ...(state.scramCredentials.length === 0 ? {} : { scramCredentials: state.scramCredentials.map(scramCredentialJson) }),
    ...(state.acls.length === 0 ? {} : { acls: state.acls.map(aclJson) }),
  }))
}

function readBroker (value: unknown, path: string): BrokerRegistration {
  const broker = readObject(value, path, ['brokerId', 'incarnationId', 'listeners', 'fenced', 'shuttingDown'], ['rack', 'brokerEpoch', 'logDirId'])
  return Object.freeze({
    brokerId: readBrokerId(broker.brokerId, `${path}.brokerId`),
    incarnationId: readId(broker.incarnationId, `${path}.incarnationId`),
    listeners: readListeners(broker.listeners, `${path}.listeners`),
    ...(broker.rack === undefined ? {} : { rack: readRack(broker.rack, `${path}.rack`) }),
    ...(broker.logDirId === undefined ? {} : { logDirId: readId(broker.logDirId, `${path}.logDirId`) }),
    fenced: readBoolean(broker.fenced, `${path}.fenced`),
    shuttingDown: readBoolean(broker.shuttingDown, `${path}.shuttingDown`),
    brokerEpoch: broker.brokerEpoch === undefined ? 0 : readInteger(broker.brokerEpoch, `${path}.brokerEpoch`, 0, Number.MAX_SAFE_INTEGER),
  })
}

function readPartition (value: unknown, path: string, topicId: string): PartitionImage {
  const partition = readObject(value, path, ['partition', 'replicas', 'isr', 'leader', 'leaderEpoch', 'partitionEpoch'], ['elr'])
  return Object.freeze({
    topicId,
    partition: readPartitionIndex(partition.partition, `${path}.partition`),
    replicas: readBrokerIds(partition.replicas, `${path}.replicas`),
    isr: readBrokerIds(partition.isr, `${path}.isr`, 0),
    ...(partition.elr === undefined ? {} : { elr: readBrokerIds(partition.elr, `${path}.elr`, 0) }),
    leader: readLeader(partition.leader, `${path}.leader`),
    leaderEpoch: readLeaderEpoch(partition.leaderEpoch, `${path}.leaderEpoch`),
    partitionEpoch: readPartitionEpoch(partition.partitionEpoch, `${path}.partitionEpoch`),
  })
}

function readTopic (value: unknown, path: string): TopicState {
  const object = readObject(value, path, ['name', 'topicId', 'partitionCount', 'config', 'partitions'])
  const topic: TopicImage = Object.freeze({
    name: readTopicName(object.name, `${path}.name`),
    topicId: readId(object.topicId, `${path}.topicId`),
    partitionCount: readInteger(object.partitionCount, `${path}.partitionCount`, 1, metadataLimits.partitionCountMax),
    config: readTopicConfig(object.config, `${path}.config`),
  })
  const partitions = readArray(object.partitions, `${path}.partitions`, 0, metadataLimits.partitionCountMax)
    .map((partition, i) => readPartition(partition, `${path}.partitions[${i}]`, topic.topicId))
  return { ...topic, partitions }
}

/** Throws GregorError INVALID_REQUEST on anything but a well-formed, current-version snapshot. */
export function decodeMetadataSnapshot (bytes: Uint8Array): MetadataImageState {
  return withContext('malformed metadata snapshot', () => {
    const snapshot = readObject(parseJsonBytes(bytes, 'snapshot'), 'snapshot', ['v', 'appliedIndex', 'brokers', 'topics'], ['scramCredentials', 'acls'])
    if (snapshot.v !== METADATA_SNAPSHOT_VERSION) {
      throw malformed('snapshot.v', `is ${JSON.stringify(snapshot.v)}; this broker reads version ${METADATA_SNAPSHOT_VERSION}`)
    }
    const appliedIndex: RaftIndex = raftIndex(readInteger(snapshot.appliedIndex, 'snapshot.appliedIndex', 0, Number.MAX_SAFE_INTEGER))
    const brokers = readArray(snapshot.brokers, 'snapshot.brokers', 0, brokersMax)
      .map((broker, i) => readBroker(broker, `snapshot.brokers[${i}]`))
    const topics = readArray(snapshot.topics, 'snapshot.topics', 0, topicsMax)
      .map((topic, i) => readTopic(topic, `snapshot.topics[${i}]`))
    const scramCredentials = snapshot.scramCredentials === undefined
      ? []
      : readArray(snapshot.scramCredentials, 'snapshot.scramCredentials', 1, scramCredentialsMax)
        .map((credential, i) => readScramCredential(credential, `snapshot.scramCredentials[${i}]`))
    const acls = snapshot.acls === undefined
      ? []
      : readArray(snapshot.acls, 'snapshot.acls', 1, aclsMax).map((acl, i) => readAcl(acl, `snapshot.acls[${i}]`))
    return { appliedIndex, brokers, topics, scramCredentials, acls }
  })
}

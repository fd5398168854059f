/**
 * The bytes of metadata records in the Raft log: versioned JSON (`{"v":1,"type":"Topic",...}`), compact enough for
 * metadata volumes and readable in a hex dump.
 *
 * Owns: `encodeMetadataRecord(s)` / `decodeMetadataRecord(s)` and `readMetadataRecord`, the strict validator behind
 * them. Decoding is given input from disk and network, so every field is checked (type, range, length, no unknown
 * keys, lists without duplicates, `leader ∈ isr ⊆ replicas` where one record holds all three) and anything else is
 * GregorError INVALID_REQUEST naming the field. Encoding runs the same validator first (a pair assertion, TigerBeetle
 * style): a controller bug that builds a bad record crashes the controller, instead of committing a record that
 * every broker would then refuse to apply.
 */
import assert from 'node:assert/strict'
import { type LeaderEpoch, type NodeId, leaderEpoch, nodeId } from '@gregor/common'
import { readAclBinding } from './acl.js'
import {
  malformed, parseJsonBytes, readAnyObject, readArray, readInteger, readObject, readOneOf, readString, withContext,
} from './json-reader.js'
import {
  type BrokerListener, type MetadataRecord, type MetadataRecordType, type PartitionChangeRecord, type PartitionRecord,
  type RegisterBrokerRecord, type TopicRecord, type UserScramCredentialRecord, metadataLimits,
} from './metadata-record.js'
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, scramHash, scramMechanisms } from './scram-credential.js'
import {
  type TopicConfig, defaultTopicConfig, laterTopicConfigKeys, normalizeCleanupPolicy, topicConfigFieldProblem, topicConfigKeys,
} from './topic-config.js'
import { topicNameProblem } from './topic-name.js'

/** The only version written; a reader meeting a newer one refuses it rather than guess. */
export const METADATA_RECORD_VERSION = 1

const recordsPerBatchMax = 1_000_000
const idPattern = /^[A-Za-z0-9_-]+$/
const hostPattern = /^[A-Za-z0-9.:_[\]-]+$/
const printablePattern = /^[^\p{Cc}]+$/u

const recordTypes: readonly MetadataRecordType[] = [
  'RegisterBroker', 'UnregisterBroker', 'FenceBroker', 'UnfenceBroker', 'BrokerShutdownRequested',
  'Topic', 'Partition', 'PartitionChange', 'AddPartitions', 'RemoveTopic', 'TopicConfigChange',
  'UserScramCredential', 'RemoveUserScramCredential', 'AccessControlEntry', 'RemoveAccessControlEntry',
]

export const readBrokerId = (value: unknown, path: string): NodeId =>
  nodeId(readInteger(value, path, 0, metadataLimits.int32Max))
export const readLeader = (value: unknown, path: string): NodeId =>
  nodeId(readInteger(value, path, -1, metadataLimits.int32Max))
export const readLeaderEpoch = (value: unknown, path: string): LeaderEpoch =>
  leaderEpoch(readInteger(value, path, 0, metadataLimits.int32Max))
export const readPartitionEpoch = (value: unknown, path: string): number =>
  readInteger(value, path, 0, metadataLimits.int32Max)
export const readPartitionIndex = (value: unknown, path: string): number =>
  readInteger(value, path, 0, metadataLimits.partitionCountMax - 1)
export const readId = (value: unknown, path: string): string =>
  readString(value, path, metadataLimits.idLengthMax, idPattern)

/** A non-empty list of distinct broker ids. */
export function readBrokerIds (value: unknown, path: string, minimum = 1): readonly NodeId[] {
  const ids = readArray(value, path, minimum, metadataLimits.replicasMax).map((id, i) => readBrokerId(id, `${path}[${i}]`))
  if (new Set(ids).size !== ids.length) throw malformed(path, 'must not repeat a broker')
  return Object.freeze(ids)
}

export function readListeners (value: unknown, path: string): readonly BrokerListener[] {
  const listeners = readArray(value, path, 1, metadataLimits.listenersMax).map((item, i) => {
    const at = `${path}[${i}]`
    const listener = readObject(item, at, ['name', 'host', 'port'])
    return Object.freeze({
      name: readString(listener.name, `${at}.name`, metadataLimits.idLengthMax, idPattern),
      host: readString(listener.host, `${at}.host`, metadataLimits.hostLengthMax, hostPattern),
      port: readInteger(listener.port, `${at}.port`, 1, 65535),
    })
  })
  if (new Set(listeners.map((listener) => listener.name)).size !== listeners.length) {
    throw malformed(path, 'must not repeat a listener name')
  }
  return Object.freeze(listeners)
}

export const readRack = (value: unknown, path: string): string =>
  readString(value, path, metadataLimits.rackLengthMax, printablePattern)

/** The topic config keys every record has; records written before `laterTopicConfigKeys` existed lack those. */
const requiredTopicConfigKeys = topicConfigKeys.filter((key) => !laterTopicConfigKeys.includes(key))

export function readTopicConfig (value: unknown, path: string): TopicConfig {
  const given = readObject(value, path, requiredTopicConfigKeys, laterTopicConfigKeys)
  // Records written before a key existed lack it: they mean its default.
  const config: Readonly<Record<string, unknown>> = {
    ...Object.fromEntries(laterTopicConfigKeys.map((key) => [key, defaultTopicConfig[key]])),
    ...given,
  }
  for (const key of topicConfigKeys) {
    const problem = topicConfigFieldProblem(key, config[key])
    if (problem !== undefined) throw malformed(`${path}.${key}`, problem)
  }
  // `+ 0` turns a JSON `-0` into 0, as readInteger does: decode(encode(x)) must be x exactly.
  return Object.freeze({
    minInsyncReplicas: (config.minInsyncReplicas as number) + 0,
    retentionMs: (config.retentionMs as number) + 0,
    retentionBytes: (config.retentionBytes as number) + 0,
    segmentBytes: (config.segmentBytes as number) + 0,
    segmentMs: (config.segmentMs as number) + 0,
    maxMessageBytes: (config.maxMessageBytes as number) + 0,
    cleanupPolicy: normalizeCleanupPolicy(config.cleanupPolicy),
    deleteRetentionMs: (config.deleteRetentionMs as number) + 0,
    minCleanableDirtyRatio: (config.minCleanableDirtyRatio as number) + 0,
    minCompactionLagMs: (config.minCompactionLagMs as number) + 0,
  })
}

export function readTopicName (value: unknown, path: string): string {
  const problem = topicNameProblem(value)
  if (problem !== undefined) throw malformed(path, `is not a legal topic name (${problem})`)
  return value as string
}

function readRegisterBroker (object: Readonly<Record<string, unknown>>, path: string): RegisterBrokerRecord {
  const record: RegisterBrokerRecord = {
    type: 'RegisterBroker',
    brokerId: readBrokerId(object.brokerId, `${path}.brokerId`),
    incarnationId: readId(object.incarnationId, `${path}.incarnationId`),
    listeners: readListeners(object.listeners, `${path}.listeners`),
  }
  return {
    ...record,
    ...(object.rack === undefined ? {} : { rack: readRack(object.rack, `${path}.rack`) }),
    ...(object.logDirId === undefined ? {} : { logDirId: readId(object.logDirId, `${path}.logDirId`) }),
  }
}

function readTopic (object: Readonly<Record<string, unknown>>, path: string): TopicRecord {
  return {
    type: 'Topic',
    name: readTopicName(object.name, `${path}.name`),
    topicId: readId(object.topicId, `${path}.topicId`),
    partitionCount: readInteger(object.partitionCount, `${path}.partitionCount`, 1, metadataLimits.partitionCountMax),
    config: readTopicConfig(object.config, `${path}.config`),
  }
}

function readPartition (object: Readonly<Record<string, unknown>>, path: string): PartitionRecord {
  const replicas = readBrokerIds(object.replicas, `${path}.replicas`)
  const isr = readBrokerIds(object.isr, `${path}.isr`, 0)
  const elr = object.elr === undefined ? undefined : readBrokerIds(object.elr, `${path}.elr`, 0)
  if (elr !== undefined && !elr.every((id) => replicas.includes(id) && !isr.includes(id))) {
    throw malformed(`${path}.elr`, 'must be a subset of replicas, disjoint from isr')
  }
  const leader = readLeader(object.leader, `${path}.leader`)
  if (!isr.every((id) => replicas.includes(id))) throw malformed(`${path}.isr`, 'must be a subset of replicas')
  if (leader !== -1 && !isr.includes(leader)) throw malformed(`${path}.leader`, 'must be -1 or a member of isr')
  const epoch = readLeaderEpoch(object.leaderEpoch, `${path}.leaderEpoch`)
  const partitionEpoch = readPartitionEpoch(object.partitionEpoch, `${path}.partitionEpoch`)
  if (epoch > partitionEpoch) throw malformed(`${path}.leaderEpoch`, 'must not exceed partitionEpoch')
  return {
    type: 'Partition',
    topicId: readId(object.topicId, `${path}.topicId`),
    partition: readPartitionIndex(object.partition, `${path}.partition`),
    replicas,
    isr,
    ...(elr === undefined ? {} : { elr }),
    leader,
    leaderEpoch: epoch,
    partitionEpoch,
  }
}

function readPartitionChange (object: Readonly<Record<string, unknown>>, path: string): PartitionChangeRecord {
  const change: { -readonly [K in keyof PartitionChangeRecord]: PartitionChangeRecord[K] } = {
    type: 'PartitionChange',
    topicId: readId(object.topicId, `${path}.topicId`),
    partition: readPartitionIndex(object.partition, `${path}.partition`),
  }
  if (object.leader !== undefined) change.leader = readLeader(object.leader, `${path}.leader`)
  if (object.isr !== undefined) change.isr = readBrokerIds(object.isr, `${path}.isr`, 0)
  if (object.elr !== undefined) change.elr = readBrokerIds(object.elr, `${path}.elr`, 0)
  if (object.replicas !== undefined) change.replicas = readBrokerIds(object.replicas, `${path}.replicas`)
  if (change.leader === undefined && change.isr === undefined && change.replicas === undefined && change.elr === undefined) {
    throw malformed(path, 'must change at least one of leader, isr, elr, replicas')
  }
  const { isr, replicas } = change
  if (isr !== undefined && replicas !== undefined && !isr.every((id) => replicas.includes(id))) {
    throw malformed(`${path}.isr`, 'must be a subset of replicas')
  }
  return change
}

export const readUserName = (value: unknown, path: string): string =>
  readString(value, path, metadataLimits.userNameLengthMax, printablePattern)

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/

/** Base64 of `bytes` bytes exactly (any length when `bytes` is undefined). */
function readBase64 (value: unknown, path: string, bytes?: number): string {
  const text = readString(value, path, metadataLimits.scramBase64LengthMax, base64Pattern)
  const decoded = Buffer.from(text, 'base64')
  if (decoded.toString('base64') !== text) throw malformed(path, 'is not canonical base64')
  if (bytes !== undefined && decoded.length !== bytes) throw malformed(path, `must hold ${bytes} bytes`)
  return text
}

function readUserScramCredential (object: Readonly<Record<string, unknown>>, path: string): UserScramCredentialRecord {
  const mechanism = readOneOf(object.mechanism, `${path}.mechanism`, scramMechanisms)
  const { bytes } = scramHash(mechanism)
  return {
    type: 'UserScramCredential',
    name: readUserName(object.name, `${path}.name`),
    mechanism,
    salt: readBase64(object.salt, `${path}.salt`),
    storedKey: readBase64(object.storedKey, `${path}.storedKey`, bytes),
    serverKey: readBase64(object.serverKey, `${path}.serverKey`, bytes),
    iterations: readInteger(object.iterations, `${path}.iterations`, SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX),
  }
}

const brokerStateKeys = ['brokerId', 'incarnationId'] as const
const keysByType: Readonly<Record<MetadataRecordType, readonly [readonly string[], readonly string[]]>> = {
  RegisterBroker: [['brokerId', 'incarnationId', 'listeners'], ['rack', 'logDirId']],
  UnregisterBroker: [brokerStateKeys, []],
  FenceBroker: [brokerStateKeys, []],
  UnfenceBroker: [brokerStateKeys, []],
  BrokerShutdownRequested: [brokerStateKeys, []],
  Topic: [['name', 'topicId', 'partitionCount', 'config'], []],
  Partition: [['topicId', 'partition', 'replicas', 'isr', 'leader', 'leaderEpoch', 'partitionEpoch'], ['elr']],
  PartitionChange: [['topicId', 'partition'], ['leader', 'isr', 'elr', 'replicas']],
  AddPartitions: [['topicId', 'partitionCount'], []],
  TopicConfigChange: [['topicId', 'config'], []],
  RemoveTopic: [['topicId'], []],
  UserScramCredential: [['name', 'mechanism', 'salt', 'storedKey', 'serverKey', 'iterations'], []],
  RemoveUserScramCredential: [['name', 'mechanism'], []],
  AccessControlEntry: [['id', 'resourceType', 'resourceName', 'patternType', 'principal', 'host', 'operation', 'permission'], []],
  RemoveAccessControlEntry: [['id'], []],
}

/** Validates one record object (its `type` and fields, plus any `extraKeys` the caller already read). */
export function readMetadataRecord (value: unknown, path: string, extraKeys: readonly string[] = []): MetadataRecord {
  const type = readOneOf(readAnyObject(value, path).type, `${path}.type`, recordTypes)
  const [required, optional] = keysByType[type]
  const object = readObject(value, path, ['type', ...required], [...optional, ...extraKeys])
  switch (type) {
    case 'RegisterBroker': return readRegisterBroker(object, path)
    case 'Topic': return readTopic(object, path)
    case 'Partition': return readPartition(object, path)
    case 'PartitionChange': return readPartitionChange(object, path)
    case 'AddPartitions': return {
      type,
      topicId: readId(object.topicId, `${path}.topicId`),
      partitionCount: readInteger(object.partitionCount, `${path}.partitionCount`, 2, metadataLimits.partitionCountMax),
    }
    case 'RemoveTopic': return { type, topicId: readId(object.topicId, `${path}.topicId`) }
    case 'TopicConfigChange': return {
      type, topicId: readId(object.topicId, `${path}.topicId`), config: readTopicConfig(object.config, `${path}.config`),
    }
    case 'UserScramCredential': return readUserScramCredential(object, path)
    case 'RemoveUserScramCredential': return {
      type, name: readUserName(object.name, `${path}.name`), mechanism: readOneOf(object.mechanism, `${path}.mechanism`, scramMechanisms),
    }
    case 'AccessControlEntry': return { type, id: readId(object.id, `${path}.id`), ...readAclBinding(object, path) }
    case 'RemoveAccessControlEntry': return { type, id: readId(object.id, `${path}.id`) }
    default: return {
      type,
      brokerId: readBrokerId(object.brokerId, `${path}.brokerId`),
      incarnationId: readId(object.incarnationId, `${path}.incarnationId`),
    }
  }
}

function readVersion (value: unknown, path: string): void {
  readInteger(value, `${path}.v`, 1, Number.MAX_SAFE_INTEGER)
  if (value !== METADATA_RECORD_VERSION) throw malformed(`${path}.v`, `is ${String(value)}; this broker reads version 1`)
}

/** Pair assertion: what we are about to commit must be something every broker will accept. */
function assertEncodable (record: MetadataRecord): void {
  try {
    readMetadataRecord(record, 'record')
  } catch (error) {
    assert.fail(`refusing to encode an invalid metadata record: ${(error as Error).message}`)
  }
}

const utf8 = new TextEncoder()

export function encodeMetadataRecord (record: MetadataRecord): Uint8Array {
  assertEncodable(record)
  return utf8.encode(JSON.stringify({ v: METADATA_RECORD_VERSION, ...record }))
}

/** Throws GregorError INVALID_REQUEST on anything but a valid, current-version record. */
export function decodeMetadataRecord (bytes: Uint8Array): MetadataRecord {
  return withContext('malformed metadata record', () => {
    const value = parseJsonBytes(bytes, 'record')
    readVersion(readAnyObject(value, 'record').v, 'record')
    return readMetadataRecord(value, 'record', ['v'])
  })
}

/** The text around a batch's records, `{"v":1,"records":[` and `]}`, in bytes. */
export const metadataBatchOverheadBytes = utf8.encode(JSON.stringify({ v: METADATA_RECORD_VERSION, records: [] })).byteLength

/** The bytes `record` adds to a batch of `encodeMetadataRecords`, not counting the `,` before it. */
export function metadataRecordBytes (record: MetadataRecord): number {
  return utf8.encode(JSON.stringify(record)).byteLength
}

/**
 * Exactly `encodeMetadataRecords(records).byteLength`, record by record: what a decision counts to keep its batch
 * within one Raft entry (the codec owns the layout, so the count lives next to it).
 */
export function metadataBatchBytes (records: readonly MetadataRecord[]): number {
  let bytes = metadataBatchOverheadBytes + Math.max(0, records.length - 1)
  for (const record of records) bytes += metadataRecordBytes(record)
  return bytes
}

/** One Raft entry's worth of records: the records of one controller decision, applied atomically. */
export function encodeMetadataRecords (records: readonly MetadataRecord[]): Uint8Array {
  assert(records.length <= recordsPerBatchMax, `a metadata batch holds at most ${recordsPerBatchMax} records`)
  for (const record of records) assertEncodable(record)
  return utf8.encode(JSON.stringify({ v: METADATA_RECORD_VERSION, records }))
}

export function decodeMetadataRecords (bytes: Uint8Array): readonly MetadataRecord[] {
  return withContext('malformed metadata batch', () => {
    const batch = readObject(parseJsonBytes(bytes, 'batch'), 'batch', ['v', 'records'])
    readVersion(batch.v, 'batch')
    const records = readArray(batch.records, 'batch.records', 0, recordsPerBatchMax)
    return Object.freeze(records.map((record, i) => readMetadataRecord(record, `batch.records[${i}]`)))
  })
}

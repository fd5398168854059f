/**
 * The bytes of `__consumer_offsets` records: Kafka's key layout, Kafka's OffsetCommitValue, versioned JSON for the
 * consumer group values.
 *
 * Keys (every type): int16 key version (the record type, Kafka's numbering) then the key fields; strings are int16
 * length + UTF-8, partitions int32. The same logical key always encodes to the same bytes (compaction keeps the last
 * record per key byte string). OffsetCommit keys are written as version 1 and read as 0 or 1 (same layout).
 *
 * Values:
 * - OffsetCommit: Kafka's OffsetCommitValue v3 exactly (int16 3, int64 offset, int32 leaderEpoch, string metadata,
 *   int64 commitTimestamp). v0–v2 are read too (a partition copied from an old Kafka stays readable); v4 (flexible)
 *   is not. Offsets are binary because they are the hot path: one record per committed partition.
 * - GroupMetadata (type 2, a classic group): Kafka's GroupMetadataValue v3 exactly (int16 3, string protocolType,
 *   int32 generation, nullable string protocol, nullable string leader, int64 currentStateTimestamp, int32 count of
 *   members, each: string memberId, nullable string groupInstanceId, string clientId, string clientHost, int32
 *   rebalanceTimeout, int32 sessionTimeout, int32-length bytes subscription and assignment). v0–v2 are read too
 *   (v0 has no rebalance timeout: it is the session timeout; v0–v1 no timestamp; v0–v2 no instance id); v4
 *   (flexible) is not. Binary, because its values are the clients' opaque bytes. A Gregor build before this record
 *   existed refused key type 2, and wrote none, so every partition it left loads unchanged.
 * - Types 3–8: int16 value version 0, then UTF-8 JSON of the value object. JSON because these records are few (one
 *   per member change), their shapes will grow (static membership, classic groups, racks) and a hex dump of the
 *   partition stays readable; the version prefix lets a later format replace it. Kafka's own values are flexible
 *   binary with tagged fields; Gregor does not claim byte compatibility for them.
 * - null: a tombstone (the record batch carries a null value).
 *
 * Decoding is fed bytes from disk, so every field is checked (type, range, length, canonical order, no unknown keys,
 * nothing trailing) and anything else is GregorError CORRUPT_MESSAGE naming the problem; it never throws anything
 * else. Encoding runs the same checks first (a pair assertion): a decision that built a bad record fails loudly
 * instead of committing a record that every later load would refuse.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { GroupType, MemberState, TopicPartitions } from './coordinator-types.js'
import {
  type ClassicGroupMemberValue, type ClassicGroupMetadataValue, type ConsumerGroupCurrentMemberAssignmentValue,
  type ConsumerGroupMemberMetadataValue, type GroupRecord, type OffsetCommitValue, type TopicPartitionCount,
  groupRecordKeyVersion, groupRecordLimits,
} from './group-record.js'

const GROUP_JSON_VALUE_VERSION = 0
const OFFSET_COMMIT_VALUE_VERSION = 3
const GROUP_METADATA_VALUE_VERSION = 3
const INT32_MAX = 2_147_483_647

function corrupt (problem: string): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, `malformed __consumer_offsets record: ${problem}`, { retriable: false })
}

// ---------------------------------------------------------------- binary helpers

class Writer {
  readonly #chunks: Buffer[] = []
  int16 (value: number): this {
    const b = Buffer.alloc(2); b.writeInt16BE(value); this.#chunks.push(b); return this
  }

  int32 (value: number): this {
    const b = Buffer.alloc(4); b.writeInt32BE(value); this.#chunks.push(b); return this
  }

  int64 (value: number): this {
    const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(value)); this.#chunks.push(b); return this
  }

  string (value: string): this {
    const bytes = Buffer.from(value, 'utf8')
    this.int16(bytes.length)
    this.#chunks.push(bytes)
    return this
  }

  /** Kafka's nullable string: '' is written as null (length -1), the form Kafka gives an absent protocol or leader. */
  nullableString (value: string | null): this {
    return value === null ? this.int16(-1) : this.string(value)
  }

  /** int32 length + the bytes (Kafka's `bytes`). */
  sizedBytes (value: Uint8Array): this {
    this.int32(value.byteLength)
    this.#chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
    return this
  }

  bytes (value: Buffer): this { this.#chunks.push(value); return this }
  build (): Buffer { return Buffer.concat(this.#chunks) }
}

class Reader {
  #at = 0
  readonly #bytes: Buffer
  readonly #what: string
  constructor (bytes: Uint8Array, what: string) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#what = what
  }

  #need (n: number, field: string): void {
    if (this.#at + n > this.#bytes.length) throw corrupt(`${this.#what} ends inside ${field}`)
  }

  int16 (field: string): number { this.#need(2, field); const v = this.#bytes.readInt16BE(this.#at); this.#at += 2; return v }
  int32 (field: string): number { this.#need(4, field); const v = this.#bytes.readInt32BE(this.#at); this.#at += 4; return v }
  int64 (field: string): number {
    this.#need(8, field)
    const v = this.#bytes.readBigInt64BE(this.#at)
    this.#at += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw corrupt(`${this.#what} ${field} ${v} is beyond the safe integer range`)
    }
    return Number(v)
  }

  string (field: string): string {
    const length = this.int16(`${field} length`)
    if (length < 0) throw corrupt(`${this.#what} ${field} is null`)
    this.#need(length, field)
    const slice = this.#bytes.subarray(this.#at, this.#at + length)
    this.#at += length
    return utf8(slice, `${this.#what} ${field}`)
  }

  nullableString (field: string): string | null {
    if (this.#at + 2 <= this.#bytes.length && this.#bytes.readInt16BE(this.#at) === -1) {
      this.#at += 2
      return null
    }
    return this.string(field)
  }

  /** int32 length + bytes, copied (a record's value must not pin the buffer the load read it from). */
  sizedBytes (field: string): Uint8Array {
    const length = this.int32(`${field} length`)
    if (length < 0) throw corrupt(`${this.#what} ${field} is null`)
    this.#need(length, field)
    const copy = new Uint8Array(length)
    copy.set(this.#bytes.subarray(this.#at, this.#at + length))
    this.#at += length
    return copy
  }

  rest (): Buffer { const r = this.#bytes.subarray(this.#at); this.#at = this.#bytes.length; return r }
  end (): void {
    if (this.#at !== this.#bytes.length) throw corrupt(`${this.#what} has ${this.#bytes.length - this.#at} trailing bytes`)
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
function utf8 (bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw corrupt(`${what} is not valid UTF-8`)
  }
}

// ---------------------------------------------------------------- field checks (shared by encode and decode)

function checkInt (value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw corrupt(`${field} must be an integer in [${min}, ${max}], got ${String(value)}`)
  }
  return value + 0
}

/** Whether `value` has no lone surrogate (it would not survive UTF-8: two keys could encode alike). */
export function isWellFormedString (value: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
}

function checkString (value: unknown, field: string, maxLength: number = groupRecordLimits.stringBytesMax, nonEmpty = false): string {
  if (typeof value !== 'string') throw corrupt(`${field} must be a string`)
  if (!isWellFormedString(value)) throw corrupt(`${field} has a lone UTF-16 surrogate`)
  if (Buffer.byteLength(value, 'utf8') > maxLength) throw corrupt(`${field} is longer than ${maxLength} bytes`)
  if (nonEmpty && value.length === 0) throw corrupt(`${field} must not be empty`)
  return value
}

function checkObject (value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(`${field} must be an object`)
  const object = value as Record<string, unknown>
  for (const key of Object.keys(object)) if (!keys.includes(key)) throw corrupt(`${field} has an unknown field ${JSON.stringify(key)}`)
  for (const key of keys) if (!(key in object)) throw corrupt(`${field} lacks ${key}`)
  return object
}

function checkArray (value: unknown, field: string, max: number): readonly unknown[] {
  if (!Array.isArray(value)) throw corrupt(`${field} must be an array`)
  if (value.length > max) throw corrupt(`${field} has more than ${max} entries`)
  return value
}

const checkTopic = (value: unknown, field: string): string => checkString(value, field, groupRecordLimits.topicNameLengthMax, true)
const checkEpoch = (value: unknown, field: string, min = 0): number => checkInt(value, field, min, groupRecordLimits.epochMax)

function checkSortedUnique<T> (values: readonly T[], field: string): void {
  for (let i = 1; i < values.length; i++) {
    if (!((values[i - 1] as T) < (values[i] as T))) throw corrupt(`${field} must be sorted without repeats`)
  }
}

function checkTopicPartitions (value: unknown, field: string): TopicPartitions[] {
  const list = checkArray(value, field, groupRecordLimits.subscribedTopicsMax).map((item, i) => {
    const at = `${field}[${i}]`
    const object = checkObject(item, at, ['topic', 'partitions'])
    const partitions = checkArray(object.partitions, `${at}.partitions`, groupRecordLimits.partitionIndexMax)
      .map((p, j) => checkInt(p, `${at}.partitions[${j}]`, 0, groupRecordLimits.partitionIndexMax))
    if (partitions.length === 0) throw corrupt(`${at}.partitions must not be empty`)
    checkSortedUnique(partitions, `${at}.partitions`)
    return { topic: checkTopic(object.topic, `${at}.topic`), partitions }
  })
  checkSortedUnique(list.map((entry) => entry.topic), `${field} topics`)
  return list
}

function checkTopicCounts (value: unknown, field: string): TopicPartitionCount[] {
  const list = checkArray(value, field, groupRecordLimits.subscribedTopicsMax).map((item, i) => {
    const at = `${field}[${i}]`
    const object = checkObject(item, at, ['topic', 'partitionCount'])
    return {
      topic: checkTopic(object.topic, `${at}.topic`),
      partitionCount: checkInt(object.partitionCount, `${at}.partitionCount`, 1, groupRecordLimits.partitionIndexMax),
    }
  })
  checkSortedUnique(list.map((entry) => entry.topic), `${field} topics`)
  return list
}

const groupTypes: readonly GroupType[] = ['consumer', 'classic']
const memberStates: readonly MemberState[] = ['stable', 'unrevoked_partitions', 'unreleased_partitions']

function checkOneOf<T extends string> (value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw corrupt(`${field} must be one of ${allowed.join(', ')}`)
  return value as T
}

function checkOffsetCommitValue (value: OffsetCommitValue): OffsetCommitValue {
  return {
    offset: checkInt(value.offset, 'offset', -1, Number.MAX_SAFE_INTEGER),
    leaderEpoch: checkInt(value.leaderEpoch, 'leaderEpoch', -1, groupRecordLimits.epochMax),
    metadata: checkString(value.metadata, 'metadata'),
    commitTimestampMs: checkInt(value.commitTimestampMs, 'commitTimestampMs', -1, Number.MAX_SAFE_INTEGER),
  }
}

function checkBytes (value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw corrupt(`${field} must be bytes`)
  return value
}

/** The checks of a classic group value (both directions): ranges, lengths, unique member ids. */
function checkClassicGroupValue (value: ClassicGroupMetadataValue): ClassicGroupMetadataValue {
  const members = checkArray(value.members, 'members', groupRecordLimits.classicMembersMax).map((item, i): ClassicGroupMemberValue => {
    const at = `members[${i}]`
    const m = item as ClassicGroupMemberValue
    if (typeof m !== 'object' || m === null) throw corrupt(`${at} must be an object`)
    return {
      memberId: checkString(m.memberId, `${at}.memberId`, groupRecordLimits.stringBytesMax, true),
      groupInstanceId: m.groupInstanceId === null ? null : checkString(m.groupInstanceId, `${at}.groupInstanceId`, groupRecordLimits.stringBytesMax, true),
      clientId: checkString(m.clientId, `${at}.clientId`),
      clientHost: checkString(m.clientHost, `${at}.clientHost`),
      rebalanceTimeoutMs: checkInt(m.rebalanceTimeoutMs, `${at}.rebalanceTimeoutMs`, 0, INT32_MAX),
      sessionTimeoutMs: checkInt(m.sessionTimeoutMs, `${at}.sessionTimeoutMs`, 0, INT32_MAX),
      subscription: checkBytes(m.subscription, `${at}.subscription`),
      assignment: checkBytes(m.assignment, `${at}.assignment`),
    }
  })
  if (new Set(members.map((m) => m.memberId)).size !== members.length) throw corrupt('members repeat a member id')
  return {
    protocolType: checkString(value.protocolType, 'protocolType'),
    generationId: checkEpoch(value.generationId, 'generationId'),
    protocolName: checkString(value.protocolName, 'protocolName'),
    leader: checkString(value.leader, 'leader'),
    currentStateTimestampMs: checkInt(value.currentStateTimestampMs, 'currentStateTimestampMs', -1, Number.MAX_SAFE_INTEGER),
    members,
  }
}

function encodeClassicGroupValue (value: ClassicGroupMetadataValue): Buffer {
  const v = checkClassicGroupValue(value)
  const w = new Writer().int16(GROUP_METADATA_VALUE_VERSION).string(v.protocolType).int32(v.generationId)
    .nullableString(v.protocolName === '' ? null : v.protocolName).nullableString(v.leader === '' ? null : v.leader)
    .int64(v.currentStateTimestampMs).int32(v.members.length)
  for (const m of v.members) {
    w.string(m.memberId).nullableString(m.groupInstanceId).string(m.clientId).string(m.clientHost)
      .int32(m.rebalanceTimeoutMs).int32(m.sessionTimeoutMs).sizedBytes(m.subscription).sizedBytes(m.assignment)
  }
  return w.build()
}

function decodeClassicGroupValue (bytes: Uint8Array): ClassicGroupMetadataValue {
  const r = new Reader(bytes, 'GroupMetadata value')
  const version = r.int16('version')
  if (version < 0 || version > GROUP_METADATA_VALUE_VERSION) {
    throw corrupt(`GroupMetadata value version ${version} is not supported (0-${GROUP_METADATA_VALUE_VERSION} are)`)
  }
  const protocolType = r.string('protocolType')
  const generationId = r.int32('generation')
  const protocolName = r.nullableString('protocol') ?? ''
  const leader = r.nullableString('leader') ?? ''
  const currentStateTimestampMs = version >= 2 ? r.int64('currentStateTimestamp') : -1
  const count = r.int32('members count')
  if (count < 0 || count > groupRecordLimits.classicMembersMax) throw corrupt(`GroupMetadata value has ${count} members`)
  const members: ClassicGroupMemberValue[] = []
  for (let i = 0; i < count; i++) {
    const memberId = r.string(`members[${i}].memberId`)
    const groupInstanceId = version >= 3 ? r.nullableString(`members[${i}].groupInstanceId`) : null
    const clientId = r.string(`members[${i}].clientId`)
    const clientHost = r.string(`members[${i}].clientHost`)
    const rebalanceTimeout = version >= 1 ? r.int32(`members[${i}].rebalanceTimeout`) : undefined
    const sessionTimeoutMs = r.int32(`members[${i}].sessionTimeout`)
    const subscription = r.sizedBytes(`members[${i}].subscription`)
    const assignment = r.sizedBytes(`members[${i}].assignment`)
    members.push({
      memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs: rebalanceTimeout ?? sessionTimeoutMs, sessionTimeoutMs,
      subscription, assignment,
    })
  }
  r.end()
  return checkClassicGroupValue({ protocolType, generationId, protocolName, leader, currentStateTimestampMs, members })
}

function readMemberMetadata (value: unknown): ConsumerGroupMemberMetadataValue {
  const o = checkObject(value, 'member metadata', [
    'instanceId', 'rackId', 'clientId', 'clientHost', 'subscribedTopicNames', 'subscribedTopicRegex', 'serverAssignor',
    'rebalanceTimeoutMs',
  ])
  const names = checkArray(o.subscribedTopicNames, 'subscribedTopicNames', groupRecordLimits.subscribedTopicsMax)
    .map((name, i) => checkTopic(name, `subscribedTopicNames[${i}]`))
  checkSortedUnique(names, 'subscribedTopicNames')
  return {
    instanceId: checkString(o.instanceId, 'instanceId', groupRecordLimits.memberIdLengthMax),
    rackId: checkString(o.rackId, 'rackId', groupRecordLimits.memberIdLengthMax),
    clientId: checkString(o.clientId, 'clientId'),
    clientHost: checkString(o.clientHost, 'clientHost'),
    subscribedTopicNames: names,
    subscribedTopicRegex: checkString(o.subscribedTopicRegex, 'subscribedTopicRegex', groupRecordLimits.regexLengthMax),
    serverAssignor: checkString(o.serverAssignor, 'serverAssignor', 64),
    rebalanceTimeoutMs: checkInt(o.rebalanceTimeoutMs, 'rebalanceTimeoutMs', 1, 2_147_483_647),
  }
}

function readCurrentAssignment (value: unknown): ConsumerGroupCurrentMemberAssignmentValue {
  const o = checkObject(value, 'current assignment', [
    'memberEpoch', 'previousMemberEpoch', 'state', 'assignedPartitions', 'partitionsPendingRevocation',
  ])
  return {
    memberEpoch: checkEpoch(o.memberEpoch, 'memberEpoch'),
    previousMemberEpoch: checkEpoch(o.previousMemberEpoch, 'previousMemberEpoch', -1),
    state: checkOneOf(o.state, 'state', memberStates),
    assignedPartitions: checkTopicPartitions(o.assignedPartitions, 'assignedPartitions'),
    partitionsPendingRevocation: checkTopicPartitions(o.partitionsPendingRevocation, 'partitionsPendingRevocation'),
  }
}

/** Reads the JSON value object of a consumer-group record type; the single place that knows each shape. */
function readJsonValue (type: GroupRecord['type'], value: unknown): NonNullable<GroupRecord['value']> {
  switch (type) {
    case 'ConsumerGroupMetadata': {
      const o = checkObject(value, 'group metadata', ['epoch', 'groupType'])
      return { epoch: checkEpoch(o.epoch, 'epoch'), groupType: checkOneOf(o.groupType, 'groupType', groupTypes) }
    }
    case 'ConsumerGroupPartitionMetadata': {
      const o = checkObject(value, 'partition metadata', ['topics'])
      return { topics: checkTopicCounts(o.topics, 'topics') }
    }
    case 'ConsumerGroupMemberMetadata': return readMemberMetadata(value)
    case 'ConsumerGroupTargetAssignmentMetadata': {
      const o = checkObject(value, 'target assignment metadata', ['assignmentEpoch'])
      return { assignmentEpoch: checkEpoch(o.assignmentEpoch, 'assignmentEpoch') }
    }
    case 'ConsumerGroupTargetAssignmentMember': {
      const o = checkObject(value, 'target assignment', ['partitions'])
      return { partitions: checkTopicPartitions(o.partitions, 'partitions') }
    }
    case 'ConsumerGroupCurrentMemberAssignment': return readCurrentAssignment(value)
    case 'OffsetCommit': return checkOffsetCommitValue(value as OffsetCommitValue)
    case 'GroupMetadata': throw corrupt('GroupMetadata values are binary, not JSON')
  }
}

// ---------------------------------------------------------------- encode

function checkKey (record: GroupRecord): void {
  checkString(record.groupId, 'groupId', groupRecordLimits.stringBytesMax, true)
  if (record.type === 'OffsetCommit') {
    checkTopic(record.topic, 'topic')
    checkInt(record.partition, 'partition', 0, groupRecordLimits.partitionIndexMax)
  } else if ('memberId' in record) {
    checkString(record.memberId, 'memberId', groupRecordLimits.memberIdLengthMax, true)
  }
}

function encodeKey (record: GroupRecord): Buffer {
  const w = new Writer().int16(groupRecordKeyVersion[record.type]).string(record.groupId)
  if (record.type === 'OffsetCommit') w.string(record.topic).int32(record.partition)
  else if ('memberId' in record) w.string(record.memberId)
  return w.build()
}

export function encodeGroupRecord (record: GroupRecord): { key: Buffer; value: Buffer | null } {
  checkKey(record)
  const key = encodeKey(record)
  if (record.value === null) return { key, value: null }
  if (record.type === 'OffsetCommit') {
    const v = checkOffsetCommitValue(record.value)
    const value = new Writer().int16(OFFSET_COMMIT_VALUE_VERSION).int64(v.offset).int32(v.leaderEpoch).string(v.metadata)
      .int64(v.commitTimestampMs).build()
    return { key, value }
  }
  if (record.type === 'GroupMetadata') return { key, value: encodeClassicGroupValue(record.value) }
  // The pair assertion: what we write is exactly what a reader accepts.
  const canonical = readJsonValue(record.type, JSON.parse(JSON.stringify(record.value)))
  const json = Buffer.from(JSON.stringify(canonical), 'utf8')
  return { key, value: new Writer().int16(GROUP_JSON_VALUE_VERSION).bytes(json).build() }
}

// ---------------------------------------------------------------- decode

const typeByKeyVersion = new Map<number, GroupRecord['type']>([
  [0, 'OffsetCommit'],
  ...Object.entries(groupRecordKeyVersion).map(([type, version]) => [version, type as GroupRecord['type']] as const),
])

function decodeOffsetCommitValue (bytes: Uint8Array): OffsetCommitValue {
  const r = new Reader(bytes, 'OffsetCommit value')
  const version = r.int16('version')
  let value: OffsetCommitValue
  switch (version) {
    case 0: case 2: {
      const offset = r.int64('offset'); const metadata = r.string('metadata'); const commitTimestampMs = r.int64('commitTimestamp')
      value = { offset, leaderEpoch: -1, metadata, commitTimestampMs }
      break
    }
    case 1: {
      const offset = r.int64('offset'); const metadata = r.string('metadata'); const commitTimestampMs = r.int64('commitTimestamp')
      r.int64('expireTimestamp')
      value = { offset, leaderEpoch: -1, metadata, commitTimestampMs }
      break
    }
    case 3: {
      const offset = r.int64('offset'); const leaderEpoch = r.int32('leaderEpoch'); const metadata = r.string('metadata')
      const commitTimestampMs = r.int64('commitTimestamp')
      value = { offset, leaderEpoch, metadata, commitTimestampMs }
      break
    }
    default: throw corrupt(`OffsetCommit value version ${version} is not supported (0-3 are)`)
  }
  r.end()
  return checkOffsetCommitValue(value)
}

function decodeJsonValue (type: GroupRecord['type'], bytes: Uint8Array): NonNullable<GroupRecord['value']> {
  const r = new Reader(bytes, `${type} value`)
  const version = r.int16('version')
  if (version !== GROUP_JSON_VALUE_VERSION) throw corrupt(`${type} value version ${version} is not supported`)
  const text = utf8(r.rest(), `${type} value`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw corrupt(`${type} value is not JSON`)
  }
  return readJsonValue(type, parsed)
}

export function decodeGroupRecord (key: Uint8Array, value: Uint8Array | null): GroupRecord {
  if (key === null || key === undefined) throw corrupt('the record has no key')
  const r = new Reader(key, 'key')
  const keyVersion = r.int16('key version')
  const type = typeByKeyVersion.get(keyVersion)
  if (type === undefined) throw corrupt(`unknown key type ${keyVersion}`)
  const groupId = checkString(r.string('groupId'), 'groupId', groupRecordLimits.stringBytesMax, true)
  if (type === 'OffsetCommit') {
    const topic = checkTopic(r.string('topic'), 'topic')
    const partition = checkInt(r.int32('partition'), 'partition', 0, groupRecordLimits.partitionIndexMax)
    r.end()
    return { type, groupId, topic, partition, value: value === null ? null : decodeOffsetCommitValue(value) }
  }
  if (type === 'ConsumerGroupMemberMetadata' || type === 'ConsumerGroupTargetAssignmentMember' ||
    type === 'ConsumerGroupCurrentMemberAssignment') {
    const memberId = checkString(r.string('memberId'), 'memberId', groupRecordLimits.memberIdLengthMax, true)
    r.end()
    const decoded = value === null ? null : decodeJsonValue(type, value)
    return { type, groupId, memberId, value: decoded } as GroupRecord
  }
  r.end()
  if (type === 'GroupMetadata') return { type, groupId, value: value === null ? null : decodeClassicGroupValue(value) }
  return { type, groupId, value: value === null ? null : decodeJsonValue(type, value) } as GroupRecord
}

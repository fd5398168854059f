/**
 * Reading Kafka's consumer protocol (the `consumer` protocol type of classic groups) for display only: the topics a
 * member's subscription names and the partitions its assignment gives it, so `gregor groups describe` and the
 * cluster page show classic members like KIP-848 ones.
 *
 * Owns nothing a decision depends on: the coordinator relays these bytes opaque and never decides from them. Every
 * version of both structures starts with the v0 layout (int16 version, then the topics), so only that prefix is
 * read; bytes that do not parse show as nothing rather than failing the description.
 */
import type { ClassicGroup } from './classic-group.js'
import type { DescribedMember, TopicPartitions } from './coordinator-types.js'
import { compareStrings } from './topic-partitions.js'

/** Bounds the work of parsing one member's bytes. */
const entriesMax = 100_000

class Cursor {
  #at = 0
  readonly #bytes: Buffer
  constructor (bytes: Uint8Array) { this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }

  int16 (): number { const v = this.#bytes.readInt16BE(this.#at); this.#at += 2; return v }
  int32 (): number { const v = this.#bytes.readInt32BE(this.#at); this.#at += 4; return v }
  count (): number {
    const n = this.int32()
    if (n < 0 || n > entriesMax) throw new RangeError('bad count')
    return n
  }

  string (): string {
    const length = this.int16()
    if (length < 0 || this.#at + length > this.#bytes.length) throw new RangeError('bad string')
    const value = this.#bytes.toString('utf8', this.#at, this.#at + length)
    this.#at += length
    return value
  }
}

/** The topics of a consumer-protocol subscription, sorted; undefined when the bytes do not parse. */
export function subscriptionTopics (metadata: Uint8Array): string[] | undefined {
  try {
    const cursor = new Cursor(metadata)
    cursor.int16()
    const topics: string[] = []
    for (let i = cursor.count(); i > 0; i--) topics.push(cursor.string())
    return [...new Set(topics)].sort(compareStrings)
  } catch {
    return undefined
  }
}

/** The partitions of a consumer-protocol assignment, canonical (sorted, no repeats); undefined when they do not parse. */
export function assignmentPartitions (assignment: Uint8Array): TopicPartitions[] | undefined {
  if (assignment.length === 0) return []
  try {
    const cursor = new Cursor(assignment)
    cursor.int16()
    const byTopic = new Map<string, Set<number>>()
    for (let i = cursor.count(); i > 0; i--) {
      const topic = cursor.string()
      const partitions = byTopic.get(topic) ?? new Set<number>()
      byTopic.set(topic, partitions)
      for (let j = cursor.count(); j > 0; j--) partitions.add(cursor.int32())
    }
    return [...byTopic].filter(([, partitions]) => partitions.size > 0).sort(([a], [b]) => compareStrings(a, b))
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }))
  } catch {
    return undefined
  }
}

/** A classic group's members as `DescribedMember`s (subscriptions and assignments read when the type is `consumer`). */
export function describeClassicMembers (group: ClassicGroup): DescribedMember[] {
  const consumer = group.protocolType === 'consumer'
  return [...group.members.values()].sort((a, b) => compareStrings(a.memberId, b.memberId)).map((member) => {
    const metadata = group.protocolName === '' ? member.protocols[0]?.metadata : group.metadataOf(member)
    const assignment = consumer && group.state === 'stable' ? assignmentPartitions(member.assignment) ?? [] : []
    return {
      memberId: member.memberId,
      instanceId: '',
      clientId: member.clientId,
      clientHost: member.clientHost,
      rackId: '',
      memberEpoch: group.generationId,
      state: 'stable',
      subscribedTopicNames: consumer && metadata !== undefined ? subscriptionTopics(metadata) ?? [] : [],
      subscribedTopicRegex: '',
      assignment,
      targetAssignment: assignment,
    }
  })
}

/**
 * Subscriptions and target assignments of a consumer group: resolving members' subscriptions (topic names and a
 * regular expression) against the cluster's topics, and computing the target assignment with the group's assignor.
 *
 * Owns two rules:
 * - The group's partition metadata (a record) is every existing topic some member subscribes to, with its partition
 *   count. It is resolved against the live topics view; everything after it (each member's resolved subscription,
 *   the assignor's input) is a function of the replayed records only, so a new coordinator computes the same.
 * - A regex subscription matches whole topic names (`^(?:regex)$`, JavaScript syntax; Kafka uses RE2J) and never
 *   internal topics (names starting `__`); a topic named explicitly may be internal.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { type Assignor, type AssignorMember, assignors } from './assignors/index.js'
import { ASSIGNOR_NAMES, type AssignorName, type CoordinatorConfig } from './coordinator-config.js'
import type { TopicPartitions, TopicsView } from './coordinator-types.js'
import type { ConsumerGroupMemberMetadataValue, GroupRecord, TopicPartitionCount } from './group-record.js'
import { compareStrings, sameTopicPartitions, toPartitionSet } from './topic-partitions.js'

/** Compiled regexes by source; bounded (cleared when full: recompiling is cheap). */
const regexCache = new Map<string, RegExp | null>()
const regexCacheSizeMax = 10_000

/** The compiled whole-name matcher, or null when `source` is not a valid regular expression. */
export function compileSubscriptionRegex (source: string): RegExp | null {
  const cached = regexCache.get(source)
  if (cached !== undefined) return cached
  let compiled: RegExp | null
  try {
    compiled = new RegExp(`^(?:${source})$`)
  } catch {
    compiled = null
  }
  if (regexCache.size >= regexCacheSizeMax) regexCache.clear()
  regexCache.set(source, compiled)
  return compiled
}

const isInternalTopic = (topic: string): boolean => topic.startsWith('__')

function regexMatches (member: ConsumerGroupMemberMetadataValue, topic: string): boolean {
  if (member.subscribedTopicRegex === '' || isInternalTopic(topic)) return false
  return compileSubscriptionRegex(member.subscribedTopicRegex)?.test(topic) ?? false
}

/** Whether the member's subscription covers `topic` (existing or not). */
export function memberSubscribesTo (member: ConsumerGroupMemberMetadataValue, topic: string): boolean {
  return member.subscribedTopicNames.includes(topic) || regexMatches(member, topic)
}

/** The partition metadata of a group with these members: every existing subscribed topic, sorted by name. */
export function resolvePartitionMetadata (
  members: Iterable<ConsumerGroupMemberMetadataValue>, topics: TopicsView,
): TopicPartitionCount[] {
  const counts = new Map<string, number>()
  const regexes = new Set<string>()
  for (const member of members) {
    for (const name of member.subscribedTopicNames) {
      if (counts.has(name)) continue
      const count = topics.partitionCount(name)
      if (count !== undefined && count > 0) counts.set(name, count)
    }
    if (member.subscribedTopicRegex !== '') regexes.add(member.subscribedTopicRegex)
  }
  if (regexes.size > 0) {
    const compiled = [...regexes].map(compileSubscriptionRegex).filter((regex): regex is RegExp => regex !== null)
    for (const topic of topics.topicNames()) {
      if (counts.has(topic) || isInternalTopic(topic) || !compiled.some((r) => r.test(topic))) continue
      const count = topics.partitionCount(topic)
      if (count !== undefined && count > 0) counts.set(topic, count)
    }
  }
  return [...counts].sort(([a], [b]) => compareStrings(a, b)).map(([topic, partitionCount]) => ({ topic, partitionCount }))
}

export function samePartitionMetadata (a: readonly TopicPartitionCount[], b: ReadonlyMap<string, number> | undefined): boolean {
  const size = b?.size ?? 0
  if (a.length !== size) return false
  return a.every(({ topic, partitionCount }) => b?.get(topic) === partitionCount)
}

/** The member's subscribed topics that exist, per the group's partition metadata. */
function resolvedSubscription (member: ConsumerGroupMemberMetadataValue, partitionMetadata: ReadonlyMap<string, number>): Set<string> {
  const topics = new Set<string>()
  for (const name of member.subscribedTopicNames) if (partitionMetadata.has(name)) topics.add(name)
  if (member.subscribedTopicRegex !== '') {
    for (const topic of partitionMetadata.keys()) if (regexMatches(member, topic)) topics.add(topic)
  }
  return topics
}

/** The group's assignor: the one most members ask for (ties by name), else the configured default. */
export function groupAssignorName (members: Iterable<ConsumerGroupMemberMetadataValue>, config: CoordinatorConfig): AssignorName {
  const votes = new Map<AssignorName, number>()
  for (const member of members) {
    const name = member.serverAssignor as AssignorName
    if (ASSIGNOR_NAMES.includes(name)) votes.set(name, (votes.get(name) ?? 0) + 1)
  }
  let best: AssignorName | undefined
  for (const name of ASSIGNOR_NAMES) {
    const count = votes.get(name) ?? 0
    if (count > 0 && (best === undefined || count > (votes.get(best) ?? 0))) best = name
  }
  return best ?? config.defaultAssignor
}

export function checkAssignorName (name: string): void {
  if (name !== '' && !ASSIGNOR_NAMES.includes(name as AssignorName)) {
    throw new GregorError(ErrorCode.UNSUPPORTED_ASSIGNOR,
      `assignor ${JSON.stringify(name)} is not supported; the coordinator has ${ASSIGNOR_NAMES.join(', ')}`,
      { details: { assignor: name } })
  }
}

export interface TargetAssignmentInput {
  readonly groupId: string
  readonly groupEpoch: number
  readonly members: ReadonlyMap<string, ConsumerGroupMemberMetadataValue>
  readonly partitionMetadata: ReadonlyMap<string, number>
  /** The stored targets (members absent from `members` are ignored). */
  readonly targets: ReadonlyMap<string, readonly TopicPartitions[]>
  readonly config: CoordinatorConfig
}

/**
 * The new target assignment at `groupEpoch`: a record for each member whose target changed, then the target
 * metadata (Kafka writes them in this order). Returns every member's new target too.
 */
export function computeTargetAssignment (input: TargetAssignmentInput): { records: GroupRecord[]; targets: Map<string, readonly TopicPartitions[]> } {
  const assignor: Assignor = assignors[groupAssignorName(input.members.values(), input.config)]
  const assignorMembers: AssignorMember[] = [...input.members].map(([memberId, member]) => ({
    memberId,
    subscribedTopics: resolvedSubscription(member, input.partitionMetadata),
    currentTarget: toPartitionSet(input.targets.get(memberId) ?? []),
  }))
  const result = assignor({ members: assignorMembers, partitionCounts: input.partitionMetadata })
  const records: GroupRecord[] = []
  const targets = new Map<string, readonly TopicPartitions[]>()
  for (const memberId of [...input.members.keys()].sort(compareStrings)) {
    const target = result.get(memberId) ?? []
    targets.set(memberId, target)
    const previous = input.targets.get(memberId)
    if (previous === undefined || !sameTopicPartitions(previous, target)) {
      records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId: input.groupId, memberId, value: { partitions: target } })
    }
  }
  records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', groupId: input.groupId, value: { assignmentEpoch: input.groupEpoch } })
  return { records, targets }
}

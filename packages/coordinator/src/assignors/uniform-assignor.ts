/**
 * The uniform assignor (Kafka's default server-side assignor): balanced and sticky.
 *
 * Homogeneous subscriptions (every member subscribes to the same topics; the common case), after Kafka's
 * `UniformHomogeneousAssignmentBuilder`: with P partitions and N members every member gets floor(P/N) or one more.
 * Members keep what they already have up to their quota; the one-more slots go first to members that already hold
 * more than floor(P/N) (so nobody gives up a partition only to receive another); only the surplus and the
 * unassigned partitions move. A 4th member joining 3 members of 2 partitions each on 6 partitions takes exactly one
 * partition from one of them.
 *
 * Heterogeneous subscriptions: members keep every current partition they are still subscribed to; unassigned
 * partitions go one by one to the least loaded subscriber (topics with the fewest subscribers first, the most
 * constrained); then partitions move from a member to a subscriber of that topic holding at least two fewer until no
 * such move exists. Each move lowers the sum of squared loads, so this terminates; the result is correct (each
 * partition to exactly one subscriber) and locally balanced, though not always globally optimal (Kafka's
 * heterogeneous builder is cleverer about it).
 *
 * Deterministic: ties go by member id, then topic name, then partition.
 */
import type { TopicPartitions } from '../coordinator-types.js'
import { addPartition, compareStrings, toTopicPartitions } from '../topic-partitions.js'
import type { AssignorInput, AssignorMember } from './assignor.js'

interface Slot { readonly topic: string; readonly partition: number }

const slotKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export function uniformAssign (input: AssignorInput): Map<string, TopicPartitions[]> {
  const members = [...input.members].sort((a, b) => compareStrings(a.memberId, b.memberId))
  if (members.length === 0) return new Map()
  const first = members[0] as AssignorMember
  const homogeneous = members.every((m) => m.subscribedTopics.size === first.subscribedTopics.size &&
    [...m.subscribedTopics].every((t) => first.subscribedTopics.has(t)))
  const result = homogeneous ? assignHomogeneous(members, input.partitionCounts) : assignHeterogeneous(members, input.partitionCounts)
  return new Map(members.map((m) => [m.memberId, toTopicPartitions(groupByTopic(result.get(m.memberId) ?? []))]))
}

function groupByTopic (slots: readonly Slot[]): Map<string, Set<number>> {
  const set = new Map<string, Set<number>>()
  for (const { topic, partition } of slots) addPartition(set, topic, partition)
  return set
}

/** Each member's current partitions that are still valid for it, in canonical order, never one partition twice. */
function retainedSlots (members: readonly AssignorMember[], counts: ReadonlyMap<string, number>, claimed: Set<string>): Map<string, Slot[]> {
  const retained = new Map<string, Slot[]>()
  for (const member of members) {
    const slots: Slot[] = []
    const topics = [...member.currentTarget.keys()].sort(compareStrings)
    for (const topic of topics) {
      const count = counts.get(topic)
      if (count === undefined || !member.subscribedTopics.has(topic)) continue
      const partitions = [...(member.currentTarget.get(topic) ?? [])].sort((a, b) => a - b)
      for (const partition of partitions) {
        const key = slotKey(topic, partition)
        if (partition >= count || claimed.has(key)) continue
        claimed.add(key)
        slots.push({ topic, partition })
      }
    }
    retained.set(member.memberId, slots)
  }
  return retained
}

function unclaimedSlots (topics: readonly string[], counts: ReadonlyMap<string, number>, claimed: ReadonlySet<string>): Slot[] {
  const pool: Slot[] = []
  for (const topic of topics) {
    const count = counts.get(topic) ?? 0
    for (let partition = 0; partition < count; partition++) {
      if (!claimed.has(slotKey(topic, partition))) pool.push({ topic, partition })
    }
  }
  return pool
}

function assignHomogeneous (members: readonly AssignorMember[], counts: ReadonlyMap<string, number>): Map<string, Slot[]> {
  const topics = [...(members[0] as AssignorMember).subscribedTopics].filter((t) => counts.has(t)).sort(compareStrings)
  const total = topics.reduce((sum, t) => sum + (counts.get(t) ?? 0), 0)
  const minQuota = Math.floor(total / members.length)
  let extra = total % members.length
  const claimed = new Set<string>()
  const retained = retainedSlots(members, counts, claimed)
  // Members already holding more than the minimum keep one more first: no one gives up a partition needlessly.
  const byRetained = [...members].sort((a, b) =>
    (retained.get(b.memberId)?.length ?? 0) - (retained.get(a.memberId)?.length ?? 0) || compareStrings(a.memberId, b.memberId))
  const assigned = new Map<string, Slot[]>()
  const hasExtra = new Set<string>()
  const released: Slot[] = []
  for (const member of byRetained) {
    const slots = retained.get(member.memberId) ?? []
    let quota = minQuota
    if (extra > 0 && slots.length > minQuota) {
      quota++
      extra--
      hasExtra.add(member.memberId)
    }
    assigned.set(member.memberId, slots.slice(0, quota))
    released.push(...slots.slice(quota))
  }
  for (const slot of released) claimed.delete(slotKey(slot.topic, slot.partition))
  const pool = unclaimedSlots(topics, counts, claimed)
  let next = 0
  for (const member of members) {
    const slots = assigned.get(member.memberId) as Slot[]
    while (slots.length < minQuota && next < pool.length) slots.push(pool[next++] as Slot)
  }
  for (const member of members) {
    if (extra === 0 || next >= pool.length) break
    if (hasExtra.has(member.memberId)) continue
    ;(assigned.get(member.memberId) as Slot[]).push(pool[next++] as Slot)
    extra--
  }
  return assigned
}

function assignHeterogeneous (members: readonly AssignorMember[], counts: ReadonlyMap<string, number>): Map<string, Slot[]> {
  const claimed = new Set<string>()
  const assigned = retainedSlots(members, counts, claimed)
  const subscribers = new Map<string, AssignorMember[]>()
  for (const member of members) {
    for (const topic of member.subscribedTopics) {
      if (!counts.has(topic)) continue
      let list = subscribers.get(topic)
      if (list === undefined) subscribers.set(topic, list = [])
      list.push(member)
    }
  }
  const load = (m: AssignorMember): number => (assigned.get(m.memberId) as Slot[]).length
  const topics = [...subscribers.keys()].sort((a, b) =>
    (subscribers.get(a)?.length ?? 0) - (subscribers.get(b)?.length ?? 0) || compareStrings(a, b))
  for (const topic of topics) {
    const eligible = subscribers.get(topic) as AssignorMember[]
    for (const slot of unclaimedSlots([topic], counts, claimed)) {
      let best = eligible[0] as AssignorMember
      for (const m of eligible) if (load(m) < load(best)) best = m
      ;(assigned.get(best.memberId) as Slot[]).push(slot)
    }
  }
  // Move partitions from heavier to lighter subscribers while any member holds two more than one that could take one.
  for (;;) {
    const byLoad = [...members].sort((a, b) => load(a) - load(b) || compareStrings(a.memberId, b.memberId))
    let moved = false
    outer:
    for (let i = byLoad.length - 1; i >= 0; i--) {
      const heavy = byLoad[i] as AssignorMember
      const heavySlots = assigned.get(heavy.memberId) as Slot[]
      for (const light of byLoad) {
        if (load(light) >= load(heavy) - 1) break
        let index = -1
        for (let k = heavySlots.length - 1; k >= 0; k--) {
          if (light.subscribedTopics.has((heavySlots[k] as Slot).topic)) { index = k; break }
        }
        if (index < 0) continue
        const [slot] = heavySlots.splice(index, 1)
        ;(assigned.get(light.memberId) as Slot[]).push(slot as Slot)
        moved = true
        break outer
      }
    }
    if (!moved) return assigned
  }
}

/**
 * Whole-shard properties under random membership churn, slow revocations, session expiries, subscription changes and
 * partition-count changes, with members behaving like KIP-848 clients (testing/group-simulation.ts):
 * - never two members holding one partition, coordinator side (assigned ∪ pending revocation) or client side (owned);
 * - member epochs never go back;
 * - once everyone keeps heartbeating, every subscribed partition is owned by exactly one member within a few rounds;
 * - replaying the log, or a compacted and reordered copy of it, rebuilds the same observable state.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { GroupCoordinatorShard } from './group-coordinator-shard.js'
import { defaultCoordinatorConfig } from './coordinator-config.js'
import { type GroupRecord, groupRecordKeyId } from './group-record.js'
import { GroupSimulation, SimulatedMember, type SimulatedSubscription } from './testing/group-simulation.js'

const subscriptions: SimulatedSubscription[] = [
  { topics: ['t0'] }, { topics: ['t1'] }, { topics: ['t0', 't1'] }, { regex: 't.*' }, { topics: ['t1'], assignor: 'range' },
]

type Action =
  | { kind: 'join'; subscription: number; revokeDelay: number }
  | { kind: 'heartbeat'; member: number }
  | { kind: 'leave'; member: number }
  | { kind: 'silence'; member: number }
  | { kind: 'advance' }
  | { kind: 'subscribe'; member: number; subscription: number }
  | { kind: 'partitions'; topic: number; count: number }
  | { kind: 'commit'; member: number }

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('join' as const), subscription: fc.nat(subscriptions.length - 1), revokeDelay: fc.nat(2) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), member: fc.nat(7) }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('leave' as const), member: fc.nat(7) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('silence' as const), member: fc.nat(7) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('subscribe' as const), member: fc.nat(7), subscription: fc.nat(subscriptions.length - 1) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('partitions' as const), topic: fc.nat(1), count: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('commit' as const), member: fc.nat(7) }), weight: 2 },
)

interface Run {
  readonly sim: GroupSimulation
  readonly members: SimulatedMember[]
  readonly silent: Set<SimulatedMember>
  readonly lastEpoch: Map<string, number>
}

const live = (run: Run): SimulatedMember[] => run.members.filter((m) => !m.left && !run.silent.has(m))

function heartbeat (run: Run, member: SimulatedMember): void {
  run.sim.heartbeat(member)
  if (member.memberId === '') return
  const last = run.lastEpoch.get(member.memberId) ?? -1
  expect(member.memberEpoch).toBeGreaterThanOrEqual(last)
  run.lastEpoch.set(member.memberId, member.memberEpoch)
}

function checkExclusive (run: Run): void {
  const group = run.sim.shard.group(run.sim.groupId)
  const held = new Map<string, string>()
  for (const memberId of group?.members.keys() ?? []) {
    const current = group?.currentOf(memberId)
    for (const { topic, partitions } of [...(current?.assignedPartitions ?? []), ...(current?.partitionsPendingRevocation ?? [])]) {
      for (const p of partitions) {
        const key = `${topic}-${p}`
        expect(held.get(key), `${key} held by ${held.get(key)} and ${memberId}`).toBeUndefined()
        held.set(key, memberId)
      }
    }
  }
  const owned = new Map<string, SimulatedMember>()
  for (const member of live(run)) {
    for (const [topic, partitions] of member.owned) {
      for (const p of partitions) {
        const key = `${topic}-${p}`
        expect(owned.has(key), `${key} owned by two live clients`).toBe(false)
        owned.set(key, member)
      }
    }
  }
}

function step (run: Run, action: Action): void {
  const { sim, members } = run
  const pick = (i: number): SimulatedMember | undefined => {
    const candidates = live(run)
    return candidates.length === 0 ? undefined : candidates[i % candidates.length]
  }
  switch (action.kind) {
    case 'join': {
      if (live(run).length >= 6) return
      const member = new SimulatedMember(subscriptions[action.subscription] as SimulatedSubscription, action.revokeDelay)
      members.push(member)
      heartbeat(run, member)
      return
    }
    case 'heartbeat': { const m = pick(action.member); if (m !== undefined) heartbeat(run, m); return }
    case 'leave': { const m = pick(action.member); if (m !== undefined && m.memberId !== '') sim.leave(m); return }
    case 'silence': { const m = pick(action.member); if (m !== undefined) run.silent.add(m); return }
    case 'advance':
      sim.nowMs += 10_000
      for (const m of live(run)) heartbeat(run, m)
      sim.tick()
      return
    case 'subscribe': {
      const m = pick(action.member)
      if (m !== undefined) { m.subscription = subscriptions[action.subscription] as SimulatedSubscription; heartbeat(run, m) }
      return
    }
    case 'partitions':
      sim.topics.set(`t${action.topic}`, action.count)
      sim.tick()
      return
    case 'commit': {
      const m = pick(action.member)
      if (m === undefined || m.memberId === '') return
      const partitions = m.ownedList().flatMap(({ topic, partitions }) => partitions
        .filter((p) => p < (sim.topics.partitionCount(topic) ?? 0))
        .map((partition) => ({ topic, partition, offset: sim.nowMs % 1000, leaderEpoch: -1, metadata: m.memberId })))
      const response = sim.apply(sim.shard.commitOffsets({ groupId: sim.groupId, memberId: m.memberId, memberEpoch: m.memberEpoch, partitions }, sim.context))
      expect(response.partitions.every((p) => p.errorCode === '')).toBe(true)
    }
  }
}

function observable (shard: GroupCoordinatorShard, groupId: string): unknown {
  return {
    groups: shard.listGroups(),
    group: shard.groupCount === 0 ? undefined : shard.describeGroup(groupId),
    offsets: shard.fetchOffsets({ groupId, partitions: [] }),
  }
}

function freshShard (records: readonly GroupRecord[]): GroupCoordinatorShard {
  const shard = new GroupCoordinatorShard({ config: defaultCoordinatorConfig, newMemberId: () => 'unused' })
  for (const record of records) shard.replay(record)
  return shard
}

/** What compaction may leave: the last record of each key (tombstoned keys dropped), keys in any order. */
function compact (log: readonly GroupRecord[], order: readonly number[]): GroupRecord[] {
  const last = new Map<string, GroupRecord>()
  for (const record of log) { last.delete(groupRecordKeyId(record)); last.set(groupRecordKeyId(record), record) }
  const kept = [...last.values()].filter((r) => r.value !== null)
  const shuffled = kept.map((record, i) => ({ record, rank: order[i % Math.max(order.length, 1)] ?? 0, i }))
  shuffled.sort((a, b) => a.rank - b.rank || a.i - b.i)
  return shuffled.map((s) => s.record)
}

describe('group coordinator shard under churn', () => {
  test('exclusive ownership, monotonic epochs, convergence, replay equivalence', () => {
    fc.assert(fc.property(
      fc.array(actionArb, { minLength: 5, maxLength: 60 }),
      fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }),
      (actions, order) => {
        const sim = new GroupSimulation({ topics: { t0: 4, t1: 3 } })
        const run: Run = { sim, members: [], silent: new Set(), lastEpoch: new Map() }
        for (const action of actions) {
          step(run, action)
          checkExclusive(run)
        }
        // Everyone left keeps heartbeating: the silent ones expire, the rest converge.
        for (let i = 0; i < 5; i++) { step(run, { kind: 'advance' }); checkExclusive(run) }
        const alive = live(run)
        let converged = false
        for (let round = 0; round < 12 && !converged; round++) {
          sim.nowMs += 50
          for (const m of alive) heartbeat(run, m)
          checkExclusive(run)
          converged = sim.shard.groupCount === 0 || alive.length === 0 || sim.shard.describeGroup(sim.groupId).state === 'stable'
        }
        expect(converged).toBe(true)
        if (alive.length > 0) {
          const group = sim.shard.group(sim.groupId)
          const owned = new Set(alive.flatMap((m) => m.ownedList().flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`))))
          const expected = new Set<string>()
          for (const [topic, count] of group?.partitionMetadata ?? new Map<string, number>()) {
            for (let p = 0; p < count; p++) expected.add(`${topic}-${p}`)
          }
          expect(owned).toEqual(expected)
        }
        const state = observable(sim.shard, sim.groupId)
        expect(observable(freshShard(sim.log), sim.groupId)).toEqual(state)
        expect(observable(freshShard(compact(sim.log, order)), sim.groupId)).toEqual(state)
      },
    ), { seed: 20240848, numRuns: 200 })
  })
})

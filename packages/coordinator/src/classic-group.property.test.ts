/**
 * Classic groups under random churn (joins, leaves, crashes, silent members, lost time), with members behaving like
 * eager classic consumers (they drop their partitions before rejoining and take only what SyncGroup gives them; the
 * leader splits the partitions round-robin):
 * - the members whose offset commits the coordinator accepts at any moment own disjoint partitions (generation
 *   fencing is what keeps a removed or lagging member from committing for partitions another member now owns);
 * - a commit the network delays past a rebalance (a member's later commits queue behind it, as on one connection)
 *   is refused, so committed offsets never go back;
 * - generations never go back (unless the group, empty and without offsets, was deleted); committed offsets never
 *   go back;
 * - once every live member keeps going, the group becomes stable with every partition owned by one member;
 * - all of this across coordinator failovers (a new shard loads the compacted log; waiting requests are answered
 *   NOT_COORDINATOR), and a failover of a settled group changes nothing: same generation, same owners, no rejoin.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ClassicHarness, type Pending } from './testing/classic-harness.js'
import type { JoinGroupResponse, SyncGroupResponse } from './classic-group.js'
import { codeOf } from './testing/code-of.js'

const PARTITIONS = 4

class Client {
  memberId = ''
  generationId = -1
  phase: 'idle' | 'joining' | 'syncing' | 'stable' = 'idle'
  owned: number[] | undefined
  join: Pending<JoinGroupResponse> | undefined
  sync: Pending<SyncGroupResponse> | undefined
  crashed = false

  reset (forget: boolean): void {
    this.owned = undefined
    this.phase = 'idle'
    if (forget) this.memberId = ''
  }
}

/** The consumers' positions only move forward (what they commit is what they have read). */
const positions = { next: 0 }
const timeouts = { sessionTimeoutMs: 6000, rebalanceTimeoutMs: 5000 }

const encode = (partitions: number[]): Uint8Array => Buffer.from(JSON.stringify(partitions))
const decode = (bytes: Uint8Array): number[] => bytes.length === 0 ? [] : JSON.parse(Buffer.from(bytes).toString()) as number[]

/** One step of a live client's protocol; its commits queue behind any of its own the network holds (one connection). */
function step (h: ClassicHarness, c: Client, delayed: DelayedCommit[]): void {
  switch (c.phase) {
    case 'idle': {
      if (c.memberId === '') {
        const first = h.join({ ...timeouts, memberId: '' }).value
        if (first.errorCode !== 'MEMBER_ID_REQUIRED') return
        c.memberId = first.memberId
      }
      c.join = h.join({ ...timeouts, memberId: c.memberId })
      c.phase = 'joining'
      return
    }
    case 'joining': {
      const join = c.join
      if (join === undefined || !join.done) return
      const response = join.value
      if (response.errorCode !== '') return c.reset(response.errorCode === 'UNKNOWN_MEMBER_ID')
      c.generationId = response.generationId
      const assignments: Record<string, string> = {}
      if (response.leader === c.memberId) {
        const ids = response.members.map((m) => m.memberId)
        const split = new Map(ids.map((id) => [id, [] as number[]]))
        for (let p = 0; p < PARTITIONS; p++) split.get(ids[p % ids.length] as string)?.push(p)
        for (const [id, partitions] of split) assignments[id] = Buffer.from(encode(partitions)).toString()
      }
      c.sync = h.sync(c.memberId, c.generationId, assignments)
      c.phase = 'syncing'
      return
    }
    case 'syncing': {
      const sync = c.sync
      if (sync === undefined || !sync.done) return
      if (sync.value.errorCode !== '') return c.reset(sync.value.errorCode === 'UNKNOWN_MEMBER_ID')
      c.owned = decode(sync.value.assignment)
      c.phase = 'stable'
      return
    }
    case 'stable': {
      const answer = h.heartbeat(c.memberId, c.generationId).errorCode
      if (answer !== '') return c.reset(answer === 'UNKNOWN_MEMBER_ID')
      for (const partition of c.owned ?? []) {
        if (delayed.some((d) => d.client === c)) {
          delayed.push({ client: c, memberId: c.memberId, generationId: c.generationId, partition, offset: positions.next++ })
          continue
        }
        try {
          h.apply(h.shard.commitOffsets({
            groupId: 'group', memberId: c.memberId, memberEpoch: c.generationId,
            partitions: [{ topic: 'orders', partition: partition, offset: positions.next++, leaderEpoch: -1, metadata: '' }],
          }, h.context))
        } catch {
          // Fenced: the next heartbeat tells the client why.
        }
      }
    }
  }
}

type Action =
  | { kind: 'step'; client: number }
  | { kind: 'leave'; client: number }
  | { kind: 'crash'; client: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'spawn' }
  | { kind: 'delay'; client: number }
  | { kind: 'deliver' }
  | { kind: 'failover'; compact: boolean }

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('step' as const), client: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), client: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), client: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1500, max: 12_000 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'spawn' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delay' as const), client: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'deliver' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failover' as const), compact: fc.boolean() }) },
)

interface DelayedCommit { client: Client; memberId: string; generationId: number; partition: number; offset: number }

/** A commit the network holds back (sent while its member owned the partition, arriving later). */
function delayCommit (c: Client, queue: DelayedCommit[]): void {
  const partition = c.owned?.[0]
  if (c.phase === 'stable' && partition !== undefined) {
    queue.push({ client: c, memberId: c.memberId, generationId: c.generationId, partition, offset: positions.next++ })
  }
}

function deliverCommit (h: ClassicHarness, queue: DelayedCommit[]): void {
  const commit = queue.shift()
  if (commit === undefined) return
  try {
    h.apply(h.shard.commitOffsets({
      groupId: 'group', memberId: commit.memberId, memberEpoch: commit.generationId,
      partitions: [{ topic: 'orders', partition: commit.partition, offset: commit.offset, leaderEpoch: -1, metadata: '' }],
    }, h.context))
  } catch {
    // Fenced: what generation fencing is for.
  }
}

describe('classic groups under churn', () => {
  test('accepted committers own disjoint partitions; generations and offsets never go back; the group settles', () => {
    fc.assert(fc.property(fc.array(actionArb, { minLength: 20, maxLength: 150 }), (actions) => {
      const h = new ClassicHarness(1000)
      const clients: Client[] = [new Client(), new Client()]
      let lastGeneration = 0
      const committed = new Map<number, number>()
      const delayed: DelayedCommit[] = []
      const check = (): void => {
        const acceptedOwners = clients.filter((c) => c.owned !== undefined && codeOf(() => h.shard.commitOffsets(
          { groupId: 'group', memberId: c.memberId, memberEpoch: c.generationId, partitions: [] }, h.context)) === '')
        const seen = new Set<number>()
        for (const c of acceptedOwners) {
          for (const p of c.owned ?? []) {
            expect(seen.has(p)).toBe(false)
            seen.add(p)
          }
        }
        // An empty group without offsets is deleted (as Kafka deletes it); generations restart only then.
        const generation = h.shard.group('group')?.groupEpoch ?? 0
        if (h.shard.group('group') !== undefined) expect(generation).toBeGreaterThanOrEqual(lastGeneration)
        lastGeneration = generation
        for (const { partition, offset } of h.shard.fetchOffsets({ groupId: 'group', partitions: [] }).partitions) {
          expect(offset).toBeGreaterThanOrEqual(committed.get(partition) ?? 0)
          committed.set(partition, offset)
        }
      }
      for (const action of actions) {
        const client = 'client' in action ? clients[action.client % clients.length] : undefined
        if (action.kind === 'spawn') clients.push(new Client())
        else if (action.kind === 'deliver') deliverCommit(h, delayed)
        else if (action.kind === 'advance') h.advance(action.ms)
        else if (action.kind === 'failover') h.failover({ compact: action.compact })
        else if (client !== undefined && !client.crashed) {
          if (action.kind === 'step') for (let i = 0; i < 3; i++) step(h, client, delayed)
          else if (action.kind === 'delay') delayCommit(client, delayed)
          else if (action.kind === 'crash') client.crashed = true
          else if (client.memberId !== '') {
            h.leave([client.memberId])
            client.reset(true)
          }
        }
        check()
      }
      // Everyone alive keeps going: the group settles with every partition owned once.
      const live = clients.filter((c) => !c.crashed)
      for (let round = 0; round < 100; round++) {
        for (const c of live) step(h, c, delayed)
        h.advance(500)
        check()
      }
      // The network finally delivers what it held back: all of it from older generations, so all of it refused.
      while (delayed.length > 0) {
        deliverCommit(h, delayed)
        check()
      }
      if (live.length === 0) return
      expect(live.every((c) => c.phase === 'stable')).toBe(true)
      expect(live.flatMap((c) => c.owned ?? []).sort((a, b) => a - b)).toEqual([...Array(PARTITIONS).keys()])
      // A failover of the settled group: the members go on at their generation, owning what they owned.
      const settled = live.map((c) => ({ memberId: c.memberId, generationId: c.generationId, owned: c.owned }))
      h.failover({ compact: true })
      for (let round = 0; round < 40; round++) {
        for (const c of live) step(h, c, delayed)
        h.advance(500)
        check()
      }
      expect(live.map((c) => ({ memberId: c.memberId, generationId: c.generationId, owned: c.owned }))).toEqual(settled)
      expect(live.every((c) => c.phase === 'stable')).toBe(true)
    }), { seed: 20261206, numRuns: 150 })
  })
})

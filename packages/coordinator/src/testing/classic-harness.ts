/**
 * Test support for classic groups: a shard driven as the runtime drives it (records replayed at once and logged; a
 * request that waits is parked and answered by a later delivery), with a manual clock. Not exported from the package.
 */
import type { ClassicOutcome } from '../classic-group-decisions.js'
import type {
  ClassicHeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupResponse, SyncGroupResponse,
} from '../classic-group.js'
import { defaultCoordinatorConfig } from '../coordinator-config.js'
import type { CoordinatorResult, DecisionContext, OffsetCommitResponse } from '../coordinator-types.js'
import { GroupCoordinatorShard } from '../group-coordinator-shard.js'
import { type GroupRecord, groupRecordKeyId } from '../group-record.js'
import { MutableTopics, applyResult } from './group-simulation.js'

/** A request's answer: there now, or parked until a delivery. */
export class Pending<R> {
  response: R | undefined
  get done (): boolean { return this.response !== undefined }
  get value (): R {
    if (this.response === undefined) throw new Error('the request is still waiting')
    return this.response
  }
}

export function joinRequest (overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'group', memberId: '', groupInstanceId: null, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000,
    requireKnownMemberId: true, clientId: 'client', clientHost: '/127.0.0.1', ...overrides,
  }
}

export class ClassicHarness {
  shard: GroupCoordinatorShard
  readonly topics = new MutableTopics({ orders: 4 })
  readonly log: GroupRecord[] = []
  nowMs = 1_000_000
  #nextId = 0
  #joins = new Map<string, Pending<JoinGroupResponse>>()
  #syncs = new Map<string, Pending<SyncGroupResponse>>()

  constructor (readonly initialRebalanceDelayMs = 3000) {
    this.shard = this.#newShard()
  }

  #newShard (): GroupCoordinatorShard {
    return new GroupCoordinatorShard({
      config: defaultCoordinatorConfig,
      newMemberId: () => `id${String(this.#nextId++).padStart(4, '0')}`,
      classic: { initialRebalanceDelayMs: this.initialRebalanceDelayMs },
    })
  }

  get context (): DecisionContext { return { nowMs: this.nowMs, topics: this.topics } }

  apply<R> (result: CoordinatorResult<R>): R {
    return applyResult(this.shard, this.log, result)
  }

  #settle<R> (outcome: ClassicOutcome<R>, parked: Map<string, Pending<R>> | undefined): Pending<R> {
    const pending = new Pending<R>()
    if (outcome.reply !== undefined) pending.response = outcome.reply
    else parked?.set(outcome.awaitingMemberId, pending)
    this.#deliver(outcome)
    return pending
  }

  #deliver (outcome: Pick<ClassicOutcome<unknown>, 'joins' | 'syncs'>): void {
    for (const { memberId, response } of outcome.joins) {
      const waiter = this.#joins.get(memberId)
      this.#joins.delete(memberId)
      if (waiter !== undefined) waiter.response = response
    }
    for (const { memberId, response } of outcome.syncs) {
      const waiter = this.#syncs.get(memberId)
      this.#syncs.delete(memberId)
      if (waiter !== undefined) waiter.response = response
    }
  }

  join (overrides: Partial<JoinGroupRequest> = {}): Pending<JoinGroupResponse> {
    return this.#settle(this.apply(this.shard.joinGroup(joinRequest(overrides), this.context)), this.#joins)
  }

  /** A new member's two-step join (MEMBER_ID_REQUIRED, then again with the id given). */
  joinNew (overrides: Partial<JoinGroupRequest> = {}): { memberId: string; join: Pending<JoinGroupResponse> } {
    const first = this.join({ ...overrides, memberId: '' }).value
    if (first.errorCode !== 'MEMBER_ID_REQUIRED') throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`)
    return { memberId: first.memberId, join: this.join({ ...overrides, memberId: first.memberId }) }
  }

  sync (memberId: string, generationId: number, assignments: Record<string, string> = {}, groupId = 'group'): Pending<SyncGroupResponse> {
    const request = {
      groupId, generationId, memberId, groupInstanceId: null,
      assignments: Object.entries(assignments).map(([id, text]) => ({ memberId: id, assignment: Buffer.from(text) })),
    }
    return this.#settle(this.apply(this.shard.syncGroup(request, this.context)), this.#syncs)
  }

  heartbeat (memberId: string, generationId: number, groupId = 'group'): ClassicHeartbeatResponse {
    return this.#settle(this.apply(this.shard.classicHeartbeat({ groupId, generationId, memberId, groupInstanceId: null }, this.context)), undefined).value
  }

  leave (memberIds: string[], groupId = 'group'): LeaveGroupResponse {
    const request = { groupId, members: memberIds.map((memberId) => ({ memberId, groupInstanceId: null })) }
    return this.#settle(this.apply(this.shard.leaveGroup(request, this.context)), undefined).value
  }

  commit (memberId: string, generationId: number, offset: number, groupId = 'group'): OffsetCommitResponse {
    return this.apply(this.shard.commitOffsets({
      groupId, memberId, memberEpoch: generationId, partitions: [{ topic: 'orders', partition: 0, offset, leaderEpoch: -1, metadata: '' }],
    }, this.context))
  }

  /** Time passes; the runtime's tick runs every 100 ms (both group types). */
  advance (ms: number): void {
    const endMs = this.nowMs + ms
    while (this.nowMs < endMs) {
      this.nowMs = Math.min(endMs, this.nowMs + 100)
      this.apply(this.shard.tick(this.context))
      this.#deliver(this.apply(this.shard.classicTick(this.context)))
    }
  }

  /**
   * A coordinator failover: a fresh shard replays the log (compacted: the last record of each key, as the cleaner
   * leaves it, when `compact`) and is loaded at the current time; every parked request is answered NOT_COORDINATOR,
   * as the runtime answers them when the partition unloads.
   */
  failover (options: { compact?: boolean } = {}): void {
    this.shard = this.#newShard()
    const log = options.compact === true ? compacted(this.log) : this.log
    for (const record of log) this.shard.replay(record)
    this.shard.onLoaded(this.nowMs)
    const moved = { errorCode: 'NOT_COORDINATOR' as const, errorMessage: 'the coordinator moved' }
    for (const waiter of this.#joins.values()) {
      waiter.response = { ...moved, generationId: -1, protocolType: '', protocolName: '', leader: '', memberId: '', members: [] }
    }
    for (const waiter of this.#syncs.values()) waiter.response = { ...moved, protocolType: '', protocolName: '', assignment: new Uint8Array(0) }
    this.#joins.clear()
    this.#syncs.clear()
  }
}

/** The log as compaction leaves it: the last record of each key, in log order, tombstones included. */
function compacted (log: readonly GroupRecord[]): GroupRecord[] {
  const last = new Map<string, number>()
  log.forEach((record, index) => last.set(groupRecordKeyId(record), index))
  return log.filter((record, index) => last.get(groupRecordKeyId(record)) === index)
}

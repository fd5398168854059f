/**
 * The JoinGroup and SyncGroup requests of classic group members that wait for other members (the runtime's half of
 * Kafka's "awaiting join/sync futures").
 *
 * Owns: at most one waiting request per (group, member, kind); a newer one replaces it (the decision has already
 * answered the older one with a delivery). Invariants: every waiter is settled exactly once: by a delivery, by its
 * partition unloading (`failPartition`, NOT_COORDINATOR: the member finds the new coordinator and rejoins), or by
 * `close`. A rejected waiter that nobody awaits any more never surfaces as an unhandled rejection.
 */
import type { ClassicOutcome, GroupDelivery, JoinGroupResponse, SyncGroupResponse } from '@gregor/coordinator'

type Kind = 'join' | 'sync'

interface Waiter {
  readonly partition: number
  readonly resolve: (response: JoinGroupResponse | SyncGroupResponse) => void
  readonly reject: (error: unknown) => void
}

const keyOf = (groupId: string, memberId: string, kind: Kind): string => `${kind}\u0000${groupId}\u0000${memberId}`

export class ClassicWaiters {
  readonly #waiters = new Map<string, Waiter>()

  get size (): number { return this.#waiters.size }

  park (partition: number, groupId: string, memberId: string, kind: Kind): Promise<JoinGroupResponse | SyncGroupResponse> {
    const promise = new Promise<JoinGroupResponse | SyncGroupResponse>((resolve, reject) => {
      this.#waiters.set(keyOf(groupId, memberId, kind), { partition, resolve, reject })
    })
    promise.catch(() => {})
    return promise
  }

  /** Answers the waiting requests a decision of `groupId` released. */
  deliver (groupId: string, outcome: Pick<ClassicOutcome<unknown>, 'joins' | 'syncs'>): void {
    for (const { memberId, response } of outcome.joins) this.#settle(keyOf(groupId, memberId, 'join'), response)
    for (const { memberId, response } of outcome.syncs) this.#settle(keyOf(groupId, memberId, 'sync'), response)
  }

  /** Answers what a tick released (deliveries of many groups, each named by the member's group). */
  deliverAll (outcome: { readonly joins: readonly GroupDelivery<JoinGroupResponse>[]; readonly syncs: readonly GroupDelivery<SyncGroupResponse>[] }): void {
    for (const { groupId, memberId, response } of outcome.joins) this.#settle(keyOf(groupId, memberId, 'join'), response)
    for (const { groupId, memberId, response } of outcome.syncs) this.#settle(keyOf(groupId, memberId, 'sync'), response)
  }

  #settle (key: string, response: JoinGroupResponse | SyncGroupResponse): void {
    const waiter = this.#waiters.get(key)
    if (waiter === undefined) return
    this.#waiters.delete(key)
    waiter.resolve(response)
  }

  /** Fails every waiting request of one `__consumer_offsets` partition. */
  failPartition (partition: number, error: unknown): void {
    for (const [key, waiter] of this.#waiters) {
      if (waiter.partition !== partition) continue
      this.#waiters.delete(key)
      waiter.reject(error)
    }
  }
}

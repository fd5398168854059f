/**
 * The JoinGroup and SyncGroup requests of classic group members that wait for other members (the runtime's half of
 * Kafka's "awaiting join/sync futures").
 *
 * Owns: the waiting requests per (group, member, kind), oldest first: a member that asks again while its request
 * waits (a client that timed out and retried) has both; the decision delivers the older one's answer (superseded)
 * before any answer for the newer, so deliveries settle them in order. Invariants: every waiter is settled exactly
 * once: by a delivery, by its
 * partition unloading (`failPartition`, NOT_COORDINATOR: the member finds the new coordinator and asks again), or by
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
  readonly #waiters = new Map<string, Waiter[]>()

  get size (): number {
    let count = 0
    for (const queue of this.#waiters.values()) count += queue.length
    return count
  }

  park (partition: number, groupId: string, memberId: string, kind: Kind): Promise<JoinGroupResponse | SyncGroupResponse> {
    const promise = new Promise<JoinGroupResponse | SyncGroupResponse>((resolve, reject) => {
      const key = keyOf(groupId, memberId, kind)
      const queue = this.#waiters.get(key) ?? []
      queue.push({ partition, resolve, reject })
      this.#waiters.set(key, queue)
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
    const queue = this.#waiters.get(key)
    const waiter = queue?.shift()
    if (queue?.length === 0) this.#waiters.delete(key)
    waiter?.resolve(response)
  }

  /** Fails every waiting request of one `__consumer_offsets` partition. */
  failPartition (partition: number, error: unknown): void {
    for (const [key, queue] of this.#waiters) {
      if (queue[0]?.partition !== partition) continue
      this.#waiters.delete(key)
      for (const waiter of queue) waiter.reject(error)
    }
  }
}

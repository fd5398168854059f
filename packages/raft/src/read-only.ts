/**
 * The leader's pending ReadIndex requests (Raft thesis §6.4; etcd `readOnly` with ReadOnlySafe).
 *
 * A request records the commit index at the time it arrived; it is answered once a majority acknowledged a
 * heartbeat carrying its context, which proves that no newer leader existed when the read index was taken.
 * Requests are answered in arrival order: an acknowledgement for a later request also confirms every earlier one.
 * Contexts identify requests and must be unique among pending ones (a duplicate is ignored).
 */
import type { NodeId, RaftIndex } from '@gregor/common'

export interface ReadIndexStatus {
  readonly index: RaftIndex
  readonly context: Uint8Array
  readonly acks: Set<NodeId>
}

function keyOf (context: Uint8Array): string {
  let key = ''
  for (const byte of context) key += byte.toString(16).padStart(2, '0')
  return key
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>()
  private queue: string[] = []

  addRequest (index: RaftIndex, context: Uint8Array): void {
    const key = keyOf(context)
    if (this.pending.has(key)) return
    this.pending.set(key, { index, context, acks: new Set() })
    this.queue.push(key)
  }

  /** Records `id`'s acknowledgement of `context`; returns who has acknowledged it, or undefined if unknown. */
  recvAck (id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const status = this.pending.get(keyOf(context))
    if (status === undefined) return undefined
    status.acks.add(id)
    return status.acks
  }

  /** Removes and returns every request up to and including the one with `context`. */
  advance (context: Uint8Array): ReadIndexStatus[] {
    const position = this.queue.indexOf(keyOf(context))
    if (position < 0) return []
    const done = this.queue.slice(0, position + 1)
    this.queue = this.queue.slice(position + 1)
    return done.map((key) => {
      const status = this.pending.get(key) as ReadIndexStatus
      this.pending.delete(key)
      return status
    })
  }

  lastPendingContext (): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1]
    return key === undefined ? undefined : this.pending.get(key)?.context
  }

  pendingCount (): number {
    return this.queue.length
  }
}

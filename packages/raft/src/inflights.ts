/**
 * The append messages in flight to one follower in replicate state: a bounded FIFO of the last index each carried
 * (etcd `tracker.Inflights`). The leader stops sending when it is full, and frees entries as acknowledgements arrive.
 *
 * Invariant: indexes are added in increasing order, so freeing "everything up to i" is a prefix pop.
 */
import assert from 'node:assert/strict'
import type { RaftIndex } from '@gregor/common'

export class Inflights {
  private readonly buffer: RaftIndex[] = []
  private start = 0
  private size = 0

  constructor (readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, 'inflight capacity must be a positive integer')
  }

  count (): number {
    return this.size
  }

  full (): boolean {
    return this.size === this.capacity
  }

  add (index: RaftIndex): void {
    assert(!this.full(), 'cannot add to full inflights')
    const last = this.size === 0 ? undefined : this.buffer[(this.start + this.size - 1) % this.capacity]
    assert(last === undefined || index > last, `inflight index ${index} not above ${last}`)
    this.buffer[(this.start + this.size) % this.capacity] = index
    this.size++
  }

  /** Frees every message whose last index is at or below `index` (all acknowledged). */
  freeLE (index: RaftIndex): void {
    while (this.size > 0 && (this.buffer[this.start] as RaftIndex) <= index) {
      this.start = (this.start + 1) % this.capacity
      this.size--
    }
  }

  /** Frees the oldest message: a heartbeat response proves the follower alive, so one more append may go. */
  freeFirstOne (): void {
    if (this.size === 0) return
    this.start = (this.start + 1) % this.capacity
    this.size--
  }

  reset (): void {
    this.start = 0
    this.size = 0
  }
}

/**
 * A discrete-event scheduler over a virtual clock (Kafka's `EventScheduler`, FoundationDB's Sim2 loop): events run
 * in (time, insertion order) order, and the clock jumps to each event's time. Nothing here reads a real clock.
 *
 * Invariant: `nowMs` never decreases; events scheduled for the same time run in the order they were scheduled, so a
 * seed replays exactly.
 */
import assert from 'node:assert/strict'

interface ScheduledEvent {
  readonly timeMs: number
  readonly seq: number
  readonly run: () => void
}

export class SimScheduler {
  nowMs = 0
  eventsRun = 0
  private heap: ScheduledEvent[] = []
  private seq = 0

  at (timeMs: number, run: () => void): void {
    assert(timeMs >= this.nowMs, `event scheduled in the past (${timeMs} < ${this.nowMs})`)
    this.push({ timeMs, seq: this.seq++, run })
  }

  after (delayMs: number, run: () => void): void {
    this.at(this.nowMs + delayMs, run)
  }

  pending (): number {
    return this.heap.length
  }

  /** Runs the earliest event; returns false when none is left. */
  runNext (): boolean {
    const event = this.pop()
    if (event === undefined) return false
    this.nowMs = event.timeMs
    this.eventsRun++
    event.run()
    return true
  }

  private before (a: ScheduledEvent, b: ScheduledEvent): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq)
  }

  private push (event: ScheduledEvent): void {
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(heap[i] as ScheduledEvent, heap[parent] as ScheduledEvent)) break
      ;[heap[i], heap[parent]] = [heap[parent] as ScheduledEvent, heap[i] as ScheduledEvent]
      i = parent
    }
  }

  private pop (): ScheduledEvent | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && this.before(heap[left] as ScheduledEvent, heap[smallest] as ScheduledEvent)) smallest = left
      if (right < heap.length && this.before(heap[right] as ScheduledEvent, heap[smallest] as ScheduledEvent)) smallest = right
      if (smallest === i) return top
      ;[heap[i], heap[smallest]] = [heap[smallest] as ScheduledEvent, heap[i] as ScheduledEvent]
      i = smallest
    }
  }
}

/**
 * `OpenLoopSchedule`: when each record of an open-loop run is due, and how far the sender falls behind it.
 *
 * Open loop (kafka-producer-perf-test `--throughput`, wrk2): record i is due at `startMs + i / rate`, whatever
 * happened to the records before it, and its latency is measured from that intended time, not from when the sender
 * got round to it. A closed-loop sender that waits for acknowledgements stops offering load exactly when the system
 * stalls, so the stall shows up in one sample instead of in every record that should have been sent meanwhile
 * ("coordinated omission"); measuring from the intended time charges the stall to each of them.
 *
 * Bounded: at most `maxInFlight` records are unacknowledged. When a due record has to wait for a slot, or the sender
 * releases it late for any other reason (a busy event loop, GC), the schedule counts it: `sendLag` per record, the
 * number of times the in-flight limit held a due record back, and the largest backlog. Those figures say whether the
 * offered rate was really offered; the latencies stay honest either way, since they run from the intended time.
 *
 * The send lags go into a `LatencyHistogram` (the records of one release are spaced by 1/rate, so one `recordLinear`
 * per release), not an array per record: at 100k records/s the bookkeeping must cost next to nothing beside a send.
 *
 * Pure: the caller passes the clock's reading to every call.
 */
import { LatencyHistogram } from './latency-histogram.js'

export interface OpenLoopScheduleOptions {
  readonly ratePerSec: number
  readonly records: number
  readonly maxInFlight: number
  readonly startMs: number
}

export interface OpenLoopLag {
  /** Times a due record could not be released because `maxInFlight` records were unacknowledged. */
  readonly inFlightLimitHits: number
  /** Most records that were due but not yet released at one look. */
  readonly maxBacklogRecords: number
}

export class OpenLoopSchedule {
  readonly ratePerSec: number
  readonly records: number
  readonly maxInFlight: number
  readonly startMs: number
  /** Records released so far (their indexes are 0 … released - 1). */
  #released = 0
  /** Release time minus intended time, one value per released record, ms. */
  readonly sendLag = new LatencyHistogram()
  /** Ms between two records' intended times. */
  readonly intervalMs: number
  #inFlightLimitHits = 0
  #maxBacklogRecords = 0

  constructor (options: OpenLoopScheduleOptions) {
    if (!(options.ratePerSec > 0)) throw new RangeError(`rate must be positive (got ${options.ratePerSec})`)
    if (!(options.maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1 (got ${options.maxInFlight})`)
    this.ratePerSec = options.ratePerSec
    this.records = options.records
    this.maxInFlight = options.maxInFlight
    this.startMs = options.startMs
    this.intervalMs = 1000 / options.ratePerSec
  }

  get released (): number {
    return this.#released
  }

  get done (): boolean {
    return this.#released >= this.records
  }

  /** When record `index` should be sent. */
  intendedMs (index: number): number {
    return this.startMs + (index * 1000) / this.ratePerSec
  }

  /** Records whose intended time is at or before `nowMs` (record 0 is due at the start). */
  dueCount (nowMs: number): number {
    if (nowMs < this.startMs) return 0
    return Math.min(this.records, Math.floor(((nowMs - this.startMs) * this.ratePerSec) / 1000) + 1)
  }

  /**
   * How many records to send now, given `inFlight` unacknowledged: every due one that fits under the limit. Marks them
   * released (indexes `released` before the call onwards) and records each one's lag behind its intended time.
   */
  release (nowMs: number, inFlight: number): number {
    const backlog = this.dueCount(nowMs) - this.#released
    if (backlog <= 0) return 0
    this.#maxBacklogRecords = Math.max(this.#maxBacklogRecords, backlog)
    const count = Math.max(0, Math.min(backlog, this.maxInFlight - inFlight))
    if (count < backlog) this.#inFlightLimitHits++
    // The last record released is the least late; each one before it was due one interval earlier.
    if (count > 0) this.sendLag.recordLinear(nowMs - this.intendedMs(this.#released + count - 1), this.intervalMs, count)
    this.#released += count
    return count
  }

  /** Ms until the next record is due (0 if one is due now); undefined when every record is released. */
  waitMs (nowMs: number): number | undefined {
    if (this.done) return undefined
    return Math.max(0, this.intendedMs(this.#released) - nowMs)
  }

  /** True when a due record is waiting for an in-flight slot (wait for an acknowledgement, not for the clock). */
  blockedByInFlight (nowMs: number, inFlight: number): boolean {
    return inFlight >= this.maxInFlight && this.dueCount(nowMs) > this.#released
  }

  lag (): OpenLoopLag {
    return { inFlightLimitHits: this.#inFlightLimitHits, maxBacklogRecords: this.#maxBacklogRecords }
  }
}

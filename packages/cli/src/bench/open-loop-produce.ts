/**
 * The open-loop driver of `gregor bench produce --throughput R`: releases records as `OpenLoopSchedule` says, sends
 * the records released at one look with one `send(count)` (the producer's bulk path), and times each record's
 * acknowledgement from its own intended send time (never from when it was actually sent, so a stalled sender or
 * broker cannot hide its stall). Waits on the clock when nothing is due, on an acknowledgement when the in-flight
 * limit holds a due record back.
 *
 * Why groups, not a call per record: at 70k records/s a promise, a record array and a metadata object per record
 * made the bench client cost ~3× its closed-loop CPU per record (~16 against ~5 µs measured here), so the client,
 * not the cluster, set the open-loop latency. A group is what was due at one look, its records usually share one
 * batch, and each is charged the group's acknowledgement time, which is when its last batch was acknowledged: never
 * earlier than the record's own.
 *
 * Looks come at most once per `tickMs` (1 ms): the driver sleeps on a timer between them, never spins on
 * `setImmediate` (which, with a record due every 10 µs, kept a core busy looking and sent groups of one or two). A
 * record due just after a look waits for the next one, up to a tick plus the timer's lateness, and that wait is in its
 * latency (it runs from the intended time); the send lag reports it. Latencies go into a `LatencyHistogram`, one
 * `recordLinear` per group (its records are spaced 1/rate apart and share one acknowledgement), not a sample each.
 */
import { LatencyHistogram } from './latency-histogram.js'
import type { LatencyPercentilesMs } from './latency-histogram.js'
import { type OpenLoopLag, OpenLoopSchedule } from './open-loop-schedule.js'

export interface OpenLoopOptions {
  readonly ratePerSec: number
  readonly records: number
  readonly maxInFlight: number
  /** Shortest sleep between two looks at the schedule, ms (default `defaultTickMs`). */
  readonly tickMs?: number
}

/** Looks at the schedule at most this often: a timer's granularity, and a group of ~100 records at 100k/s. */
export const defaultTickMs = 1

export interface OpenLoopReport extends OpenLoopLag {
  readonly offeredPerSec: number
  readonly maxInFlight: number
  /** Rate at which records were actually released: below the offered rate when the sender fell behind. */
  readonly sentPerSec: number
  /** Release time minus intended time per record. */
  readonly sendLagMs: LatencyPercentilesMs
  /** The in-flight limit held records back, or the p99 send lag exceeded `fellBehindLagMs`. */
  readonly fellBehind: boolean
}

export interface OpenLoopRun {
  readonly acknowledged: number
  readonly failedRecords: number
  readonly firstError: string | undefined
  /** Acknowledgement time minus intended send time, one value per acknowledged record. */
  readonly latency: LatencyHistogram
  readonly elapsedMs: number
  readonly report: OpenLoopReport
}

/** p99 send lag above which the run is reported as not having offered its rate (timer granularity is ~1 ms). */
export const fellBehindLagMs = 10

export async function runOpenLoop (options: OpenLoopOptions, send: (count: number) => Promise<unknown>, nowMs: () => number = () => performance.now()): Promise<OpenLoopRun> {
  const startMs = nowMs()
  const schedule = new OpenLoopSchedule({ ...options, startMs })
  const latency = new LatencyHistogram()
  const tickMs = options.tickMs ?? defaultTickMs
  let inFlight = 0
  let acknowledged = 0
  let failedRecords = 0
  let firstError: string | undefined
  let lastReleaseMs = startMs
  let slotFreed: (() => void) | undefined
  const settled = (count: number): void => {
    inFlight -= count
    const wake = slotFreed
    slotFreed = undefined
    wake?.()
  }
  while (!schedule.done) {
    const now = nowMs()
    const first = schedule.released
    const count = schedule.release(now, inFlight)
    if (count > 0) {
      lastReleaseMs = now
      inFlight += count
      send(count).then(
        () => {
          // The group's last record is the least late; each one before it was due one interval earlier.
          latency.recordLinear(nowMs() - schedule.intendedMs(first + count - 1), schedule.intervalMs, count)
          acknowledged += count
          settled(count)
        },
        (error: unknown) => { failedRecords += count; firstError ??= error instanceof Error ? error.message : String(error); settled(count) },
      )
    }
    if (schedule.done) break
    if (schedule.blockedByInFlight(nowMs(), inFlight)) {
      await new Promise<void>((resolve) => { slotFreed = resolve })
    } else {
      const waitMs = Math.max(tickMs, Math.ceil(schedule.waitMs(nowMs()) ?? 0))
      await new Promise<void>((resolve) => { setTimeout(resolve, waitMs) })
    }
  }
  while (inFlight > 0) await new Promise<void>((resolve) => { slotFreed = resolve })
  const elapsedMs = nowMs() - startMs
  const sendLagMs = schedule.sendLag.percentiles()
  const lag = schedule.lag()
  const releaseSpanMs = lastReleaseMs - startMs
  return {
    acknowledged, failedRecords, firstError, elapsedMs,
    latency,
    report: {
      offeredPerSec: options.ratePerSec,
      maxInFlight: options.maxInFlight,
      sentPerSec: releaseSpanMs > 0 ? Math.round(((schedule.released - 1) * 1000) / releaseSpanMs) : schedule.released,
      sendLagMs,
      ...lag,
      fellBehind: lag.inFlightLimitHits > 0 || sendLagMs.p99 > fellBehindLagMs,
    },
  }
}

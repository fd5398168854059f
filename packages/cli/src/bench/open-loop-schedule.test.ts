import { describe, expect, test } from 'vitest'
import { runOpenLoop } from './open-loop-produce.js'
import { OpenLoopSchedule } from './open-loop-schedule.js'

describe('OpenLoopSchedule (clock passed in)', () => {
  test('record i is due at start + i/rate, whatever was acknowledged', () => {
    const schedule = new OpenLoopSchedule({ ratePerSec: 1000, records: 10, maxInFlight: 100, startMs: 5000 })
    expect(schedule.intendedMs(0)).toBe(5000)
    expect(schedule.intendedMs(3)).toBe(5003)
    expect(schedule.dueCount(4999)).toBe(0)
    expect(schedule.dueCount(5000)).toBe(1)
    expect(schedule.dueCount(5002.5)).toBe(3)
    expect(schedule.dueCount(9999)).toBe(10) // capped at the record count
  })

  test('on time: releases what is due, with no lag; waits until the next intended time', () => {
    const schedule = new OpenLoopSchedule({ ratePerSec: 2000, records: 4, maxInFlight: 10, startMs: 0 })
    expect(schedule.release(0, 0)).toBe(1)
    expect(schedule.waitMs(0)).toBe(0.5)
    expect(schedule.release(0.5, 1)).toBe(1)
    expect(schedule.release(0.7, 2)).toBe(0) // nothing new due
    expect(schedule.release(1.5, 2)).toBe(2)
    expect(schedule.done).toBe(true)
    expect(schedule.waitMs(2)).toBeUndefined()
    // Lags 0, 0, 0.5 (record 2 was due at 1 ms) and 0: nearest-rank p50 0, p99 and max 0.5.
    expect(schedule.sendLag.count).toBe(4)
    expect(schedule.sendLag.percentiles()).toEqual({ p50: 0, p99: 0.5, p999: 0.5, max: 0.5 })
    expect(schedule.lag()).toEqual({ inFlightLimitHits: 0, maxBacklogRecords: 2 })
  })

  test('a stalled sender releases the backlog late and the lag says so (no coordinated omission)', () => {
    const schedule = new OpenLoopSchedule({ ratePerSec: 1000, records: 100, maxInFlight: 1000, startMs: 0 })
    expect(schedule.release(0, 0)).toBe(1)
    // The event loop was blocked for 50 ms: the 50 records due meanwhile go out at once, each charged its own lag.
    expect(schedule.release(50, 1)).toBe(50)
    // Lags 0 (record 0), then 49, 48 … 0 for records 1 … 50: the median record went 25 ms late, the first 49 ms.
    expect(schedule.sendLag.count).toBe(51)
    expect(schedule.sendLag.percentiles()).toMatchObject({ p50: 24.015, max: 49 }) // 24 ms: bucket 24.000 … 24.015
    expect(schedule.lag().maxBacklogRecords).toBe(50)
  })

  test('the in-flight limit holds due records back and is counted', () => {
    const schedule = new OpenLoopSchedule({ ratePerSec: 1000, records: 20, maxInFlight: 3, startMs: 0 })
    expect(schedule.release(9, 0)).toBe(3) // 10 due, 3 slots
    expect(schedule.blockedByInFlight(9, 3)).toBe(true)
    expect(schedule.release(9, 3)).toBe(0)
    expect(schedule.release(12, 1)).toBe(2) // two acknowledged: two more go, 8 still waiting
    expect(schedule.released).toBe(5)
    expect(schedule.blockedByInFlight(12, 3)).toBe(true)
    expect(schedule.blockedByInFlight(12, 2)).toBe(false)
    expect(schedule.lag()).toEqual({ inFlightLimitHits: 3, maxBacklogRecords: 10 })
    expect(schedule.sendLag.maxMs).toBe(9) // record 0 was due at 0 ms, went at 9 ms (record 4: due at 4, went at 12)
  })

  test('refuses a rate or in-flight limit that cannot make a schedule', () => {
    expect(() => new OpenLoopSchedule({ ratePerSec: 0, records: 1, maxInFlight: 1, startMs: 0 })).toThrow(RangeError)
    expect(() => new OpenLoopSchedule({ ratePerSec: 1, records: 1, maxInFlight: 0, startMs: 0 })).toThrow(RangeError)
  })
})

describe('runOpenLoop', () => {
  test('every record sent once; latency runs from the intended send time; a slow acknowledgement shows', async () => {
    // An injected clock that only moves when the driver reads it: 1 ms per reading, so the run is deterministic in
    // what it reports, whatever the machine does.
    let clockMs = 0
    const nowMs = (): number => clockMs++
    let sends = 0
    const run = await runOpenLoop({ ratePerSec: 1000, records: 30, maxInFlight: 5 }, async (count) => { sends += count }, nowMs)
    expect(sends).toBe(30)
    expect(run.acknowledged).toBe(30)
    expect(run.failedRecords).toBe(0)
    expect(run.latency.count).toBe(30)
    expect(run.latency.percentiles().p50).toBeGreaterThan(0)
    expect(run.report).toMatchObject({ offeredPerSec: 1000, maxInFlight: 5 })
    expect(Object.keys(run.report.sendLagMs)).toEqual(['p50', 'p99', 'p999', 'max'])
  })

  test('failures are counted with the first error, and the in-flight limit is reported as falling behind', async () => {
    let clockMs = 0
    let calls = 0
    let failedCount = 0
    // Each send is acknowledged one macrotask later, while the clock runs at 0.5 ms per reading: slower than offered.
    const send = async (count: number): Promise<void> => {
      calls++
      if (calls === 2) { failedCount = count; throw new Error('NOT_ENOUGH_REPLICAS') }
      await new Promise<void>((resolve) => { setImmediate(resolve) })
    }
    const nowMs = (): number => { clockMs += 0.5; return clockMs }
    const run = await runOpenLoop({ ratePerSec: 100_000, records: 40, maxInFlight: 2 }, send, nowMs)
    expect(run.acknowledged + run.failedRecords).toBe(40)
    expect(failedCount).toBeGreaterThan(0)
    expect(run.failedRecords).toBe(failedCount)
    expect(run.firstError).toBe('NOT_ENOUGH_REPLICAS')
    expect(run.report.inFlightLimitHits).toBeGreaterThan(0)
    expect(run.report.fellBehind).toBe(true)
  })
})

describe('runOpenLoop groups', () => {
  test('the records due at one look go in one send, each timed from its own intended time', async () => {
    // 10 records/ms offered; the clock advances 1 ms per reading, so each look finds ~10 due records.
    let clockMs = 0
    const nowMs = (): number => clockMs++
    const groups: number[] = []
    const run = await runOpenLoop({ ratePerSec: 10_000, records: 100, maxInFlight: 1000 }, async (count) => { groups.push(count) }, nowMs)
    expect(groups.reduce((sum, count) => sum + count, 0)).toBe(100)
    expect(groups.length).toBeLessThan(100)
    expect(Math.max(...groups)).toBeGreaterThan(1)
    expect(run.acknowledged).toBe(100)
    // Within a group acknowledged at one time, a record due earlier waited longer: latencies are per record, so a
    // group of ~10 records spans ~1 ms and the tail is above the median by about that.
    expect(run.latency.count).toBe(100)
    const { p50, max } = run.latency.percentiles()
    expect(max - p50).toBeGreaterThanOrEqual(0.4)
  })
})

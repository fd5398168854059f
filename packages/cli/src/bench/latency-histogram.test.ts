import { describe, expect, test } from 'vitest'
import { LatencyHistogram, bucketHighestMs } from './latency-histogram.js'

/** A deterministic pseudo-random sequence in [0, 1) (xorshift32), so a failure can be replayed. */
function random (seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13; state >>>= 0
    state ^= state >>> 17
    state ^= state << 5; state >>>= 0
    return state / 2 ** 32
  }
}

/** What the histogram should report for a per-sample percentile `exactMs`: its bucket's highest value, at most the max. */
function expectedMs (exactMs: number, maxMs: number): number {
  return Math.min(bucketHighestMs(exactMs), maxMs)
}

/** The per-sample nearest-rank percentiles of values truncated to the microsecond, as the histogram keeps them. */
function perSample (values: readonly number[]): { p50: number; p99: number; p999: number; max: number } {
  const sorted = Float64Array.from(values, (value) => Math.floor(Math.max(0, value) * 1000) / 1000).sort()
  const rank = (quantile: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1))] ?? 0
  return { p50: rank(0.5), p99: rank(0.99), p999: rank(0.999), max: sorted[sorted.length - 1] ?? 0 }
}

function expectMatchesPerSample (histogram: LatencyHistogram, values: readonly number[]): void {
  const exact = perSample(values)
  expect(histogram.count).toBe(values.length)
  expect(histogram.percentiles()).toEqual({
    p50: expectedMs(exact.p50, exact.max), p99: expectedMs(exact.p99, exact.max), p999: expectedMs(exact.p999, exact.max), max: exact.max,
  })
}

describe('LatencyHistogram', () => {
  test('below 2.048 ms every microsecond is its own bucket: percentiles equal the per-sample ones exactly', () => {
    const histogram = new LatencyHistogram()
    for (let value = 1000; value >= 1; value--) histogram.record(value / 1000)
    expect(histogram.percentiles()).toEqual({ p50: 0.5, p99: 0.99, p999: 0.999, max: 1 })
  })

  test('weighted records: a group of n recorded once equals n single records', () => {
    const next = random(7)
    const weighted = new LatencyHistogram()
    const single = new LatencyHistogram()
    const values: number[] = []
    for (let group = 0; group < 500; group++) {
      const valueMs = next() * next() * 400 // skewed towards small values, tail to 400 ms
      const count = 1 + Math.floor(next() * 200)
      weighted.record(valueMs, count)
      for (let i = 0; i < count; i++) { single.record(valueMs); values.push(valueMs) }
    }
    expect(weighted.percentiles()).toEqual(single.percentiles())
    expectMatchesPerSample(weighted, values)
  })

  test('percentiles equal the per-sample computation up to the bucket (±0.1%), over six decades', () => {
    const next = random(12_345)
    const histogram = new LatencyHistogram()
    const values: number[] = []
    for (let i = 0; i < 20_000; i++) {
      const valueMs = 10 ** (next() * 6 - 2) // 0.01 ms … 10 s
      histogram.record(valueMs)
      values.push(valueMs)
    }
    expectMatchesPerSample(histogram, values)
    const exact = perSample(values)
    for (const key of ['p50', 'p99', 'p999'] as const) {
      expect(histogram.percentiles()[key]).toBeGreaterThanOrEqual(exact[key])
      expect(histogram.percentiles()[key]).toBeLessThanOrEqual(exact[key] * 1.001 + 0.001)
    }
  })

  test('recordLinear equals recording each value of the run on its own', () => {
    const next = random(99)
    for (let trial = 0; trial < 200; trial++) {
      const firstMs = next() * 300
      const stepMs = trial % 10 === 0 ? 0 : next() * 0.5
      const count = 1 + Math.floor(next() * 3000)
      const linear = new LatencyHistogram()
      const values: number[] = []
      linear.recordLinear(firstMs, stepMs, count)
      for (let k = 0; k < count; k++) values.push(firstMs + k * stepMs)
      expectMatchesPerSample(linear, values)
      const single = new LatencyHistogram()
      for (const value of values) single.record(value)
      expect(linear.percentiles()).toEqual(single.percentiles())
    }
  })

  test('a stall shows in the tail: one group of 1,000 late records in 100,000 is past p99, at p99.9', () => {
    const histogram = new LatencyHistogram()
    histogram.recordLinear(1, 0.00001, 99_000) // 1 … 1.99 ms
    histogram.recordLinear(250, 0.01, 1_000) // 250 … 259.99 ms
    const { p50, p99, p999, max } = histogram.percentiles()
    expect(p50).toBe(1.499) // rank 50,000: 1.49999 ms, kept to the microsecond below
    expect(p99).toBeLessThan(2)
    expect(p999).toBeGreaterThanOrEqual(250)
    expect(max).toBe(259.99)
  })

  test('empty is zeros; negative values count as 0; add merges', () => {
    const histogram = new LatencyHistogram()
    expect(histogram.percentiles()).toEqual({ p50: 0, p99: 0, p999: 0, max: 0 })
    histogram.record(-3, 2)
    histogram.record(5, 0) // no records: nothing
    expect(histogram.count).toBe(2)
    expect(histogram.percentiles()).toEqual({ p50: 0, p99: 0, p999: 0, max: 0 })
    const other = new LatencyHistogram()
    other.record(7, 98)
    histogram.add(other)
    expect(histogram.count).toBe(100)
    expect(histogram.percentiles()).toEqual({ p50: 7, p99: 7, p999: 7, max: 7 })
  })

  test('values beyond 71 minutes share the last bucket and keep the true maximum to the microsecond range', () => {
    const histogram = new LatencyHistogram()
    histogram.record(10 * 3_600_000)
    expect(histogram.maxMs).toBe((2 ** 32 - 1) / 1000)
    expect(histogram.percentiles().p50).toBe((2 ** 32 - 1) / 1000)
  })
})

import { describe, expect, test } from 'vitest'
import { latencyPercentilesMs } from './latency-stats.js'

describe('latencyPercentilesMs', () => {
  test('nearest rank over every sample: p50, p99, p99.9 and max of 1..1000', () => {
    const samples = Float64Array.from({ length: 1000 }, (_, index) => 1000 - index) // unsorted on purpose
    expect(latencyPercentilesMs(samples)).toEqual({ p50: 500, p99: 990, p999: 999, max: 1000 })
  })

  test('one outlier in a thousand shows at p99.9 and max, not at p99', () => {
    const samples = new Float64Array(1000).fill(2)
    samples[17] = 250
    expect(latencyPercentilesMs(samples)).toEqual({ p50: 2, p99: 2, p999: 2, max: 250 })
    samples.fill(2)
    samples[3] = 250
    samples[4] = 260
    expect(latencyPercentilesMs(samples)).toMatchObject({ p99: 2, p999: 250, max: 260 })
  })

  test('a single sample is every percentile; none gives zeros; rounding to 0.001 ms', () => {
    expect(latencyPercentilesMs(Float64Array.of(1.23456))).toEqual({ p50: 1.235, p99: 1.235, p999: 1.235, max: 1.235 })
    expect(latencyPercentilesMs(new Float64Array(0))).toEqual({ p50: 0, p99: 0, p999: 0, max: 0 })
  })
})

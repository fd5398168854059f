import { ErrorCode, GregorError, type Rng, seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { defaultProducerConfig } from './producer-config.js'
import { RetryPolicy } from './retry-policy.js'

const fixedRng = (value: number): Rng => ({ next: () => value, int: (min) => min })
const config = { retryBackoffMs: 100, retryBackoffMaxMs: 1000, deliveryTimeoutMs: 120_000 }
const retriable = new GregorError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leader moved')

describe('RetryPolicy.backoffMs', () => {
  test('doubles per attempt from retryBackoffMs and stops at retryBackoffMaxMs (no jitter at factor 1)', () => {
    const policy = new RetryPolicy(config, { rng: fixedRng(0.5) })
    expect([1, 2, 3, 4, 5, 10, 1000].map((attempts) => policy.backoffMs(attempts))).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
  })

  test('jitters within ±20% and never above the cap', () => {
    const low = new RetryPolicy(config, { rng: fixedRng(0) })
    const high = new RetryPolicy(config, { rng: fixedRng(0.999999) })
    expect(low.backoffMs(1)).toBe(80)
    expect(high.backoffMs(1)).toBe(119)
    expect(low.backoffMs(50)).toBe(800)
    expect(high.backoffMs(50)).toBe(1000)
  })

  test('every delay over many seeded draws lies in [0.8 × term, min(1.2 × term, cap)]', () => {
    const policy = new RetryPolicy(config, { rng: seededRng(5) })
    for (let i = 0; i < 5000; i++) {
      const attempts = 1 + (i % 8)
      const term = Math.min(100 * 2 ** (attempts - 1), 1000)
      const delayMs = policy.backoffMs(attempts)
      expect(delayMs).toBeGreaterThanOrEqual(Math.floor(0.8 * term))
      expect(delayMs).toBeLessThanOrEqual(Math.min(1.2 * term, 1000))
    }
  })

  test('a zero backoff stays zero', () => {
    expect(new RetryPolicy({ ...config, retryBackoffMs: 0, retryBackoffMaxMs: 0 }, { rng: fixedRng(0.9) }).backoffMs(3)).toBe(0)
  })
})

describe('RetryPolicy.decide', () => {
  const policy = new RetryPolicy(config, { rng: fixedRng(0.5) })

  test('retries retriable GregorErrors, asking for a metadata refresh after leadership errors', () => {
    expect(policy.decide({ error: retriable, attempts: 1, createdMs: 0, nowMs: 10 })).toEqual({ retry: true, delayMs: 100, refreshMetadata: true })
    const notEnough = new GregorError(ErrorCode.NOT_ENOUGH_REPLICAS, 'isr too small')
    expect(policy.decide({ error: notEnough, attempts: 3, createdMs: 0, nowMs: 10 })).toEqual({ retry: true, delayMs: 400, refreshMetadata: false })
  })

  test('never retries a non-retriable code, an error marked not retriable, or a foreign error', () => {
    const tooLarge = new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'too large')
    const marked = new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'gave up', { retriable: false })
    const foreign = new Error('socket hang up')
    for (const error of [tooLarge, marked, foreign, 'string']) {
      expect(policy.decide({ error, attempts: 1, createdMs: 0, nowMs: 0 })).toEqual({ retry: false, error })
    }
  })

  test('gives up with REQUEST_TIMED_OUT when the next attempt would start at or past the delivery timeout', () => {
    const start = 1_000
    expect(policy.decide({ error: retriable, attempts: 5, createdMs: start, nowMs: start + 118_999 }).retry).toBe(true)
    const decision = policy.decide({ error: retriable, attempts: 5, createdMs: start, nowMs: start + 119_000 })
    expect(decision).toMatchObject({
      retry: false,
      error: { code: ErrorCode.REQUEST_TIMED_OUT, cause: retriable, details: { deliveryTimeoutMs: 120_000, attempts: 5, elapsedMs: 119_000 } },
    })
  })

  test('a failing partition is retried until the delivery timeout, and no later (simulated)', () => {
    const seeded = new RetryPolicy(defaultProducerConfig, { rng: seededRng(9) })
    let nowMs = 0
    let attempts = 0
    for (;;) {
      nowMs += 30 // each attempt fails after 30 ms
      attempts++
      const decision = seeded.decide({ error: retriable, attempts, createdMs: 0, nowMs })
      if (!decision.retry) break
      nowMs += decision.delayMs
    }
    expect(nowMs).toBeLessThan(defaultProducerConfig.deliveryTimeoutMs)
    expect(nowMs).toBeGreaterThan(defaultProducerConfig.deliveryTimeoutMs - 1000 - 30)
    expect(attempts).toBeGreaterThan(100)
  })
})

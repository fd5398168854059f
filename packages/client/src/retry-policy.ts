/**
 * Whether and when a failed produce attempt is tried again: exponential backoff with jitter (Kafka KIP-580), bounded
 * by the delivery timeout (Kafka KIP-91).
 *
 * Owns: the retry decision, nothing else (the sender re-enqueues, the accumulator waits out the delay). Invariants:
 * only a GregorError whose `retriable` flag is set is retried (the flag defaults from its code, `isRetriableCode`);
 * the backoff after attempt n is `min(retryBackoffMs * 2^(n-1), retryBackoffMaxMs)` times a jitter factor in
 * [0.8, 1.2), never above `retryBackoffMaxMs`; no retry is scheduled that would start at or after
 * `createdMs + deliveryTimeoutMs`, so a record is settled within its delivery timeout plus at most one request.
 * Pure given the injected Rng.
 */
import { ErrorCode, GregorError, type Rng, isGregorError } from '@gregor/common'
import type { ProducerConfig } from './producer-config.js'
import { staleMetadataCodes } from './response-error.js'

/** Kafka's `CommonClientConfigs.RETRY_BACKOFF_JITTER`: ±20% keeps clients that failed together from retrying together. */
const JITTER = 0.2
/** Kafka's `RETRY_BACKOFF_EXP_BASE`. */
const BACKOFF_BASE = 2

/**
 * The delay after `attempts` failed attempts (1-based), without jitter: `baseMs` doubling per attempt, capped at
 * `maxMs`. The exponent is clamped so that large attempt counts cannot overflow. Shared by the producer's retries
 * and the group clients' coordinator retries (coordinator-lookup.ts), which do not jitter.
 */
export function exponentialBackoffMs (attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * BACKOFF_BASE ** Math.min(Math.max(0, attempts - 1), 64))
}

/**
 * The failure of a batch whose delivery timeout passed after it was sent at least once: an attempt may have been
 * written and even committed (an acknowledgement lost, a timeout on a request the leader had appended), so the error
 * says so (`details.maybeCommitted`) instead of claiming the records were not stored. Retriable: the caller may send
 * the records again, at the risk of storing them twice.
 */
export function deliveryTimeoutError (details: Readonly<Record<string, unknown>>, cause?: unknown): GregorError {
  return new GregorError(ErrorCode.REQUEST_TIMED_OUT, 'delivery timeout expired after the batch was sent: it may have been committed', {
    cause, details: { ...details, maybeCommitted: true },
  })
}

export type RetryPolicyConfig = Pick<ProducerConfig, 'retryBackoffMs' | 'retryBackoffMaxMs' | 'deliveryTimeoutMs'>

/** The outcome of one failed attempt. */
export interface RetryInput {
  readonly error: unknown
  /** Attempts made so far, the failed one included (≥ 1). */
  readonly attempts: number
  /** When the batch was created: the delivery timeout counts from here. */
  readonly createdMs: number
  readonly nowMs: number
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly refreshMetadata: boolean }
  | { readonly retry: false; readonly error: unknown }

export class RetryPolicy {
  readonly #config: RetryPolicyConfig
  readonly #rng: Rng

  constructor (config: RetryPolicyConfig, deps: { readonly rng: Rng }) {
    this.#config = config
    this.#rng = deps.rng
  }

  /** The delay before the attempt after `attempts` failed ones: exponential, jittered, capped. */
  backoffMs (attempts: number): number {
    const { retryBackoffMs, retryBackoffMaxMs } = this.#config
    // Capped before the jitter, so capped delays still spread over [0.8, 1] × cap instead of all being the cap (as
    // Kafka's ExponentialBackoff).
    const term = exponentialBackoffMs(attempts, retryBackoffMs, retryBackoffMaxMs)
    const factor = 1 - JITTER + 2 * JITTER * this.#rng.next()
    return Math.min(retryBackoffMaxMs, Math.floor(term * factor))
  }

  /** Retry (after `delayMs`) or give up (with `error`, the original one or a delivery timeout caused by it). */
  decide (input: RetryInput): RetryDecision {
    const { error, attempts, createdMs, nowMs } = input
    if (!isGregorError(error) || !error.retriable) return { retry: false, error }
    const delayMs = this.backoffMs(attempts)
    const deadlineMs = createdMs + this.#config.deliveryTimeoutMs
    if (nowMs + delayMs >= deadlineMs) {
      const details = { deliveryTimeoutMs: this.#config.deliveryTimeoutMs, attempts, elapsedMs: nowMs - createdMs }
      return { retry: false, error: deliveryTimeoutError(details, error) }
    }
    return { retry: true, delayMs, refreshMetadata: staleMetadataCodes.has(error.code) }
  }
}

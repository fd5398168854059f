/**
 * `LatencyHistogram`: latencies of a benchmark run as counts in log-linear buckets (HdrHistogram's layout), so a run
 * of any length keeps a fixed ~190 KB and a group of records that share one latency is recorded once, with its count.
 *
 * Layout: values are whole microseconds (a latency is truncated to the microsecond below it; negative ones count as
 * 0). Below 2,048 µs each microsecond has its own bucket; above, each power of two is split into 1,024 buckets, so a
 * bucket is at most 1/1,024 of its values wide (three significant digits: ±0.1% at 100 ms). Values at or above
 * 2^32 µs (71 minutes) share the last bucket. The exact maximum (µs) is kept beside the counts.
 *
 * Percentiles are nearest rank over the recorded values, as over a sorted array of every sample: the bucket of the
 * value of that rank, reported as the bucket's highest value (never below the true value, never above the max). So
 * each percentile equals the per-sample one up to its bucket's width; `bucketHighestMs` says what that is. Every
 * benchmark of the CLI (produce closed and open loop, consume) reports its latencies through this one histogram.
 *
 * Pure, synchronous; counts are doubles (exact up to 2^53 records).
 */

/** The latency figures a benchmark reports, ms. */
export interface LatencyPercentilesMs {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/** Buckets per power of two above the linear range; the linear range is 2 × this many microseconds. */
const SUB_BUCKETS = 1024
const SUB_BUCKET_BITS = 10
/** Highest bucketed value, µs: everything above shares the last bucket. */
const VALUE_MAX_US = 2 ** 32 - 1
const BUCKETS = bucketIndex(VALUE_MAX_US) + 1

/** The bucket of `valueUs` (a whole, non-negative number of microseconds, at most `VALUE_MAX_US`). */
function bucketIndex (valueUs: number): number {
  if (valueUs < 2 * SUB_BUCKETS) return valueUs
  const shift = 31 - Math.clz32(valueUs) - SUB_BUCKET_BITS
  return (shift + 1) * SUB_BUCKETS + (valueUs >>> shift) - SUB_BUCKETS
}

/** The lowest and highest µs value of bucket `index`. */
function bucketRangeUs (index: number): { lowUs: number; highUs: number } {
  if (index < 2 * SUB_BUCKETS) return { lowUs: index, highUs: index }
  const shift = Math.floor(index / SUB_BUCKETS) - 1
  const lowUs = (index - shift * SUB_BUCKETS) * 2 ** shift
  return { lowUs, highUs: lowUs + 2 ** shift - 1 }
}

/** A latency in ms as the histogram's whole microseconds, clamped to its range. */
function toUs (valueMs: number): number {
  if (!(valueMs > 0)) return 0
  return Math.min(VALUE_MAX_US, Math.floor(valueMs * 1000))
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS)
  #count = 0
  #maxUs = 0

  /** Values recorded, counting each with its weight. */
  get count (): number {
    return this.#count
  }

  /** Largest value recorded, ms (to the µs below it); 0 when empty. */
  get maxMs (): number {
    return this.#maxUs / 1000
  }

  /** Records `count` values of `valueMs` (a group of records acknowledged together, sent at one intended time). */
  record (valueMs: number, count = 1): void {
    if (!(count > 0)) return
    const valueUs = toUs(valueMs)
    const index = bucketIndex(valueUs)
    this.#counts[index] = (this.#counts[index] ?? 0) + count
    this.#count += count
    if (valueUs > this.#maxUs) this.#maxUs = valueUs
  }

  /**
   * Records the `count` values `firstMs + k × stepMs`, k = 0 … count − 1 (`stepMs` ≥ 0): records due one after another
   * on a schedule and acknowledged (or released) at one time. The same histogram as recording each value on its own,
   * in one step per bucket the values cross instead of one per value.
   */
  recordLinear (firstMs: number, stepMs: number, count: number): void {
    if (!(count > 0)) return
    if (!(stepMs > 0)) { this.record(firstMs, count); return }
    let k = 0
    while (k < count) {
      const index = bucketIndex(toUs(firstMs + k * stepMs))
      const { highUs } = bucketRangeUs(index)
      // The values of this bucket are those below highUs + 1 µs: estimate where they end, then correct the estimate
      // against the exact value expression (floating point), so the result equals per-value recording.
      let end = Math.min(count, Math.max(k + 1, Math.ceil(((highUs + 1) / 1000 - firstMs) / stepMs)))
      while (end < count && bucketIndex(toUs(firstMs + end * stepMs)) === index) end++
      while (end > k + 1 && bucketIndex(toUs(firstMs + (end - 1) * stepMs)) !== index) end--
      this.#counts[index] = (this.#counts[index] ?? 0) + end - k
      k = end
    }
    this.#count += count
    const lastUs = toUs(firstMs + (count - 1) * stepMs)
    if (lastUs > this.#maxUs) this.#maxUs = lastUs
  }

  /** Adds every value of `other`. */
  add (other: LatencyHistogram): void {
    const counts = other.#counts
    for (let index = 0; index < BUCKETS; index++) this.#counts[index] = (this.#counts[index] ?? 0) + (counts[index] ?? 0)
    this.#count += other.#count
    this.#maxUs = Math.max(this.#maxUs, other.#maxUs)
  }

  /** Nearest-rank value at `quantile` (0 < q ≤ 1), ms: its bucket's highest value, at most the maximum; 0 when empty. */
  valueAtMs (quantile: number): number {
    if (this.#count === 0) return 0
    const rank = Math.min(this.#count, Math.max(1, Math.ceil(quantile * this.#count)))
    let seen = 0
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.#counts[index] ?? 0
      if (seen >= rank) return Math.min(bucketRangeUs(index).highUs, this.#maxUs) / 1000
    }
    return this.#maxUs / 1000
  }

  /** p50, p99, p99.9 and max (whole microseconds, as ms). */
  percentiles (): LatencyPercentilesMs {
    return { p50: this.valueAtMs(0.5), p99: this.valueAtMs(0.99), p999: this.valueAtMs(0.999), max: this.maxMs }
  }
}

/** The highest value of the bucket that holds `valueMs`, ms: what a percentile of exactly that value reports. */
export function bucketHighestMs (valueMs: number): number {
  return bucketRangeUs(bucketIndex(toUs(valueMs))).highUs / 1000
}

/**
 * The broker-wide budget of bytes in flight on the data plane (Kafka's `queued.max.request.bytes`): the record bytes
 * of produce requests being handled (until answered, acks=all wait included) and the bytes of fetch responses being
 * built (from the log read until the answer is returned).
 *
 * Owns: one counter. Invariant: `usedBytes <= limitBytes` except for `force`d bytes (a log read that returned more
 * than it was allowed: the first batch is returned whole), which are counted and released like the others. A request
 * that does not fit is refused by its caller with a clear, retriable error; nothing waits for room.
 */
export class ByteBudget {
  readonly limitBytes: number
  #usedBytes = 0

  constructor (limitBytes: number) {
    this.limitBytes = limitBytes
  }

  get usedBytes (): number {
    return this.#usedBytes
  }

  /** Takes `bytes` if they fit; false (and nothing taken) when they do not. */
  tryTake (bytes: number): boolean {
    if (bytes <= 0) return true
    if (this.#usedBytes + bytes > this.limitBytes) return false
    this.#usedBytes += bytes
    return true
  }

  /** Counts `bytes` already in memory, fitting or not. */
  force (bytes: number): void {
    if (bytes > 0) this.#usedBytes += bytes
  }

  release (bytes: number): void {
    if (bytes > 0) this.#usedBytes = Math.max(0, this.#usedBytes - bytes)
  }
}

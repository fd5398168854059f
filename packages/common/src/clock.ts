/**
 * Time as a dependency. Pure packages never read a clock; the broker injects `systemClock`, simulations a virtual one.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock; only differences are meaningful. */
  nowMs (): number
}

/**
 * Randomness as a dependency, so a seeded run replays exactly.
 *
 * `seededRng` is mulberry32: tiny, fast and good enough for election jitter and simulation choices (not crypto).
 */
export interface Rng {
  /** A float in [0, 1). */
  next (): number
  /** An integer in [minInclusive, maxExclusive). */
  int (minInclusive: number, maxExclusive: number): number
}

export function seededRng (seed: number): Rng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (minInclusive, maxExclusive) => minInclusive + Math.floor(next() * (maxExclusive - minInclusive)),
  }
}

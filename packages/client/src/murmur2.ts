/**
 * Kafka's murmur2: the 32-bit MurmurHash2 of the Java client's `Utils.murmur2`, which its default partitioner hashes
 * keys with. Gregor hashes keys the same way so that a key lands on the same partition whether it was produced
 * through Gregor's client or through any Java-compatible Kafka client (Java, KafkaJS ≥ 2, librdkafka's
 * `murmur2_random`).
 *
 * Invariants: the result is exactly Java's `int` result (signed 32-bit), for every byte sequence, including the tail
 * handling of the last `length % 4` bytes and the seed mixed with the length. Pure and allocation-free.
 */

/** Kafka's seed (`Utils.murmur2`); MurmurHash2's reference code leaves the seed to the caller. */
const SEED = 0x9747b28c
/** MurmurHash2's mixing constants, as in the reference implementation and Kafka. */
const M = 0x5bd1e995
const R = 24

/** Java `Utils.murmur2(data)`: the signed 32-bit MurmurHash2 of `data` with Kafka's seed. */
export function murmur2 (data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const tailStart = length & ~3
  for (let i = 0; i < tailStart; i += 4) {
    // Little-endian 4-byte words, as Java assembles them from `data[i4 + 0..3] & 0xff` (read byte by byte: no
    // DataView per key on the producer's per-record path).
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // Java's switch falls through from case 3 to case 1; TypeScript (noFallthroughCasesInSwitch) gets the same as ifs.
  const tailBytes = length & 3
  if (tailBytes === 3) h ^= (data[tailStart + 2] as number) << 16
  if (tailBytes >= 2) h ^= (data[tailStart + 1] as number) << 8
  if (tailBytes >= 1) {
    h ^= data[tailStart] as number
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/**
 * Java `Utils.toPositive`: clears the sign bit. Not `Math.abs`, which differs for negative numbers (and overflows for
 * -2^31 in Java): Kafka picked the bit mask, so partition choice depends on it.
 */
export function toPositive (value: number): number {
  return value & 0x7fffffff
}

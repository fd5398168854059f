import { createRequire } from 'node:module'
import { seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { murmur2, toPositive } from './murmur2.js'

/** KafkaJS 2.2.4's Java-compatible murmur2 (its DefaultPartitioner's hash since 2.0), loaded from its CommonJS source. */
const kafkaJsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number

/** Apache Kafka's `UtilsTest.testMurmur2` (clients/src/test/.../common/utils/UtilsTest.java): Java's own answers. */
const kafkaUtilsTestVectors: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
]

/**
 * KafkaJS `src/producer/partitioners/defaultJava/murmur2.spec.js` ("Generated with .../defaultJava/Test.java", i.e.
 * computed by the Java client). Not the older `legacy` table, whose hash is not Java's.
 */
const kafkaJsJavaVectors: Readonly<Record<string, number>> = {
  0: 971027396,
  1: -1993445489,
  128: -326012175,
  2187: -1508407203,
  16384: -325739742,
  78125: -1654490814,
  279936: 1462227128,
  823543: -2014198330,
  2097152: 607668903,
  4782969: -1182699775,
  10000000: -1830336757,
  19487171: -1603849305,
  35831808: -857013643,
  62748517: -1167431028,
  105413504: -381294639,
  170859375: -1658323481,
  '100:48069': 1009543857,
}

describe('murmur2', () => {
  test.each(kafkaUtilsTestVectors)('hashes %j as Kafka UtilsTest.testMurmur2 expects', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected)
  })

  test('matches the Java-generated vectors of KafkaJS defaultJava/murmur2.spec.js', () => {
    for (const [key, expected] of Object.entries(kafkaJsJavaVectors)) expect(murmur2(Buffer.from(key)), key).toBe(expected)
  })

  test('hashes the empty key to the seed mixed with length 0 (Java: 275646681)', () => {
    expect(murmur2(new Uint8Array(0))).toBe(275646681)
  })

  test('covers every tail length (0..3 trailing bytes) and high bytes (sign extension) like KafkaJS', () => {
    for (let length = 0; length <= 12; length++) {
      const key = Buffer.alloc(length, 0xff)
      expect(murmur2(key), `length ${length}`).toBe(kafkaJsMurmur2(key))
    }
  })

  test('agrees with KafkaJS on 5,000 random binary keys of 0..200 bytes', () => {
    const rng = seededRng(0x5eed)
    for (let i = 0; i < 5000; i++) {
      const key = Buffer.alloc(rng.int(0, 201))
      for (let j = 0; j < key.length; j++) key[j] = rng.int(0, 256)
      expect(murmur2(key), key.toString('hex')).toBe(kafkaJsMurmur2(key))
    }
  })

  test('agrees with KafkaJS on 2,000 random UTF-8 string keys', () => {
    const rng = seededRng(42)
    for (let i = 0; i < 2000; i++) {
      const key = Array.from({ length: rng.int(0, 40) }, () => String.fromCodePoint(rng.int(0x20, 0x2fff))).join('')
      expect(murmur2(Buffer.from(key, 'utf8')), key).toBe(kafkaJsMurmur2(key))
    }
  })

  test('reads a view of a larger buffer at its own offset', () => {
    const backing = Buffer.from('xxfoobarxx')
    expect(murmur2(backing.subarray(2, 8))).toBe(-790332482)
  })
})

describe('toPositive', () => {
  test('clears the sign bit, as Java Utils.toPositive (not Math.abs)', () => {
    expect(toPositive(-790332482)).toBe(1357151166)
    expect(toPositive(-1)).toBe(0x7fffffff)
    expect(toPositive(-2147483648)).toBe(0)
    expect(toPositive(5)).toBe(5)
  })
})

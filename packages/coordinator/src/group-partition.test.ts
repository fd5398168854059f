import { describe, expect, test } from 'vitest'
import { groupPartition, javaStringHashCode, kafkaAbs } from './group-partition.js'

describe('groupPartition (Kafka: Utils.abs(groupId.hashCode()) % n)', () => {
  test('Java String.hashCode values', () => {
    // Known Java results (java.lang.String#hashCode), including int32 overflow and a surrogate pair.
    expect(javaStringHashCode('')).toBe(0)
    expect(javaStringHashCode('a')).toBe(97)
    expect(javaStringHashCode('hello')).toBe(99162322)
    expect(javaStringHashCode('Hello World')).toBe(-862545276)
    expect(javaStringHashCode('test-group')).toBe(627841412)
    expect(javaStringHashCode('my-group')).toBe(-1906497762)
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648)
    expect(javaStringHashCode('groupé')).toBe(-1237460406)
    expect(javaStringHashCode('😀')).toBe(1772899)
  })

  test("Kafka's Utils.abs: Integer.MIN_VALUE is 0, otherwise Math.abs (not & 0x7fffffff)", () => {
    expect(kafkaAbs(-2147483648)).toBe(0)
    expect(kafkaAbs(-862545276)).toBe(862545276)
    expect(kafkaAbs(5)).toBe(5)
  })

  test('partitions of __consumer_offsets with 50 partitions', () => {
    expect(groupPartition('', 50)).toBe(0)
    expect(groupPartition('a', 50)).toBe(47)
    expect(groupPartition('test-group', 50)).toBe(12)
    expect(groupPartition('Hello World', 50)).toBe(26) // & 0x7fffffff would give 22
    expect(groupPartition('my-group', 50)).toBe(12) // & 0x7fffffff would give 36
    expect(groupPartition('polygenelubricants', 50)).toBe(0)
    expect(groupPartition('console-consumer-12345', 50)).toBe(6)
    expect(() => groupPartition('a', 0)).toThrow(RangeError)
  })
})

import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { TOPIC_NAME_LENGTH_MAX, isInternalTopicName, topicNamesCollide, validateTopicName } from './topic-name.js'

describe('validateTopicName (Kafka Topic.validate)', () => {
  test.each([
    ['orders'], ['a'], ['Orders.v2'], ['user_events-2024'], ['...'], ['x'.repeat(TOPIC_NAME_LENGTH_MAX)],
  ])('accepts %j', (name) => {
    expect(validateTopicName(name)).toEqual({ internal: false })
  })

  test.each([
    ['', /must not be empty/],
    ['.', /cannot be "\."/],
    ['..', /cannot be "\.\."/],
    ['x'.repeat(TOPIC_NAME_LENGTH_MAX + 1), /250 characters long; the maximum is 249/],
    ['has space', /may contain only ASCII letters, digits/],
    ['slash/name', /illegal/],
    ['ünïcode', /illegal/],
    ['tab\t', /illegal/],
  ])('rejects %j with INVALID_TOPIC_EXCEPTION and says why', (name, message) => {
    expect(() => validateTopicName(name)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: expect.stringMatching(message) }))
  })

  test('rejects a value that is not a string', () => {
    expect(() => validateTopicName(42)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_TOPIC_EXCEPTION }))
  })

  test('a __ prefix is allowed but flagged internal', () => {
    expect(validateTopicName('__consumer_offsets')).toEqual({ internal: true })
    expect(isInternalTopicName('_single')).toBe(false)
  })
})

describe('topicNamesCollide', () => {
  test('names differing only in . versus _ collide (their metric names merge)', () => {
    expect(topicNamesCollide('a.b', 'a_b')).toBe(true)
    expect(topicNamesCollide('a_b', 'a.b')).toBe(true)
  })

  test('a name does not collide with itself, nor with an unrelated name', () => {
    expect(topicNamesCollide('a.b', 'a.b')).toBe(false)
    expect(topicNamesCollide('a.b', 'a-b')).toBe(false)
  })
})

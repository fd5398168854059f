import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideDeleteTopics } from './delete-topics.js'
import { scenario, topicIdOf } from './testing/metadata-scenario.js'

function cluster () {
  return scenario().brokers(1, 2).topic('orders', [[1, 2], [2, 1]]).topic('audit', [[1]]).topic('__consumer_offsets', [[1, 2]])
}

describe('DeleteTopics', () => {
  test('removes a topic by name and one by id, with all their partitions', () => {
    const s = cluster()
    const decision = decideDeleteTopics(s.image, { topics: [{ name: 'orders' }, { topicId: topicIdOf('audit') }] })
    expect(decision.results).toEqual([
      { name: 'orders', topicId: topicIdOf('orders') }, { name: 'audit', topicId: topicIdOf('audit') },
    ])
    s.commit(decision.records)
    expect(s.image.topics().map((topic) => topic.name)).toEqual(['__consumer_offsets'])
    expect(s.image.partitionsOf(topicIdOf('orders'))).toEqual([])
  })

  test.each([
    ['an unknown topic', [{ name: 'nope' }], ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /topic nope does not exist/],
    ['an unknown topic id', [{ topicId: 'nope' }], ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /with id nope/],
    ['an internal topic', [{ name: '__consumer_offsets' }], ErrorCode.INVALID_TOPIC_EXCEPTION, /internal and may not be deleted/],
  ])('refuses %s', (_name, topics, code, message) => {
    const [result] = decideDeleteTopics(cluster().image, { topics }).results
    expect(result).toMatchObject({ error: { code, message: expect.stringMatching(message) } })
  })

  test('the same topic twice (by name and by id) fails both', () => {
    const decision = decideDeleteTopics(cluster().image, { topics: [{ name: 'orders' }, { topicId: topicIdOf('orders') }] })
    expect(decision.records).toEqual([])
    expect(decision.results.every((result) => 'error' in result && result.error.code === ErrorCode.INVALID_REQUEST)).toBe(true)
  })

  test('an internal topic may be deleted when the caller allows it explicitly', () => {
    const decision = decideDeleteTopics(cluster().image, { topics: [{ name: '__consumer_offsets' }], allowInternal: true })
    expect(decision.records).toEqual([{ type: 'RemoveTopic', topicId: topicIdOf('__consumer_offsets') }])
  })
})

import { nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideRefetchIsrRemovals } from './refetch-isr-removal.js'
import { scenario, topicIdOf } from './testing/metadata-scenario.js'

describe('decideRefetchIsrRemovals (issue 10, defect 5)', () => {
  test('a re-fetching replica leaves the ISR and its leadership; as the last member it leaves the partition offline', () => {
    const s = scenario().brokers(1, 2, 3)
      .topic('orders', [[1, 2, 3], [2, 1, 3]])
      .topic('solo', [[1, 2]], { isr: [[1]] })
    const records = decideRefetchIsrRemovals(s.image, nodeId(1), [
      { topicId: topicIdOf('orders'), partition: 0 }, { topicId: topicIdOf('orders'), partition: 1 },
      { topicId: topicIdOf('solo'), partition: 0 }, { topicId: 'gone', partition: 0 },
    ])
    s.commit(records)
    expect(s.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 })
    expect(s.partition('orders', 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0 })
    expect(s.partition('solo')).toMatchObject({ leader: -1, isr: [] })
    expect(s.image.invariantProblems()).toEqual([])
    // Reported again (the image already shows it): nothing more to do.
    expect(decideRefetchIsrRemovals(s.image, nodeId(1), [{ topicId: topicIdOf('orders'), partition: 0 }])).toEqual([])
  })
})

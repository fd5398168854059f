import { describe, expect, test } from 'vitest'
import { defaultReplicationConfig, replicationConfigProblems, validateReplicationConfig } from './replication-config.js'

describe('ReplicationConfig', () => {
  test('defaults are valid and frozen', () => {
    expect(replicationConfigProblems(defaultReplicationConfig)).toEqual([])
    expect(Object.isFrozen(validateReplicationConfig())).toBe(true)
  })

  test('the validator lists every problem', () => {
    expect(() => validateReplicationConfig({ replicaLagTimeMaxMs: 0, reconnectBackoffMsMin: 5000, reconnectBackoffMsMax: 10 }))
      .toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { problems: expect.arrayContaining([expect.stringContaining('replicaLagTimeMaxMs'), expect.stringContaining('reconnectBackoffMsMin')]) } }))
  })

  test('the ISR expansion backoff is ordered, and one largest request fits the bytes in flight', () => {
    const problems = replicationConfigProblems({
      ...defaultReplicationConfig, isrExpandBackoffMsMin: 6000, isrExpandBackoffMsMax: 5000, inFlightBytesMax: 1024, produceWaitersMax: 0,
    })
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining('isrExpandBackoffMsMin'), expect.stringContaining('inFlightBytesMax must be at least requestBytesMax'),
      expect.stringContaining('inFlightBytesMax must be at least fetchBytesMax'), expect.stringContaining('produceWaitersMax'),
    ]))
  })
})

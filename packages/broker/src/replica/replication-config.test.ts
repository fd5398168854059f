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
})

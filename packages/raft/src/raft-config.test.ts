import { isGregorError, nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { defaultRaftConfig, type RaftConfig, validateRaftConfig } from './raft-config.js'

const valid: RaftConfig = { ...defaultRaftConfig, id: nodeId(1), voters: [nodeId(1), nodeId(2), nodeId(3)], appliedIndex: raftIndex(0) }

function problemsOf (config: RaftConfig): unknown {
  try {
    validateRaftConfig(config)
  } catch (error) {
    if (isGregorError(error) && error.code === 'INVALID_CONFIG') return error.details.problems
    throw error
  }
  return []
}

describe('RaftConfig', () => {
  test('the defaults are frozen and sane', () => {
    expect(Object.isFrozen(defaultRaftConfig)).toBe(true)
    expect(defaultRaftConfig).toMatchObject({ electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true })
  })

  test('a valid config comes back frozen', () => {
    const config = validateRaftConfig(valid)
    expect(config).toEqual(valid)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.voters)).toBe(true)
  })

  test('every problem is listed at once', () => {
    const bad = { ...valid, id: nodeId(4), voters: [nodeId(1), nodeId(1)], electionTicks: 1, heartbeatTicks: 1, appliedIndex: raftIndex(-1), messageBytesMax: 0, inflightMessagesMax: 1.5, uncommittedBytesMax: -1, preVote: 'yes' as never }
    expect(problemsOf(bad)).toEqual([
      'voters must not repeat',
      'id must be one of voters',
      'electionTicks must be greater than heartbeatTicks',
      'preVote must be a boolean',
      'appliedIndex must be a non-negative integer',
      'messageBytesMax must be a positive integer',
      'inflightMessagesMax must be a positive integer',
      'uncommittedBytesMax must be a positive integer',
    ])
    expect(problemsOf({ ...valid, voters: [] })).toEqual(['voters must be a non-empty list'])
  })
})

import { describe, expect, test } from 'vitest'
import { isGregorError } from '@gregor/common'
import { validateBrokerConfig } from './broker-config.js'

const valid = {
  nodeId: '1', clusterId: 'c1', voters: '1@broker-1:9093,2@broker-2:9093,3@broker-3:9093',
  listeners: 'CLIENT://0.0.0.0:9092,BROKER://0.0.0.0:9093,ADMIN://0.0.0.0:8080',
  advertisedListeners: 'CLIENT://broker-1:9092,BROKER://broker-1:9093,ADMIN://broker-1:8080', dataDir: '/data',
}

function problemsOf (input: Record<string, string | undefined>): string[] {
  try {
    validateBrokerConfig(input)
  } catch (error) {
    if (isGregorError(error)) return error.details.problems as string[]
    throw error
  }
  return []
}

describe('broker config', () => {
  test('a complete configuration validates, with advertised addresses per listener', () => {
    const config = validateBrokerConfig(valid)
    expect(config.advertisedListeners.find((listener) => listener.name === 'CLIENT')).toEqual({ name: 'CLIENT', host: 'broker-1', port: 9092 })
    expect(config.voters.get(config.nodeId)).toBe('broker-1:9093')
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('lists every problem at once', () => {
    const problems = problemsOf({ nodeId: 'x', clusterId: 'bad id!', voters: '1@h', listeners: 'CLIENT://0.0.0.0:9092', logLevel: 'loud' })
    expect(problems.join('\n')).toMatch(/node-id/)
    expect(problems.join('\n')).toMatch(/cluster-id/)
    expect(problems.join('\n')).toMatch(/voters: "1@h"/)
    expect(problems.join('\n')).toMatch(/BROKER listener/)
    expect(problems.join('\n')).toMatch(/ADMIN listener/)
    expect(problems.join('\n')).toMatch(/wildcard/)
    expect(problems.join('\n')).toMatch(/data-dir/)
    expect(problems.join('\n')).toMatch(/log-level/)
    expect(problems.length).toBeGreaterThanOrEqual(8)
  })

  test('a node outside the voter list and an advertised listener that does not exist are problems', () => {
    expect(problemsOf({ ...valid, nodeId: '4' })).toEqual(['voters: this node (4) is not in the voter list'])
    expect(problemsOf({ ...valid, advertisedListeners: `${valid.advertisedListeners},EXTERNAL://localhost:19092` }))
      .toEqual(['advertised-listeners: EXTERNAL is not a listener'])
  })
})

import { describe, expect, test } from 'vitest'
import { type CoordinatorConfig, defaultCoordinatorConfig, resolveCoordinatorConfig, validateCoordinatorConfig } from './coordinator-config.js'

describe('coordinator config', () => {
  test('defaults are valid and frozen', () => {
    expect(validateCoordinatorConfig(defaultCoordinatorConfig)).toEqual([])
    expect(Object.isFrozen(defaultCoordinatorConfig)).toBe(true)
  })

  test('every problem is listed', () => {
    const bad = { ...defaultCoordinatorConfig, sessionTimeoutMs: 0, heartbeatIntervalMs: 1.5, defaultAssignor: 'sticky' } as unknown as CoordinatorConfig
    const problems = validateCoordinatorConfig(bad)
    expect(problems.some((p) => p.startsWith('sessionTimeoutMs'))).toBe(true)
    expect(problems.some((p) => p.startsWith('heartbeatIntervalMs'))).toBe(true)
    expect(problems.some((p) => p.startsWith('defaultAssignor'))).toBe(true)
    expect(() => resolveCoordinatorConfig({ groupMaxSize: -1 })).toThrow(/invalid coordinator config/)
    expect(resolveCoordinatorConfig({ groupMaxSize: 5 }).groupMaxSize).toBe(5)
  })
})

import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type MetadataConfig, defaultMetadataConfig, validateMetadataConfig } from './metadata-config.js'
import { defaultTopicConfig } from './topic-config.js'

describe('MetadataConfig', () => {
  test('the defaults are valid and frozen', () => {
    expect(validateMetadataConfig(defaultMetadataConfig)).toEqual(defaultMetadataConfig)
    expect(Object.isFrozen(defaultMetadataConfig)).toBe(true)
    expect(Object.isFrozen(defaultTopicConfig)).toBe(true)
  })

  test('the defaults fail over fast: connection-loss grace 500 ms, session 3 s', () => {
    expect(defaultMetadataConfig).toMatchObject({ brokerConnectionLossGraceMs: 500, brokerSessionTimeoutMs: 3000 })
  })

  test('validation returns a frozen copy', () => {
    const validated = validateMetadataConfig({ ...defaultMetadataConfig })
    expect(Object.isFrozen(validated)).toBe(true)
    expect(Object.isFrozen(validated.defaultTopicConfig)).toBe(true)
  })

  test('every problem is listed at once', () => {
    const bad = {
      ...defaultMetadataConfig,
      brokerHeartbeatIntervalMs: 2000,
      brokerSessionTimeoutMs: 3000,
      brokerConnectionLossGraceMs: 5000,
      defaultPartitionCount: 0,
      defaultReplicationFactor: 500,
      partitionCountMax: 1.5,
      defaultTopicConfig: { ...defaultTopicConfig, minInsyncReplicas: 0 },
    } satisfies MetadataConfig
    expect(() => validateMetadataConfig(bad)).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_CONFIG,
      details: {
        problems: [
          'brokerSessionTimeoutMs must be at least twice brokerHeartbeatIntervalMs',
          'brokerConnectionLossGraceMs must be less than brokerSessionTimeoutMs',
          'partitionCountMax must be an integer in [1, 100000]',
          'defaultPartitionCount must be a positive integer',
          'defaultReplicationFactor must be an integer in [1, 128]',
          'defaultTopicConfig.minInsyncReplicas must be an integer in [1, 128]',
        ],
      },
    }))
  })

  test('non-numbers are reported, not coerced', () => {
    const bad = { ...defaultMetadataConfig, brokerSessionTimeoutMs: '3000', brokerConnectionLossGraceMs: -1 } as unknown as MetadataConfig
    expect(() => validateMetadataConfig(bad)).toThrow(expect.objectContaining({
      details: { problems: ['brokerSessionTimeoutMs must be a positive integer', 'brokerConnectionLossGraceMs must be a non-negative integer'] },
    }))
  })
})

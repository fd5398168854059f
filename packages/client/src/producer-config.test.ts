import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type ProducerConfig, defaultProducerConfig, validateProducerConfig } from './producer-config.js'

describe('ProducerConfig', () => {
  test('the defaults are valid, frozen, and Kafka\'s except for a 1 MiB batch (librdkafka\'s) and shorter backoffs', () => {
    expect(validateProducerConfig(defaultProducerConfig)).toEqual(defaultProducerConfig)
    expect(Object.isFrozen(defaultProducerConfig)).toBe(true)
    expect(defaultProducerConfig).toEqual({
      acks: 'all',
      idempotent: true,
      compression: 'none',
      lingerMs: 5,
      batchBytesMax: 1_048_576,
      bufferBytesMax: 33_554_432,
      maxBlockMs: 60_000,
      deliveryTimeoutMs: 120_000,
      requestTimeoutMs: 30_000,
      retryBackoffMs: 50,
      retryBackoffMaxMs: 250,
      maxInFlightPerPartition: 5,
    })
  })

  test('validation returns a frozen copy', () => {
    expect(Object.isFrozen(validateProducerConfig({ ...defaultProducerConfig, lingerMs: 0 }))).toBe(true)
  })

  test('every problem is listed at once', () => {
    const bad = {
      ...defaultProducerConfig,
      acks: 'one',
      compression: 'brotli',
      lingerMs: -1,
      batchBytesMax: 2_000_000,
      bufferBytesMax: 0,
      maxBlockMs: 1.5,
      retryBackoffMs: 500,
      retryBackoffMaxMs: 100,
      deliveryTimeoutMs: 1000,
      requestTimeoutMs: 30_000,
      maxInFlightPerPartition: 6,
    } as unknown as ProducerConfig
    expect(() => validateProducerConfig(bad)).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_CONFIG,
      details: {
        problems: [
          'acks must be one of all, leader, none',
          'compression must be one of none, gzip, snappy, lz4, zstd',
          'lingerMs must be a non-negative integer',
          'batchBytesMax must be an integer in [69, 1048588]',
          'bufferBytesMax must be a positive integer',
          'maxBlockMs must be a non-negative integer',
          'maxInFlightPerPartition must be an integer in [1, 5]',
          'retryBackoffMaxMs must be at least retryBackoffMs',
        ],
      },
    }))
  })

  test('relations between settings are checked: buffer ≥ batch, delivery timeout ≥ linger + request timeout', () => {
    const bad = { ...defaultProducerConfig, bufferBytesMax: 1000, lingerMs: 100, deliveryTimeoutMs: 30_050 }
    expect(() => validateProducerConfig(bad)).toThrow(expect.objectContaining({
      details: { problems: ['bufferBytesMax must be at least batchBytesMax', 'deliveryTimeoutMs must be at least lingerMs + requestTimeoutMs'] },
    }))
  })

  test('non-numbers are reported, not coerced', () => {
    const bad = { ...defaultProducerConfig, lingerMs: '5', deliveryTimeoutMs: null } as unknown as ProducerConfig
    expect(() => validateProducerConfig(bad)).toThrow(expect.objectContaining({
      details: { problems: ['lingerMs must be a non-negative integer', 'deliveryTimeoutMs must be a positive integer'] },
    }))
  })
})

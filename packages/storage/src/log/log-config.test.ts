import { ErrorCode, isGregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { defaultLogConfig, logConfigProblems, validateLogConfig } from './log-config.js'

describe('LogConfig', () => {
  test('defaults are Kafka\'s, valid and frozen', () => {
    expect(Object.isFrozen(defaultLogConfig)).toBe(true)
    expect(logConfigProblems(defaultLogConfig)).toEqual([])
    expect(defaultLogConfig).toMatchObject({ segmentBytes: 1024 ** 3, indexIntervalBytes: 4096, retentionBytes: -1, flush: 'always' })
  })

  test('validateLogConfig overlays overrides and freezes the result', () => {
    const config = validateLogConfig({ segmentBytes: 1 << 24, flush: 'never' })
    expect(config).toMatchObject({ segmentBytes: 1 << 24, flush: 'never', retentionMs: defaultLogConfig.retentionMs })
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('the validator lists every problem at once', () => {
    let error: unknown
    try {
      validateLogConfig({ segmentBytes: 2 ** 31, indexIntervalBytes: -1, flush: 'sometimes' as never, openFilesMax: 0, retentionMs: 1.5 })
    } catch (e) {
      error = e
    }
    expect(isGregorError(error) && error.code).toBe(ErrorCode.INVALID_CONFIG)
    const problems = (error as { details: { problems: string[] } }).details.problems
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['flush', 'indexIntervalBytes', 'openFilesMax', 'retentionMs', 'segmentBytes'])
  })

  test('batchBytesMax may not exceed segmentBytes', () => {
    expect(logConfigProblems({ ...defaultLogConfig, segmentBytes: 4096, batchBytesMax: 8192 })).toEqual([
      'batchBytesMax (8192) must not exceed segmentBytes (4096)',
    ])
  })
})

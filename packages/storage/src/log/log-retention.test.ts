import { describe, expect, test } from 'vitest'
import { planRetention, type RetentionSegment } from './log-retention.js'

const segment = (baseOffset: number, sizeBytes: number, maxTimestamp: number): RetentionSegment =>
  ({ baseOffset, sizeBytes, maxTimestamp: async () => maxTimestamp })
const log = [segment(0, 100, 1000), segment(10, 100, 2000), segment(20, 100, 3000), segment(30, 50, 4000)]
const limits = { nowMs: 10_000, retentionMs: -1, retentionBytes: -1, logEndOffset: 35, highWatermark: 35, logStartOffset: 0 }

describe('planRetention', () => {
  test('by time: the oldest segments whose newest timestamp is older than retentionMs', async () => {
    expect(await planRetention(log, { ...limits, retentionMs: 7500 })).toEqual({ count: 2, byTime: 2, bySize: 0, byStartOffset: 0 })
    expect(await planRetention(log, { ...limits, retentionMs: 1 })).toEqual({ count: 4, byTime: 4, bySize: 0, byStartOffset: 0 })
  })

  test('by size: oldest segments while what remains is still at least retentionBytes', async () => {
    expect(await planRetention(log, { ...limits, retentionBytes: 150 })).toEqual({ count: 2, byTime: 0, bySize: 2, byStartOffset: 0 })
    expect(await planRetention(log, { ...limits, retentionBytes: 149 })).toEqual({ count: 2, byTime: 0, bySize: 2, byStartOffset: 0 })
    expect(await planRetention(log, { ...limits, retentionBytes: 0 })).toEqual({ count: 4, byTime: 0, bySize: 4, byStartOffset: 0 })
  })

  test('never past the high watermark, never an empty active segment, never a segment without timestamps by time', async () => {
    expect(await planRetention(log, { ...limits, retentionMs: 1, highWatermark: 20 })).toMatchObject({ count: 2 })
    expect(await planRetention([segment(0, 100, 1), segment(10, 0, -1)], { ...limits, retentionBytes: 0, logEndOffset: 10 })).toMatchObject({ count: 1 })
    expect(await planRetention([segment(0, 100, -1)], { ...limits, retentionMs: 1 })).toMatchObject({ count: 0 })
  })

  test('by log start offset: segments that end at or below it, never the last one', async () => {
    expect(await planRetention(log, { ...limits, logStartOffset: 20 })).toEqual({ count: 2, byTime: 0, bySize: 0, byStartOffset: 2 })
    expect(await planRetention(log, { ...limits, retentionMs: 8500, logStartOffset: 30 })).toEqual({ count: 3, byTime: 1, bySize: 0, byStartOffset: 2 })
    expect(await planRetention(log, { ...limits, logStartOffset: 35 })).toMatchObject({ count: 3 })
  })
})

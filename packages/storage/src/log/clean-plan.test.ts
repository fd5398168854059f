import { describe, expect, test } from 'vitest'
import { type CleanSegment, groupSegments, planClean } from './clean-plan.js'

const segment = (baseOffset: number, sizeBytes: number, maxTimestamp = 0): CleanSegment => ({ baseOffset, sizeBytes, maxTimestamp: async () => maxTimestamp })
// Four inactive segments of 100 bytes and an active one.
const log = [segment(0, 100, 10), segment(10, 100, 20), segment(20, 100, 30), segment(30, 100, 40), segment(40, 50, 50)]
const limits = { nowMs: 1000, logStartOffset: 0, logEndOffset: 45, highWatermark: 45, firstDirtyOffset: undefined, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0 }

describe('planClean', () => {
  test('never the active segment; without a checkpoint all of the cleanable part is dirty', async () => {
    expect(await planClean(log, limits)).toEqual({
      cleanableCount: 4, firstDirtyIndex: 0, firstDirtyOffset: 0, firstUncleanableOffset: 40, cleanableBytes: 400, dirtyBytes: 400, dirtyRatio: 1, shouldClean: true,
    })
  })

  test('the dirty ratio counts from the checkpoint; below the threshold nothing is cleaned', async () => {
    expect(await planClean(log, { ...limits, firstDirtyOffset: 20 })).toMatchObject({ dirtyBytes: 200, dirtyRatio: 0.5, shouldClean: true })
    expect(await planClean(log, { ...limits, firstDirtyOffset: 30 })).toMatchObject({ dirtyBytes: 100, dirtyRatio: 0.25, shouldClean: false })
    expect(await planClean(log, { ...limits, firstDirtyOffset: 40 })).toMatchObject({ dirtyBytes: 0, shouldClean: false })
  })

  test('stops before a segment reaching past the high watermark or younger than the compaction lag', async () => {
    expect(await planClean(log, { ...limits, highWatermark: 25 })).toMatchObject({ cleanableCount: 2, firstUncleanableOffset: 20 })
    expect(await planClean(log, { ...limits, minCompactionLagMs: 975 })).toMatchObject({ cleanableCount: 2, firstUncleanableOffset: 20 })
  })

  test('a checkpoint outside the log falls back to the log start offset', async () => {
    expect(await planClean(log, { ...limits, firstDirtyOffset: 99 })).toMatchObject({ firstDirtyOffset: 0, firstDirtyIndex: 0 })
    expect(await planClean(log, { ...limits, logStartOffset: 12, firstDirtyOffset: 3 })).toMatchObject({ firstDirtyOffset: 12, firstDirtyIndex: 1 })
  })
})

describe('groupSegments', () => {
  test('merges neighbours up to segmentBytes, a larger segment alone', () => {
    const segments = [segment(0, 30), segment(10, 30), segment(20, 300), segment(30, 10), segment(40, 10), segment(50, 0)]
    expect(groupSegments(segments, 5, 100)).toEqual([[0, 2], [2, 3], [3, 5]])
    expect(groupSegments(segments, 0, 100)).toEqual([])
  })
})

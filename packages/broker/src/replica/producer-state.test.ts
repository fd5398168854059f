import { describe, expect, test } from 'vitest'
import { type BatchHeader, buildBatch, readBatchHeader, stampBatch } from '@gregor/records'
import { ProducerStateTable, batchesRetainedPerProducer, lastSequenceOf, loadProducerState, reserveSequences } from './producer-state.js'

function header (fields: Partial<BatchHeader> & { producerId: number; baseSequence: number; count?: number }): BatchHeader {
  const count = fields.count ?? 1
  return {
    baseOffset: 0, batchLength: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0, lastOffsetDelta: count - 1,
    baseTimestamp: 0, maxTimestamp: 0, producerEpoch: 0, recordCount: count, ...fields,
  }
}

describe('ProducerStateTable: the sequence rules of KIP-98', () => {
  test('a known producer continues at last + 1; a resend of a retained batch is a duplicate with its offsets', async () => {
    const table = new ProducerStateTable()
    const first = header({ producerId: 9, baseSequence: 0, count: 3 })
    expect(table.check(first)).toEqual({ kind: 'append' })
    table.record(first, Promise.resolve({ baseOffset: 100, lastOffset: 102 }))
    const duplicate = table.check(first)
    expect(duplicate.kind).toBe('duplicate')
    await expect(Promise.resolve(duplicate.kind === 'duplicate' ? duplicate.offsets : undefined)).resolves.toEqual({ baseOffset: 100, lastOffset: 102 })
    expect(table.check(header({ producerId: 9, baseSequence: 3 }))).toEqual({ kind: 'append' })
    expect(table.check(header({ producerId: 9, baseSequence: 5 }))).toMatchObject({ kind: 'refused', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
  })

  test('epochs: an older one is refused, a newer one must start at 0; unknown producers start anywhere', () => {
    const table = new ProducerStateTable()
    table.record(header({ producerId: 1, producerEpoch: 2, baseSequence: 0 }), Promise.resolve({ baseOffset: 0, lastOffset: 0 }))
    expect(table.check(header({ producerId: 1, producerEpoch: 1, baseSequence: 1 }))).toMatchObject({ kind: 'refused', code: 'INVALID_PRODUCER_EPOCH' })
    expect(table.check(header({ producerId: 1, producerEpoch: 3, baseSequence: 4 }))).toMatchObject({ kind: 'refused', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(table.check(header({ producerId: 1, producerEpoch: 3, baseSequence: 0 }))).toEqual({ kind: 'append' })
    expect(table.check(header({ producerId: 2, baseSequence: 777 }))).toEqual({ kind: 'append' })
  })

  test('only the last five batches are retained, sequences wrap at int32 max, and the table is bounded', () => {
    const table = new ProducerStateTable(2)
    for (let i = 0; i < batchesRetainedPerProducer + 1; i++) table.record(header({ producerId: 1, baseSequence: i }), Promise.resolve({ baseOffset: i, lastOffset: i }))
    expect(table.check(header({ producerId: 1, baseSequence: 0 })).kind).toBe('refused')
    expect(table.check(header({ producerId: 1, baseSequence: 1 })).kind).toBe('duplicate')
    expect(lastSequenceOf({ baseSequence: 2 ** 31 - 1, lastOffsetDelta: 2 })).toBe(1)
    table.record(header({ producerId: 2, baseSequence: 0 }), Promise.resolve({ baseOffset: 0, lastOffset: 0 }))
    table.record(header({ producerId: 3, baseSequence: 0 }), Promise.resolve({ baseOffset: 0, lastOffset: 0 }))
    expect(table.size).toBe(2)
    expect(table.check(header({ producerId: 1, baseSequence: 99 }))).toEqual({ kind: 'append' }) // forgotten: unknown
  })
})

describe('reserveSequences', () => {
  test('reserves at once, so the next batch of the producer checks against it before the first append completes', async () => {
    const table = new ProducerStateTable()
    const first = reserveSequences(table, [header({ producerId: 5, baseSequence: 0, count: 2 })])
    expect(first.kind).toBe('reserved')
    expect(reserveSequences(table, [header({ producerId: 5, baseSequence: 2 })]).kind).toBe('reserved')
    const resend = reserveSequences(table, [header({ producerId: 5, baseSequence: 0, count: 2 })])
    expect(resend.kind).toBe('duplicate')
    if (first.kind === 'reserved') first.settle(40)
    await expect(resend.kind === 'duplicate' ? resend.offsets : undefined).resolves.toEqual({ baseOffset: 40, lastOffset: 41 })
  })

  test('a failed append takes its reservation back: the retry is appended, not answered as a duplicate', async () => {
    const table = new ProducerStateTable()
    const batch = header({ producerId: 5, baseSequence: 0 })
    const first = reserveSequences(table, [batch])
    const waiting = reserveSequences(table, [batch])
    if (first.kind === 'reserved') first.settle(undefined)
    await expect(waiting.kind === 'duplicate' ? waiting.offsets : undefined).rejects.toThrow()
    expect(reserveSequences(table, [batch]).kind).toBe('reserved')
  })

  test('batches without a producer id reserve nothing', () => {
    expect(reserveSequences(new ProducerStateTable(), [header({ producerId: -1, baseSequence: -1 })])).toEqual({ kind: 'none' })
  })
})

describe('loadProducerState', () => {
  test('rebuilds the table from the stored batch headers of the log tail', async () => {
    const stored = [0, 1, 2].map((i) => {
      const bytes = buildBatch([{ value: Buffer.from(`v${i}`) }], { nowMs: 1, producerId: 77, producerEpoch: 0, baseSequence: i })
      stampBatch(bytes, 0, { baseOffset: 10 + i, partitionLeaderEpoch: 0 })
      return bytes
    })
    const log = {
      logStartOffset: 10, logEndOffset: 13, segmentBaseOffsets: [0],
      read: async ({ offset }: { offset: number }) => ({ bytes: Buffer.concat(stored.slice(offset - 10)), nextOffset: 13 }),
    }
    const table = new ProducerStateTable()
    await loadProducerState(log, table)
    const resent = table.check(readBatchHeader(stored[1] as Buffer))
    expect(resent.kind).toBe('duplicate')
    await expect(Promise.resolve(resent.kind === 'duplicate' ? resent.offsets : undefined)).resolves.toEqual({ baseOffset: 11, lastOffset: 11 })
    expect(table.check({ ...readBatchHeader(stored[2] as Buffer), baseSequence: 3 })).toEqual({ kind: 'append' })
  })
})

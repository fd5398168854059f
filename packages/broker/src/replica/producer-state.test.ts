import { describe, expect, test } from 'vitest'
import { type BatchHeader, buildBatch, readBatchHeader, stampBatch } from '@gregor/records'
import {
  ProducerStateTable, batchesRetainedPerProducer, lastSequenceOf, loadProducerState, producerIdExpirationMsDefault, reserveSequences,
} from './producer-state.js'

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

  test('only the last five batches are retained and sequences wrap at int32 max', () => {
    const table = new ProducerStateTable()
    for (let i = 0; i < batchesRetainedPerProducer + 1; i++) table.record(header({ producerId: 1, baseSequence: i }), Promise.resolve({ baseOffset: i, lastOffset: i }))
    expect(table.check(header({ producerId: 1, baseSequence: 0 })).kind).toBe('refused')
    expect(table.check(header({ producerId: 1, baseSequence: 1 })).kind).toBe('duplicate')
    expect(lastSequenceOf({ baseSequence: 2 ** 31 - 1, lastOffsetDelta: 2 })).toBe(1)
  })
})

/** A leader's partition as LeaderRequests drives it: reserve, append (stored here), settle. */
function leaderPartition (table: ProducerStateTable): { produce: (batch: BatchHeader) => ReturnType<typeof reserveSequences>; stored: BatchHeader[] } {
  const stored: BatchHeader[] = []
  return {
    stored,
    produce: (batch) => {
      const reservation = reserveSequences(table, [batch])
      if (reservation.kind === 'reserved') {
        stored.push(batch)
        reservation.settle(stored.length - 1)
      }
      return reservation
    },
  }
}

describe('ProducerStateTable: bounded by time and by refusing new producers, never by forgetting live ones', () => {
  const t0Ms = 1_700_000_000_000
  const expirationMs = producerIdExpirationMsDefault

  test('10,001 producers: a retry of the first one\'s last batch is a duplicate, the newcomer beyond the cap is refused, expiry makes room', () => {
    const table = new ProducerStateTable() // the default cap: 10,000 producers
    const partition = leaderPartition(table)
    for (let producerId = 1; producerId <= 10_000; producerId++) {
      expect(partition.produce(header({ producerId, baseSequence: 0, maxTimestamp: t0Ms })).kind).toBe('reserved')
    }
    const newcomer = partition.produce(header({ producerId: 10_001, baseSequence: 0, maxTimestamp: t0Ms }))
    const retry = partition.produce(header({ producerId: 1, baseSequence: 0, maxTimestamp: t0Ms }))

    // The retry of producer 1 is stored once: its state was kept, not evicted for the newcomer.
    expect(partition.stored.filter((batch) => batch.producerId === 1)).toHaveLength(1)
    expect(retry.kind).toBe('duplicate')
    expect(newcomer).toMatchObject({ kind: 'refused', code: 'POLICY_VIOLATION', message: expect.stringContaining('producersMax 10000') as unknown })
    expect(partition.stored).toHaveLength(10_000)

    // Producer 2 stays active; everyone else is idle from t0. One millisecond short of the expiration nothing goes.
    expect(partition.produce(header({ producerId: 2, baseSequence: 1, maxTimestamp: t0Ms + expirationMs / 2 })).kind).toBe('reserved')
    expect(table.removeExpired(t0Ms + expirationMs - 1, expirationMs)).toBe(0)
    expect(partition.produce(header({ producerId: 1, baseSequence: 0, maxTimestamp: t0Ms })).kind).toBe('duplicate')
    // At the expiration the idle ones are forgotten (Kafka: now - lastTimestamp >= producer.id.expiration.ms).
    expect(table.removeExpired(t0Ms + expirationMs, expirationMs)).toBe(9_999)
    expect(table.size).toBe(1)
    expect(table.check(header({ producerId: 1, baseSequence: 7 }))).toEqual({ kind: 'append' }) // unknown again
    expect(table.check(header({ producerId: 2, baseSequence: 1 })).kind).toBe('duplicate') // the active one is kept
    expect(partition.produce(header({ producerId: 10_001, baseSequence: 0, maxTimestamp: t0Ms + expirationMs })).kind).toBe('reserved')
  })

  test('the cap is configurable; a known producer (also in a new epoch) is never refused, and a refused request reserves nothing', () => {
    const table = new ProducerStateTable({ producersMax: 2 })
    const partition = leaderPartition(table)
    partition.produce(header({ producerId: 1, baseSequence: 0 }))
    partition.produce(header({ producerId: 2, baseSequence: 0 }))
    expect(partition.produce(header({ producerId: 3, baseSequence: 0 }))).toMatchObject({ kind: 'refused', code: 'POLICY_VIOLATION' })
    expect(partition.produce(header({ producerId: 1, baseSequence: 1 })).kind).toBe('reserved')
    expect(partition.produce(header({ producerId: 2, producerEpoch: 1, baseSequence: 0 })).kind).toBe('reserved')
    // A request of batches of producer 1 and of a newcomer: all or nothing, so producer 1's next batch is not taken.
    expect(reserveSequences(table, [header({ producerId: 1, baseSequence: 2 }), header({ producerId: 4, baseSequence: 0 })]))
      .toMatchObject({ kind: 'refused', code: 'POLICY_VIOLATION' })
    expect(table.check(header({ producerId: 1, baseSequence: 2 }))).toEqual({ kind: 'append' })
    // Followers and loads record what the log holds, whatever the cap: the leader already wrote it.
    table.observe([header({ producerId: 5, baseSequence: 0 })])
    expect(table.size).toBe(3)
  })

  test('a producer with no known last timestamp is not expired at once: the first removeExpired starts its clock', async () => {
    const table = new ProducerStateTable()
    // As a version 1 snapshot restores it (no timestamps), and a batch without timestamps (-1).
    table.restore([{ producerId: 1, epoch: 0, batches: [{ firstSequence: 0, lastSequence: 0, baseOffset: 0, lastOffset: 0 }] }])
    table.record(header({ producerId: 2, baseSequence: 0, maxTimestamp: -1 }), { baseOffset: 1, lastOffset: 1 })
    table.record(header({ producerId: 3, baseSequence: 0, maxTimestamp: t0Ms }), { baseOffset: 2, lastOffset: 2 })
    expect(table.removeExpired(t0Ms + expirationMs, expirationMs)).toBe(1) // producer 3 only
    expect(table.size).toBe(2)
    expect(table.removeExpired(t0Ms + 2 * expirationMs - 1, expirationMs)).toBe(0)
    expect((await table.snapshotAt(10)).producers.map((p) => [p.producerId, p.lastTimestampMs])).toEqual([[1, t0Ms + expirationMs], [2, t0Ms + expirationMs]])
    expect(table.removeExpired(t0Ms + 2 * expirationMs, expirationMs)).toBe(2)
  })

  test('snapshots carry the last timestamp below their offset, so a restored table expires as the original would', async () => {
    const table = new ProducerStateTable()
    table.record(header({ producerId: 1, baseSequence: 0, maxTimestamp: t0Ms }), { baseOffset: 0, lastOffset: 0 })
    table.record(header({ producerId: 1, baseSequence: 1, maxTimestamp: t0Ms + 5 }), { baseOffset: 1, lastOffset: 1 }) // at the snapshot offset
    const snapshot = await table.snapshotAt(1)
    expect(snapshot.producers).toEqual([{ producerId: 1, epoch: 0, lastTimestampMs: t0Ms, batches: [{ firstSequence: 0, lastSequence: 0, baseOffset: 0, lastOffset: 0 }] }])
    const restored = new ProducerStateTable()
    restored.restore(snapshot.producers)
    expect(restored.removeExpired(t0Ms + expirationMs - 1, expirationMs)).toBe(0)
    expect(restored.removeExpired(t0Ms + expirationMs, expirationMs)).toBe(1)
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

// Producer-state snapshots against real partition logs in a temp directory: the leader path as LeaderRequests drives
// it (reserve, append, settle), rolls that take snapshots through `onRoll`, and reloads through `loadProducerState`.
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type Logger, leaderEpoch, offset, silentLogger } from '@gregor/common'
import { type BatchHeader, buildBatch, readBatchHeader, walkBatches } from '@gregor/records'
import { PartitionLog, nodeFileSystem } from '@gregor/storage'
import { decodeProducerSnapshot, encodeProducerSnapshot, snapshotFileName } from './producer-snapshot-codec.js'
import { ProducerSnapshots } from './producer-snapshots.js'
import {
  type ProducerSnapshot, type ProducerStateSource, ProducerStateTable, loadProducerState, reserveSequences,
} from './producer-state.js'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'gregor-snapshots-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

/** Small segments: about twelve 170-byte batches each, so a few hundred batches make dozens of rolls. */
const SMALL_SEGMENT_BYTES = 2048
/** Segments that only roll when a test says so. */
const LARGE_SEGMENT_BYTES = 1 << 20

interface Partition {
  readonly log: PartitionLog
  readonly table: ProducerStateTable
  readonly snapshots: ProducerSnapshots
  /** The snapshot writes started by rolls, to await instead of sleeping. */
  readonly taken: Array<Promise<void>>
}

/** A partition as the replica manager wires it: a snapshot at every roll. */
async function openPartition (options: { logger?: Logger; snapshotOnRoll?: boolean; segmentBytes?: number } = {}): Promise<Partition> {
  const table = new ProducerStateTable()
  const logger = options.logger ?? silentLogger
  const taken: Array<Promise<void>> = []
  let snapshots: ProducerSnapshots | undefined
  const log = await PartitionLog.open({
    dir, topic: 't', partition: 0, fs: nodeFileSystem, logger: silentLogger, config: { segmentBytes: options.segmentBytes ?? SMALL_SEGMENT_BYTES, batchBytesMax: 1024 },
    onRoll: (baseOffset) => {
      if (options.snapshotOnRoll !== false) taken.push(snapshots?.take(table, baseOffset, log.logStartOffset) ?? Promise.resolve())
    },
  })
  snapshots = new ProducerSnapshots({ dir: log.dir, fs: nodeFileSystem, logger })
  return { log, table, snapshots, taken }
}

async function closePartition (partition: Partition): Promise<void> {
  await Promise.all(partition.taken)
  await partition.log.close()
  await partition.snapshots.close()
}

function sequenced (producerId: number, baseSequence: number, options: { epoch?: number; count?: number } = {}): Buffer {
  const records = Array.from({ length: options.count ?? 1 }, (_, i) => ({ value: Buffer.alloc(100, producerId + i) }))
  return buildBatch(records, { nowMs: 1_700_000_000_000, producerId, producerEpoch: options.epoch ?? 0, baseSequence })
}

/** The leader path of LeaderRequests: sequences reserved, the append queued with no await in between, then settled. */
function appendAsLeader (partition: Partition, bytes: Buffer): Promise<{ baseOffset: number; lastOffset: number }> {
  const reservation = reserveSequences(partition.table, [...walkBatches(bytes)].map(({ header }) => header))
  if (reservation.kind !== 'reserved') throw new Error(`expected a reservation, got ${reservation.kind}`)
  return partition.log.append(bytes, { leaderEpoch: leaderEpoch(0) }).then(({ baseOffset, lastOffset }) => {
    reservation.settle(baseOffset)
    return { baseOffset, lastOffset }
  }, (error: unknown) => {
    reservation.settle(undefined)
    throw error
  })
}

/** Rounds of one batch per producer, each round's appends in flight together (reservations pending at the rolls). */
async function produceRounds (partition: Partition, producers: number, rounds: number, firstRound = 0): Promise<void> {
  for (let round = firstRound; round < firstRound + rounds; round++) {
    await Promise.all(Array.from({ length: producers }, async (_, p) => await appendAsLeader(partition, sequenced(1000 + p, round))))
  }
}

/** Everything the table holds, in its order. */
async function contents (table: ProducerStateTable): Promise<ProducerSnapshot['producers']> {
  return (await table.snapshotAt(Number.MAX_SAFE_INTEGER)).producers
}

/** The log as `loadProducerState` sees it, recording where each read starts. */
function countingSource (log: PartitionLog): { source: ProducerStateSource; readOffsets: number[] } {
  const readOffsets: number[] = []
  const source: ProducerStateSource = {
    get logStartOffset () { return log.logStartOffset },
    get logEndOffset () { return log.logEndOffset },
    get segmentBaseOffsets () { return log.segmentBaseOffsets },
    read: async ({ offset: at, bytesMax }) => {
      readOffsets.push(at)
      return await log.read({ offset: offset(at), bytesMax })
    },
  }
  return { source, readOffsets }
}

/** A rebuild from every batch header of the log, start to end. */
async function rebuildFromStart (log: PartitionLog): Promise<ProducerStateTable> {
  const table = new ProducerStateTable()
  let position: number = log.logStartOffset
  while (position < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read({ offset: offset(position), bytesMax: 1 << 20 })
    table.observe([...walkBatches(bytes)].map(({ header }) => header))
    position = nextOffset
  }
  return table
}

function header (fields: Partial<BatchHeader> & { producerId: number; baseSequence: number; count?: number }): BatchHeader {
  const count = fields.count ?? 1
  return {
    baseOffset: 0, batchLength: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0, lastOffsetDelta: count - 1,
    baseTimestamp: 0, maxTimestamp: 0, producerEpoch: 0, recordCount: count, ...fields,
  }
}

function warnings (): Logger & { lines: Array<{ message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ message: string; fields: Record<string, unknown> }> = []
  const logger: Logger = {
    child: () => logger, trace: () => {}, debug: () => {}, info: () => {}, error: () => {},
    warn: (fields, message) => { lines.push({ message, fields }) },
  }
  return Object.assign(logger, { lines })
}

describe('producer-state snapshots', () => {
  test('round trip: epochs, the last five batches with their offsets, the order; never an unsettled or failed reservation', async () => {
    const table = new ProducerStateTable()
    for (let i = 0; i < 7; i++) table.record(header({ producerId: 1, baseSequence: i * 2, count: 2 }), { baseOffset: 10 * i, lastOffset: 10 * i + 1 })
    table.record(header({ producerId: 2, producerEpoch: 2, baseSequence: 0 }), { baseOffset: 100, lastOffset: 100 })
    table.record(header({ producerId: 2, producerEpoch: 3, baseSequence: 0, count: 3 }), { baseOffset: 101, lastOffset: 103 })
    // Sequences wrap at int32 max: 2^31 - 2 + 3 records ends at sequence 0.
    table.record(header({ producerId: 3, baseSequence: 2 ** 31 - 2, count: 3 }), Promise.resolve({ baseOffset: 200, lastOffset: 202 }))
    let landBelow: (offsets: { baseOffset: number; lastOffset: number }) => void = () => {}
    table.record(header({ producerId: 4, baseSequence: 0 }), new Promise((resolve) => { landBelow = resolve }))
    const failed = Promise.reject(new Error('append failed'))
    failed.catch(() => {})
    table.record(header({ producerId: 5, baseSequence: 0 }), failed)
    table.record(header({ producerId: 1, baseSequence: 14 }), Promise.resolve({ baseOffset: 300, lastOffset: 300 })) // at the snapshot offset

    const snapshots = new ProducerSnapshots({ dir, fs: nodeFileSystem, logger: silentLogger })
    const taking = snapshots.take(table, 300, 0)
    table.clear() // the snapshot is of the table when `take` was called
    landBelow({ baseOffset: 250, lastOffset: 250 })
    await taking
    expect(await readdir(dir)).toEqual([snapshotFileName(300)])
    expect(snapshotFileName(300)).toBe('00000000000000000300.snapshot')

    const loaded = await snapshots.newestUsable(0, 300)
    const expected: ProducerSnapshot = {
      offset: 300,
      producers: [
        { producerId: 2, epoch: 3, lastTimestampMs: 0, batches: [{ firstSequence: 0, lastSequence: 2, baseOffset: 101, lastOffset: 103 }] },
        { producerId: 3, epoch: 0, lastTimestampMs: 0, batches: [{ firstSequence: 2 ** 31 - 2, lastSequence: 0, baseOffset: 200, lastOffset: 202 }] },
        { producerId: 4, epoch: 0, lastTimestampMs: 0, batches: [{ firstSequence: 0, lastSequence: 0, baseOffset: 250, lastOffset: 250 }] },
        // Producer 1 was written last; its batch at offset 300 is not below the snapshot, so four of its five remain.
        {
          producerId: 1, epoch: 0, lastTimestampMs: 0,
          batches: [3, 4, 5, 6].map((i) => ({ firstSequence: i * 2, lastSequence: i * 2 + 1, baseOffset: 10 * i, lastOffset: 10 * i + 1 })),
        },
      ],
    }
    expect(loaded).toEqual(expected)
    expect(decodeProducerSnapshot(encodeProducerSnapshot(expected), 300)).toEqual(expected)

    const restored = new ProducerStateTable()
    restored.restore(loaded?.producers ?? [])
    expect(await contents(restored)).toEqual(expected.producers)
    const resend = restored.check(header({ producerId: 1, baseSequence: 12, count: 2 }))
    expect(resend.kind).toBe('duplicate')
    await expect(Promise.resolve(resend.kind === 'duplicate' ? resend.offsets : undefined)).resolves.toEqual({ baseOffset: 60, lastOffset: 61 })
    expect(restored.check(header({ producerId: 2, producerEpoch: 2, baseSequence: 1 }))).toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' })
    expect(restored.check(header({ producerId: 3, baseSequence: 1 }))).toEqual({ kind: 'append' })
    expect(restored.check(header({ producerId: 3, baseSequence: 5 }))).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
  })

  test.each([
    ['a flipped bit in the version', (bytes: Buffer) => { bytes[1] = (bytes[1] as number) ^ 0x01 }],
    ['a flipped bit in the checksum', (bytes: Buffer) => { bytes[3] = (bytes[3] as number) ^ 0x10 }],
    ['a flipped bit in the offset', (bytes: Buffer) => { bytes[13] = (bytes[13] as number) ^ 0x04 }],
    ['a flipped bit in a batch', (bytes: Buffer) => { bytes[40] = (bytes[40] as number) ^ 0x80 }],
    ['a flipped bit in the last byte', (bytes: Buffer) => { bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x02 }],
  ])('a snapshot with %s is ignored, deleted and logged; the state comes from the scan', async (_, damage) => {
    const logger = warnings()
    const partition = await openPartition({ logger, segmentBytes: LARGE_SEGMENT_BYTES })
    await produceRounds(partition, 5, 3)
    await partition.log.roll()
    await produceRounds(partition, 5, 1, 3)
    await closePartition(partition)
    const path = join(partition.log.dir, snapshotFileName(15))
    const bytes = await readFile(path)
    damage(bytes)
    await writeFile(path, bytes)

    const reopened = await openPartition({ logger, segmentBytes: LARGE_SEGMENT_BYTES })
    const fromSnapshots = new ProducerStateTable()
    const loaded = await loadProducerState(reopened.log, fromSnapshots, reopened.snapshots)
    expect(loaded.snapshotOffset).toBeUndefined()
    const scanned = new ProducerStateTable()
    await loadProducerState(reopened.log, scanned)
    expect(await contents(fromSnapshots)).toEqual(await contents(scanned))
    expect(await reopened.snapshots.offsets()).toEqual([])
    expect(logger.lines.map((line) => line.message)).toEqual(['producer state snapshot corrupt'])
    await closePartition(reopened)
  })

  test.each([
    ['truncated to half', async (path: string, size: number) => { await truncate(path, Math.floor(size / 2)) }],
    ['truncated inside the header', async (path: string) => { await truncate(path, 10) }],
    ['emptied', async (path: string) => { await truncate(path, 0) }],
    ['longer by a byte', async (path: string) => { await writeFile(path, Buffer.from([0]), { flag: 'a' }) }],
  ])('a snapshot %s is ignored in favour of an older intact one', async (_, damage) => {
    const partition = await openPartition({ segmentBytes: LARGE_SEGMENT_BYTES })
    await produceRounds(partition, 4, 2)
    await partition.log.roll()
    await produceRounds(partition, 4, 2, 2)
    await partition.log.roll()
    await produceRounds(partition, 4, 1, 4)
    await closePartition(partition)
    expect(await partition.snapshots.offsets()).toEqual([8, 16])
    const newest = join(partition.log.dir, snapshotFileName(16))
    await damage(newest, (await readFile(newest)).length)

    const reopened = await openPartition({ segmentBytes: LARGE_SEGMENT_BYTES })
    const { source, readOffsets } = countingSource(reopened.log)
    const loaded = await loadProducerState(source, reopened.table, reopened.snapshots)
    expect(loaded).toEqual({ snapshotOffset: 8, replayedFromOffset: 8 })
    expect(readOffsets[0]).toBe(8)
    expect(await contents(reopened.table)).toEqual(await contents(await rebuildFromStart(reopened.log)))
    expect(await reopened.snapshots.offsets()).toEqual([8])
    await closePartition(reopened)
  })

  test('open after rolls: the state equals the live table, and the reload reads only the tail after the snapshot', async () => {
    const partition = await openPartition()
    await produceRounds(partition, 40, 10)
    await Promise.all(partition.taken)
    const live = await contents(partition.table)
    const bases = partition.log.segmentBaseOffsets
    expect(bases.length).toBeGreaterThan(20)
    // At most three snapshots are kept: the last three rolls.
    expect(await partition.snapshots.offsets()).toEqual(bases.slice(-3))
    await closePartition(partition) // no snapshot at close here: the reload must use the last roll's and replay after it

    const reopened = await openPartition()
    const { source, readOffsets } = countingSource(reopened.log)
    const loaded = await loadProducerState(source, reopened.table, reopened.snapshots)
    const snapshotOffset = bases.at(-1) as number
    expect(loaded.snapshotOffset).toBe(snapshotOffset)
    expect(snapshotOffset).toBeLessThan(reopened.log.logEndOffset)
    expect(readOffsets.length).toBeGreaterThan(0)
    expect(Math.min(...readOffsets)).toBe(snapshotOffset)
    expect(await contents(reopened.table)).toEqual(live)
    // Without snapshots the last two segments do not hold every producer's last five batches: the snapshot matters.
    const scanned = new ProducerStateTable()
    await loadProducerState(reopened.log, scanned)
    expect(await contents(scanned)).not.toEqual(live)
    await closePartition(reopened)
  })

  test('a producer whose batches are older than the last two segments is still known after a restart', async () => {
    const partition = await openPartition()
    const first = await appendAsLeader(partition, sequenced(7, 0))
    const second = await appendAsLeader(partition, sequenced(7, 1, { count: 2 }))
    expect(second).toEqual({ baseOffset: 1, lastOffset: 2 })
    await produceRounds(partition, 3, 30) // producers 1000..1002 fill about nine segments
    expect(partition.log.segmentBaseOffsets.length).toBeGreaterThan(4)
    await closePartition(partition)

    const reopened = await openPartition()
    await loadProducerState(reopened.log, reopened.table, reopened.snapshots)
    const resend = reopened.table.check(readBatchHeader(sequenced(7, 1, { count: 2 })))
    expect(resend.kind).toBe('duplicate')
    await expect(Promise.resolve(resend.kind === 'duplicate' ? resend.offsets : undefined)).resolves.toEqual(second)
    expect(reopened.table.check(readBatchHeader(sequenced(7, 4)))).toMatchObject({ kind: 'refused', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(first.baseOffset).toBe(0)
    expect(second.lastOffset).toBeLessThan(reopened.log.segmentBaseOffsets.at(-2) as number)
    // The scan alone has forgotten producer 7: it would take the resend as new and append it twice.
    const scanned = new ProducerStateTable()
    await loadProducerState(reopened.log, scanned)
    expect(scanned.check(readBatchHeader(sequenced(7, 1, { count: 2 })))).toEqual({ kind: 'append' })
    await closePartition(reopened)
  })

  test('truncation below a snapshot deletes it; the state then equals a rebuild of the truncated log', async () => {
    const partition = await openPartition()
    await produceRounds(partition, 6, 12)
    await Promise.all(partition.taken)
    const bases = partition.log.segmentBaseOffsets
    const [older, newer] = [bases.at(-3) as number, bases.at(-2) as number]
    expect(await partition.snapshots.offsets()).toEqual(bases.slice(-3))
    const target = newer - 3 // a batch boundary (one-record batches) between the two older snapshots

    // The replica manager's #truncateOnDivergence: snapshots above the target first, then the log, then the reload.
    await partition.snapshots.deleteAbove(target)
    await partition.log.truncateTo(offset(target))
    const { source, readOffsets } = countingSource(partition.log)
    const loaded = await loadProducerState(source, partition.table, partition.snapshots)
    expect(partition.log.logEndOffset).toBe(target)
    expect(await partition.snapshots.offsets()).toEqual([older])
    expect(loaded).toEqual({ snapshotOffset: older, replayedFromOffset: older })
    expect(Math.min(...readOffsets)).toBe(older)
    expect(await contents(partition.table)).toEqual(await contents(await rebuildFromStart(partition.log)))
    // The producers' retries of the cut batches are new appends again, at the sequence after their last kept batch.
    const lastKept = (await contents(partition.table)).find((p) => p.producerId === 1000)?.batches.at(-1)
    expect(lastKept?.lastOffset).toBeLessThan(target)
    expect(partition.table.check(readBatchHeader(sequenced(1000, (lastKept?.lastSequence ?? 0) + 1))).kind).toBe('append')
    await closePartition(partition)
  })

  test('a load discards snapshots outside the log (a crash between truncation and deletion), and prune keeps the newest', async () => {
    const partition = await openPartition({ snapshotOnRoll: false, segmentBytes: LARGE_SEGMENT_BYTES })
    await produceRounds(partition, 2, 5)
    for (const at of [2, 4, 6, 8]) await partition.snapshots.take(partition.table, at, partition.log.logStartOffset)
    expect(await partition.snapshots.offsets()).toEqual([4, 6, 8]) // at most three after a write
    await partition.snapshots.prune(5) // retention moved the log start to 5: nothing can replay from 4
    expect(await partition.snapshots.offsets()).toEqual([6, 8])
    await partition.snapshots.take(partition.table, 500, 0) // describes a tail this log does not have
    expect(await partition.snapshots.offsets()).toEqual([6, 8, 500])
    expect((await partition.snapshots.newestUsable(0, partition.log.logEndOffset))?.offset).toBe(8)
    expect(await partition.snapshots.offsets()).toEqual([6, 8])
    await partition.snapshots.deleteAll()
    expect(await partition.snapshots.offsets()).toEqual([])
    await closePartition(partition)
  })
})

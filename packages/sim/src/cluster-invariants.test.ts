/**
 * The partition invariants of `ClusterInvariants` on hand-built segment files: a batch whose header fields outside the
 * CRC rotted (baseOffset, partitionLeaderEpoch) is what the broker's header checks refuse, so it is neither a second
 * copy of its records nor a second version of its offsets (issue 10, seeds 1711, 3249, 5400 and 6061), while a real
 * duplicate or divergence with sound headers still fails, and so do the batches after a rotted one.
 */
import { describe, expect, test } from 'vitest'
import { buildBatch } from '@gregor/records'
import { ClusterInvariants, type ReplicaView } from './cluster-invariants.js'

const PARTITION = 'sim-0'

/** One batch of `ids` at `baseOffset`, stamped as the leader would (epoch 0, idempotent producer 7). */
function batch (baseOffset: number, ids: readonly string[], partitionLeaderEpoch = 0): Buffer {
  return buildBatch(ids.map((id) => ({ value: Buffer.from(id) })), {
    baseOffset, partitionLeaderEpoch, producerId: 7, producerEpoch: 0, baseSequence: baseOffset, nowMs: 1_000,
  })
}

/** `batchBytes` with byte `at` of its header XORed with `mask` (the nemesis's flipByte, outside the CRC'd range). */
function flipped (batchBytes: Buffer, at: number, mask = 0xff): Buffer {
  const copy = Buffer.from(batchBytes)
  copy[at] = (copy[at] ?? 0) ^ mask
  return copy
}

function segmentName (baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`
}

function replica (brokerId: number, highWatermark: number, segments: ReadonlyArray<readonly [number, readonly Buffer[]]>): ReplicaView {
  return {
    brokerId, incarnation: 1, partition: PARTITION, highWatermark,
    segments: () => segments.map(([base, batches]) => ({ name: segmentName(base), bytes: Buffer.concat(batches) })),
  }
}

function invariantsWithSent (...ids: string[]): ClusterInvariants {
  const invariants = new ClusterInvariants()
  for (const id of ids) invariants.recordSent(id)
  return invariants
}

const ids = ['p0:0', 'p0:1', 'p0:2', 'p0:3', 'p0:4']
/** The log every replica should hold: offsets 0..1, 2..3, 4. */
const clean = [batch(0, ['p0:0', 'p0:1']), batch(2, ['p0:2', 'p0:3']), batch(4, ['p0:4'])] as const

describe('ClusterInvariants: batches the broker would refuse', () => {
  test('a batch whose baseOffset rotted (high byte, as in seed 5400) is not a second copy of its records', () => {
    const invariants = invariantsWithSent(...ids)
    invariants.checkReplica(replica(1, 5, [[0, [...clean]]]))
    // Byte 0 of baseOffset 2 flipped: -72057594037927934, which a CRC check cannot see.
    const rotted = flipped(clean[1], 0)
    expect(rotted.readBigInt64BE(0)).toBe(-72057594037927934n)
    expect(() => invariants.checkReplica(replica(2, 5, [[0, [clean[0], rotted, clean[2]]]]))).not.toThrow()
    expect(invariants.checkEveryAcknowledgedRecordStored()).toEqual({ acknowledged: 0 })
  })

  test('a rotted baseOffset within the segment\'s range (a low byte) is refused too', () => {
    const invariants = invariantsWithSent(...ids)
    invariants.checkReplica(replica(1, 5, [[0, [...clean]]]))
    // 2 → 2 ^ 0x04 = 6: inside the segment, and it would put p0:2 and p0:3 at offsets 6 and 7.
    const rotted = flipped(clean[1], 7, 0x04)
    expect(() => invariants.checkReplica(replica(2, 8, [[0, [clean[0], rotted, clean[2]]]]))).not.toThrow()
  })

  test('the first batch of a segment must start at the segment\'s base offset (its name)', () => {
    const invariants = invariantsWithSent(...ids)
    invariants.checkReplica(replica(1, 5, [[0, [clean[0]]], [2, [clean[1], clean[2]]]]))
    const rotted = flipped(clean[1], 0)
    expect(() => invariants.checkReplica(replica(2, 5, [[0, [clean[0]]], [2, [rotted, clean[2]]]]))).not.toThrow()
  })

  test('an acknowledged record held only in a batch with a rotted header is not counted as stored', () => {
    const invariants = invariantsWithSent(...ids)
    invariants.recordAcknowledged(PARTITION, 2, 'p0:2')
    // Epoch 0 with its high byte flipped: -2147483648, which the broker refuses as out of range.
    invariants.checkReplica(replica(1, 5, [[0, [clean[0], flipped(clean[1], 12, 0x80), clean[2]]]]))
    expect(() => invariants.checkEveryAcknowledgedRecordStored()).toThrow(/every acknowledged record can be read: sim-0 offset 2/)
    invariants.checkReplica(replica(2, 5, [[0, [...clean]]]))
    expect(invariants.checkEveryAcknowledgedRecordStored()).toEqual({ acknowledged: 1 })
  })
})

describe('ClusterInvariants: real violations still fail', () => {
  test('an idempotent record stored twice with sound headers', () => {
    const invariants = invariantsWithSent(...ids)
    const duplicate = batch(4, ['p0:2'])
    expect(() => invariants.checkReplica(replica(1, 5, [[0, [clean[0], clean[1], duplicate]]])))
      .toThrow('an idempotent record is stored once: p0:2 is at offsets 2 and 4 of sim-0')
  })

  test('a divergent batch after a rotted one (the walk continues where the rotted batch really ends)', () => {
    const invariants = invariantsWithSent(...ids, 'p0:x')
    invariants.checkReplica(replica(1, 5, [[0, [...clean]]]))
    const divergent = batch(4, ['p0:x'])
    expect(() => invariants.checkReplica(replica(2, 5, [[0, [clean[0], flipped(clean[1], 0), divergent]]])))
      .toThrow(/replicas agree below the high watermark: sim-0 broker 2 holds batch 4\.\.4/)
  })

  test('a duplicate after a rotted batch, found by an incremental check as the high watermark advances', () => {
    const invariants = invariantsWithSent(...ids)
    const batches = [clean[0], flipped(clean[1], 0)]
    const view = replica(1, 4, [[0, batches]])
    invariants.checkReplica(view)
    batches.push(batch(4, ['p0:0']))
    expect(() => invariants.checkReplica({ ...view, highWatermark: 5 }))
      .toThrow('an idempotent record is stored once: p0:0 is at offsets 0 and 4 of sim-0')
  })
})

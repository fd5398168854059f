// The producer-state snapshot format: version 2 round trips the producers' last timestamps (for expiry by
// producer.id.expiration.ms), version 1 files written before it still load (without timestamps), and anything else —
// an unknown version, a bad timestamp, a flipped byte — is refused as corrupt.
import { describe, expect, test } from 'vitest'
import { crc32c } from '@gregor/records'
import { SNAPSHOT_VERSION, decodeProducerSnapshot, encodeProducerSnapshot } from './producer-snapshot-codec.js'
import { type ProducerSnapshot, ProducerStateTable } from './producer-state.js'

const snapshot: ProducerSnapshot = {
  offset: 500,
  producers: [
    { producerId: 7, epoch: 1, lastTimestampMs: 1_700_000_000_000, batches: [{ firstSequence: 0, lastSequence: 4, baseOffset: 10, lastOffset: 14 }] },
    {
      producerId: 2 ** 40, epoch: 0, lastTimestampMs: 0,
      batches: [{ firstSequence: 2 ** 31 - 2, lastSequence: 0, baseOffset: 100, lastOffset: 102 }, { firstSequence: 1, lastSequence: 1, baseOffset: 103, lastOffset: 103 }],
    },
    { producerId: 9, epoch: 3, batches: [{ firstSequence: 5, lastSequence: 5, baseOffset: 200, lastOffset: 200 }] }, // timestamp not known
  ],
}

/** Re-signs bytes edited after encoding, so only the edit (not the checksum) can make the decoder refuse them. */
function resigned (bytes: Buffer): Buffer {
  bytes.writeUInt32BE(crc32c(bytes.subarray(6)), 2)
  return bytes
}

describe('producer snapshot codec', () => {
  test('version 2 round trips last timestamps, including a producer whose timestamp is not known', () => {
    const bytes = encodeProducerSnapshot(snapshot)
    expect(bytes.readInt16BE(0)).toBe(SNAPSHOT_VERSION)
    expect(SNAPSHOT_VERSION).toBe(2)
    expect(decodeProducerSnapshot(bytes, 500)).toEqual(snapshot)
  })

  test('a version 1 file still loads: the same producers and batches, no timestamps, and they are not expired at once', () => {
    const v1 = encodeProducerSnapshot(snapshot, 1)
    expect(v1.readInt16BE(0)).toBe(1)
    expect(v1.length).toBe(encodeProducerSnapshot(snapshot).length - 8 * snapshot.producers.length)
    const decoded = decodeProducerSnapshot(v1, 500)
    expect(decoded).toEqual({ offset: 500, producers: snapshot.producers.map(({ lastTimestampMs: _, ...producer }) => producer) })
    const table = new ProducerStateTable()
    table.restore(decoded.producers)
    expect(table.removeExpired(Number.MAX_SAFE_INTEGER / 2, 1)).toBe(0) // clocks start now
    expect(table.size).toBe(3)
  })

  test('a version 1 file as the old encoder laid it out, byte for byte', () => {
    // version 1 | crc | offset 20 | 1 producer: id 3, epoch 0, 1 batch: sequences 0..1 at offsets 4..5
    const bytes = Buffer.alloc(18 + 11 + 24)
    bytes.writeInt16BE(1, 0)
    bytes.writeBigInt64BE(20n, 6)
    bytes.writeInt32BE(1, 14)
    bytes.writeBigInt64BE(3n, 18)
    bytes.writeInt16BE(0, 26)
    bytes.writeInt8(1, 28)
    bytes.writeInt32BE(0, 29)
    bytes.writeInt32BE(1, 33)
    bytes.writeBigInt64BE(4n, 37)
    bytes.writeBigInt64BE(5n, 45)
    expect(decodeProducerSnapshot(resigned(bytes), 20)).toEqual({
      offset: 20, producers: [{ producerId: 3, epoch: 0, batches: [{ firstSequence: 0, lastSequence: 1, baseOffset: 4, lastOffset: 5 }] }],
    })
  })

  test('an unknown version, a timestamp below -1 and a flipped byte are refused as corrupt', () => {
    const future = encodeProducerSnapshot(snapshot)
    future.writeInt16BE(3, 0)
    expect(() => decodeProducerSnapshot(resigned(future), 500)).toThrow(expect.objectContaining({ code: 'KAFKA_STORAGE_ERROR', details: expect.objectContaining({ reason: 'unknown version' }) as unknown }))
    const badTimestamp = encodeProducerSnapshot(snapshot)
    badTimestamp.writeBigInt64BE(-2n, 18 + 10) // the first producer's lastTimestampMs
    expect(() => decodeProducerSnapshot(resigned(badTimestamp), 500)).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'bad last timestamp' }) as unknown }))
    const flipped = encodeProducerSnapshot(snapshot)
    flipped[30] = (flipped[30] as number) ^ 0x01
    expect(() => decodeProducerSnapshot(flipped, 500)).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'checksum mismatch' }) as unknown }))
  })
})

/**
 * The on-disk format of a producer-state snapshot, `<20-digit offset>.snapshot` in the partition directory, after
 * Kafka's ProducerStateManager snapshot files: a version, a CRC-32C over everything after the checksum, the snapshot
 * offset, then the producers, least recently written first, each with its epoch, the timestamp of its last batch (for
 * expiry by `producer.id.expiration.ms`) and its last batches.
 *
 * Layout (big-endian), byte offsets from the file start:
 *   0 version int16 (2) | 2 crc uint32 (CRC-32C of bytes 6..end) | 6 offset int64 | 14 producerCount int32
 *   per producer: producerId int64 | epoch int16 | lastTimestampMs int64 (-1: not known) | batchCount int8 (1..5)
 *     per batch, oldest first: firstSequence int32 | lastSequence int32 | baseOffset int64 | lastOffset int64
 * Version 1 (written before producers expired by time) is the same without lastTimestampMs; it is still read, its
 * producers then having no known last timestamp (`removeExpired` starts their clock). Only version 2 is written.
 *
 * Owns: encoding and the distrust of what it reads. `decodeProducerSnapshot` checks the version, the checksum, that
 * the content names the offset its file name says, every count against the bytes present and every field against its
 * range (batches ascending and below the snapshot offset), and throws on any mismatch: a torn, truncated or
 * bit-flipped file is never loaded.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import { crc32c } from '@gregor/records'
import { type ProducerSnapshot, type SnapshotProducer, batchesRetainedPerProducer } from './producer-state.js'

export const SNAPSHOT_FILE_SUFFIX = '.snapshot'
/** The version written; `decodeProducerSnapshot` also reads version 1. */
export const SNAPSHOT_VERSION = 2
const CRC_START = 6
const HEADER_BYTES = 18
/** Per producer, by version: v1 has no lastTimestampMs. */
const PRODUCER_BYTES: Readonly<Record<number, number>> = { 1: 11, 2: 19 }
const BATCH_BYTES = 24
const NO_TIMESTAMP = -1

/** `00000000000000012345.snapshot`: zero-padded like segment files, so name order is offset order. */
export function snapshotFileName (offset: number): string {
  return `${String(offset).padStart(20, '0')}${SNAPSHOT_FILE_SUFFIX}`
}

/** The offset a snapshot file name stands for, or undefined for any other file. */
export function parseSnapshotFileName (name: string): number | undefined {
  const match = /^(\d{20})\.snapshot$/.exec(name)
  if (match === null) return undefined
  const offset = Number(match[1])
  return Number.isSafeInteger(offset) ? offset : undefined
}

/** The snapshot as `version` lays it out (2 unless a test writes an old file; version 1 drops the timestamps). */
export function encodeProducerSnapshot (snapshot: ProducerSnapshot, version = SNAPSHOT_VERSION): Buffer {
  const producerBytes = PRODUCER_BYTES[version]
  if (producerBytes === undefined) throw new Error(`unknown producer snapshot version ${version}`)
  const sizeBytes = snapshot.producers.reduce((sum, p) => sum + producerBytes + BATCH_BYTES * p.batches.length, HEADER_BYTES)
  const bytes = Buffer.alloc(sizeBytes)
  bytes.writeInt16BE(version, 0)
  bytes.writeBigInt64BE(BigInt(snapshot.offset), 6)
  bytes.writeInt32BE(snapshot.producers.length, 14)
  let at = HEADER_BYTES
  for (const producer of snapshot.producers) {
    bytes.writeBigInt64BE(BigInt(producer.producerId), at)
    bytes.writeInt16BE(producer.epoch, at + 8)
    if (version >= 2) bytes.writeBigInt64BE(BigInt(producer.lastTimestampMs ?? NO_TIMESTAMP), at + 10)
    bytes.writeInt8(producer.batches.length, at + producerBytes - 1)
    at += producerBytes
    for (const batch of producer.batches) {
      bytes.writeInt32BE(batch.firstSequence, at)
      bytes.writeInt32BE(batch.lastSequence, at + 4)
      bytes.writeBigInt64BE(BigInt(batch.baseOffset), at + 8)
      bytes.writeBigInt64BE(BigInt(batch.lastOffset), at + 16)
      at += BATCH_BYTES
    }
  }
  bytes.writeUInt32BE(crc32c(bytes.subarray(CRC_START)), 2)
  return bytes
}

/** The snapshot in `bytes`, which its file name says is at `expectedOffset`; throws KAFKA_STORAGE_ERROR if corrupt. */
export function decodeProducerSnapshot (bytes: Buffer, expectedOffset: number): ProducerSnapshot {
  if (bytes.length < HEADER_BYTES) throw corrupt('shorter than the header', { sizeBytes: bytes.length })
  const version = bytes.readInt16BE(0)
  const producerBytes = PRODUCER_BYTES[version]
  if (producerBytes === undefined) throw corrupt('unknown version', { version })
  const crc = bytes.readUInt32BE(2)
  const actualCrc = crc32c(bytes.subarray(CRC_START))
  if (crc !== actualCrc) throw corrupt('checksum mismatch', { crc, actualCrc })
  const offset = readSafeInteger(bytes, 6)
  if (offset !== expectedOffset) throw corrupt('offset does not match the file name', { offset, expectedOffset })
  const count = bytes.readInt32BE(14)
  if (count < 0 || HEADER_BYTES + count * producerBytes > bytes.length) throw corrupt('producer count out of range', { count })
  const producers: SnapshotProducer[] = []
  const seen = new Set<number>()
  let at = HEADER_BYTES
  for (let i = 0; i < count; i++) {
    if (at + producerBytes > bytes.length) throw corrupt('producer past the end of the file', { producer: i })
    const producerId = readSafeInteger(bytes, at)
    const epoch = bytes.readInt16BE(at + 8)
    const lastTimestampMs = version >= 2 ? readSafeInteger(bytes, at + 10) : NO_TIMESTAMP
    const batchCount = bytes.readInt8(at + producerBytes - 1)
    at += producerBytes
    if (producerId === undefined || producerId < 0 || seen.has(producerId)) throw corrupt('bad producer id', { producer: i })
    if (epoch < 0) throw corrupt('bad producer epoch', { producerId, epoch })
    if (lastTimestampMs === undefined || lastTimestampMs < NO_TIMESTAMP) throw corrupt('bad last timestamp', { producerId })
    if (batchCount < 1 || batchCount > batchesRetainedPerProducer) throw corrupt('bad batch count', { producerId, batchCount })
    if (at + batchCount * BATCH_BYTES > bytes.length) throw corrupt('batches past the end of the file', { producerId })
    seen.add(producerId)
    const batches: Array<SnapshotProducer['batches'][number]> = []
    let previousLastOffset = -1
    for (let b = 0; b < batchCount; b++) {
      const firstSequence = bytes.readInt32BE(at)
      const lastSequence = bytes.readInt32BE(at + 4)
      const baseOffset = readSafeInteger(bytes, at + 8)
      const lastOffset = readSafeInteger(bytes, at + 16)
      at += BATCH_BYTES
      if (firstSequence < 0 || lastSequence < 0 || baseOffset === undefined || lastOffset === undefined ||
        baseOffset <= previousLastOffset || baseOffset > lastOffset || lastOffset >= offset) {
        throw corrupt('batch out of range', { producerId, batch: b })
      }
      batches.push({ firstSequence, lastSequence, baseOffset, lastOffset })
      previousLastOffset = lastOffset
    }
    producers.push({ producerId, epoch, ...(lastTimestampMs === NO_TIMESTAMP ? {} : { lastTimestampMs }), batches })
  }
  if (at !== bytes.length) throw corrupt('bytes after the last producer', { sizeBytes: bytes.length, endPosition: at })
  return { offset, producers }
}

function readSafeInteger (bytes: Buffer, at: number): number | undefined {
  const value = Number(bytes.readBigInt64BE(at))
  return Number.isSafeInteger(value) ? value : undefined
}

function corrupt (reason: string, details: Record<string, unknown>): GregorError {
  return new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, 'corrupt producer state snapshot', { retriable: false, details: { reason, ...details } })
}

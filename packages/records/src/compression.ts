/**
 * The compression codecs a record batch may use, keyed by Kafka's codec ids (attributes bits 0..2: 0 none, 1 gzip,
 * 2 snappy, 3 lz4, 4 zstd). What a codec compresses is the records section, the bytes after the 61-byte batch header.
 *
 * Built in: none; gzip through node:zlib (Kafka's GZIPInputStream/-OutputStream format, default level 6 as Kafka);
 * lz4 as the LZ4 *frame* format through lz4-napi (Kafka ≥ 0.10; the pre-0.10 broken header checksum is not
 * supported). snappy and zstd are valid Kafka ids that Gregor does not decode yet. To add one, write a
 * `CompressionCodec` and list it in `codecs` below: nothing else dispatches on codec ids.
 *
 * Invariants: codecs are pure and synchronous over buffers. `decompress` never returns more than
 * `decompressedBytesMax` bytes and checks that before allocating the output where the format allows (gzip stops
 * inflating at the limit; lz4 frames are bounded from their block headers first, so lz4 may refuse content just
 * under the limit whose bound lies above it). A malformed stream throws
 * CORRUPT_MESSAGE; one that would expand past the limit throws MESSAGE_TOO_LARGE.
 */
import { constants } from 'node:buffer'
import { gunzipSync, gzipSync } from 'node:zlib'
import { ErrorCode, GregorError } from '@gregor/common'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { lz4FrameDecompressedBytesBound } from './lz4-frame.js'

/** Kafka's compression codec ids, as stored in attributes bits 0..2. */
export const COMPRESSION_CODEC_IDS = Object.freeze({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })

/** Names of the codecs Gregor can both compress and decompress. */
export type CompressionName = 'none' | 'gzip' | 'lz4'

export interface CompressionCodec {
  readonly id: number
  readonly name: CompressionName
  compress (records: Buffer): Buffer
  decompress (compressed: Buffer, decompressedBytesMax: number): Buffer
}

const none: CompressionCodec = {
  id: COMPRESSION_CODEC_IDS.none,
  name: 'none',
  compress: (records) => records,
  decompress: (compressed, decompressedBytesMax) => {
    if (compressed.length > decompressedBytesMax) throw tooLarge(compressed.length, decompressedBytesMax)
    return compressed
  },
}

const gzip: CompressionCodec = {
  id: COMPRESSION_CODEC_IDS.gzip,
  name: 'gzip',
  compress: (records) => gzipSync(records),
  decompress: (compressed, decompressedBytesMax) => {
    try {
      // maxOutputLength makes zlib stop inflating once the output passes the limit, instead of after the bomb.
      // zlib rejects a maxOutputLength beyond the largest Buffer, which no output could reach anyway.
      return gunzipSync(compressed, { maxOutputLength: Math.min(decompressedBytesMax, constants.MAX_LENGTH) })
    } catch (error) {
      if (hasCode(error, 'ERR_BUFFER_TOO_LARGE')) throw tooLarge(undefined, decompressedBytesMax)
      throw corrupt('gzip', error)
    }
  },
}

const lz4: CompressionCodec = {
  id: COMPRESSION_CODEC_IDS.lz4,
  name: 'lz4',
  compress: (records) => compressFrameSync(records),
  decompress: (compressed, decompressedBytesMax) => {
    const bound = lz4FrameDecompressedBytesBound(compressed)
    if (bound > decompressedBytesMax) throw tooLarge(bound, decompressedBytesMax)
    let records: Buffer
    try {
      records = decompressFrameSync(compressed)
    } catch (error) {
      throw corrupt('lz4', error)
    }
    // The bound is ours, the decoder is not: check what it actually produced as well.
    if (records.length > decompressedBytesMax) throw tooLarge(records.length, decompressedBytesMax)
    return records
  },
}

const codecs: readonly CompressionCodec[] = Object.freeze([none, gzip, lz4])
const codecsById: ReadonlyMap<number, CompressionCodec> = new Map(codecs.map((codec) => [codec.id, codec]))
const codecsByName: ReadonlyMap<string, CompressionCodec> = new Map(codecs.map((codec) => [codec.name, codec]))

/** The codec called `name`. Throws INVALID_REQUEST for a name Gregor does not support. */
export function compressionCodecByName (name: CompressionName): CompressionCodec {
  const codec = codecsByName.get(name)
  if (codec === undefined) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, 'unsupported compression', { details: { compression: name } })
  }
  return codec
}

/**
 * The codec with Kafka id `id` (attributes & 0x07). An id Gregor cannot decode is CORRUPT_MESSAGE: Kafka's
 * UNSUPPORTED_COMPRESSION_TYPE has no counterpart in ErrorCode, and the batch is unreadable here either way.
 */
export function compressionCodecById (id: number): CompressionCodec {
  const codec = codecsById.get(id)
  if (codec === undefined) {
    const known = Object.entries(COMPRESSION_CODEC_IDS).find(([, knownId]) => knownId === id)?.[0]
    throw new GregorError(ErrorCode.CORRUPT_MESSAGE, 'unsupported compression codec', {
      details: { codecId: id, codec: known ?? 'unknown' },
    })
  }
  return codec
}

function tooLarge (decompressedBytes: number | undefined, decompressedBytesMax: number): GregorError {
  return new GregorError(ErrorCode.MESSAGE_TOO_LARGE, 'records expand past the decompression limit', {
    details: { decompressedBytes, decompressedBytesMax },
  })
}

function corrupt (codec: string, cause: unknown): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, 'records do not decompress', { cause, details: { codec } })
}

function hasCode (error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}

/**
 * The compression codecs a record batch may use, keyed by Kafka's codec ids (attributes bits 0..2: 0 none, 1 gzip,
 * 2 snappy, 3 lz4, 4 zstd). What a codec compresses is the records section, the bytes after the 61-byte batch header.
 *
 * All five of Kafka's codecs, read and written, so that a consumer reads what any Kafka client wrote:
 * - none;
 * - gzip through node:zlib (Kafka's GZIPInputStream/-OutputStream format, default level 6 as Kafka);
 * - snappy through `snappy` (napi-rs over the Rust snap crate): written as one raw block, as librdkafka and KafkaJS
 *   write it; read raw or in snappy-java's xerial framing, which the Java client writes (snappy-blocks.ts);
 * - lz4 as the LZ4 *frame* format through lz4-napi (Kafka ≥ 0.10; the pre-0.10 broken header checksum is not
 *   supported);
 * - zstd through `@toondepauw/node-zstd` (napi-rs over libzstd; Node 20 has no zstd in node:zlib), level 3 as
 *   Kafka's `compression.zstd.level` default.
 * The native libraries ship prebuilt binaries as npm packages (no install script, no download), like lz4-napi.
 * To add a codec, write a `CompressionCodec` and list it in `codecs` below: nothing else dispatches on codec ids.
 *
 * Invariants: codecs are pure and synchronous over buffers. `decompress` never returns more than
 * `decompressedBytesMax` bytes and checks that before allocating the output where the format allows (gzip stops
 * inflating at the limit; snappy blocks declare their length up front; lz4 and zstd frames are bounded from their
 * block headers first, so they may refuse content just under the limit whose bound lies above it). A malformed
 * stream throws CORRUPT_MESSAGE; one that would expand past the limit throws MESSAGE_TOO_LARGE.
 */
import { constants } from 'node:buffer'
import { gunzipSync, gzipSync } from 'node:zlib'
import { ErrorCode, GregorError } from '@gregor/common'
import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy'
import { lz4FrameDecompressedBytesBound } from './lz4-frame.js'
import { snappyBlocks } from './snappy-blocks.js'
import { zstdDecompressedBytesBound } from './zstd-frame.js'

/** Kafka's compression codec ids, as stored in attributes bits 0..2. */
export const COMPRESSION_CODEC_IDS = Object.freeze({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })

/** Names of the codecs Gregor can both compress and decompress: all of Kafka's. */
export type CompressionName = keyof typeof COMPRESSION_CODEC_IDS

/** Every codec name, in Kafka id order (for option parsing and messages). */
export const COMPRESSION_NAMES: readonly CompressionName[] = Object.freeze(['none', 'gzip', 'snappy', 'lz4', 'zstd'])

/** Kafka's default `compression.zstd.level`, also zstd's own default. */
const ZSTD_LEVEL = 3

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

const snappy: CompressionCodec = {
  id: COMPRESSION_CODEC_IDS.snappy,
  name: 'snappy',
  compress: (records) => snappyCompressSync(records),
  decompress: (compressed, decompressedBytesMax) => {
    const { blocks, decompressedBytes } = snappyBlocks(compressed)
    if (decompressedBytes > decompressedBytesMax) throw tooLarge(decompressedBytes, decompressedBytesMax)
    let parts: Buffer[]
    try {
      // The decoder allocates each block's declared length and fails unless the block fills it exactly.
      parts = blocks.map((block) => snappyUncompressSync(block) as Buffer)
    } catch (error) {
      throw corrupt('snappy', error)
    }
    return parts.length === 1 ? parts[0] as Buffer : Buffer.concat(parts, decompressedBytes)
  },
}

// The native encoder and decoder hold a zstd context each; reusing them is safe because codecs are synchronous.
const zstdEncoder = new ZstdEncoder(ZSTD_LEVEL)
const zstdDecoder = new ZstdDecoder()

const zstd: CompressionCodec = {
  id: COMPRESSION_CODEC_IDS.zstd,
  name: 'zstd',
  compress: (records) => zstdEncoder.encodeSync(records),
  decompress: (compressed, decompressedBytesMax) => {
    const bound = zstdDecompressedBytesBound(compressed)
    if (bound > decompressedBytesMax) throw tooLarge(bound, decompressedBytesMax)
    let records: Buffer
    try {
      records = zstdDecoder.decodeSync(compressed)
    } catch (error) {
      throw corrupt('zstd', error)
    }
    // The bound is ours, the decoder is not: check what it actually produced as well.
    if (records.length > decompressedBytesMax) throw tooLarge(records.length, decompressedBytesMax)
    return records
  },
}

const codecs: readonly CompressionCodec[] = Object.freeze([none, gzip, snappy, lz4, zstd])
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
 * The codec with Kafka id `id` (attributes & 0x07). An id no codec has (5 to 7) is CORRUPT_MESSAGE: Kafka's
 * UNSUPPORTED_COMPRESSION_TYPE has no counterpart in ErrorCode, and the batch is unreadable here either way.
 */
export function compressionCodecById (id: number): CompressionCodec {
  const codec = codecsById.get(id)
  if (codec === undefined) {
    throw new GregorError(ErrorCode.CORRUPT_MESSAGE, 'unsupported compression codec', { details: { codecId: id } })
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

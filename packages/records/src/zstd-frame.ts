/**
 * Reads the structure of Zstandard frames (RFC 8878 §3.1) without decompressing them, to bound how large their
 * content can be before any memory is committed to it, as lz4-frame.ts does for LZ4. The native decoder takes no
 * output limit, and a frame need not declare its content size (Kafka's Java producer streams zstd without one), so
 * this bound is what keeps a small batch from inflating to gigabytes.
 *
 * Layout of one frame (little-endian):
 *   magic 0xFD2FB528 (4) | descriptor (1) | [window descriptor (1) unless single-segment] | [dictionary id (0/1/2/4)]
 *   | [content size (0/1/2/4/8)] | blocks | [content checksum (4) if descriptor bit 2]
 *   block: header (3: bit 0 last, bits 1-2 type, bits 3-23 size) | raw: size bytes | RLE: 1 byte | compressed: size bytes
 * Skippable frames (magic 0x184D2A50..5F, then a 4-byte size and that many bytes) carry no content (frame-bound.ts).
 *
 * Invariants: the bound is ≥ the real content size of any input a conforming decoder accepts (a raw block is its
 * size, an RLE block regenerates its size, a compressed block never exceeds the block maximum, min(window, 128 KiB)).
 * A window above 2^27 bytes is refused, as libzstd refuses it by default (its `windowLogMax` is 27): a hostile header
 * must not make the decoder reserve gigabytes. Structure errors throw CORRUPT_MESSAGE; checksums are the decoder's.
 */
import { frameCorrupt, framesDecompressedBytesBound, readUnsignedLE } from './frame-bound.js'

/** The Zstandard frame magic number, 0xFD2FB528, as read little-endian. */
export const ZSTD_FRAME_MAGIC = 0xfd2fb528
/** libzstd's default decoding limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). */
export const ZSTD_WINDOW_BYTES_MAX = 2 ** 27
const BLOCK_BYTES_MAX = 128 * 1024
const BLOCK_TYPE_RAW = 0
const BLOCK_TYPE_RLE = 1
const BLOCK_TYPE_COMPRESSED = 2
const TWO_POW_32 = 0x1_0000_0000

/** An upper bound on the bytes that decompressing `input` (one or more Zstandard frames) can produce. */
export function zstdDecompressedBytesBound (input: Buffer): number {
  return framesDecompressedBytesBound(input, { codec: 'zstd', magic: ZSTD_FRAME_MAGIC, frameBound })
}

/** Walks one frame's header and blocks, starting just after its magic number. */
function frameBound (input: Buffer, start: number): { bound: number; position: number } {
  const descriptor = readUnsignedLE(input, start, 1, 'zstd')
  if ((descriptor & 0x08) !== 0) throw corrupt('zstd frame descriptor has its reserved bit set', start)
  const singleSegment = (descriptor & 0x20) !== 0
  const contentSizeFlag = descriptor >> 6
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03] as number
  const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : 1 << contentSizeFlag
  let position = start + 1
  let windowBytes = 0
  if (!singleSegment) {
    const windowDescriptor = readUnsignedLE(input, position, 1, 'zstd')
    position += 1
    const windowBase = 2 ** (10 + (windowDescriptor >> 3))
    windowBytes = windowBase + (windowBase / 8) * (windowDescriptor & 0x07)
  }
  position += dictionaryIdBytes
  if (contentSizeBytes > 0) {
    const contentBytes = readContentSize(input, position, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0)
    position += contentSizeBytes
    // A single-segment frame's window is its whole content.
    if (singleSegment) windowBytes = contentBytes
  }
  if (windowBytes > ZSTD_WINDOW_BYTES_MAX) throw corrupt('zstd window larger than the decoder allows', start)
  const blockBytesMax = Math.min(windowBytes, BLOCK_BYTES_MAX)
  const hasChecksum = (descriptor & 0x04) !== 0
  let bound = 0
  for (;;) {
    const header = readUnsignedLE(input, position, 3, 'zstd')
    position += 3
    const blockType = (header >> 1) & 0x03
    const blockBytes = header >>> 3
    if (blockType === BLOCK_TYPE_RAW) {
      bound += blockBytes
      position += blockBytes
    } else if (blockType === BLOCK_TYPE_RLE) {
      bound += blockBytes
      position += 1
    } else if (blockType === BLOCK_TYPE_COMPRESSED) {
      bound += blockBytesMax
      position += blockBytes
    } else {
      throw corrupt('reserved zstd block type', position - 3)
    }
    if (blockBytes > blockBytesMax) throw corrupt('zstd block larger than the frame allows', position)
    if ((header & 0x01) !== 0) break
  }
  return { bound, position: position + (hasChecksum ? 4 : 0) }
}

/** A content size of 1, 2, 4 or 8 bytes (8-byte values above 2^53 lose precision, harmlessly: they are refused as too large either way). */
function readContentSize (input: Buffer, position: number, bytes: number): number {
  if (bytes < 8) return readUnsignedLE(input, position, bytes, 'zstd')
  return readUnsignedLE(input, position, 4, 'zstd') + readUnsignedLE(input, position + 4, 4, 'zstd') * TWO_POW_32
}

function corrupt (message: string, position: number): ReturnType<typeof frameCorrupt> {
  return frameCorrupt('zstd', message, position)
}

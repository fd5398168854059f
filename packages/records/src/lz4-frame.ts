/**
 * Reads the structure of LZ4 frames (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) without
 * decompressing them, to bound how large their content can be before any memory is committed to it. Kafka ≥ 0.10
 * (magic ≥ 1) compresses with the LZ4 *frame* format; the codec library decompresses a frame in one call with no
 * output limit, so this bound is what stops a 1 MiB batch from inflating to 255 MiB.
 *
 * Layout of one frame (little-endian):
 *   magic 0x184D2204 (4) | FLG (1) | BD (1) | [content size (8) if FLG.3] | [dictionary id (4) if FLG.0] | HC (1)
 *   blocks: size (4; bit 31 = stored uncompressed, 0 = end mark) | data | [block checksum (4) if FLG.4]
 *   [content checksum (4) if FLG.2]
 * Skippable frames (magic 0x184D2A50..5F, then a 4-byte size and that many bytes) carry no content (frame-bound.ts).
 *
 * Invariant: the bound is ≥ the real content size of any input the decompressor accepts (a compressed block never
 * expands past the frame's block maximum size nor past 255 times its own size; a stored block is exactly its size).
 * Structure errors throw CORRUPT_MESSAGE; checksums are left to the decompressor.
 */
import { frameCorrupt, framesDecompressedBytesBound, readUnsignedLE } from './frame-bound.js'

/** The LZ4 frame magic number, 0x184D2204, as it appears on the wire (little-endian). */
export const LZ4_FRAME_MAGIC = 0x184d2204
/** BD bits 4..6 → block maximum size: 4 → 64 KiB, 5 → 256 KiB, 6 → 1 MiB, 7 → 4 MiB. */
const blockBytesMaxById: Readonly<Record<number, number>> = { 4: 0x1_0000, 5: 0x4_0000, 6: 0x10_0000, 7: 0x40_0000 }

/** An upper bound on the bytes that decompressing `input` (one or more LZ4 frames) can produce. */
export function lz4FrameDecompressedBytesBound (input: Buffer): number {
  return framesDecompressedBytesBound(input, { codec: 'lz4', magic: LZ4_FRAME_MAGIC, frameBound })
}

/** Walks one frame's descriptor and blocks, starting just after its magic number. */
function frameBound (input: Buffer, start: number): { bound: number; position: number } {
  const flags = readUnsignedLE(input, start, 1, 'lz4')
  const blockDescriptor = readUnsignedLE(input, start + 1, 1, 'lz4')
  if (flags >> 6 !== 0b01 || (flags & 0b10) !== 0) throw corrupt('unsupported lz4 frame version or flags', start)
  const blockBytesMax = blockBytesMaxById[(blockDescriptor >> 4) & 0b111]
  if (blockBytesMax === undefined || (blockDescriptor & 0x8f) !== 0) throw corrupt('bad lz4 block descriptor', start)
  const hasBlockChecksum = (flags & 0x10) !== 0
  const hasContentChecksum = (flags & 0x04) !== 0
  let position = start + 2 + ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1
  let bound = 0
  for (;;) {
    const blockHeader = readUnsignedLE(input, position, 4, 'lz4')
    position += 4
    if (blockHeader === 0) break
    const stored = blockHeader >= 0x8000_0000
    const blockBytes = blockHeader & 0x7fff_ffff
    if (blockBytes > blockBytesMax) throw corrupt('lz4 block larger than the frame allows', position)
    // A compressed byte yields at most 255 output bytes (a match-length extension byte), so small blocks, like the
    // tail block of a frame, are bounded far below the frame's block maximum.
    bound += stored ? blockBytes : Math.min(blockBytesMax, 255 * blockBytes)
    position += blockBytes + (hasBlockChecksum ? 4 : 0)
  }
  return { bound, position: position + (hasContentChecksum ? 4 : 0) }
}

function corrupt (message: string, position: number): ReturnType<typeof frameCorrupt> {
  return frameCorrupt('lz4', message, position)
}

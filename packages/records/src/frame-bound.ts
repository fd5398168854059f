/**
 * What lz4-frame.ts and zstd-frame.ts share: both formats concatenate frames, each opened by a 4-byte little-endian
 * magic number, with skippable frames (magic 0x184D2A50..5F, a 4-byte size, that many bytes) between them, which
 * carry no content. This walks the frames and adds up the per-frame bounds the format's own walker computes.
 *
 * Invariant: every read is bounds-checked; running past the end, an unknown magic or an empty input throws
 * CORRUPT_MESSAGE naming the codec.
 */
import { ErrorCode, GregorError } from '@gregor/common'

const SKIPPABLE_MAGIC_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50

export interface FrameFormat {
  /** The codec's name, for messages. */
  readonly codec: string
  readonly magic: number
  /** Walks one frame from just after its magic number: the bound on its content and where the next frame starts. */
  frameBound (input: Buffer, start: number): { bound: number; position: number }
}

/** An upper bound on the bytes that decompressing `input` (one or more frames of `format`) can produce. */
export function framesDecompressedBytesBound (input: Buffer, format: FrameFormat): number {
  if (input.length === 0) throw frameCorrupt(format.codec, `empty ${format.codec} input`, 0)
  let position = 0
  let bound = 0
  while (position < input.length) {
    const magic = readU32LE(input, position, format.codec)
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      position += 8 + readU32LE(input, position + 4, format.codec)
    } else if (magic === format.magic) {
      const frame = format.frameBound(input, position + 4)
      bound += frame.bound
      position = frame.position
    } else {
      throw frameCorrupt(format.codec, `not a ${format.codec} frame`, position)
    }
  }
  if (position !== input.length) throw frameCorrupt(format.codec, `${format.codec} frame truncated`, position)
  return bound
}

/** A little-endian unsigned integer of `bytes` bytes (1 to 6) at `position`, or CORRUPT_MESSAGE past the end. */
export function readUnsignedLE (input: Buffer, position: number, bytes: number, codec: string): number {
  if (position + bytes > input.length) throw frameCorrupt(codec, `${codec} frame truncated`, position)
  return input.readUIntLE(position, bytes)
}

function readU32LE (input: Buffer, position: number, codec: string): number {
  return readUnsignedLE(input, position, 4, codec)
}

export function frameCorrupt (codec: string, message: string, position: number): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details: { codec, position } })
}

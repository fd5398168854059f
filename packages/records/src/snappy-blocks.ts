/**
 * Splits a Kafka snappy records section into raw snappy blocks and bounds their content before any is decompressed.
 * Kafka's snappy comes in two shapes, and a consumer must read both:
 *   - raw: one snappy block (librdkafka, KafkaJS's codec, and Gregor write this);
 *   - xerial-framed (the Java client, through snappy-java's SnappyOutputStream): the 8-byte magic 0x82 "SNAPPY" 0x00,
 *     an int32 version and an int32 minimum compatible version, then chunks of int32 length (big-endian) + one raw
 *     snappy block, until the end. librdkafka recognises the framing by the magic alone, as done here.
 * A raw snappy block starts with its uncompressed length as an unsigned varint (at most 32 bits), which is what the
 * bound adds up: the decoder checks each block's output against that preamble, so the bound is exact.
 *
 * Invariant: blocks are views of the input (no copy); a chunk length that runs past the end, an empty chunk list or
 * a bad preamble throws CORRUPT_MESSAGE.
 */
import { ErrorCode, GregorError } from '@gregor/common'

/** snappy-java's stream magic: 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00. */
export const XERIAL_SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
/** Magic, version and minimum compatible version. */
const XERIAL_HEADER_BYTES = 16

export interface SnappyBlocks {
  /** Raw snappy blocks, in order. */
  readonly blocks: readonly Buffer[]
  /** The sum of the blocks' declared uncompressed lengths. */
  readonly decompressedBytes: number
}

/**
 * Whether `input` starts with snappy-java's framing. A valid raw block cannot: after a preamble 0x82 0x53 its first
 * element would be 0x4e, a copy, with nothing before it to copy from.
 */
export function isXerialSnappy (input: Buffer): boolean {
  return input.length >= XERIAL_HEADER_BYTES && input.subarray(0, XERIAL_SNAPPY_MAGIC.length).equals(XERIAL_SNAPPY_MAGIC)
}

export function snappyBlocks (input: Buffer): SnappyBlocks {
  if (!isXerialSnappy(input)) return { blocks: [input], decompressedBytes: snappyUncompressedLength(input, 0) }
  const blocks: Buffer[] = []
  let decompressedBytes = 0
  let position = XERIAL_HEADER_BYTES
  while (position < input.length) {
    if (position + 4 > input.length) throw corrupt('xerial snappy chunk length truncated', position)
    const chunkBytes = input.readUInt32BE(position)
    position += 4
    if (chunkBytes > input.length - position) throw corrupt('xerial snappy chunk runs past the end', position)
    const block = input.subarray(position, position + chunkBytes)
    decompressedBytes += snappyUncompressedLength(block, position)
    blocks.push(block)
    position += chunkBytes
  }
  if (blocks.length === 0) throw corrupt('xerial snappy stream without chunks', position)
  return { blocks, decompressedBytes }
}

/** The uncompressed length a raw snappy block declares (its unsigned varint preamble, ≤ 32 bits). */
function snappyUncompressedLength (block: Buffer, at: number): number {
  let value = 0
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw corrupt('snappy length preamble truncated', at + i)
    const byte = block[i] as number
    value += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) {
      if (value >= 2 ** 32) break
      return value
    }
  }
  throw corrupt('snappy length preamble wider than 32 bits', at)
}

function corrupt (message: string, position: number): GregorError {
  return new GregorError(ErrorCode.CORRUPT_MESSAGE, message, { details: { position } })
}

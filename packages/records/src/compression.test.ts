import { gzipSync } from 'node:zlib'
import { ErrorCode } from '@gregor/common'
import fc from 'fast-check'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { describe, expect, test } from 'vitest'
import { COMPRESSION_CODEC_IDS, compressionCodecById, compressionCodecByName } from './compression.js'
import { LZ4_FRAME_MAGIC, lz4FrameDecompressedBytesBound } from './lz4-frame.js'

const limit = 64 * 1024 * 1024
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 300_000 })).map(([byte, length]) => new Uint8Array(length).fill(byte)),
).map((array) => Buffer.from(array))

describe('compression codec registry', () => {
  test('uses Kafka codec ids', () => {
    expect(COMPRESSION_CODEC_IDS).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })
    expect(compressionCodecByName('gzip').id).toBe(1)
    expect(compressionCodecByName('lz4').id).toBe(3)
    expect(compressionCodecById(0).name).toBe('none')
  })

  test.each([[2, 'snappy'], [4, 'zstd'], [5, 'unknown'], [7, 'unknown']])('id %d (%s) is not decodable here', (id, codec) => {
    expect(() => compressionCodecById(id)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE, details: { codecId: id, codec } }))
  })

  test.each(['none', 'gzip', 'lz4'] as const)('%s round-trips any bytes', (name) => {
    const codec = compressionCodecByName(name)
    fc.assert(fc.property(payload, (data) => {
      expect(codec.decompress(codec.compress(data), limit).equals(data)).toBe(true)
    }), { numRuns: 60 })
  })

  test('a limit beyond the largest Buffer is no limit, not an error', () => {
    const gzip = compressionCodecByName('gzip')
    expect(gzip.decompress(gzip.compress(Buffer.from('abc')), Number.MAX_SAFE_INTEGER).toString()).toBe('abc')
  })

  test('gzip reads concatenated members, as Java GZIPInputStream does', () => {
    const joined = Buffer.concat([gzipSync(Buffer.from('abc')), gzipSync(Buffer.from('def'))])
    expect(compressionCodecByName('gzip').decompress(joined, limit).toString()).toBe('abcdef')
  })

  test.each(['none', 'gzip', 'lz4'] as const)('%s refuses output past decompressedBytesMax with MESSAGE_TOO_LARGE', (name) => {
    const codec = compressionCodecByName(name)
    const compressed = codec.compress(Buffer.alloc(10_000))
    // lz4 judges by an upper bound computed before decompressing, so only gzip and none are exact at the limit.
    expect(codec.decompress(compressed, name === 'lz4' ? lz4FrameDecompressedBytesBound(compressed) : 10_000)).toHaveLength(10_000)
    expect(() => codec.decompress(compressed, 9_999)).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })
})

/** An LZ4 frame built by hand from stored (uncompressed) blocks, to exercise descriptor flags lz4-napi never sets. */
function storedFrame (blocks: Buffer[], flags: { contentSize?: boolean; dictId?: boolean; blockChecksum?: boolean; contentChecksum?: boolean } = {}): Buffer {
  const flg = 0x40 | 0x20 | (flags.blockChecksum === true ? 0x10 : 0) | (flags.contentSize === true ? 0x08 : 0) |
    (flags.contentChecksum === true ? 0x04 : 0) | (flags.dictId === true ? 0x01 : 0)
  const parts = [u32(LZ4_FRAME_MAGIC), Buffer.from([flg, 0x40])]
  if (flags.contentSize === true) parts.push(Buffer.alloc(8))
  if (flags.dictId === true) parts.push(Buffer.alloc(4))
  parts.push(Buffer.from([0x00])) // header checksum: not checked by the bound
  for (const block of blocks) {
    parts.push(u32((0x8000_0000 | block.length) >>> 0), block)
    if (flags.blockChecksum === true) parts.push(Buffer.alloc(4))
  }
  parts.push(u32(0))
  if (flags.contentChecksum === true) parts.push(Buffer.alloc(4))
  return Buffer.concat(parts)
}

function u32 (value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32LE(value)
  return buffer
}

describe('lz4FrameDecompressedBytesBound', () => {
  test('is never below what the frame really holds', () => {
    fc.assert(fc.property(payload, (data) => {
      const frame = compressFrameSync(data)
      expect(lz4FrameDecompressedBytesBound(frame)).toBeGreaterThanOrEqual(decompressFrameSync(frame).length)
    }), { numRuns: 80 })
  })

  test('is tight for highly compressible data: the tail block is bounded by its own size', () => {
    const frame = compressFrameSync(Buffer.alloc(8 * 1024 * 1024 + 10))
    expect(lz4FrameDecompressedBytesBound(frame)).toBeLessThan(9 * 1024 * 1024)
  })

  test('counts stored blocks exactly, whatever optional fields the descriptor has', () => {
    const blocks = [Buffer.alloc(100, 1), Buffer.alloc(7, 2)]
    expect(lz4FrameDecompressedBytesBound(storedFrame(blocks))).toBe(107)
    const everything = storedFrame(blocks, { contentSize: true, dictId: true, blockChecksum: true, contentChecksum: true })
    expect(lz4FrameDecompressedBytesBound(everything)).toBe(107)
  })

  test('adds up concatenated frames and skips skippable frames', () => {
    const skippable = Buffer.concat([u32(0x184d2a53), u32(3), Buffer.from('abc')])
    const input = Buffer.concat([storedFrame([Buffer.alloc(10)]), skippable, storedFrame([Buffer.alloc(5)])])
    expect(lz4FrameDecompressedBytesBound(input)).toBe(15)
  })

  test.each([
    ['empty input', Buffer.alloc(0)],
    ['wrong magic', Buffer.from('not lz4 at all')],
    ['truncated descriptor', storedFrame([Buffer.alloc(3)]).subarray(0, 5)],
    ['truncated block', storedFrame([Buffer.alloc(30)]).subarray(0, 20)],
    ['missing end mark', storedFrame([Buffer.alloc(3)]).subarray(0, -4)],
    ['version 00', (() => { const frame = storedFrame([Buffer.alloc(3)]); frame[4] = 0x20; return frame })()],
    ['block maximum id 3', (() => { const frame = storedFrame([Buffer.alloc(3)]); frame[5] = 0x30; return frame })()],
    ['block larger than the maximum', storedFrame([Buffer.alloc(0x10001)])],
  ])('%s is CORRUPT_MESSAGE', (_name, input) => {
    expect(() => lz4FrameDecompressedBytesBound(input)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })
})

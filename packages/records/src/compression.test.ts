import { gzipSync } from 'node:zlib'
import { ErrorCode, isGregorError } from '@gregor/common'
import fc from 'fast-check'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { describe, expect, test } from 'vitest'
import { COMPRESSION_CODEC_IDS, COMPRESSION_NAMES, compressionCodecById, compressionCodecByName } from './compression.js'
import { LZ4_FRAME_MAGIC, lz4FrameDecompressedBytesBound } from './lz4-frame.js'
import { isXerialSnappy, XERIAL_SNAPPY_MAGIC } from './snappy-blocks.js'
import { zstdDecompressedBytesBound } from './zstd-frame.js'

const limit = 64 * 1024 * 1024
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 300_000 })).map(([byte, length]) => new Uint8Array(length).fill(byte)),
).map((array) => Buffer.from(array))

describe('compression codec registry', () => {
  test('uses Kafka codec ids', () => {
    expect(COMPRESSION_CODEC_IDS).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })
    expect(COMPRESSION_NAMES).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd'])
    for (const name of COMPRESSION_NAMES) {
      expect(compressionCodecByName(name).id).toBe(COMPRESSION_CODEC_IDS[name])
      expect(compressionCodecById(COMPRESSION_CODEC_IDS[name]).name).toBe(name)
    }
  })

  test.each([5, 6, 7])('id %d is no codec: CORRUPT_MESSAGE', (id) => {
    expect(() => compressionCodecById(id)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE, details: { codecId: id } }))
  })

  test.each(COMPRESSION_NAMES)('%s round-trips any bytes', (name) => {
    const codec = compressionCodecByName(name)
    fc.assert(fc.property(payload, (data) => {
      expect(codec.decompress(codec.compress(data), limit).equals(data)).toBe(true)
    }), { numRuns: 60 })
  })

  test.each(COMPRESSION_NAMES.filter((name) => name !== 'none'))('%s: damaged, cut or padded output decompresses or fails with CORRUPT_MESSAGE or MESSAGE_TOO_LARGE, nothing else', (name) => {
    const codec = compressionCodecByName(name)
    const damage = fc.array(fc.oneof(
      fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ cut: fc.nat() }),
      fc.record({ pad: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    ), { minLength: 1, maxLength: 4 })
    fc.assert(fc.property(payload, damage, (data, edits) => {
      let compressed = Buffer.from(codec.compress(data))
      for (const edit of edits) {
        if ('byte' in edit) {
          if (compressed.length > 0) compressed[edit.at % compressed.length] = edit.byte
        } else if ('cut' in edit) {
          compressed = compressed.subarray(0, edit.cut % (compressed.length + 1))
        } else {
          compressed = Buffer.concat([compressed, edit.pad])
        }
      }
      try {
        codec.decompress(compressed, 1024 * 1024)
      } catch (error) {
        expect(isGregorError(error) ? error.code : error).toMatch(/^(CORRUPT_MESSAGE|MESSAGE_TOO_LARGE)$/)
      }
    }), { numRuns: 300 })
  })

  test('a limit beyond the largest Buffer is no limit, not an error', () => {
    const gzip = compressionCodecByName('gzip')
    expect(gzip.decompress(gzip.compress(Buffer.from('abc')), Number.MAX_SAFE_INTEGER).toString()).toBe('abc')
  })

  test('gzip reads concatenated members, as Java GZIPInputStream does', () => {
    const joined = Buffer.concat([gzipSync(Buffer.from('abc')), gzipSync(Buffer.from('def'))])
    expect(compressionCodecByName('gzip').decompress(joined, limit).toString()).toBe('abcdef')
  })

  test.each(COMPRESSION_NAMES)('%s refuses output past decompressedBytesMax with MESSAGE_TOO_LARGE', (name) => {
    const codec = compressionCodecByName(name)
    const compressed = codec.compress(Buffer.alloc(10_000))
    // lz4 and zstd judge by an upper bound computed before decompressing; none, gzip and snappy are exact at the limit.
    const bound = name === 'lz4' ? lz4FrameDecompressedBytesBound(compressed) : name === 'zstd' ? zstdDecompressedBytesBound(compressed) : 10_000
    expect(codec.decompress(compressed, bound)).toHaveLength(10_000)
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

function u32be (value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32BE(value)
  return buffer
}

/** snappy-java's stream framing (what Kafka's Java producer writes): magic, version 1, compatible version 1, chunks. */
function xerialFramed (chunks: Buffer[]): Buffer {
  return Buffer.concat([XERIAL_SNAPPY_MAGIC, u32be(1), u32be(1), ...chunks.flatMap((chunk) => [u32be(chunk.length), chunk])])
}

/**
 * A raw snappy block written by hand from the format description, not by the library: preamble 12 (uncompressed
 * length), a literal of 3 bytes (tag (3 - 1) << 2), then a copy of 9 bytes at offset 3 (1-byte-offset copy: tag
 * 0b01 | (9 - 4) << 2, offset byte 3).
 */
const handWrittenSnappy = Buffer.from([12, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03])

describe('snappy', () => {
  const snappy = compressionCodecByName('snappy')

  test('reads a raw block written from the format description', () => {
    expect(snappy.decompress(handWrittenSnappy, limit).toString()).toBe('abcabcabcabc')
  })

  test('writes one raw block (as librdkafka and KafkaJS do), not the xerial framing', () => {
    const compressed = snappy.compress(Buffer.from('abcabcabcabc'))
    expect(compressed[0]).toBe(12)
    expect(isXerialSnappy(compressed)).toBe(false)
  })

  test('reads the xerial framing of the Java client, one chunk or many', () => {
    expect(snappy.decompress(xerialFramed([handWrittenSnappy]), limit).toString()).toBe('abcabcabcabc')
    fc.assert(fc.property(fc.array(payload, { minLength: 1, maxLength: 4 }), (parts) => {
      const framed = xerialFramed(parts.map((part) => snappy.compress(part)))
      expect(snappy.decompress(framed, limit).equals(Buffer.concat(parts))).toBe(true)
    }), { numRuns: 30 })
  })

  test('reads a xerial stream that ends in an empty chunk (a block declaring 0 bytes), as snappy-java streams may', () => {
    expect(snappy.decompress(xerialFramed([handWrittenSnappy, Buffer.from([0])]), limit).toString()).toBe('abcabcabcabc')
  })

  test('bounds xerial output by the chunks\' declared lengths before decompressing any', () => {
    const framed = xerialFramed([snappy.compress(Buffer.alloc(6000)), snappy.compress(Buffer.alloc(5000))])
    expect(snappy.decompress(framed, 11_000)).toHaveLength(11_000)
    expect(() => snappy.decompress(framed, 10_999)).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })

  test('a preamble that claims 4 GiB is refused before any allocation', () => {
    const bomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])
    expect(() => snappy.decompress(bomb, limit)).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE, details: { decompressedBytes: 2 ** 32 - 1, decompressedBytesMax: limit } }))
  })

  test.each([
    ['empty input', Buffer.alloc(0)],
    ['a preamble wider than 32 bits', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f, 0x00])],
    ['a preamble that never ends', Buffer.from([0x80, 0x80])],
    ['a block shorter than its preamble says', handWrittenSnappy.subarray(0, 5)],
    ['a block longer than its preamble says', Buffer.from([2, 0x08, 0x61, 0x62, 0x63])],
    ['a copy before any literal', Buffer.from([4, 0x01, 0x01])],
    ['xerial framing without chunks', xerialFramed([])],
    ['a xerial chunk length past the end', Buffer.concat([xerialFramed([handWrittenSnappy]), u32be(100), Buffer.alloc(3)])],
    ['a truncated xerial chunk length', Buffer.concat([xerialFramed([handWrittenSnappy]), Buffer.from([0, 0])])],
  ])('%s is CORRUPT_MESSAGE', (_name, input) => {
    expect(() => snappy.decompress(input, limit)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })
})

/** The text the two zstd vectors below hold. */
const zstdVectorText = 'kafka record section from the zstd command line, streamed: ' + Array.from({ length: 40 }, (_, i) => `${i + 1} `).join('')
/**
 * Written by the `zstd` command line tool (libzstd 1.5): `zstd -c < text` (streamed: no content size, window
 * descriptor, content checksum: the shape Kafka's Java producer writes) and `zstd -c text` (single segment with the
 * content size, as librdkafka writes).
 */
const zstdStreamed = Buffer.from('28b52ffd0458ad0300a24a1c1970a5d5181c1d185aaf06df31faff21a16962a53097a8fa9f2f93b2dad38ef6b39bbdecbbeb9e3bd9959e74a41fdde8455f5df5d489aef294a3fce4262ff9e69a674e72751a7d3697773d17b0e65683f138d00c0260662ce79e308b47c06d10770f0e1b8f88423b66f0090dbe8a61150100bb8d5a2d', 'hex')
const zstdSized = Buffer.from('28b52ffd24aaad0300a24a1c1970a5d5181c1d185aaf06df31faff21a16962a53097a8fa9f2f93b2dad38ef6b39bbdecbbeb9e3bd9959e74a41fdde8455f5df5d489aef294a3fce4262ff9e69a674e72751a7d3697773d17b0e65683f138d00c0260662ce79e308b47c06d10770f0e1b8f88423b66f0090dbe8a61150100bb8d5a2d', 'hex')

/** A copy of `input` with the bytes at the given positions XORed with the given masks. */
function xored (input: Buffer, masks: Readonly<Record<number, number>>): Buffer {
  const copy = Buffer.from(input)
  for (const [at, mask] of Object.entries(masks)) copy.writeUInt8(copy.readUInt8(Number(at)) ^ mask, Number(at))
  return copy
}

/** A zstd frame built by hand: single segment with a 4-byte content size, the given blocks, no checksum. */
function handZstdFrame (contentBytes: number, blocks: Array<{ type: 'raw' | 'rle' | 'compressed', size: number, last?: boolean }>): Buffer {
  const content = Buffer.alloc(4)
  content.writeUInt32LE(contentBytes)
  const parts = [u32(0xfd2fb528), Buffer.from([0xa0]), content]
  blocks.forEach((block, index) => {
    const last = block.last ?? index === blocks.length - 1
    const type = { raw: 0, rle: 1, compressed: 2 }[block.type]
    const header = Buffer.alloc(3)
    header.writeUIntLE((block.size << 3) | (type << 1) | (last ? 1 : 0), 0, 3)
    parts.push(header, Buffer.alloc(block.type === 'rle' ? 1 : block.size, 0x41))
  })
  return Buffer.concat(parts)
}

describe('zstd', () => {
  const zstd = compressionCodecByName('zstd')

  test.each([['streamed', zstdStreamed], ['sized', zstdSized]])('reads a frame the zstd command line wrote (%s)', (_name, frame) => {
    expect(zstd.decompress(frame, limit).toString()).toBe(zstdVectorText)
    expect(zstdDecompressedBytesBound(frame)).toBeGreaterThanOrEqual(zstdVectorText.length)
  })

  test('reads concatenated frames and skips skippable frames', () => {
    const skippable = Buffer.concat([u32(0x184d2a5f), u32(2), Buffer.from('xy')])
    const joined = Buffer.concat([zstdStreamed, skippable, zstd.compress(Buffer.from('!'))])
    expect(zstd.decompress(joined, limit).toString()).toBe(`${zstdVectorText}!`)
  })

  test('the bound is never below what the frame holds', () => {
    fc.assert(fc.property(payload, (data) => {
      expect(zstdDecompressedBytesBound(zstd.compress(data))).toBeGreaterThanOrEqual(data.length)
    }), { numRuns: 60 })
  })

  test('the bound counts raw and RLE blocks exactly, and a compressed block as the block maximum', () => {
    expect(zstdDecompressedBytesBound(handZstdFrame(7, [{ type: 'raw', size: 3 }, { type: 'rle', size: 4 }]))).toBe(7)
    expect(zstdDecompressedBytesBound(handZstdFrame(200_000, [{ type: 'compressed', size: 10 }]))).toBe(128 * 1024)
    expect(zstd.decompress(handZstdFrame(7, [{ type: 'raw', size: 3 }, { type: 'rle', size: 4 }]), limit).toString()).toBe('AAAAAAA')
  })

  test('RLE blocks that would expand past the limit are refused before decompressing', () => {
    const blocks = Array.from({ length: 600 }, () => ({ type: 'rle' as const, size: 128 * 1024 }))
    const bomb = handZstdFrame(600 * 128 * 1024, blocks) // 2.4 KB that claim 75 MiB
    expect(() => zstd.decompress(bomb, limit)).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
  })

  test('a window above 128 MiB is refused, as libzstd refuses it by default', () => {
    const header = Buffer.concat([u32(0xfd2fb528), Buffer.from([0x00, (18 << 3)]), Buffer.from([0x01, 0x00, 0x00])]) // window 2^28
    expect(() => zstd.decompress(header, Number.MAX_SAFE_INTEGER)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE, message: 'zstd window larger than the decoder allows' }))
  })

  test.each([
    ['empty input', Buffer.alloc(0)],
    ['wrong magic', Buffer.from('not zstd at all')],
    ['a truncated header', zstdStreamed.subarray(0, 5)],
    ['a truncated block', zstdStreamed.subarray(0, 40)],
    ['a missing checksum', zstdStreamed.subarray(0, -4)],
    ['a bad checksum', xored(zstdStreamed, { [zstdStreamed.length - 1]: 0xff })],
    ['a corrupted compressed block', xored(zstdStreamed, { 20: 0x55, 30: 0x55 })],
    ['the reserved descriptor bit', xored(zstdStreamed, { 4: 0x08 })],
    ['a reserved block type', handZstdFrame(3, [{ type: 'raw', size: 3 }]).fill(0x07, 9, 10)],
    ['a block larger than its window', handZstdFrame(3, [{ type: 'raw', size: 4 }])],
    ['content shorter than the declared size', handZstdFrame(9, [{ type: 'raw', size: 3 }])],
  ])('%s is CORRUPT_MESSAGE', (_name, input) => {
    expect(() => zstd.decompress(input, limit)).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_MESSAGE }))
  })
})

/**
 * The cleaner's bounded map from record key to the offset of the key's latest record in the dirty part of the log
 * (Kafka's `SkimpyOffsetMap`): keys are reduced to their 16-byte MD5 digest, so an entry costs the same whatever the
 * key's size, and a collision (two keys, one digest) would at worst make the cleaner drop the older key's record,
 * which at 2^-128 per pair is the risk Kafka takes too.
 *
 * Owns: the entries and the limit. `entriesMax` is derived from a byte budget (`cleanerDedupeBufferBytes`) with
 * `OFFSET_MAP_ENTRY_BYTES`, an estimate of what one entry costs in V8 (a 24-character base64 string key, a number
 * value, and the hash table's slot), not just its 24 payload bytes. The map never grows past `entriesMax`: the caller
 * asks `hasRoomFor(n)` before a batch of `n` records and stops building there (the pass then cleans only as far as
 * the map covers; the next pass goes on).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'

/** Estimated bytes per entry, payload and V8 overhead. */
export const OFFSET_MAP_ENTRY_BYTES = 96

export class OffsetMap {
  readonly entriesMax: number
  readonly #offsets = new Map<string, number>()

  constructor (options: { bufferBytes: number }) {
    this.entriesMax = Math.floor(options.bufferBytes / OFFSET_MAP_ENTRY_BYTES)
    assert.ok(this.entriesMax >= 1, 'offset map buffer too small for one entry')
  }

  /** Whether `records` more keys surely fit (each may be new). */
  hasRoomFor (records: number): boolean {
    return this.#offsets.size + records <= this.entriesMax
  }

  /** Records that `key`'s latest record is at `offset` (offsets are put in increasing order). */
  put (key: Buffer, offset: number): void {
    const digest = keyDigest(key)
    assert.ok(this.#offsets.has(digest) || this.#offsets.size < this.entriesMax, 'offset map is full')
    this.#offsets.set(digest, offset)
  }

  /** The offset of `key`'s latest record, if the map has the key. */
  get (key: Buffer): number | undefined {
    return this.#offsets.get(keyDigest(key))
  }
}

function keyDigest (key: Buffer): string {
  return createHash('md5').update(key).digest('base64')
}
